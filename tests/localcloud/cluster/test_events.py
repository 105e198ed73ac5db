"""The controllers' event recorder against the store: what `kubectl describe` lists."""

from __future__ import annotations

from localcloud.cluster.events import EVENTS, EventRecorder
from localcloud.kube import ObjectStore


def _store_with_pod() -> tuple[ObjectStore, dict]:
    store = ObjectStore()
    store.create("v1/namespaces", {"metadata": {"name": "ns"}})
    pod = store.create(
        "v1/pods", {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}}, namespace="ns"
    )
    return store, pod


def test_a_repeated_event_bumps_its_count_and_a_new_message_is_a_new_event() -> None:
    store, pod = _store_with_pod()
    recorder = EventRecorder(store, "default-scheduler")
    recorder.warning(pod, "FailedScheduling", "0/3 nodes are available")
    recorder.warning(pod, "FailedScheduling", "0/3 nodes are available")
    recorder.normal(pod, "Scheduled", "Successfully assigned ns/p to n1")
    events = sorted(store.list(EVENTS, namespace="ns"), key=lambda e: e["reason"])
    assert [(e["type"], e["reason"], e["count"]) for e in events] == [
        ("Warning", "FailedScheduling", 2),
        ("Normal", "Scheduled", 1),
    ]
    involved = events[1]["involvedObject"]
    assert involved == {
        "kind": "Pod",
        "namespace": "ns",
        "name": "p",
        "uid": pod["metadata"]["uid"],
        "apiVersion": "v1",
        "resourceVersion": pod["metadata"]["resourceVersion"],
    }
    assert events[1]["source"] == {"component": "default-scheduler"}


def test_node_events_go_to_default_and_a_terminating_namespace_drops_the_event() -> None:
    store, pod = _store_with_pod()
    store.create("v1/namespaces", {"metadata": {"name": "default"}})
    node = store.create("v1/nodes", {"metadata": {"name": "n1"}})
    EventRecorder(store, "kubelet", host="n1").normal(node, "NodeReady", "Node n1 status is now: NodeReady")
    [event] = store.list(EVENTS, namespace="default")
    assert event["involvedObject"]["kind"] == "Node" and event["source"] == {"component": "kubelet", "host": "n1"}

    store.patch("v1/pods", "p", {"metadata": {"finalizers": ["hold"]}}, namespace="ns")
    store.delete("v1/namespaces", "ns")  # Terminating while the pod's finalizer holds it
    EventRecorder(store, "default-scheduler").warning(pod, "FailedScheduling", "too late")
    assert [e["reason"] for e in store.list(EVENTS, namespace="ns")] == []
