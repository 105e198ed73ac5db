"""/openapi/v2 (Swagger 2.0, JSON; protobuf refused with 406) and server-side field validation of
custom resources (fieldValidation Strict / Warn / Ignore), through the real `kubernetes` client;
kubectl itself runs in tests/localcloud/sandbox/test_kubectl_validation.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.rest import ApiException

from localcloud.kube import openapi
from tests.localcloud.kube.conftest import ClientFactory

ENICONFIG = "com.amazonaws.k8s.crd.v1alpha1.ENIConfig"
GROUP, VERSION, PLURAL = "crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs"


def _raw(api: k8s.ApiClient, path: str, accept: str) -> Any:
    token = api.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    return api.call_api("GET", api.configuration.host + path, header_params={"Accept": accept, "authorization": token})


def test_openapi_v2_is_one_swagger_document_with_the_eniconfig_schema(make_client: ClientFactory) -> None:
    api = make_client("admin")
    response = _raw(api, "/openapi/v2", "application/json, */*")
    assert response.status == 200
    document = json.loads(response.read())
    assert document["swagger"] == "2.0"
    eniconfig = document["definitions"][ENICONFIG]
    assert eniconfig["x-kubernetes-group-version-kind"] == [{"group": GROUP, "version": VERSION, "kind": "ENIConfig"}]
    assert {"subnet", "securityGroups"} <= set(eniconfig["properties"]["spec"]["properties"])
    assert eniconfig["properties"]["metadata"] == {"$ref": f"#/definitions/{openapi.OBJECT_META}"}
    patch = document["paths"][f"/apis/{GROUP}/{VERSION}/{PLURAL}/{{name}}"]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert patch["responses"]["200"]["schema"] == {"$ref": f"#/definitions/{ENICONFIG}"}
    assert "io.k8s.api.core.v1.Pod" in document["definitions"]
    assert "#/components/" not in json.dumps(document)


def test_openapi_v2_in_protobuf_is_not_acceptable(make_client: ClientFactory) -> None:
    api = make_client("admin")
    refused = _raw(api, "/openapi/v2", f"{openapi.V2_PROTOBUF}@v1.0+protobuf")
    assert refused.status == 406
    assert json.loads(refused.read())["reason"] == "NotAcceptable"


def _eniconfig(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ENIConfig",
        "metadata": {"name": name},
        "spec": {"subnet": "subnet-0123456789abcdef0", "securityGroups": ["sg-0123456789abcdef0"], **spec},
    }


def test_strict_field_validation_refuses_an_unknown_field_and_creates_nothing(make_client: ClientFactory) -> None:
    custom = k8s.CustomObjectsApi(make_client("admin"))
    with pytest.raises(ApiException) as refused:
        custom.create_cluster_custom_object(
            GROUP, VERSION, PLURAL, _eniconfig("strict-a", subnetz="subnet-1"), field_validation="Strict"
        )
    assert refused.value.status == 400
    assert json.loads(refused.value.body)["message"] == (
        'ENIConfig in version "v1alpha1" cannot be handled as a ENIConfig: strict decoding error: '
        'unknown field "spec.subnetz"'
    )
    with pytest.raises(ApiException) as missing:
        custom.get_cluster_custom_object(GROUP, VERSION, PLURAL, "strict-a")
    assert missing.value.status == 404
    made = custom.create_cluster_custom_object(
        GROUP, VERSION, PLURAL, _eniconfig("strict-b"), field_validation="Strict"
    )
    assert made["spec"]["subnet"] == "subnet-0123456789abcdef0"
    with pytest.raises(ApiException) as patched:
        custom.patch_cluster_custom_object(
            GROUP, VERSION, PLURAL, "strict-b", {"spec": {"extra": 1}}, field_validation="Strict"
        )
    assert patched.value.status == 400 and 'unknown field "spec.extra"' in json.loads(patched.value.body)["message"]


def test_warn_names_each_unknown_field_in_a_warning_header_and_prunes_it(make_client: ClientFactory) -> None:
    api = make_client("admin")
    custom = k8s.CustomObjectsApi(api)
    _, _, headers = custom.create_cluster_custom_object_with_http_info(
        GROUP, VERSION, PLURAL, _eniconfig("warned", subnetz="subnet-1"), field_validation="Warn"
    )
    assert headers.get("Warning") == '299 - "unknown field \\"spec.subnetz\\""'
    assert "subnetz" not in custom.get_cluster_custom_object(GROUP, VERSION, PLURAL, "warned")["spec"]
    _, _, quiet = custom.create_cluster_custom_object_with_http_info(
        GROUP, VERSION, PLURAL, _eniconfig("ignored", subnetz="subnet-1"), field_validation="Ignore"
    )
    assert "Warning" not in quiet
