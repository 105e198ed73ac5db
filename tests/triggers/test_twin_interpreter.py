"""Step Functions on the twin where moto's interpreter differs from AWS: child executions
(`states:startExecution.sync:2`), the 25,000-event history limit, the 256 KB data limit and a stop
inside a Map."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud import twin as twin_module
from localcloud.template import Template
from localcloud.triggers import history_limit
from tests.triggers.conftest import start_twin, stop_twin

pytestmark = pytest.mark.rehearsal

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"


@pytest.fixture(scope="module")
def twin() -> Iterator[twin_module.Twin]:
    started = start_twin()
    yield started
    stop_twin(started)


@pytest.fixture(scope="module")
def sfn(twin: twin_module.Twin) -> Any:
    return twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)


def _machine(sfn: Any, name: str, states: dict[str, Any], start: str) -> str:
    definition = {"StartAt": start, "States": states}
    arn: str = sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    return arn


def _run(twin: twin_module.Twin, arn: str, execution_input: Any) -> Any:
    from localcloud.stepfunctions import StateMachineRunner
    from localcloud.template import Account

    spec = Template.load().state_machine(Account(twin.region, str(twin.aws.account_id)))
    runner = StateMachineRunner(twin.aws.admin_session(), twin.endpoint_url, spec)
    runner.arn = arn
    return runner.run(execution_input, poll=0.1)


def _child_task(child_arn: str, pattern: str = ".sync:2") -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": f"arn:aws:states:::states:startExecution{pattern}",
        "Parameters": {
            "StateMachineArn": child_arn,
            "Name.$": "States.Format('child-{}', $.id)",
            "Input": {"nodegroup.$": "$.nodegroup"},
        },
        "End": True,
    }


def test_a_sync_2_child_returns_its_description_with_output_as_json(twin: twin_module.Twin, sfn: Any) -> None:
    child = _machine(
        sfn,
        "child-succeeds",
        {"Done": {"Type": "Pass", "Parameters": {"replaced.$": "$.nodegroup", "status": "done"}, "End": True}},
        "Done",
    )
    parent = _machine(sfn, "parent-sync2", {"Replace": _child_task(child)}, "Replace")
    result = _run(twin, parent, {"id": "1", "nodegroup": "ng-a"})
    assert result.succeeded, (result.error, result.cause)
    output = result.output
    assert output["Output"] == {"replaced": "ng-a", "status": "done"}  # JSON, not a string (.sync:2)
    assert output["Input"] == {"nodegroup": "ng-a"}
    assert output["Status"] == "SUCCEEDED" and output["Name"] == "child-1"
    assert output["ExecutionArn"].endswith(":child-succeeds:child-1")
    assert isinstance(output["StartDate"], int) and isinstance(output["StopDate"], int)  # epoch milliseconds
    kinds = [event["type"] for event in result.events]
    assert kinds.count("TaskSubmitted") == 1 and "TaskSucceeded" in kinds

    started = _machine(sfn, "parent-async", {"Start": _child_task(child, pattern="")}, "Start")
    plain = _run(twin, started, {"id": "2", "nodegroup": "ng-b"})
    assert plain.succeeded, (plain.error, plain.cause)
    assert set(plain.output) == {"ExecutionArn", "StartDate"}


def test_a_failed_child_fails_the_task_with_its_description(twin: twin_module.Twin, sfn: Any) -> None:
    child = _machine(
        sfn,
        "child-fails",
        {"Refused": {"Type": "Fail", "Error": "NodegroupReplacementFailed", "Cause": "EKS refused it."}},
        "Refused",
    )
    task = _child_task(child)
    task["Catch"] = [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}]
    del task["End"]
    task["Next"] = "Caught"
    parent = _machine(sfn, "parent-of-failed", {"Replace": task, "Caught": {"Type": "Pass", "End": True}}, "Replace")
    result = _run(twin, parent, {"id": "3", "nodegroup": "ng-c"})
    assert result.succeeded, (result.error, result.cause)
    error = result.output["error"]
    assert error["Error"] == "States.TaskFailed"
    described = json.loads(error["Cause"])
    assert (described["Status"], described["Error"], described["Cause"]) == (
        "FAILED",
        "NodegroupReplacementFailed",
        "EKS refused it.",
    )


def test_a_failed_child_in_a_map_iteration_fails_the_map_with_the_iteration_error(
    twin: twin_module.Twin, sfn: Any
) -> None:
    """On AWS a Map whose iteration fails fails with that iteration's error, States.* names included
    (a child execution's States.TaskFailed): its Catch sees the same Error and Cause as a Task's would."""
    child = _machine(
        sfn,
        "child-fails-in-map",
        {"Refused": {"Type": "Fail", "Error": "NodegroupReplacementFailed", "Cause": "EKS refused it."}},
        "Refused",
    )
    task = _child_task(child)
    task["Parameters"]["Name.$"] = "States.Format('iteration-{}', $.nodegroup)"
    each = {
        "Type": "Map",
        "ItemsPath": "$.nodegroups",
        "ItemSelector": {"nodegroup.$": "$$.Map.Item.Value"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "Replace", "States": {"Replace": task}},
        "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.error", "Next": "Caught"}],
        "End": True,
    }
    parent = _machine(sfn, "parent-map-of-failed", {"Each": each, "Caught": {"Type": "Pass", "End": True}}, "Each")
    result = _run(twin, parent, {"nodegroups": ["ng-m"]})
    assert result.succeeded, (result.error, result.cause)
    error = result.output["error"]
    assert error["Error"] == "States.TaskFailed"
    described = json.loads(error["Cause"])
    assert (described["Name"], described["Error"], described["Cause"]) == (
        "iteration-ng-m",
        "NodegroupReplacementFailed",
        "EKS refused it.",
    )


@pytest.fixture
def small_history_limit() -> Iterator[int]:
    """25,000 events take minutes on a shared machine: the same rule at a smaller limit."""
    assert history_limit.limit() == history_limit.HISTORY_LIMIT == 25_000
    history_limit.set_limit(400)
    yield 400
    history_limit.set_limit(history_limit.HISTORY_LIMIT)


def test_an_execution_fails_when_its_history_would_pass_the_limit(
    twin: twin_module.Twin, sfn: Any, small_history_limit: int
) -> None:
    loop = _machine(
        sfn,
        "endless-loop",
        {
            "Count": {"Type": "Pass", "Parameters": {"n.$": "States.MathAdd($.n, 1)"}, "Next": "Again?"},
            "Again?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericLessThan": 100000, "Next": "Count"}],
                "Default": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
        "Count",
    )
    result = _run(twin, loop, {"n": 0})
    assert result.status == "FAILED"
    assert result.error == history_limit.HISTORY_LIMIT_ERROR
    assert "maximum number of events" in (result.cause or "")
    assert len(result.events) == small_history_limit and result.events[-1]["type"] == "ExecutionFailed"


def test_a_state_output_over_256_kb_fails_with_data_limit_exceeded(twin: twin_module.Twin, sfn: Any) -> None:
    doubled = _machine(
        sfn,
        "document-twice",
        {"Twice": {"Type": "Pass", "Parameters": {"a.$": "$.document", "b.$": "$.document"}, "End": True}},
        "Twice",
    )
    document = {"document": "x" * (150 * 1024)}  # fits once (an input), not twice (an output)
    result = _run(twin, doubled, document)
    assert (result.status, result.error) == ("FAILED", "States.DataLimitExceeded")


def test_an_execution_stopped_inside_a_map_ends_aborted_without_its_catch(twin: twin_module.Twin, sfn: Any) -> None:
    """On AWS StopExecution ends the execution ABORTED, whatever runs; moto failed the Map's aborted
    iterations on their details and ended FAILED (States.Runtime), after running nothing of the Catch."""
    import time

    looping = {"Type": "Wait", "Seconds": 1, "Next": "Loop"}
    arn = _machine(
        sfn,
        "stopped-in-map",
        {
            "Checks": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Loop",
                    "States": {"Loop": looping},
                },
                "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "AfterFailure"}],
                "Next": "Done",
            },
            "AfterFailure": {"Type": "Pass", "Next": "Done"},
            "Done": {"Type": "Succeed"},
        },
        "Checks",
    )
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"items": [1, 2, 3]}))["executionArn"]
    time.sleep(1.5)
    sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped by hand")
    deadline = time.monotonic() + 20
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]
        if "stateEnteredEventDetails" in e
    ]
    assert "AfterFailure" not in entered


def test_the_context_objects_times_are_iso_strings_in_milliseconds_and_utc_as_on_aws(
    twin: twin_module.Twin, sfn: Any
) -> None:
    """`$$.State.EnteredTime` as AWS writes it (a state machine that compares it as a timestamp or a string)."""
    import re

    times = _machine(
        sfn,
        "context-times",
        {
            "Times": {
                "Type": "Pass",
                "Parameters": {"entered.$": "$$.State.EnteredTime", "started.$": "$$.Execution.StartTime"},
                "End": True,
            }
        },
        "Times",
    )
    result = _run(twin, times, {})
    assert result.status == "SUCCEEDED"
    aws_format = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
    assert aws_format.match(result.output["entered"]) and aws_format.match(result.output["started"])


def test_choice_compares_timestamps_with_fractional_seconds_as_aws_does(twin: twin_module.Twin, sfn: Any) -> None:
    later = _machine(
        sfn,
        "timestamps",
        {
            "Later?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.a", "TimestampGreaterThanPath": "$.b", "Next": "Yes"}],
                "Default": "No",
            },
            "Yes": {"Type": "Succeed"},
            "No": {"Type": "Fail", "Error": "NotLater"},
        },
        "Later?",
    )
    assert _run(twin, later, {"a": "2999-01-01T00:00:00.000Z", "b": "2026-11-30T14:30:22.123Z"}).status == "SUCCEEDED"
    assert _run(twin, later, {"a": "2000-01-01T00:00:00.500Z", "b": "2000-01-01T00:00:00.600Z"}).error == "NotLater"


def test_a_stop_ends_the_execution_at_once_and_the_lambda_in_flight_runs_to_its_end(
    twin: twin_module.Twin, sfn: Any
) -> None:
    """On AWS StopExecution does not cancel a running invocation: the execution is ABORTED at once, its
    history ends with ExecutionAborted after LambdaFunctionStarted (no completion), and the function runs
    on. moto kept the execution RUNNING until the function answered, then recorded its answer after the
    stop and ended FAILED on a function error."""
    import time

    from localcloud.scenario import FaultSpec

    report = next(spec for spec in twin.lambdas.functions.values() if spec.logical_id == "ReportFunction")
    arn = _machine(
        sfn, "stopped-in-flight", {"Report": {"Type": "Task", "Resource": report.arn, "End": True}}, "Report"
    )
    twin.aws.faults.add(FaultSpec(operation="lambda:InvokeFunction ReportFunction", delay=3))
    before = len(twin.lambdas.invocations)
    execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]  # the function fails on it
    deadline = time.monotonic() + 20
    while len(twin.lambdas.invocations) == before and time.monotonic() < deadline:
        time.sleep(0.05)
    sfn.stop_execution(executionArn=execution, error="Operator", cause="stopped by hand")

    described = sfn.describe_execution(executionArn=execution)
    assert described["status"] == "ABORTED" and "stopDate" in described
    invocation = twin.lambdas.invocations[before]
    assert invocation.duration == 0.0  # still running
    while invocation.duration == 0.0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert invocation.duration >= 3 and invocation.error_type == "ValidationError"  # it ran to its end
    time.sleep(0.5)
    events = [e["type"] for e in sfn.get_execution_history(executionArn=execution, maxResults=1000)["events"]]
    assert events[-3:] == ["LambdaFunctionScheduled", "LambdaFunctionStarted", "ExecutionAborted"]
    assert sfn.describe_execution(executionArn=execution)["status"] == "ABORTED"
