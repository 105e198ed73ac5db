"""The ReplicaSet controller's scale-down order (controller.ActivePodsWithRanks), pod by pod."""

from __future__ import annotations

from typing import Any

from localcloud.cluster.workloads import deletion_order


def _pod(name: str, node: str | None = "a", phase: str = "Running", ready: bool = True, created: int = 0) -> Any:
    return {
        "metadata": {"name": name, "creationTimestamp": f"2026-11-25T10:00:{created:02d}Z"},
        "spec": {"nodeName": node} if node else {},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]},
    }


def _order(pods: list[Any], related: list[Any] | None = None) -> list[str]:
    return [p["metadata"]["name"] for p in deletion_order(pods, pods if related is None else related)]


def test_unscheduled_then_pending_then_not_ready_go_first() -> None:
    pods = [
        _pod("ready"),
        _pod("not-ready", ready=False),
        _pod("pending", phase="Pending", ready=False),
        _pod("unscheduled", node=None, phase="Pending", ready=False),
    ]
    assert _order(pods) == ["unscheduled", "pending", "not-ready", "ready"]


def test_pods_doubled_up_on_a_node_go_before_lone_ones_newest_first() -> None:
    pods = [
        _pod("lone-new", node="c", created=9),
        _pod("a-old", node="a", created=1),
        _pod("a-new", node="a", created=5),
        _pod("b-old", node="b", created=2),
        _pod("b-new", node="b", created=6),
    ]
    assert _order(pods) == ["b-new", "a-new", "b-old", "a-old", "lone-new"]


def test_pods_of_the_other_replicasets_of_the_deployment_count_on_their_node() -> None:
    mine = [_pod("on-a", node="a", created=1), _pod("on-b", node="b", created=5)]
    old_replicaset = [_pod("old-on-a", node="a")]
    assert _order(mine, mine + old_replicaset) == ["on-a", "on-b"]  # on-a shares its node: rank 2
    assert _order(mine) == ["on-b", "on-a"]  # alone, the newer goes first
