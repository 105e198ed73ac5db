"""Label and field selectors on list (and their 400s)."""

import json
from typing import Any

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


def test_pages_with_a_selector_hold_only_the_matching_objects_uncounted(admin: k8s.ApiClient, pods: str) -> None:
    core = k8s.CoreV1Api(admin)
    first = core.list_namespaced_pod(pods, limit=1, label_selector="app=web")
    assert [p.metadata.name for p in first.items] == ["a"]
    assert first.metadata.remaining_item_count is None  # the API server does not count under a selector
    rest = core.list_namespaced_pod(pods, limit=1, label_selector="app=web", _continue=first.metadata._continue)
    assert [p.metadata.name for p in rest.items] == ["b"] and rest.metadata._continue is None


@pytest.mark.parametrize("token", ["not base64 json!", "WyJvbmx5LW9uZSJd", "eyJhIjogMX0="])  # ["only-one"], {"a": 1}
def test_a_continue_key_that_is_not_ours_is_a_400(admin: k8s.ApiClient, pods: str, token: str) -> None:
    with pytest.raises(ApiException) as err:
        k8s.CoreV1Api(admin).list_namespaced_pod(pods, limit=1, _continue=token)
    assert err.value.status == 400


def test_every_page_carries_the_first_pages_resource_version(admin: k8s.ApiClient, pods: str) -> None:
    core = k8s.CoreV1Api(admin)
    first = core.list_namespaced_pod(pods, limit=2)
    core.patch_namespaced_pod("d", pods, {"metadata": {"labels": {"changed": "yes"}}})
    rest = core.list_namespaced_pod(pods, limit=2, _continue=first.metadata._continue)
    assert rest.metadata.resource_version == first.metadata.resource_version  # a watch from it misses nothing


def test_a_continue_with_a_resource_version_is_a_400(admin: k8s.ApiClient, pods: str) -> None:
    core = k8s.CoreV1Api(admin)
    first = core.list_namespaced_pod(pods, limit=1)
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod(pods, limit=1, _continue=first.metadata._continue, resource_version="1")
    assert err.value.status == 400
    assert "specifying resource version is not allowed when using continue" in err.value.body


def test_a_continue_from_a_compacted_version_is_410_expired_and_the_product_lists_again(
    admin: k8s.ApiClient, pods: str, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podcidr.steps.support import all_items

    core = k8s.CoreV1Api(admin)
    first = core.list_namespaced_pod(pods, limit=1)
    monkeypatch.setattr(server.store, "_event_history", 2)
    for i in range(4):  # changes past the history kept: the first page's version is compacted
        core.patch_namespaced_pod("d", pods, {"metadata": {"labels": {"n": str(i)}}})
    with pytest.raises(ApiException) as err:
        core.list_namespaced_pod(pods, limit=1, _continue=first.metadata._continue)
    assert err.value.status == 410
    status = json.loads(err.value.body)
    assert status["reason"] == "Expired" and "too old to display a consistent list" in status["message"]
    assert status["metadata"]["continue"]  # continuing anyway is allowed, inconsistently

    pages = []
    real_list = core.list_namespaced_pod

    def list_in_pages_of_one(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("limit"):
            kwargs["limit"] = 1
        pages.append(kwargs.get("_continue"))
        if len(pages) == 2:  # compact between the first and second page
            for i in range(4):
                core.patch_namespaced_pod("d", pods, {"metadata": {"labels": {"m": str(i)}}})
        return real_list(*args, **kwargs)

    names = [p["metadata"]["name"] for p in all_items(list_in_pages_of_one, namespace=pods)]
    assert names == ["a", "b", "c", "d"]
    assert pages[0] is None and pages[1] and pages[-1] is None  # then one whole list, as client-go's pager
