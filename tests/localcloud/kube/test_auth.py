"""EKS authentication (401) and authorization (403) with real tokens signed by moto STS sessions."""

import base64
import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from localcloud.kube import KubeApiServer
from tests.localcloud.kube.conftest import CLUSTER, ClientFactory, Session, make_token, raw


def status_of(call) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiException) as err:
        call()
    return int(err.value.status)


EKS_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}
"""What a new EKS cluster has (localcloud.kube.bootstrap): an allowed list shows them all."""


def list_ns(api: k8s.ApiClient) -> set[str]:
    return {ns.metadata.name for ns in k8s.CoreV1Api(api).list_namespace().items}


def test_admin_allowed(make_client: ClientFactory) -> None:
    assert list_ns(make_client("admin")) >= EKS_NAMESPACES


def test_no_token_is_401(make_client: ClientFactory) -> None:
    api = make_client(token="")
    api.configuration.api_key = {}
    with pytest.raises(ApiException) as err:
        list_ns(api)
    assert err.value.status == 401 and '"reason": "Unauthorized"' in err.value.body


def test_expired_token_is_401(make_client: ClientFactory, aws: dict[str, Session]) -> None:
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=16)
    assert status_of(lambda: list_ns(make_client(token=make_token(aws["admin"], signed_at=old)))) == 401
    recent = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=10)
    assert list_ns(make_client(token=make_token(aws["admin"], signed_at=recent))) >= EKS_NAMESPACES


def _tamper(token: str, **changes: str) -> str:
    url = base64.urlsafe_b64decode(token[len("k8s-aws-v1.") :] + "==").decode()
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    forged = parts._replace(query=urlencode(query)).geturl()
    return "k8s-aws-v1." + base64.urlsafe_b64encode(forged.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda s: make_token(s, "another-cluster"), id="other-cluster"),
        pytest.param(lambda s: make_token(s, sign_cluster_header=False), id="cluster-header-not-signed"),
        pytest.param(lambda s: _tamper(make_token(s), **{"X-Amz-Signature": "0" * 64}), id="bad-signature"),
        pytest.param(lambda s: _tamper(make_token(s), Action="ListRoles"), id="other-action"),
        pytest.param(lambda s: _tamper(make_token(s), **{"X-Amz-Expires": "3600"}), id="expires-too-long"),
        pytest.param(
            lambda s: make_token(Session(s.role_arn, s.access_key_id, "x" * 40, s.session_token)), id="wrong-secret"
        ),
        pytest.param(
            lambda s: make_token(Session(s.role_arn, "ASIAUNKNOWN000000000", s.secret_access_key, "t")),
            id="unknown-key",
        ),
        pytest.param(lambda s: make_token(s).replace("k8s-aws-v1.", "k8s-aws-v2."), id="prefix"),
        pytest.param(lambda s: make_token(s) + "==", id="padded"),
        pytest.param(
            lambda s: (
                "k8s-aws-v1."
                + base64.urlsafe_b64encode(b"http://sts.amazonaws.com/?Action=GetCallerIdentity").decode().rstrip("=")
            ),
            id="http",
        ),
    ],
)
def test_forged_tokens_are_401(make_client: ClientFactory, aws: dict[str, Session], forge) -> None:  # type: ignore[no-untyped-def]
    assert status_of(lambda: list_ns(make_client(token=forge(aws["admin"])))) == 401


def test_token_presigned_against_a_non_sts_host_is_401(make_client: ClientFactory, aws: dict[str, Session]) -> None:
    token = make_token(aws["admin"])
    url = base64.urlsafe_b64decode(token[len("k8s-aws-v1.") :] + "==").decode()
    moved = url.replace("sts.ap-southeast-1.amazonaws.com", "127.0.0.1:5000")
    assert (
        status_of(
            lambda: list_ns(
                make_client(token="k8s-aws-v1." + base64.urlsafe_b64encode(moved.encode()).decode().rstrip("="))
            )
        )
        == 401
    )


def test_principal_without_access_entry_is_401(make_client: ClientFactory) -> None:
    # EKS: an IAM identity no access entry (or aws-auth) maps is not authenticated at all
    assert status_of(lambda: list_ns(make_client("stranger"))) == 401


