"""ExecutionEnded's rounds run only under the lock's mark: every way into CleanUpTestWorkloads but the first
call (which only plans, `marking`) passes MarkLock, and a refused mark ends the clean-up without a round."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MACHINE = Path(__file__).resolve().parents[2] / "statemachine" / "execution-ended.asl.yaml"


def _states() -> dict[str, Any]:
    states: dict[str, Any] = yaml.safe_load(MACHINE.read_text())["States"]
    return states


def _targets(state: dict[str, Any]) -> list[str]:
    found = [state.get("Next"), state.get("Default"), *[c.get("Next") for c in state.get("Choices", [])]]
    return [t for t in found + [c.get("Next") for c in state.get("Catch", [])] if t]


def test_every_round_but_the_planning_call_follows_mark_lock() -> None:
    states = _states()
    into = sorted(name for name, state in states.items() if "CleanUpTestWorkloads" in _targets(state))
    assert into == ["MarkLock", "SameExecution?", "StillHoldsLock?"]
    choices = {c["Next"]: c for c in states["TestWorkloadsRemoved?"]["Choices"]}
    assert choices["MarkLock"]["StringEquals"] == "marking"
    assert choices["WaitForRemoval"]["StringEquals"] == "removing"
    assert states["WaitForRemoval"]["Next"] == "MarkLock"


def test_the_mark_is_one_conditional_write_and_a_refused_one_ends_the_clean_up() -> None:
    states = _states()
    mark = states["MarkLock"]
    assert mark["Resource"] == "arn:aws:states:::dynamodb:updateItem"
    parameters = mark["Parameters"]
    assert parameters["UpdateExpression"] == "SET cleaningFor = :ended, cleaningUntil = :until"
    assert parameters["ConditionExpression"] == "attribute_not_exists(executionArn) OR executionArn = :ended"
    assert parameters["ExpressionAttributeValues"][":until"] == {"S.$": "$.cleanup.markUntil"}
    refused = mark["Catch"][0]
    assert refused["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    assert refused["Next"] == "CleanUpSuperseded"
    assert states["CleanUpSuperseded"]["Next"] == "ReleaseLock"
    assert states["ReleaseLock"]["Parameters"]["ConditionExpression"] == "executionArn = :execution"
    remove = states["RemoveMark"]["Parameters"]
    assert remove["ConditionExpression"] == "attribute_not_exists(executionArn) AND cleaningFor = :ended"
