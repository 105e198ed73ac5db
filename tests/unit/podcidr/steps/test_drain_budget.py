"""The drain's last word when its budget of checks (its share of the child execution's history) runs
out: pods still refused or held make it DrainBlocked, naming them; otherwise NodegroupReplacementFailed.
The drain itself runs on the twin (tests/rehearsals/test_request_probes.py)."""

from __future__ import annotations

import pytest

from podcidr.errors import DrainBlocked, NodegroupReplacementFailed
from podcidr.models.migration import DrainState, NodegroupConfig, NodegroupReplacement
from podcidr.steps.drain import DRAIN_POLLS, _too_long
from podcidr.steps.replace_nodegroups import NodegroupTask
from podcidr.steps.support import count_poll


def _task(held: dict[str, int]) -> NodegroupTask:
    config = NodegroupConfig(
        subnets=["subnet-1"],
        node_role="arn:aws:iam::111122223333:role/nodes",
        scaling_config={"minSize": 1, "maxSize": 1, "desiredSize": 1},
    )
    item = NodegroupReplacement(replaced="managed-ng", by="managed-ng-podcidr", config=config)
    item.draining = DrainState(held=held)
    return NodegroupTask(cluster_name="eksworkshop", poll_seconds=1, nodegroup=item)


def _exhaust(task: NodegroupTask) -> Exception:
    polls = {"drain": DRAIN_POLLS}
    with pytest.raises((DrainBlocked, NodegroupReplacementFailed)) as raised:
        count_poll(polls, "drain", DRAIN_POLLS, lambda checks: _too_long(task, checks))
    return raised.value


def test_pods_still_refused_when_the_checks_run_out_are_drain_blocked_by_name() -> None:
    # at pollSeconds 1 the 540 checks end before the default 900 s podEvictionTimeoutSeconds
    error = _exhaust(_task({"shop/web-1": 540, "shop/web-2": 12}))
    assert isinstance(error, DrainBlocked)
    assert "after 540 checks" in error.cause
    assert "shop/web-1 (540 checks), shop/web-2 (12 checks)" in error.cause
    assert "kubectl uncordon -l eks.amazonaws.com/nodegroup=managed-ng" in error.cause


def test_a_drain_that_only_took_long_asks_for_a_rerun() -> None:
    error = _exhaust(_task({}))
    assert isinstance(error, NodegroupReplacementFailed)
    assert error.cause == (
        "Draining nodegroup managed-ng took more than 540 checks, the most one execution's history holds. The old "
        "nodes stay cordoned and nothing was deleted; run podcidr again to resume the drain (a larger pollSeconds or "
        "nodeReplacement.nodesAtOnce makes fewer checks)."
    )
