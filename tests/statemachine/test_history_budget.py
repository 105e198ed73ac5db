"""The worst-case history of each execution, computed from the definitions, fits in 25,000 events.

AWS-FACTS 5: a Standard execution that would write more than 25,000 history events fails. This
module counts, from statemachine/*.asl.yaml, the most events an execution can write within the
bounds the contract allows: every wait loop runs to its ceiling (POLLS_PER_WAIT checks, then the one
that gives up) in each of its phases, every Task uses every retry on every visit, every state of
the definition is visited (exclusive paths included), every Map runs its largest number of items,
and each nodegroup's own loops are in its child execution's history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from podcidr.steps.drain import DRAIN_POLLS
from podcidr.steps.polling import KEEPS_TIME_CEILINGS, MAX_NODEGROUPS, POLLS_PER_WAIT, wait_ceiling

ROOT = Path(__file__).resolve().parents[2]
MIGRATION = ROOT / "statemachine" / "migration.asl.yaml"
NODEGROUP_REPLACEMENT = ROOT / "statemachine" / "nodegroup-replacement.asl.yaml"
HISTORY_LIMIT = 25_000

MAX_AZS = 6
"""Pod subnets are one per AZ of the region; no region has more than 6 (us-east-1)."""
MAP_ITEMS = {
    "CreatePodSubnets": MAX_AZS,
    "VerifyLoadBalancers": 3,  # the input's verify.loadBalancers: unique items of a 3-value enum
    "ReplaceNodegroups": MAX_NODEGROUPS,  # Plan refuses more (UnsupportedCluster)
}
LOOP_PHASES = {
    # The Task of each wait loop -> how many separate ceilings its step counts on that same loop.
    "Plan": 1,  # CLUSTER_CREATING checks
    "ExtendVpcCidr": 1,
    "ConfigureCni": 1,  # one counter for the add-on update or the aws-node rollout
    "VerifyLoadBalancer": 1,
    "RemoveVerificationWorkloads": 1,
    # podcidr.steps.replace_nodegroups: "create", "delete", and the drain's own budget (DRAIN_POLLS in all)
    "ReplaceNodegroup": 2 + DRAIN_POLLS // POLLS_PER_WAIT,
}
LOCK_TURNS = 5
"""Turns of the lock loop (TakeLock <-> ReadLockHolder/TakeOverLock, no Wait): each turn needs another
execution to have taken and then released the cluster's lock between two of our reads."""


