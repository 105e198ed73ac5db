"""Label and field selectors on list (and their 400s)."""

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException


@pytest.fixture
def pods(admin: k8s.ApiClient, namespace: str) -> str:
    core = k8s.CoreV1Api(admin)
    specs = [
        ("a", {"app": "web", "tier": "front"}, "node-1", False),
        ("b", {"app": "web", "tier": "back"}, "node-2", False),
        ("c", {"app": "db"}, "node-1", True),
        ("d", {}, None, False),
    ]
    for name, labels, node, host in specs:
        core.create_namespaced_pod(
            namespace,
            k8s.V1Pod(
                metadata=k8s.V1ObjectMeta(name=name, labels=labels),
                spec=k8s.V1PodSpec(
                    node_name=node, host_network=host, containers=[k8s.V1Container(name="c", image="x:1")]
                ),
            ),
        )
    core.patch_namespaced_pod_status("a", namespace, {"status": {"phase": "Running"}})
    return namespace


def names(admin: k8s.ApiClient, ns: str, **kwargs: str) -> list[str]:
    return [p.metadata.name for p in k8s.CoreV1Api(admin).list_namespaced_pod(ns, **kwargs).items]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d"]),
        ("app in (web,db)", ["a", "b", "c"]),
        ("app notin (web)", ["c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,tier!=back", ["a"]),
        ("app in (web), tier notin (front)", ["b"]),
    ],
)
def test_label_selectors(admin: k8s.ApiClient, pods: str, selector: str, expected: list[str]) -> None:
    assert names(admin, pods, label_selector=selector) == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("spec.nodeName=node-1", ["a", "c"]),
        ("spec.nodeName!=node-1", ["b", "d"]),
        ("spec.nodeName=", ["d"]),
        ("status.phase=Running", ["a"]),
        ("status.phase!=Running", ["b", "c", "d"]),
        ("metadata.name=b", ["b"]),
        ("spec.hostNetwork=true", ["c"]),
        ("spec.nodeName=node-1,metadata.name!=a", ["c"]),
    ],
)
def test_field_selectors(admin: k8s.ApiClient, pods: str, selector: str, expected: list[str]) -> None:
    assert names(admin, pods, field_selector=selector) == expected


def test_across_namespaces(admin: k8s.ApiClient, pods: str) -> None:
    found = k8s.CoreV1Api(admin).list_pod_for_all_namespaces(field_selector=f"metadata.namespace={pods}")
    assert [p.metadata.name for p in found.items] == ["a", "b", "c", "d"]
    assert int(found.metadata.resource_version) > 0


def test_bad_selectors_are_400(admin: k8s.ApiClient, pods: str) -> None:
    with pytest.raises(ApiException) as err:
        names(admin, pods, field_selector="spec.image=x")
    assert err.value.status == 400 and "field label not supported: spec.image" in err.value.body
    with pytest.raises(ApiException) as err:
        names(admin, pods, label_selector="app in web")
    assert err.value.status == 400


def test_limit_and_continue(admin: k8s.ApiClient, pods: str) -> None:
    core = k8s.CoreV1Api(admin)
    first = core.list_namespaced_pod(pods, limit=3)
    assert [p.metadata.name for p in first.items] == ["a", "b", "c"]
    assert first.metadata.remaining_item_count == 1
    rest = core.list_namespaced_pod(pods, limit=3, _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["d"] and rest.metadata._continue is None


def test_pages_with_a_selector_count_only_the_matching_objects(admin: k8s.ApiClient, pods: str) -> None:
    core = k8s.CoreV1Api(admin)
    first = core.list_namespaced_pod(pods, limit=1, label_selector="app=web")
    assert [p.metadata.name for p in first.items] == ["a"]
    assert first.metadata.remaining_item_count == 1
    rest = core.list_namespaced_pod(pods, limit=1, label_selector="app=web", _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["b"] and rest.metadata._continue is None


@pytest.mark.parametrize("token", ["not base64 json!", "WyJvbmx5LW9uZSJd", "eyJhIjogMX0="])  # ["only-one"], {"a": 1}
def test_a_continue_key_that_is_not_ours_is_a_400(admin: k8s.ApiClient, pods: str, token: str) -> None:
    with pytest.raises(ApiException) as err:
        k8s.CoreV1Api(admin).list_namespaced_pod(pods, limit=1, _continue=token)
    assert err.value.status == 400
