"""A scenario's StatefulSet as its controllers make it on EKS: pods <name>-0..N-1 created one at a
time (OrderedReady), each with its PersistentVolumeClaim; the EBS CSI driver creates the volume in
the AZ of the node the pod first lands on and a PersistentVolume pinned to that zone; afterwards the
pod is scheduled only in that AZ, and stays Pending (FailedScheduling, "volume node affinity
conflict") while no node there can take it. A deleted pod comes back with the same name and volume."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from conftest import ClusterFixture, wait_for
from kubernetes import client as k8s

from localcloud.cluster.workloads import pod_ready
from localcloud.kube.store import WatchEvent

DB = {
    "namespace": "data",
    "name": "db",
    "kind": "StatefulSet",
    "replicas": 3,
    "volumeClaim": {"size": "2Gi"},
    "exposedBy": ["nlb"],
    "pdb": {"maxUnavailable": 1},
}
ZONE = "topology.kubernetes.io/zone"


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory({"cluster": {"workloads": [DB]}})


def _pods(twin: ClusterFixture, name: str = "db") -> dict[str, Any]:
    pods = twin.cluster.store.list("v1/pods", namespace="data")
    return {p["metadata"]["name"]: p for p in pods if p["metadata"]["name"].startswith(f"{name}-")}


def _zone_of_node(twin: ClusterFixture, node: str) -> str:
    return str(twin.cluster.store.get("v1/nodes", node)["metadata"]["labels"][ZONE])


def _volume_zone(twin: ClusterFixture, claim: str) -> str:
    store = twin.cluster.store
    pvc = store.get("v1/persistentvolumeclaims", claim, namespace="data")
    assert pvc["status"]["phase"] == "Bound"
    pv = store.get("v1/persistentvolumes", pvc["spec"]["volumeName"])
    [term] = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
    [expression] = term["matchExpressions"]
    assert (expression["key"], expression["operator"]) == (ZONE, "In")
    [zone] = expression["values"]
    return str(zone)


def test_the_statefulset_its_pods_claims_and_volumes_each_in_the_zone_of_its_pods_node(twin: ClusterFixture) -> None:
    store = twin.cluster.store
    sts = store.get("apps/v1/statefulsets", "db", namespace="data")
    assert sts["spec"]["replicas"] == 3 and sts["spec"]["podManagementPolicy"] == "OrderedReady"
    [template] = sts["spec"]["volumeClaimTemplates"]
    assert template["metadata"]["name"] == "data"
    assert template["spec"]["resources"]["requests"]["storage"] == "2Gi"
    assert sts["status"]["readyReplicas"] == 3 and sts["status"]["replicas"] == 3

    pods = _pods(twin)
    assert sorted(pods) == ["db-0", "db-1", "db-2"]
    ec2 = twin.admin("ec2")
    for name, pod in pods.items():
        assert pod_ready(pod)
        assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == name
        assert pod["spec"]["hostname"] == name
        [volume] = [v for v in pod["spec"]["volumes"] if v["name"] == "data"]
        assert volume["persistentVolumeClaim"]["claimName"] == f"data-{name}"
        zone = _volume_zone(twin, f"data-{name}")
        assert zone == _zone_of_node(twin, pod["spec"]["nodeName"])
        [ebs] = ec2.describe_volumes(
            Filters=[
                {"Name": "tag:kubernetes.io/created-for/pvc/name", "Values": [f"data-{name}"]},
                {"Name": "tag:kubernetes.io/created-for/pvc/namespace", "Values": ["data"]},
            ]
        )["Volumes"]
        assert (ebs["AvailabilityZone"], ebs["Size"]) == (zone, 2)
    assert store.get("policy/v1/poddisruptionbudgets", "db", namespace="data")["spec"]["maxUnavailable"] == 1
    assert store.get("v1/services", "db-nlb", namespace="data")["spec"]["selector"] == {"app": "db"}


def test_pods_are_created_one_at_a_time_each_once_the_one_before_is_ready(twin: ClusterFixture) -> None:
    store = twin.cluster.store
    seen: list[tuple[str, bool]] = []

    def record(event: WatchEvent) -> None:
        obj = event.object
        if event.type == "ADDED" and obj.get("kind") == "Pod" and obj["metadata"]["name"].startswith("queue-"):
            before = f"queue-{int(obj['metadata']['name'].rsplit('-', 1)[1]) - 1}"
            previous = store.find("v1/pods", before, namespace="data")
            seen.append((obj["metadata"]["name"], previous is None or pod_ready(previous)))

    unsubscribe = store.subscribe(record)
    try:
        with twin.kube(twin.role("sts-admin")) as api:
            labels = {"app": "queue"}
            body = {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "queue"},
                "spec": {
                    "replicas": 3,
                    "serviceName": "queue",
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "queue", "image": "public.ecr.aws/nginx/nginx:1.27"}]},
                    },
                },
            }
            k8s.AppsV1Api(api).create_namespaced_stateful_set("data", body)
            wait_for(lambda: len([p for p in _pods(twin, "queue").values() if pod_ready(p)]) == 3, what="3 ready")
    finally:
        unsubscribe()
    assert seen == [("queue-0", True), ("queue-1", True), ("queue-2", True)]


def test_a_deleted_pod_comes_back_with_its_name_and_its_volume_in_the_same_zone(twin: ClusterFixture) -> None:
    old = _pods(twin)["db-1"]
    zone = _volume_zone(twin, "data-db-1")
    twin.cluster.store.delete("v1/pods", "db-1", namespace="data")

    def back() -> Any:
        pod = _pods(twin).get("db-1")
        return pod if pod and pod["metadata"]["uid"] != old["metadata"]["uid"] and pod_ready(pod) else None

    pod = wait_for(back, what="db-1 recreated and ready")
    assert _zone_of_node(twin, pod["spec"]["nodeName"]) == zone
    assert _volume_zone(twin, "data-db-1") == zone


def test_a_pod_whose_zone_has_no_schedulable_node_stays_pending_with_the_schedulers_reason(
    twin: ClusterFixture,
) -> None:
    store = twin.cluster.store
    zone = _volume_zone(twin, "data-db-2")
    in_zone = [n["metadata"]["name"] for n in store.list("v1/nodes") if n["metadata"]["labels"][ZONE] == zone]
    others = len(store.list("v1/nodes")) - len(in_zone)

    def cordon(value: bool) -> None:
        for node in in_zone:
            store.mutate("v1/nodes", node, lambda n: n["spec"].__setitem__("unschedulable", value))

    cordon(True)
    try:
        store.delete("v1/pods", "db-2", namespace="data")

        def refused() -> Any:
            events = store.list("v1/events", namespace="data")
            return [e for e in events if e["reason"] == "FailedScheduling" and e["involvedObject"]["name"] == "db-2"]

        [event] = wait_for(refused, what="FailedScheduling for db-2")
        total = len(in_zone) + others
        reasons = sorted(
            [f"{others} node(s) had volume node affinity conflict", f"{len(in_zone)} node(s) were unschedulable"]
        )
        assert event["message"] == (
            f"0/{total} nodes are available: {', '.join(reasons)}. "
            f"preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
        )
        pod = _pods(twin)["db-2"]
        assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
    finally:
        cordon(False)
    pod = wait_for(lambda: (p := _pods(twin).get("db-2")) and pod_ready(p) and p, what="db-2 running again")
    assert _zone_of_node(twin, pod["spec"]["nodeName"]) == zone
