"""The state-machine harness: Retry and Catch by error name through moto's interpreter, on the
local Lambda endpoint, with progress read from the execution history."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.scenario import load_scenario
from localcloud.stepfunctions import ExecutionResult, StateMachineRunner
from localcloud.template import StateMachineSpec, Template
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal


@pytest.fixture(scope="module")
def twin(harness_template: Template) -> Iterator[Twin]:
    with Twin(load_scenario(), template=harness_template, components=[]) as running:
        yield running


def test_retry_by_error_name_then_success_with_a_map(twin: Twin) -> None:
    twin.lambdas.forget("FlakyFunction")  # its module counts calls
    events = list(twin.follow({"failures": 1, "items": [1, 2], "cidr": "100.64.0.0/16"}, poll=0.1))
    result = events[-1]
    assert isinstance(result, ExecutionResult)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["flaky"] == {"attempts": 2}
    assert [echo["event"] for echo in result.output["echoes"]] == [
        {"item": 1, "table": "harness-locks"},
        {"item": 2, "table": "harness-locks"},
    ]
    kinds = [(event.kind, event.visit.label) for event in events[:-1] if event.visit and event.kind != "iteration"]
    assert ("attempt-failed", "Flaky") in kinds and ("retried", "Flaky") in kinds
    assert {"Items[0]/Echo", "Items[1]/Echo"} <= {label for _, label in kinds}
    assert result.outcomes() == {"Flaky": "retried", "Items": "succeeded", "Echo": "succeeded", "Check": "succeeded"}
    assert result.transitions == 6  # Flaky + its retry, Items, 2 x Echo, Check


def test_catch_by_error_name_keeps_the_name_and_a_readable_cause(twin: Twin) -> None:
    result = twin.execute({"items": [], "cidr": "172.31.0.0/16"}, poll=0.1)
    assert result.status == "FAILED"
    assert result.error == "CidrNotAllowed"
    assert result.cause == "172.31.0.0/16 may not be added to a VPC whose primary block is in 172.16.0.0/12"
    assert result.outcomes()["Check"] == "caught"
    assert result.outcomes()["Failed"] == "failed"


def test_an_uncaught_error_fails_the_execution_with_its_class_name(twin: Twin) -> None:
    result = twin.execute({"items": [], "explode": True}, poll=0.1)
    assert (result.status, result.error) == ("FAILED", "Unexpected")
    assert json.loads(result.cause or "{}")["errorMessage"] == "boom"
    assert result.outcomes()["Check"] == "failed"


def test_lambda_service_errors_are_named_lambda_code(twin: Twin, tmp_path: Path) -> None:
    """A Task whose function does not exist fails with Lambda.ResourceNotFoundException, in both
    resource forms, so a Retry on Lambda.* names matches as on AWS."""
    asl = tmp_path / "missing.asl.yaml"
    asl.write_text(
        "StartAt: Direct\nStates:\n"
        "  Direct:\n    Type: Task\n    Resource: ${Missing}\n"
        "    Catch: [{ErrorEquals: [Lambda.ResourceNotFoundException], ResultPath: $.direct, Next: Integration}]\n"
        "    Next: Integration\n"
        "  Integration:\n    Type: Task\n    Resource: arn:aws:states:::lambda:invoke\n"
        "    Parameters: {FunctionName: '${Missing}', Payload: {}}\n    End: true\n"
    )
    spec = StateMachineSpec(
        logical_id="Missing",
        name="missing",
        arn="",
        definition_path=asl,
        substitutions={"Missing": "arn:aws:lambda:ap-southeast-1:123456789012:function:NoSuchFunction"},
        role_name="MissingRole",
        role_arn="arn:aws:iam::123456789012:role/MissingRole",
        role_generated=True,
        type="STANDARD",
    )
    runner = StateMachineRunner(twin.aws.admin_session(), twin.endpoint_url, spec)
    result = runner.run({}, poll=0.1)
    assert result.outcomes()["Direct"] == "caught"
    assert (result.status, result.error) == ("FAILED", "Lambda.ResourceNotFoundException")
