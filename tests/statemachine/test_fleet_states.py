"""statemachine/fleet.asl.yaml run by the twin's interpreter, with its real PlanFleet and ReportFleet
functions and a stand-in for the migration machine (a child that waits `pollSeconds`, or fails with
UnsupportedCluster for a cluster named fail-*): concurrency, haltOnFailure, outcomes, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import yaml

from localcloud.scenario import parse_scenario
from localcloud.stepfunctions import ExecutionResult, StateMachineRunner
from localcloud.template import Template
from localcloud.triggers.component import Triggers
from localcloud.twin import Twin
from tests.statemachine.test_vpc_states import ROOT

LONG_CAUSE = "stand-in: pods held by their budgets " + "x" * 30_000
STAND_IN = {
    "StartAt": "Fails?",
    "States": {
        "Fails?": {
            "Type": "Choice",
            "Choices": [
                {"Variable": "$.clusterName", "StringMatches": "fail-*", "Next": "Refused"},
                {"Variable": "$.clusterName", "StringMatches": "long-*", "Next": "RefusedAtLength"},
            ],
            "Default": "Work",
        },
        "Work": {"Type": "Wait", "SecondsPath": "$.pollSeconds", "Next": "Done"},
        "Done": {"Type": "Pass", "Parameters": {"clusterName.$": "$.clusterName"}, "End": True},
        "Refused": {"Type": "Fail", "Error": "UnsupportedCluster", "Cause": "stand-in: this cluster is refused"},
        # a migration's Cause may name many pods, budgets and events: up to Step Functions' 32,768 characters
        "RefusedAtLength": {"Type": "Fail", "Error": "DrainBlocked", "Cause": LONG_CAUSE},
    },
}


class Fleet:
    def __init__(self, twin: Twin, runner: StateMachineRunner, child_arn: str) -> None:
        self.twin, self.runner, self.child_arn = twin, runner, child_arn
        self.sfn = twin.aws.admin_session().client("stepfunctions")
        self._count = 0

    def run(self, fleet_input: Any) -> ExecutionResult:
        self._count += 1
        arn = self.runner.start(fleet_input, name=f"fleet-{self._count}")
        result = None
        for item in self.runner.follow(arn, poll=0.2):
            if isinstance(item, ExecutionResult):
                result = item
        assert result is not None
        return result

    def children(self, fleet: int) -> list[dict[str, Any]]:
        """The child executions this fleet run started, with their start and stop dates."""
        listed = self.sfn.list_executions(stateMachineArn=self.child_arn)["executions"]
        return [e for e in listed if e["name"].startswith(f"fleet-{fleet}-")]


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    """The stack's migration machine given the stand-in's definition: the fleet's and ReportFleet's roles
    name the migration machine's executions, as deployed."""
    template = Template.load()
    with Twin(parse_scenario({}), components=[Triggers(template)], state_machine="FleetStateMachine") as twin:
        assert twin.runner is not None
        session = twin.aws.admin_session()
        sfn = session.client("stepfunctions")
        child = twin.runner.spec.substitutions["MigrationStateMachineArn"]
        sfn.update_state_machine(stateMachineArn=child, definition=json.dumps(STAND_IN))
        yield Fleet(twin, twin.runner, child)


def _outcomes(result: ExecutionResult) -> dict[str, str]:
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output is not None
    return {c["clusterName"]: c["outcome"] for c in result.output["clusters"]}


def _most_at_once(children: list[dict[str, Any]]) -> int:
    moments: list[tuple[datetime, int]] = []
    for child in children:
        moments += [(child["startDate"], 1), (child["stopDate"], -1)]
    running = most = 0
    for _, step in sorted(moments, key=lambda m: (m[0], m[1])):
        running += step
        most = max(most, running)
    return most


def test_every_cluster_migrates_at_most_concurrency_at_once(fleet: Fleet) -> None:
    clusters = ["a", "b", "c", "d", "e"]
    result = fleet.run({"clusters": clusters, "concurrency": 2, "input": {"pollSeconds": 2}})
    assert _outcomes(result) == dict.fromkeys(clusters, "succeeded")
    assert result.output is not None and (result.output["succeeded"], result.output["failed"]) == (5, 0)
    children = fleet.children(1)
    assert sorted(c["name"] for c in children) == [f"fleet-1-{c}" for c in clusters]
    assert {c["executionArn"] for c in children} == {c["executionArn"] for c in result.output["clusters"]}
    assert _most_at_once(children) == 2
    described = fleet.sfn.describe_execution(executionArn=children[0]["executionArn"])
    assert json.loads(described["input"]) == {"pollSeconds": 2, "clusterName": described["name"].split("-", 2)[2]}