def _definition(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def _successors(state: dict[str, Any]) -> list[str]:
    targets = [state.get("Next"), state.get("Default")]
    targets += [choice.get("Next") for choice in state.get("Choices", [])]
    targets += [catch.get("Next") for catch in state.get("Catch", [])]
    return [target for target in targets if target]


def _components(states: dict[str, Any]) -> list[set[str]]:
    """Strongly connected components of the state graph (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(name: str) -> None:
        index[name] = low[name] = len(index)
        stack.append(name)
        for target in _successors(states[name]):
            if target not in index:
                visit(target)
                low[name] = min(low[name], low[target])
            elif target in stack:
                low[name] = min(low[name], index[target])
        if low[name] == index[name]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == name:
                    break
            found.append(component)

    for name in states:
        if name not in index:
            visit(name)
    return found


def _attempts(task: dict[str, Any]) -> int:
    return 1 + sum(int(retry.get("MaxAttempts", 3)) for retry in task.get("Retry", []))


def _task_events(task: dict[str, Any]) -> int:
    """Entered and exited, plus per attempt: scheduled, started, (submitted,) succeeded or failed."""
    per_attempt = 4 if str(task["Resource"]).endswith((".sync", ".sync:2")) else 3
    return 2 + _attempts(task) * per_attempt


def _state_events(name: str, state: dict[str, Any]) -> int:
    kind = state["Type"]
    if kind == "Task":
        return _task_events(state)
    if kind == "Fail":
        return 1
    if kind == "Map":
        assert name in MAP_ITEMS, f"Map {name} has no item bound in MAP_ITEMS"
        per_item = 2 + _worst_case(state["ItemProcessor"])
        return 4 + MAP_ITEMS[name] * per_item
    if kind == "Parallel":
        return 4 + sum(2 + _worst_case(branch) for branch in state["Branches"])
    return 2  # Pass, Choice, Wait, Succeed


def _visits(component: set[str], states: dict[str, Any]) -> int:
    if len(component) == 1:
        (only,) = component
        if only not in _successors(states[only]):
            return 1
    if not any(states[name]["Type"] == "Wait" for name in component):
        return LOCK_TURNS
    if "TakeLock" in component:
        return LOCK_TURNS + _clean_up_waits(states)
    tasks = [name for name in component if states[name]["Type"] in ("Task", "Map")]
    assert len(tasks) == 1 and tasks[0] in LOOP_PHASES, f"wait loop {sorted(component)} has no phases in LOOP_PHASES"
    return LOOP_PHASES[tasks[0]] * (POLLS_PER_WAIT + 1)


def _clean_up_waits(states: dict[str, Any]) -> int:
    """The lock loop also waits for a clean-up's mark (WaitForCleanUp), as many times as its counter allows."""
    (bound,) = states["CleanUpWaitsLeft?"]["Choices"]
    assert bound["Variable"] == "$.lockWaits.count" and bound["Next"] != "WaitForCleanUp"
    assert states["WaitForCleanUp"]["Next"] == "CountCleanUpWait"
    assert states["CountCleanUpWait"]["Parameters"] == {"count.$": "States.MathAdd($.lockWaits.count, 1)"}
    return int(bound["NumericGreaterThanEquals"])


def _worst_case(machine: dict[str, Any]) -> int:
    """The most events this definition (or Map processor) writes, its execution's two excluded."""
    states = machine["States"]
    return sum(
        _visits(component, states) * sum(_state_events(name, states[name]) for name in component)
        for component in _components(states)
    )


def worst_case_history(path: Path) -> int:
    return 2 + _worst_case(_definition(path))  # + ExecutionStarted and its end


@pytest.mark.parametrize("path", [MIGRATION, NODEGROUP_REPLACEMENT], ids=["migration", "nodegroup-replacement"])
def test_the_worst_case_history_fits_in_25000_events(path: Path) -> None:
    assert worst_case_history(path) <= HISTORY_LIMIT, worst_case_history(path)


def test_every_loop_of_the_migration_is_bounded_and_nodegroups_are_child_executions() -> None:
    migration = _definition(MIGRATION)
    processor = migration["States"]["ReplaceNodegroups"]["ItemProcessor"]["States"]
    # Each nodegroup costs this execution a few events, not its poll rounds.
    assert [state["Type"] for state in processor.values()] == ["Task"]
    assert MAX_NODEGROUPS * (2 + _worst_case(migration["States"]["ReplaceNodegroups"]["ItemProcessor"])) < 5_000


@pytest.mark.parametrize("poll_seconds", [1, 2, 5, 10, 29])
def test_no_wait_checks_more_than_the_budget_at_any_poll_seconds(poll_seconds: int) -> None:
    from podcidr.steps import extend_vpc_cidr, plan

    assert plan.max_polls(poll_seconds) <= POLLS_PER_WAIT
    assert extend_vpc_cidr.max_polls(poll_seconds) <= POLLS_PER_WAIT
    assert wait_ceiling(45 * 60, poll_seconds) <= POLLS_PER_WAIT


def test_from_the_default_poll_seconds_up_every_time_ceiling_is_kept() -> None:
    assert KEEPS_TIME_CEILINGS <= 30  # DESIGN.md's default pollSeconds
    assert wait_ceiling(45 * 60, KEEPS_TIME_CEILINGS) * KEEPS_TIME_CEILINGS >= 45 * 60
