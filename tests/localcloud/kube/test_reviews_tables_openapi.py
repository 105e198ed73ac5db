"""`auth whoami` / `auth can-i` (SelfSubject*Review, JSON and protobuf), Tables and /openapi/v3,
through the real `kubernetes` client; kubectl itself runs in tests/localcloud/sandbox."""

from __future__ import annotations

import json
from typing import Any

from kubernetes import client as k8s

from localcloud.kube import reviews, tables
from tests.localcloud.kube.conftest import ClientFactory, Session


def _can_i(api: k8s.ApiClient, verb: str, resource: str, namespace: str = "default") -> bool:
    review = k8s.V1SelfSubjectAccessReview(
        spec=k8s.V1SelfSubjectAccessReviewSpec(
            resource_attributes=k8s.V1ResourceAttributes(verb=verb, resource=resource, namespace=namespace)
        )
    )
    return bool(k8s.AuthorizationV1Api(api).create_self_subject_access_review(review).status.allowed)


def test_can_i_answers_from_the_access_policies(make_client: ClientFactory) -> None:
    viewer, editor = make_client("viewer"), make_client("editor")
    assert _can_i(viewer, "list", "pods") and not _can_i(viewer, "create", "pods")
    assert _can_i(editor, "create", "pods", "team-a") and not _can_i(editor, "create", "pods", "default")
    assert _can_i(make_client("admin"), "delete", "nodes", "")


def test_whoami_is_the_assumed_role_session_as_eks_maps_it(make_client: ClientFactory, aws: dict[str, Session]) -> None:
    review = k8s.AuthenticationV1Api(make_client("viewer")).create_self_subject_review(k8s.V1SelfSubjectReview())
    info = review.status.user_info
    assert info.username == "arn:aws:sts::123456789012:assumed-role/podcidr-viewer/viewer-session"
    assert "system:authenticated" in info.groups
    assert info.extra["canonicalArn"] == [aws["viewer"].role_arn]
    assert info.extra["sessionName"] == ["viewer-session"]


def test_a_protobuf_access_review_is_read_as_kubectl_sends_it() -> None:
    def field(number: int, value: bytes) -> bytes:
        return bytes([number << 3 | 2, len(value)]) + value

    attributes = field(1, b"kube-system") + field(2, b"create") + field(5, b"pods")
    review = field(2, field(1, attributes))
    body = reviews.PROTOBUF_MAGIC + field(1, field(1, b"authorization.k8s.io/v1")) + field(2, review)
    spec = reviews.request_body(body, reviews.PROTOBUF)["spec"]
    assert spec == {"resourceAttributes": {"namespace": "kube-system", "verb": "create", "resource": "pods"}}


def _get(api: k8s.ApiClient, path: str, accept: str = "application/json") -> Any:
    token = api.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    response = api.call_api(
        "GET", api.configuration.host + path, header_params={"Accept": accept, "authorization": token}
    )
    assert response.status == 200
    return json.loads(response.read())


def test_a_table_is_answered_when_asked_for(make_client: ClientFactory) -> None:
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    response = _get(make_client("admin"), "/api/v1/namespaces", accept)
    assert response["kind"] == "Table"
    assert [c["name"] for c in response["columnDefinitions"]] == ["Name", "Status", "Age"]
    assert response["rows"][0]["cells"][:2] == ["default", "Active"] or any(
        row["cells"][:2] == ["default", "Active"] for row in response["rows"]
    )
    assert response["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_human_durations_are_apimachinerys() -> None:
    assert [tables.human_duration(s) for s in (5, 119, 125, 600, 3 * 3600 + 60, 30 * 3600, 3 * 86400 + 3600)] == [
        "5s",
        "119s",
        "2m5s",
        "10m",
        "3h1m",
        "30h",
        "3d1h",
    ]


def test_openapi_v3_index_and_a_group_versions_patch_operation_takes_field_validation(
    make_client: ClientFactory,
) -> None:
    api = make_client("admin")
    index = _get(api, "/openapi/v3")["paths"]
    assert {"api/v1", "apis/apps/v1", "apis/crd.k8s.amazonaws.com/v1alpha1"} <= set(index)
    document = _get(api, index["apis/crd.k8s.amazonaws.com/v1alpha1"]["serverRelativeURL"].split("?")[0])
    patch = document["paths"]["/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {
        "group": "crd.k8s.amazonaws.com",
        "version": "v1alpha1",
        "kind": "ENIConfig",
    }
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert "com.amazonaws.k8s.crd.v1alpha1.ENIConfig" in document["components"]["schemas"]
