"""kube-scheduler's refusal of a node as the twin words it: the first filter that refuses, in the
scheduler's order (NodeUnschedulable before TaintToleration)."""

from __future__ import annotations

from localcloud.cluster.workloads import _why, failed_scheduling_message


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
