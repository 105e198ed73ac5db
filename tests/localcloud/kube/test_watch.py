"""Watch through kubernetes.watch.Watch, and the store's Python watch/subscribe API."""

import json
import threading
import time
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch

from localcloud.kube import ApiError, ObjectStore, WatchEvent


def test_watch_delivers_events(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version

    def writer() -> None:
        time.sleep(0.2)
        core.create_namespaced_config_map(
            namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="cm", labels={"w": "1"}))
        )
        core.patch_namespaced_config_map("cm", namespace, {"data": {"k": "v"}})
        core.delete_namespaced_config_map("cm", namespace)

    thread = threading.Thread(target=writer)
    thread.start()
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name, (event["object"].data or {}).get("k")))
        if event["type"] == "DELETED":
            w.stop()
    thread.join()
    assert seen == [("ADDED", "cm", None), ("MODIFIED", "cm", "v"), ("DELETED", "cm", "v")]


def test_watch_without_resource_version_lists_first_and_times_out(admin: k8s.ApiClient, namespace: str) -> None:
    core = k8s.CoreV1Api(admin)
    core.create_namespaced_config_map(namespace, k8s.V1ConfigMap(metadata=k8s.V1ObjectMeta(name="one")))
    events: list[dict[str, Any]] = []
    took: list[float] = []

    def stream() -> None:
        started = time.monotonic()
        events.extend(watch.Watch().stream(core.list_namespaced_config_map, namespace, timeout_seconds=1))
        took.append(time.monotonic() - started)

    thread = threading.Thread(target=stream, daemon=True)
    thread.start()
    thread.join(timeout=60)  # the server ends the watch at its timeout; 60 s only bounds a hang on a loaded machine
    assert not thread.is_alive(), "the watch did not end at its timeoutSeconds"
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "one")]
    assert took[0] >= 0.9  # held open until the timeout, not ended early


def test_selector_transitions() -> None:
    store = ObjectStore()
    store.create("v1/namespaces", {"metadata": {"name": "ns"}})
    rv = store.resource_version
    store.create("v1/configmaps", {"metadata": {"name": "a", "labels": {"x": "1"}}}, namespace="ns")
    store.patch("v1/configmaps", "a", {"metadata": {"labels": {"x": "2"}}}, namespace="ns")
    store.patch("v1/configmaps", "a", {"metadata": {"labels": {"x": "1"}}}, namespace="ns")
    events = list(store.watch("v1/configmaps", label_selector="x=1", resource_version=rv, timeout_seconds=0.2))
    assert [e.type for e in events] == ["ADDED", "DELETED", "ADDED"]


def test_too_old_resource_version_is_gone() -> None:
    store = ObjectStore(event_history=3)
    store.create("v1/namespaces", {"metadata": {"name": "ns"}})
    for i in range(5):
        store.create("v1/configmaps", {"metadata": {"name": f"c{i}"}}, namespace="ns")
    with pytest.raises(ApiError) as err:
        next(store.watch("v1/configmaps", resource_version="1", timeout_seconds=0.1))
    assert err.value.code == 410


def test_subscribers_see_changes_in_order_and_may_write() -> None:
    store = ObjectStore()
    store.create("v1/namespaces", {"metadata": {"name": "ns"}})
    seen: list[tuple[str, str]] = []

    def controller(event: WatchEvent) -> None:
        seen.append((event.type, event.object["metadata"]["name"]))
        if event.type == "ADDED" and event.object["metadata"]["name"] == "a":
            store.create("v1/configmaps", {"metadata": {"name": "b"}}, namespace="ns")

    unsubscribe = store.subscribe(controller, resource="v1/configmaps")
    store.create("v1/configmaps", {"metadata": {"name": "a"}}, namespace="ns")
    store.mutate("v1/configmaps", "a", lambda cm: cm.update(data={"k": "v"}), namespace="ns")
    unsubscribe()
    store.delete("v1/configmaps", "a", namespace="ns")
    assert seen == [("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a")]


def test_bookmarks_only_when_allowed_every_frequency_and_before_the_timeout() -> None:
    store = ObjectStore(bookmark_frequency=0.3)
    store.create("v1/namespaces", {"metadata": {"name": "ns"}})
    rv = store.resource_version
    quiet = list(store.watch("v1/configmaps", resource_version=rv, timeout_seconds=0.9))
    assert quiet == []

    def writer() -> None:
        time.sleep(0.5)
        store.create("v1/configmaps", {"metadata": {"name": "late"}}, namespace="ns")

    thread = threading.Thread(target=writer)
    thread.start()
    events = list(store.watch("v1/configmaps", resource_version=rv, timeout_seconds=3, bookmarks=True))
    thread.join()
    kinds = [e.type for e in events]
    assert "ADDED" in kinds and kinds[0] == "BOOKMARK", kinds  # one at 0.3 s, before the write at 0.5 s
    added = kinds.index("ADDED")
    assert all(
        e.object == {"kind": "ConfigMap", "apiVersion": "v1", "metadata": {"resourceVersion": str(rv)}}
        for e in events[:added]
    )
    after = events[added + 1 :]
    assert after and all(e.type == "BOOKMARK" for e in after)
    assert all(e.object["metadata"]["resourceVersion"] == str(store.resource_version) for e in after)


def test_a_watch_with_allow_watch_bookmarks_gets_a_bookmark_two_seconds_before_its_timeout(
    admin: k8s.ApiClient, namespace: str
) -> None:
    core = k8s.CoreV1Api(admin)
    rv = core.list_namespaced_config_map(namespace).metadata.resource_version
    response = core.list_namespaced_config_map(
        namespace,
        watch=True,
        allow_watch_bookmarks=True,
        resource_version=rv,
        timeout_seconds=3,
        _preload_content=False,
    )
    lines = [json.loads(line) for line in response.read().decode().splitlines() if line.strip()]
    assert [(line["type"], line["object"]["kind"], set(line["object"]["metadata"])) for line in lines] == [
        ("BOOKMARK", "ConfigMap", {"resourceVersion"})
    ]
    assert int(lines[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)
    plain = core.list_namespaced_config_map(
        namespace, watch=True, resource_version=rv, timeout_seconds=3, _preload_content=False
    )
    assert plain.read() == b""
