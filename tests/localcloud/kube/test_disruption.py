"""PodDisruptionBudgets as the disruption controller counts them and the eviction subresource applies
them (kubernetes pkg/controller/disruption/disruption.go getExpectedPodCount/getExpectedScale,
pkg/registry/core/pod/storage/eviction.go), on the store the API server serves."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore

PODS, PDBS = "v1/pods", "policy/v1/poddisruptionbudgets"


def _cluster(replicas: int, running: int, *, ready: int | None = None) -> ObjectStore:
    """A Deployment of `replicas` whose ReplicaSet has `running` pods on a node (`ready` of them Ready)."""
    store = ObjectStore()
    store.create("v1/namespaces", {"metadata": {"name": "default"}})
    labels = {"app": "web"}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "web:1"}]}}
    deployment = store.create(
        "apps/v1/deployments",
        {
            "metadata": {"name": "web"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
        },
        namespace="default",
    )
    owner = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
        "uid": deployment["metadata"]["uid"],
        "controller": True,
    }
    rs = store.create(
        "apps/v1/replicasets",
        {
            "metadata": {"name": "web-1", "ownerReferences": [owner]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": template},
        },
        namespace="default",
    )
    rs_owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web-1",
        "uid": rs["metadata"]["uid"],
        "controller": True,
    }
    for i in range(running):
        is_ready = i < (running if ready is None else ready)
        store.create(
            PODS,
            {
                "metadata": {"name": f"web-{i}", "labels": labels, "ownerReferences": [rs_owner]},
                "spec": {**template["spec"], "nodeName": "node-1"},
                "status": {
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True" if is_ready else "False"}],
                },
            },
            namespace="default",
            with_status=True,
        )
    return store


def _pdb(store: ObjectStore, name: str = "web", selector: dict[str, Any] | None = None, **spec: Any) -> None:
    body = {
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": "web"}} if selector is None else selector, **spec},
    }
    store.create(PDBS, body, namespace="default")


@pytest.mark.parametrize(
    ("spec", "expected", "desired"),
    [
        ({"minAvailable": 2}, 2, 2),  # an integer minAvailable counts the pods there are
        ({"minAvailable": "50%"}, 3, 2),  # a percentage: of the controllers' scale, rounded up
        ({"maxUnavailable": 1}, 3, 2),  # maxUnavailable: of the scale, not of the pods left
        ({"maxUnavailable": "34%"}, 3, 1),  # 34% of 3 = 1.02, rounded up to 2 unavailable
    ],
)
def test_budget_numbers_as_the_disruption_controller_counts_them(
    spec: dict[str, Any], expected: int, desired: int
) -> None:
    store = _cluster(replicas=3, running=2)  # one pod gone, its replacement not created yet
    _pdb(store, **spec)
    status = store.pdb_status("default", "web")
    assert (status["currentHealthy"], status["expectedPods"], status["desiredHealthy"]) == (2, expected, desired)
    assert status["disruptionsAllowed"] == max(0, 2 - desired)


def test_an_eviction_the_budget_forbids_is_429_with_the_api_servers_words() -> None:
    store = _cluster(replicas=3, running=2)
    _pdb(store, maxUnavailable=1)  # 2 of 3 healthy: no disruption left (with pods counted, 1 would be)
    with pytest.raises(ApiError) as refused:
        store.evict("default", "web-0")
    assert refused.value.code == 429 and refused.value.reason == "TooManyRequests"
    assert refused.value.message == "Cannot evict pod as it would violate the pod's disruption budget."
    assert refused.value.details == {
        "causes": [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget web needs 2 healthy pods and has 2 currently",
            }
        ]
    }
    assert store.get(PODS, "web-0", namespace="default")["metadata"].get("deletionTimestamp") is None


def test_an_allowed_eviction_is_a_graceful_deletion() -> None:
    store = _cluster(replicas=3, running=3)
    _pdb(store, minAvailable=2)
    store.evict("default", "web-0")
    pod = store.get(PODS, "web-0", namespace="default")
    assert pod["metadata"]["deletionGracePeriodSeconds"] == 30 and pod["metadata"]["deletionTimestamp"]
    with pytest.raises(ApiError) as refused:  # the terminating pod is not healthy any more
        store.evict("default", "web-1")
    assert refused.value.code == 429
    store.evict("default", "web-0")  # evicting a terminating pod again: nothing to check, still terminating
    assert store.finish_termination("default", "web-0") is True
    assert store.find(PODS, "web-0", namespace="default") is None


def test_pods_that_need_no_budget() -> None:
    store = _cluster(replicas=3, running=3, ready=2)
    _pdb(store, minAvailable=2)
    store.evict("default", "web-2")  # not Ready, and 2 >= 2 > 0 healthy: evicted without using the budget
    assert store.get(PODS, "web-2", namespace="default")["metadata"]["deletionTimestamp"]
    pending = _cluster(replicas=1, running=1)
    pending.mutate(
        PODS, "web-0", lambda p: p["status"].update(phase="Pending"), namespace="default", subresource="status"
    )
    _pdb(pending, minAvailable=1)
    pending.evict("default", "web-0")  # Pending: budgets ignored
    assert pending.find(PODS, "web-0", namespace="default") is not None  # bound to a node: graceful


def test_an_empty_selector_matches_no_pod_and_two_budgets_cannot_be_applied() -> None:
    store = _cluster(replicas=2, running=2)
    _pdb(store, name="everything", selector={}, minAvailable=2)
    store.evict("default", "web-0")  # the empty selector matches nothing for an eviction
    _pdb(store, name="one", minAvailable=0)
    _pdb(store, name="two", minAvailable=0)
    with pytest.raises(ApiError) as refused:
        store.evict("default", "web-1")
    assert refused.value.code == 500
    assert (
        refused.value.message
        == "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    )
    assert "reason" not in refused.value.status()


def test_finalizers_hold_a_terminated_pod_without_new_writes() -> None:
    store = _cluster(replicas=1, running=1)
    store.mutate(PODS, "web-0", lambda p: p["metadata"].update(finalizers=["example.com/keep"]), namespace="default")
    store.evict("default", "web-0")
    assert store.finish_termination("default", "web-0") is False
    version = store.resource_version
    assert store.finish_termination("default", "web-0") is False
    assert store.resource_version == version  # nothing written again

    def release(pod: dict[str, Any]) -> None:
        del pod["metadata"]["finalizers"]

    store.mutate(PODS, "web-0", release, namespace="default")
    assert store.find(PODS, "web-0", namespace="default") is None  # the last finalizer gone: removed
