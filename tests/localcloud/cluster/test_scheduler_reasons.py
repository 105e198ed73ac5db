"""kube-scheduler's refusal of a node as the twin words it: the first filter that refuses, in the
scheduler's order (NodeUnschedulable before TaintToleration)."""

from __future__ import annotations

from localcloud.cluster.nodes import _node_taint
from localcloud.cluster.workloads import Workloads, _why, failed_scheduling_message


def _node(*, unschedulable: bool, ready: bool) -> dict:
    return {
        "metadata": {"name": "n", "labels": {}},
        "spec": {"unschedulable": unschedulable},
        "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _pod() -> dict:
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": {}}


def test_a_cordoned_node_that_is_also_not_ready_reads_unschedulable() -> None:
    assert _why(_pod(), _node(unschedulable=True, ready=False), {}) == "node(s) were unschedulable"


def test_a_node_not_ready_reads_its_not_ready_taint() -> None:
    assert (
        _why(_pod(), _node(unschedulable=False, ready=False), {})
        == "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    )


def test_the_message_ends_with_the_preemption_attempt_per_node() -> None:
    refusals = ["Too many pods", "node(s) were unschedulable", "node(s) had volume node affinity conflict"]
    assert failed_scheduling_message(refusals) == (
        "0/3 nodes are available: 1 Too many pods, 1 node(s) had volume node affinity conflict, "
        "1 node(s) were unschedulable. preemption: 0/3 nodes are available: "
        "1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling."
    )


def _tainted_node(*taints: dict[str, str]) -> dict:
    """A ready node of a nodegroup with these taints, as EKS spells them (NO_SCHEDULE)."""
    node = _node(unschedulable=False, ready=True)
    node["metadata"]["labels"] = {"eks.amazonaws.com/nodegroup": "gpu-podcidr"}
    node["spec"]["taints"] = [_node_taint(t) for t in taints]
    return node


def _tolerating(*tolerations: dict[str, str]) -> dict:
    pod = _pod()
    pod["spec"]["tolerations"] = list(tolerations)
    return pod


def test_a_nodegroup_taint_refuses_a_pod_not_tolerating_it_as_kubernetes_spells_it() -> None:
    node = _tainted_node({"key": "gpu", "value": "true", "effect": "NO_SCHEDULE"})
    assert node["spec"]["taints"] == [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]
    assert _why(_pod(), node, {}) == "node(s) had untolerated taint {gpu: true}"
    assert not Workloads._fits(_pod(), node, {})
    # EKS's spelling in a toleration tolerates nothing: the node carries NoSchedule
    assert not Workloads._fits(_tolerating({"key": "gpu", "operator": "Exists", "effect": "NO_SCHEDULE"}), node, {})
    assert Workloads._fits(
        _tolerating({"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}), node, {}
    )
    assert not Workloads._fits(_tolerating({"key": "gpu", "operator": "Equal", "value": "false"}), node, {})


def test_a_no_execute_taint_refuses_and_a_prefer_no_schedule_one_does_not() -> None:
    refusing = _tainted_node({"key": "dedicated", "effect": "NO_EXECUTE"})
    assert not Workloads._fits(_pod(), refusing, {})
    assert Workloads._fits(_tolerating({"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}), refusing, {})
    assert Workloads._fits(_pod(), _tainted_node({"key": "spot", "effect": "PREFER_NO_SCHEDULE"}), {})