def test_view_policy_reads_but_cannot_write(make_client: ClientFactory, namespace: str) -> None:
    viewer = make_client("viewer")
    assert k8s.CoreV1Api(viewer).list_namespaced_pod(namespace).items == []
    assert list_ns(viewer) >= EKS_NAMESPACES | {namespace}
    with pytest.raises(ApiException) as err:
        k8s.CoreV1Api(viewer).create_namespaced_config_map(
            namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="x"))
        )
    assert err.value.status == 403
    assert (
        f'configmaps is forbidden: User \\"arn:aws:sts::123456789012:assumed-role/podcidr-viewer/viewer-session\\" '
        f'cannot create resource \\"configmaps\\" in API group \\"\\" in the namespace \\"{namespace}\\"'
    ) in err.value.body
    with pytest.raises(ApiException) as err:
        k8s.AppsV1Api(viewer).patch_namespaced_daemon_set(
            "aws-node", "kube-system", {"metadata": {"labels": {"a": "b"}}}
        )
    assert err.value.status == 403 and 'daemonsets.apps \\"aws-node\\" is forbidden' in err.value.body
    assert status_of(lambda: k8s.ApiextensionsV1Api(viewer).list_custom_resource_definition()) == 403


def test_namespace_scoped_edit_policy(make_client: ClientFactory, admin: k8s.ApiClient) -> None:
    k8s.CoreV1Api(admin).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name="team-a")))
    editor = k8s.CoreV1Api(make_client("editor"))
    editor.create_namespaced_config_map("team-a", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="ok")))
    assert (
        status_of(
            lambda: editor.create_namespaced_config_map(
                "default", k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="no"))
            )
        )
        == 403
    )
    assert status_of(lambda: editor.list_config_map_for_all_namespaces()) == 403
    assert status_of(lambda: editor.list_node()) == 403


def test_discovery_needs_authentication_only(make_client: ClientFactory) -> None:
    assert k8s.ApisApi(make_client("viewer")).get_api_versions().groups
    assert status_of(lambda: k8s.ApisApi(make_client("stranger")).get_api_versions()) == 401
    status, _ = raw(make_client(token=""), "GET", "/healthz", None)
    assert status == 200


def test_config_map_mode(make_client: ClientFactory, aws: dict[str, Session], entries, admin: k8s.ApiClient) -> None:  # type: ignore[no-untyped-def]
    core = k8s.CoreV1Api(admin)
    core.create_namespaced_config_map(
        "kube-system",
        k8s.V1ConfigMap(
            metadata=k8s.V1ObjectMeta(name="aws-auth"),
            data={
                "mapRoles": f"- rolearn: {aws['stranger'].role_arn}\n  username: ops:{{{{SessionName}}}}\n"
                "  groups:\n  - system:masters\n"
            },
        ),
    )
    try:
        entries.mode = "CONFIG_MAP"
        assert status_of(lambda: list_ns(make_client("admin"))) == 401  # access entries do not exist
        assert list_ns(make_client("stranger")) >= EKS_NAMESPACES
        entries.mode = "API"
        assert status_of(lambda: list_ns(make_client("stranger"))) == 401  # aws-auth is not read
        entries.mode = "API_AND_CONFIG_MAP"
        assert list_ns(make_client("stranger")) == list_ns(make_client("admin")) >= EKS_NAMESPACES
    finally:
        entries.mode = "API_AND_CONFIG_MAP"
        core.delete_namespaced_config_map("aws-auth", "kube-system")


def test_cluster_creator_in_config_map_mode(make_client: ClientFactory, aws: dict[str, Session], entries) -> None:  # type: ignore[no-untyped-def]
    with KubeApiServer(
        CLUSTER, entries, auth_mode_getter=lambda: "CONFIG_MAP", cluster_creator_arn=aws["viewer"].role_arn
    ) as srv:
        srv.store.create("v1/namespaces", {"metadata": {"name": "default"}})
        assert list_ns(make_client("viewer", target=srv)) == {"default"}
        assert status_of(lambda: list_ns(make_client("admin", target=srv))) == 401
