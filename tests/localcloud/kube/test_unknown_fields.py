"""Unknown fields of built-in kinds, through the real `kubernetes` client: dropped with a Warning
header by default (fieldValidation=Warn, the server's default since 1.27), refused with 400 under
Strict (kubectl's default), silently dropped under Ignore; never stored (Kubernetes API concepts,
"Field validation"; KEP-2885). kubectl itself: tests/localcloud/sandbox/test_kubectl.py."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from kubernetes import client as k8s

from localcloud.kube import KubeApiServer, fields
from localcloud.kube.resources import BUILTIN
from tests.localcloud.kube.conftest import deployment


def _send(
    api: k8s.ApiClient, method: str, path: str, body: Any, *, content_type: str = "application/json"
) -> tuple[int, Any, list[str]]:
    """(status, JSON body, Warning headers) of a request the typed API cannot express (unknown fields)."""
    token = api.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    headers = {"Content-Type": content_type, **({"authorization": token} if token else {})}
    response = api.call_api(method, api.configuration.host + path, header_params=headers, body=body)
    data = response.read()
    warnings = response.response.headers.get_all("Warning") or []
    return response.status, json.loads(data) if data else None, warnings


def _deployment(name: str) -> dict[str, Any]:
    document: dict[str, Any] = k8s.ApiClient().sanitize_for_serialization(deployment(name))
    document.update(apiVersion="apps/v1", kind="Deployment")
    document["spec"]["replicaz"] = 3  # a typo of replicas
    document["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "Always"
    return document


def _path(namespace: str, name: str = "") -> str:
    return f"/apis/apps/v1/namespaces/{namespace}/deployments" + (f"/{name}" if name else "")


UNKNOWN = ["spec.template.spec.containers[0].imagePullPolcy", "spec.replicaz"]
"""In the order the body holds them (replicaz was added last)."""


def _stored(admin: k8s.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    status, body, _ = _send(admin, "GET", _path(namespace, name), None)
    assert status == 200
    return body  # type: ignore[no-any-return]


def test_by_default_unknown_fields_are_dropped_with_one_warning_each(admin: k8s.ApiClient, namespace: str) -> None:
    status, created, warnings = _send(admin, "POST", _path(namespace), _deployment("web"))
    assert status == 201
    assert warnings == [fields.warning_header(path) for path in UNKNOWN]
    assert fields.warning_header("spec.replicaz") == '299 - "unknown field \\"spec.replicaz\\""'
    for document in (created, _stored(admin, namespace, "web")):
        assert "replicaz" not in document["spec"]
        assert "imagePullPolcy" not in document["spec"]["template"]["spec"]["containers"][0]
        assert document["spec"]["replicas"] == 2  # the known fields are kept


def test_strict_refuses_the_create_naming_every_unknown_field_and_stores_nothing(
    admin: k8s.ApiClient, namespace: str
) -> None:
    status, body, _ = _send(admin, "POST", _path(namespace) + "?fieldValidation=Strict", _deployment("web"))
    assert status == 400 and body["reason"] == "BadRequest"
    assert body["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: '
        + ", ".join(f'unknown field "{path}"' for path in UNKNOWN)
    )
    assert _send(admin, "GET", _path(namespace, "web"), None)[0] == 404


def test_ignore_drops_them_without_a_word(admin: k8s.ApiClient, namespace: str) -> None:
    status, created, warnings = _send(admin, "POST", _path(namespace) + "?fieldValidation=Ignore", _deployment("web"))
    assert (status, warnings) == (201, [])
    assert "replicaz" not in created["spec"]


def test_an_unknown_directive_is_a_bad_request(admin: k8s.ApiClient, namespace: str) -> None:
    status, body, _ = _send(admin, "POST", _path(namespace) + "?fieldValidation=Loose", _deployment("web"))
    assert status == 400 and "fieldValidation" in body["message"]


@pytest.mark.parametrize(
    ("content_type", "patch"),
    [
        ("application/merge-patch+json", {"spec": {"paused": True, "pausd": True}}),
        ("application/strategic-merge-patch+json", {"spec": {"paused": True, "pausd": True}}),
        ("application/json-patch+json", [{"op": "add", "path": "/spec/pausd", "value": True}]),
    ],
)
def test_a_patch_that_adds_an_unknown_field(
    admin: k8s.ApiClient, namespace: str, content_type: str, patch: Any
) -> None:
    k8s.AppsV1Api(admin).create_namespaced_deployment(namespace, deployment("web"))
    strict = _send(
        admin, "PATCH", _path(namespace, "web") + "?fieldValidation=Strict", patch, content_type=content_type
    )
    assert strict[0] == 400 and 'strict decoding error: unknown field "spec.pausd"' in strict[1]["message"]
    assert "paused" not in _stored(admin, namespace, "web")["spec"]  # nothing of the patch applied
    status, patched, warnings = _send(admin, "PATCH", _path(namespace, "web"), patch, content_type=content_type)
    assert status == 200 and warnings == ['299 - "unknown field \\"spec.pausd\\""']
    assert "pausd" not in patched["spec"] and "pausd" not in _stored(admin, namespace, "web")["spec"]


def test_a_replace_with_an_unknown_field(admin: k8s.ApiClient, namespace: str) -> None:
    k8s.CoreV1Api(admin).create_namespaced_config_map(
        namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="settings"), data={"a": "1"})
    )
    current = k8s.ApiClient().sanitize_for_serialization(
        k8s.CoreV1Api(admin).read_namespaced_config_map("settings", namespace)
    )
    current["dat"] = {"b": "2"}
    path = f"/api/v1/namespaces/{namespace}/configmaps/settings"
    status, body, _ = _send(admin, "PUT", path + "?fieldValidation=Strict", current)
    assert status == 400 and body["message"].startswith('ConfigMap in version "v1" cannot be handled as a ConfigMap')
    status, replaced, warnings = _send(admin, "PUT", path, current)
    assert status == 200 and warnings == ['299 - "unknown field \\"dat\\""'] and "dat" not in replaced


def test_values_of_maps_and_free_form_fields_are_not_unknown_fields(admin: k8s.ApiClient, namespace: str) -> None:
    document = _deployment("web")
    document["spec"].pop("replicaz")
    document["spec"]["template"]["spec"]["containers"][0].pop("imagePullPolcy")
    document["metadata"]["annotations"] = {"any.key/at-all": "x"}
    document["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}}
    status, created, warnings = _send(admin, "POST", _path(namespace) + "?fieldValidation=Strict", document)
    assert (status, warnings) == (201, [])
    assert created["spec"]["strategy"]["rollingUpdate"] == {"maxSurge": "25%", "maxUnavailable": 0}


@pytest.mark.parametrize("resource", BUILTIN, ids=lambda r: r.kind)
def test_every_built_in_kind_has_the_clients_schema(resource: Any) -> None:
    assert fields.model_name(resource).endswith(resource.kind)


def test_the_objects_the_twin_bootstraps_hold_no_field_the_api_server_would_drop(server: KubeApiServer) -> None:
    """A client's patch of a bootstrapped object (aws-node, coredns) would otherwise fail under Strict."""
    found = {}
    for resource in BUILTIN:
        for obj in server.store.list(resource):
            unknown = fields.prune_unknown(resource, copy.deepcopy(obj))
            if unknown:
                found[f"{resource.kind} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"] = unknown
    assert found == {}


WIDGETS = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer"},
                                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def test_a_custom_resource_is_pruned_by_its_structural_schema_with_the_same_directives(
    admin: k8s.ApiClient, namespace: str
) -> None:
    status, _, _ = _send(admin, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", WIDGETS)
    assert status in (201, 409)  # one CRD for the module's server
    path = f"/apis/example.com/v1/namespaces/{namespace}/widgets"
    widget = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 2, "sise": 3, "extra": {"anything": True}},
    }
    strict = _send(admin, "POST", path + "?fieldValidation=Strict", widget)
    assert strict[0] == 400 and strict[1]["message"] == (
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.sise"'
    )
    status, created, warnings = _send(admin, "POST", path, widget)
    assert status == 201 and warnings == [fields.warning_header("spec.sise")]
    assert created["spec"] == {"size": 2, "extra": {"anything": True}}  # preserved where the schema says so
