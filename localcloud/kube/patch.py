"""The three patch formats kube-apiserver accepts, as pure functions on JSON documents.

- JSON merge patch (RFC 7386): objects merge, null deletes, anything else replaces.
- Strategic merge patch (built-in kinds only): a merge patch that merges lists by their
  `patchMergeKey` (containers by name, env by name, ports by containerPort, volumes by name,
  volumeMounts by mountPath, Service ports by port, ...), unions lists with patchStrategy merge
  (finalizers), replaces the others (tolerations, args), and honours the `$patch`
  (replace/delete/merge), `$retainKeys`, `$deleteFromPrimitiveList/<f>` and
  `$setElementOrder/<f>` directives.
- JSON patch (RFC 6902) through `jsonpatch`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import jsonpatch

from localcloud.kube.errors import ApiError


@dataclass(frozen=True)
class Field:
    """Strategic-merge metadata of one field: `children` for maps and list items; for lists
    `merge` (patchStrategy merge) and `merge_key` (patchMergeKey; None for primitive lists)."""

    children: dict[str, Field] | None = None
    merge_key: str | None = None
    merge: bool = False


Schema = dict[str, Field]


def _merge_list(key: str, children: Schema | None = None) -> Field:
    return Field(children=children, merge_key=key, merge=True)


OBJECT_META: Schema = {"finalizers": Field(merge=True), "ownerReferences": _merge_list("uid")}
CONTAINER: Schema = {
    "env": _merge_list("name"),
    "ports": _merge_list("containerPort"),
    "volumeMounts": _merge_list("mountPath"),
    "volumeDevices": _merge_list("devicePath"),
    "resizePolicy": _merge_list("resourceName"),
}
POD_SPEC: Schema = {
    "containers": _merge_list("name", CONTAINER),
    "initContainers": _merge_list("name", CONTAINER),
    "ephemeralContainers": _merge_list("name", CONTAINER),
    "volumes": _merge_list("name"),
    "imagePullSecrets": _merge_list("name"),
    "hostAliases": _merge_list("ip"),
    "resourceClaims": _merge_list("name"),
    "schedulingGates": _merge_list("name"),
    "readinessGates": Field(),
    # tolerations, topologySpreadConstraints (no strategy): replaced whole
}
CONDITIONS: Schema = {"conditions": _merge_list("type")}
POD_TEMPLATE: Schema = {"metadata": Field(OBJECT_META), "spec": Field(POD_SPEC)}
WORKLOAD: Schema = {
    "metadata": Field(OBJECT_META),
    "spec": Field({"template": Field(POD_TEMPLATE)}),
    "status": Field(CONDITIONS),
}

SCHEMAS: dict[str, Schema] = {
    "v1/pods": {
        "metadata": Field(OBJECT_META),
        "spec": Field(POD_SPEC),
        "status": Field(
            {
                "conditions": _merge_list("type"),
                "podIPs": _merge_list("ip"),
                "hostIPs": _merge_list("ip"),
                "containerStatuses": Field(),
            }
        ),
    },
    "v1/services": {"metadata": Field(OBJECT_META), "spec": Field({"ports": _merge_list("port")})},
    "v1/nodes": {
        "metadata": Field(OBJECT_META),
        "spec": Field({"podCIDRs": Field(merge=True)}),
        "status": Field({"conditions": _merge_list("type"), "addresses": _merge_list("type"), "images": Field()}),
    },
    "apps/v1/deployments": WORKLOAD,
    "apps/v1/daemonsets": WORKLOAD,
    "apps/v1/replicasets": WORKLOAD,
    "apps/v1/statefulsets": WORKLOAD,
    "policy/v1/poddisruptionbudgets": {"metadata": Field(OBJECT_META), "status": Field(CONDITIONS)},
    "v1/namespaces": {"metadata": Field(OBJECT_META), "status": Field(CONDITIONS)},
}
DEFAULT_SCHEMA: Schema = {"metadata": Field(OBJECT_META)}


def schema_for(resource_key: str) -> Schema:
    return SCHEMAS.get(resource_key, DEFAULT_SCHEMA)


# JSON merge patch --------------------------------------------------------------------------------


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


# Strategic merge patch ------------------------------------------------------------------------------

_DIRECTIVE = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_ORDER = "$setElementOrder/"


class _Delete:
    """Marker: the whole map is deleted by `$patch: delete`."""


_DELETED = _Delete()


def strategic_merge_patch(original: dict[str, Any], patch: dict[str, Any], schema: Schema) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise ApiError(400, "BadRequest", "strategic merge patch must be a JSON object")
    merged = _merge_map(copy.deepcopy(original), patch, schema)
    return {} if isinstance(merged, _Delete) else merged


def _merge_map(original: dict[str, Any], patch: dict[str, Any], schema: Schema | None) -> dict[str, Any] | _Delete:
    directive = patch.get(_DIRECTIVE)
    if directive == "delete":
        return _DELETED
    if directive == "replace":
        replaced: dict[str, Any] = _strip({k: v for k, v in patch.items() if k != _DIRECTIVE})
        return replaced
    if directive not in (None, "merge"):
        raise ApiError(400, "BadRequest", f"Unknown patch type: {directive}")
    result = dict(original) if isinstance(original, dict) else {}
    retain = patch.get(_RETAIN)
    if retain is not None:
        result = {k: v for k, v in result.items() if k in retain}
    for key, value in patch.items():
        if key in (_DIRECTIVE, _RETAIN) or key.startswith(_ORDER):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE) :]
            if isinstance(result.get(name), list):
                result[name] = [item for item in result[name] if item not in value]
            continue
        field = (schema or {}).get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _merge_map(result.get(key) or {}, value, field.children if field else None)
            if isinstance(merged, _Delete):
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list) and field is not None and field.merge:
            result[key] = _merge_list_values(result.get(key) or [], value, field)
        else:
            result[key] = _strip(copy.deepcopy(value))
    return result


def _merge_list_values(original: list[Any], patch: list[Any], field: Field) -> list[Any]:
    if field.merge_key is None:
        # a list of primitives with patchStrategy merge: union, keeping the original order
        result = list(original)
        for item in patch:
            if isinstance(item, dict) and item.get(_DIRECTIVE) == "replace":
                return [i for i in patch if not (isinstance(i, dict) and _DIRECTIVE in i)]
            if item not in result:
                result.append(item)
        return result
    key = field.merge_key
    if any(isinstance(item, dict) and item.get(_DIRECTIVE) == "replace" and key not in item for item in patch):
        return [_strip(i) for i in patch if not (isinstance(i, dict) and _DIRECTIVE in i and key not in i)]
    result = [copy.deepcopy(item) for item in original]
    for item in patch:
        if not isinstance(item, dict):
            raise ApiError(400, "BadRequest", f"strategic merge patch: list item {item!r} is not an object")
        if key not in item:
            raise ApiError(400, "BadRequest", f"map: {item} does not contain declared merge key: {key}")
        index = next((i for i, old in enumerate(result) if isinstance(old, dict) and old.get(key) == item[key]), None)
        if item.get(_DIRECTIVE) == "delete":
            result = [old for old in result if not (isinstance(old, dict) and old.get(key) == item[key])]
            continue
        if index is None:
            result.append(_strip(copy.deepcopy(item)))
        else:
            merged = _merge_map(result[index], item, field.children)
            if isinstance(merged, _Delete):
                result.pop(index)
            else:
                result[index] = merged
    return result


def _strip(value: Any) -> Any:
    """Drop directives from values that are inserted as they are."""
    if isinstance(value, dict):
        return {
            k: _strip(v)
            for k, v in value.items()
            if k not in (_DIRECTIVE, _RETAIN) and not k.startswith((_ORDER, _DELETE_PRIMITIVE)) and v is not None
        }
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


# JSON patch --------------------------------------------------------------------------------------


def json_patch(document: dict[str, Any], operations: Any) -> dict[str, Any]:
    if not isinstance(operations, list):
        raise ApiError(400, "BadRequest", "json patch must be a JSON array of operations")
    try:
        result = jsonpatch.apply_patch(document, operations, in_place=False)
    except jsonpatch.JsonPatchTestFailed as err:
        raise ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {err}"
        ) from err
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError, TypeError, ValueError) as err:
        raise ApiError(
            422, "Invalid", f"the server rejected our request due to an error in our request: {err}"
        ) from err
    if not isinstance(result, dict):
        raise ApiError(400, "BadRequest", "json patch result is not an object")
    return result