def test_halt_on_failure_starts_no_migration_after_the_first_failure(fleet: Fleet) -> None:
    """a (2 s) and fail-b run together; fail-b fails at once and closes admission while a runs: c and
    d, whose turn comes only after that, are not started; a, already running, finishes."""
    result = fleet.run(
        {"clusters": ["a", "fail-b", "c", "d"], "concurrency": 2, "haltOnFailure": True, "input": {"pollSeconds": 2}}
    )
    assert _outcomes(result) == {"a": "succeeded", "fail-b": "failed", "c": "notStarted", "d": "notStarted"}
    assert result.output is not None
    failed = next(c for c in result.output["clusters"] if c["clusterName"] == "fail-b")
    assert (failed["error"], failed["cause"]) == ("UnsupportedCluster", "stand-in: this cluster is refused")
    assert failed["executionArn"].endswith(":fleet-2-fail-b")
    assert [c["executionArn"] for c in result.output["clusters"] if c["outcome"] == "notStarted"] == [None, None]
    assert (result.output["succeeded"], result.output["failed"], result.output["notStarted"]) == (1, 1, 2)
    assert sorted(c["name"] for c in fleet.children(2)) == ["fleet-2-a", "fleet-2-fail-b"]
    # the fleet's admission item is gone once it reported
    table = fleet.runner.spec.substitutions["FleetTableName"]
    assert fleet.twin.aws.admin_session().client("dynamodb").scan(TableName=table)["Items"] == []


def test_without_halt_a_failure_stops_nothing(fleet: Fleet) -> None:
    result = fleet.run({"clusters": ["fail-a", "b", "c"], "concurrency": 1, "input": {"pollSeconds": 1}})
    assert _outcomes(result) == {"fail-a": "failed", "b": "succeeded", "c": "succeeded"}
    assert _most_at_once(fleet.children(3)) == 1


def test_many_long_failures_still_fit_the_fleets_state_and_are_reported(fleet: Fleet) -> None:
    """Ten children failing with 30 KB causes: their outcomes no longer exceed the 256 KiB a state holds
    (failed before: the Map's output carried each child's whole DescribeExecution, States.DataLimitExceeded)."""
    clusters = [f"long-{n}" for n in range(10)]
    result = fleet.run({"clusters": clusters, "concurrency": 10})
    assert _outcomes(result) == dict.fromkeys(clusters, "failed")
    assert result.output is not None and len(json.dumps(result.output)) < 256 * 1024
    for outcome in result.output["clusters"]:
        assert outcome["error"] == "DrainBlocked"
        assert outcome["executionArn"].endswith(f":fleet-{fleet._count}-{outcome['clusterName']}")
        assert outcome["cause"].startswith("stand-in: pods held by their budgets xxx")
        assert outcome["cause"].endswith(f"(cut; the whole Cause is in execution {outcome['executionArn']})")


@pytest.mark.parametrize(
    ("fleet_input", "said"),
    [
        ({"clusters": []}, "clusters"),
        ({"clusters": ["a", "a"]}, "more than once: a"),
        ({"clusters": ["a"], "concurrency": 0}, "concurrency"),
        ({"clusters": ["a"], "haltOnFailur": True}, "haltOnFailur"),
        ({"clusters": ["a"], "input": {"clusterName": "b"}}, "clusterName"),
        ({"clusters": ["a"], "input": {"podCidr": "10.0.0.0/8"}}, "cluster 'a'"),
        ({"clusters": ["not a name"]}, "Not EKS cluster names"),
    ],
)
def test_a_bad_fleet_input_starts_nothing(fleet: Fleet, fleet_input: dict[str, Any], said: str) -> None:
    before = len(fleet.sfn.list_executions(stateMachineArn=fleet.child_arn)["executions"])
    result = fleet.run(fleet_input)
    assert (result.status, result.error) == ("FAILED", "InvalidInput"), result.cause
    assert said in (result.cause or "") and "Nothing was started" in (result.cause or "")
    assert len(fleet.sfn.list_executions(stateMachineArn=fleet.child_arn)["executions"]) == before


def test_every_task_retries_with_backoff_and_jitter() -> None:
    states = yaml.safe_load((ROOT / "statemachine" / "fleet.asl.yaml").read_text())["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    tasks.update({n: s for n, s in states["MigrateClusters"]["ItemProcessor"]["States"].items() if s["Type"] == "Task"})
    assert set(tasks) == {
        "PlanFleet",
        "OpenFleet",
        "AdmitMigration",
        "MigrateCluster",
        "HaltFleet",
        "ReportFleet",
        "CloseFleet",
    }
    for name, task in tasks.items():
        for retry in task["Retry"]:
            assert retry["JitterStrategy"] == "FULL" and retry["BackoffRate"] == 2.0, name
