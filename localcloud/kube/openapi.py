"""/openapi/v3 for what the emulator serves, so kubectl validates (`apply` without --validate=false),
`explain`s and `diff`s as on EKS.

kubectl reads the index (`/openapi/v3`: each group-version's path and its `serverRelativeURL`),
then one group-version's document. Before an apply it asks whether the server validates fields
itself: the document must have, for the kind's PATCH operation (tagged with
`x-kubernetes-group-version-kind`), a `fieldValidation` query parameter; then kubectl sends
`fieldValidation=Strict` and leaves validation to the server. `explain` finds a kind's schema in
`components.schemas` by the same extension. A custom resource's schema is its CRD's
openAPIV3Schema; a built-in kind's is its envelope (apiVersion, kind, metadata, spec, status),
not the full API reference.

/openapi/v2 serves the same definitions as one Swagger 2.0 document, in JSON only. kubectl (client-go's
OpenAPISchema) asks for it in protobuf only (`application/com.github.proto-openapi.spec.v2@v1.0+protobuf`,
gnostic's OpenAPIv2 message) and uses it only where v3 is missing: the twin answers that request 406
NotAcceptable, where kube-apiserver would answer protobuf. Clients that ask for JSON (operator tools,
`kubectl get --raw /openapi/v2`) get the document.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from localcloud.kube.resources import ResourceRegistry, ResourceType

Obj = dict[str, Any]
OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_BUILTIN_PACKAGES = {
    "": "io.k8s.api.core",
    "apiextensions.k8s.io": "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions",
}
_ANY_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_QUERY_PARAMETERS = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def group_version_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_name(resource: ResourceType) -> str:
    """As kube-apiserver names definitions: io.k8s.api.apps.v1.Deployment; a CR's by its reversed group."""
    if not resource.builtin:
        return ".".join([*reversed(resource.group.split(".")), resource.version, resource.kind])
    package = _BUILTIN_PACKAGES.get(resource.group) or f"io.k8s.api.{resource.group.split('.')[0]}"
    return f"{package}.{resource.version}.{resource.kind}"


def _gvk(resource: ResourceType) -> list[Obj]:
    return [{"group": resource.group, "version": resource.version, "kind": resource.kind}]


def _schema(resource: ResourceType) -> Obj:
    if not resource.builtin:
        schema = json.loads(json.dumps(resource.schema or {"type": "object"}))
        properties = schema.setdefault("properties", {}) if schema.get("type") == "object" else {}
        if schema.get("type") == "object":  # as kube-apiserver publishes a CR: its metadata is an ObjectMeta
            properties["metadata"] = {"$ref": f"#/components/schemas/{OBJECT_META}"}
    else:
        schema = {
            "type": "object",
            "description": f"{resource.kind} ({resource.api_version}), as the emulated API server serves it.",
            "properties": {
                "apiVersion": {"type": "string", "description": "APIVersion of this representation of an object."},
                "kind": {"type": "string", "description": "Kind is the REST resource this object represents."},
                "metadata": {"$ref": f"#/components/schemas/{OBJECT_META}"},
                **(
                    {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    }
                    if resource.kind not in {"ConfigMap", "Secret", "ServiceAccount", "Event", "Lease"}
                    else {}
                ),
            },
        }
        if resource.kind in {"ConfigMap", "Secret"}:
            schema["properties"]["data"] = {"type": "object", "additionalProperties": {"type": "string"}}
        if resource.kind == "Event":
            schema["x-kubernetes-preserve-unknown-fields"] = True
    schema["x-kubernetes-group-version-kind"] = _gvk(resource)
    return schema  # type: ignore[no-any-return]


def _object_meta() -> Obj:
    strings = {"type": "string"}
    return {
        "type": "object",
        "description": "Standard object's metadata.",
        "properties": {
            "name": strings,
            "namespace": strings,
            "generateName": strings,
            "uid": strings,
            "resourceVersion": strings,
            "generation": {"type": "integer", "format": "int64"},
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "labels": {"type": "object", "additionalProperties": strings},
            "annotations": {"type": "object", "additionalProperties": strings},
            "finalizers": {"type": "array", "items": strings},
            "ownerReferences": {"type": "array", "items": _ANY_OBJECT},
            "managedFields": {"type": "array", "items": _ANY_OBJECT},
        },
    }


def _operation(resource: ResourceType, action: str, verb: str, parameters: list[Obj]) -> Obj:
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name(resource)}"}}}
    return {
        "operationId": f"{verb}{resource.kind}",
        "parameters": parameters,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": _gvk(resource)[0],
        "responses": {"200": {"description": "OK", "content": content}},
    }


def _paths(resource: ResourceType) -> Obj:
    base = "/" + group_version_path(resource.group, resource.version)
    scope = f"{base}/namespaces/{{namespace}}" if resource.namespaced else base
    collection = f"{scope}/{resource.plural}"
    parameters: list[Obj] = [{"name": name, "in": "query", "schema": {"type": "string"}} for name in _QUERY_PARAMETERS]
    item_parameters: list[Obj] = [
        *parameters,
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
    ]
    # Query parameters on each operation: kubectl looks for fieldValidation among the PATCH's own.
    paths = {
        collection: {
            "get": _operation(resource, "list", "list", parameters),
            "post": _operation(resource, "post", "create", parameters),
        },
        f"{collection}/{{name}}": {
            "get": _operation(resource, "get", "read", item_parameters),
            "put": _operation(resource, "put", "replace", item_parameters),
            "patch": _operation(resource, "patch", "patch", item_parameters),
            "delete": _operation(resource, "delete", "delete", item_parameters),
        },
    }
    for subresource in sorted(resource.subresources & {"status", "scale"}):
        paths[f"{collection}/{{name}}/{subresource}"] = {
            "get": _operation(resource, "get", f"read{subresource.title()}", item_parameters),
        }
    return paths


def document(registry: ResourceRegistry, group: str, version: str) -> Obj | None:
    """The OpenAPI v3 document of one group-version; None when it is not served."""
    resources = registry.in_group_version(group, version)
    if not resources:
        return None
    paths: Obj = {}
    schemas: Obj = {OBJECT_META: _object_meta()}
    for resource in resources:
        paths.update(_paths(resource))
        schemas[schema_name(resource)] = _schema(resource)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def index(registry: ResourceRegistry) -> Obj:
    """`/openapi/v3`: each served group-version's document path, with a hash of its content."""
    paths: Obj = {}
    versions = [("", "v1"), *[(g, v) for g, vs in registry.groups() for v in vs]]
    for group, version in versions:
        served = document(registry, group, version)
        if served is None:
            continue
        digest = hashlib.sha512(json.dumps(served, sort_keys=True).encode()).hexdigest()[:128].upper()
        path = group_version_path(group, version)
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}


def serve(registry: ResourceRegistry, path: str) -> Obj | None:
    """The body for an /openapi/v3[/...] path, or None (404)."""
    parts = [p for p in path.split("/") if p][2:]
    if not parts:
        return index(registry)
    if parts[0] == "api" and len(parts) == 2:
        return document(registry, "", parts[1])
    if parts[0] == "apis" and len(parts) == 3:
        return document(registry, parts[1], parts[2])
    return None


V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2"


def _v2(node: Any) -> Any:
    """A v3 schema as Swagger 2.0 writes it: references to #/definitions, no `nullable`."""
    if isinstance(node, dict):
        return {
            k: (v.replace("#/components/schemas/", "#/definitions/") if k == "$ref" else _v2(v))
            for k, v in node.items()
            if k != "nullable"
        }
    if isinstance(node, list):
        return [_v2(item) for item in node]
    return node


def _v2_operation(operation: Obj) -> Obj:
    written = {k: v for k, v in operation.items() if k not in ("parameters", "responses")}
    written["parameters"] = [
        {"name": p["name"], "in": p["in"], "type": "string", **({"required": True} if p.get("required") else {})}
        for p in operation["parameters"]
    ]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    written["responses"] = {"200": {"description": "OK", "schema": _v2(schema)}}
    written["consumes"] = ["application/json"]
    written["produces"] = ["application/json"]
    return written


def swagger(registry: ResourceRegistry) -> Obj:
    """`/openapi/v2`: every served kind's definition and operations in one Swagger 2.0 document."""
    paths: Obj = {}
    definitions: Obj = {OBJECT_META: _object_meta()}
    versions = [("", "v1"), *[(g, v) for g, vs in registry.groups() for v in vs]]
    for group, version in versions:
        for resource in registry.in_group_version(group, version):
            for path, operations in _paths(resource).items():
                paths[path] = {verb: _v2_operation(op) for verb, op in operations.items()}
            definitions[schema_name(resource)] = _v2(_schema(resource))
    return {
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "unversioned"},
        "paths": paths,
        "definitions": definitions,
    }


def wants_v2_json(accept: str) -> bool:
    """JSON is acceptable (no Accept, */*, application/json); False when only protobuf is."""
    kinds = [part.split(";")[0].strip().lower() for part in accept.split(",") if part.strip()]
    return not kinds or any(k in ("*/*", "application/*", "application/json") for k in kinds)
