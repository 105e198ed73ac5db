"""The state machine on moto's interpreter: create it from statemachine/, run executions, and
follow each execution's history live as typed progress events.

moto runs the definition (ASL, JSONPath) in a thread of the server when its config says
`execute_state_machine` (LocalAws sets it); its Lambda tasks reach LocalLambdas through the same
endpoint. Progress comes from GetExecutionHistory, polled: the console's view, built the same way.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import boto3

from localcloud.interpreter_threads import patch_concurrent_states
from localcloud.template import TRUST_POLICIES, StateMachineSpec, TemplateError, load_yaml

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

_SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


def load_definition(path: Path, substitutions: dict[str, str]) -> dict[str, Any]:
    """The ASL document of a DefinitionUri (YAML or JSON) with its `${Name}` substitutions made.

    As on deploy, a `${Name}` with no substitution is an error (CloudFormation's Fn::Sub would fail).
    """
    document = load_yaml(path)
    missing: set[str] = set()

    def substitute(value: Any) -> Any:
        if isinstance(value, str):

            def replace(match: re.Match[str]) -> str:
                if match.group(1) in substitutions:
                    return substitutions[match.group(1)]
                missing.add(match.group(1))
                return match.group(0)

            return _SUBSTITUTION.sub(replace, value)
        if isinstance(value, list):
            return [substitute(item) for item in value]
        if isinstance(value, dict):
            return {key: substitute(item) for key, item in value.items()}
        return value

    definition = substitute(document)
    if missing:
        raise TemplateError(f"{path} uses {', '.join(sorted(missing))}, missing from DefinitionSubstitutions")
    if not isinstance(definition, dict) or "States" not in definition:
        raise TemplateError(f"{path} is not a state machine definition (no States)")
    return definition


# --- progress ----------------------------------------------------------------------------------


@dataclass
class StateVisit:
    """One pass through a state (a Map iteration's states each have their own visit)."""

    name: str
    type: str
    """Task, Choice, Wait, Map, ... (from the history's event type)."""
    path: tuple[str, ...]
    """The Map iterations it runs in, outermost first: ("CreatePodSubnets[1]",)."""
    entered: datetime
    exited: datetime | None = None
    attempts: int = 0
    """Task attempts scheduled (1 + retries)."""
    errors: list[tuple[str, str]] = field(default_factory=list)
    """(error, cause) of each failed attempt."""
    outcome: str = "running"
    """running, succeeded, caught (failed, then a Catch took over), failed, aborted."""
    _failed_attempt: bool = False

    @property
    def retries(self) -> int:
        return max(0, self.attempts - 1)

    @property
    def label(self) -> str:
        return "/".join([*self.path, self.name])

    def elapsed(self, now: datetime | None = None) -> float:
        end = self.exited or now or self.entered
        return max(0.0, (end - self.entered).total_seconds())


@dataclass(frozen=True)
class ProgressEvent:
    kind: str
    """entered, attempt-failed, retried, exited, iteration, finished."""
    visit: StateVisit | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExecutionResult:
    arn: str
    status: str
    """SUCCEEDED, FAILED, TIMED_OUT, ABORTED."""
    output: Any = None
    error: str | None = None
    cause: str | None = None
    started: datetime | None = None
    stopped: datetime | None = None
    visits: list[StateVisit] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    """The raw history."""

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"

    @property
    def transitions(self) -> int:
        """State transitions as billed: one per state entered, one per retry."""
        return sum(1 + visit.retries for visit in self.visits)

    @property
    def duration(self) -> float:
        if self.started and self.stopped:
            return (self.stopped - self.started).total_seconds()
        return 0.0

    def outcomes(self) -> dict[str, str]:
        """State name -> its outcome over every visit: failed > caught > retried > succeeded."""
        rank = {"succeeded": 1, "running": 2, "retried": 3, "caught": 4, "aborted": 5, "failed": 6}
        merged: dict[str, str] = {}
        for visit in self.visits:
            outcome = "retried" if visit.outcome == "succeeded" and visit.retries else visit.outcome
            if rank.get(outcome, 0) > rank.get(merged.get(visit.name, ""), 0):
                merged[visit.name] = outcome
        return merged


_FAILURES = {
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
}
_SCHEDULED = {"LambdaFunctionScheduled", "TaskScheduled"}
_ITERATION_END = {"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"}
_MAP_END = {"MapStateSucceeded", "MapStateFailed", "MapStateAborted"}
_FINISHED = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


class HistoryReader:
    """Turns history events, in order, into progress events and state visits."""

    def __init__(self) -> None:
        self.visits: list[StateVisit] = []
        self._path_of: dict[int, tuple[str, ...]] = {0: ()}
        self._open: dict[tuple[str, ...], StateVisit] = {}
        self.last_id = 0

    def read(self, event: dict[str, Any]) -> Iterator[ProgressEvent]:
        kind = str(event["type"])
        event_id = int(event["id"])
        self.last_id = max(self.last_id, event_id)
        path = self._path_of.get(int(event.get("previousEventId") or 0), ())
        at: datetime = event["timestamp"]
        if kind == "MapIterationStarted":
            details = event["mapIterationStartedEventDetails"]
            path = (*path, f"{details['name']}[{details['index']}]")
            yield ProgressEvent(
                "iteration", self._open.get(path[:-1]), {"index": details["index"], "status": "started"}
            )
        elif kind in _ITERATION_END:
            key = kind[0].lower() + kind[1:] + "EventDetails"
            details = event.get(key) or {}
            path = path[:-1] if path else path
            status = kind.removeprefix("MapIteration").lower()
            yield ProgressEvent("iteration", self._open.get(path), {"index": details.get("index"), "status": status})
        elif kind in _MAP_END:
            # The Map's own end may name an event inside its last iteration as its previous one (moto's
            # interpreter does, after a failed iteration): it belongs to the Map, outside its iterations.
            while path and not ((open_visit := self._open.get(path)) is not None and open_visit.type == "Map"):
                path = path[:-1]
        self._path_of[event_id] = path

        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            visit = StateVisit(name=details["name"], type=kind.removesuffix("StateEntered"), path=path, entered=at)
            self.visits.append(visit)
            self._open[path] = visit
            yield ProgressEvent("entered", visit, {"input": details.get("input")})
        elif kind.endswith("StateExited"):
            leaving = self._open.pop(path, None)
            if leaving is not None:
                leaving.exited = at
                leaving.outcome = "caught" if leaving._failed_attempt else "succeeded"
                yield ProgressEvent("exited", leaving, {"output": event["stateExitedEventDetails"].get("output")})
        elif kind in _SCHEDULED:
            current = self._open.get(path)
            if current is not None:
                current.attempts += 1
                if current._failed_attempt:
                    current._failed_attempt = False
                    yield ProgressEvent("retried", current, {"attempt": current.attempts})
        elif kind in _FAILURES or kind in {"MapStateFailed", "ParallelStateFailed"}:
            failing = self._open.get(path)
            details = event.get(_FAILURES.get(kind, ""), {}) or {}
            if failing is not None:
                failing._failed_attempt = True
                failing.errors.append((str(details.get("error", "")), str(details.get("cause", ""))))
                failed = {"error": details.get("error"), "cause": details.get("cause"), "attempt": failing.attempts}
                yield ProgressEvent("attempt-failed", failing, failed)
        elif kind in _FINISHED:
            for visit in self._open.values():
                visit.exited = at
                visit.outcome = "failed" if (visit._failed_attempt or visit.type == "Fail") else "aborted"
                if kind == "ExecutionSucceeded" and visit.type in {"Succeed", "Pass"}:
                    visit.outcome = "succeeded"
            finished = list(self._open.values())
            self._open.clear()
            for visit in finished:
                yield ProgressEvent("exited", visit, {})


# --- running -----------------------------------------------------------------------------------


class StateMachineRunner:
    """One state machine in the twin: deployed from its spec, executed, followed."""

    def __init__(self, session: boto3.Session, endpoint_url: str, spec: StateMachineSpec) -> None:
        self.spec = spec
        self.definition = load_definition(spec.definition_path, spec.substitutions)
        self._session = session
        self.sfn: SFNClient = session.client("stepfunctions", endpoint_url=endpoint_url)
        self._endpoint_url = endpoint_url
        self.arn: str | None = None
        self._count = 0

    def deploy(self) -> str:
        """Create the state machine (and its role, as SAM would) in moto."""
        patch_direct_lambda_service_errors()
        patch_concurrent_states()
        iam = self._session.client("iam", endpoint_url=self._endpoint_url)
        try:
            iam.get_role(RoleName=self.spec.role_name)
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(RoleName=self.spec.role_name, AssumeRolePolicyDocument=json.dumps(TRUST_POLICIES["states"]))
        created = self.sfn.create_state_machine(
            name=self.spec.name,
            definition=json.dumps(self.definition),
            roleArn=self.spec.role_arn,
            type=self.spec.type,  # type: ignore[arg-type]
        )
        self.arn = created["stateMachineArn"]
        return self.arn

    def start(self, execution_input: Any, name: str | None = None) -> str:
        if self.arn is None:
            self.deploy()
        assert self.arn is not None
        self._count += 1
        # unique across runners too: two runners of one machine may start within the same second
        name = name or f"rehearsal-{self._count}-{uuid.uuid4().hex[:12]}"
        started = self.sfn.start_execution(stateMachineArn=self.arn, name=name, input=json.dumps(execution_input))
        return started["executionArn"]

    def follow(self, execution_arn: str, *, poll: float = 0.2) -> Iterator[ProgressEvent | ExecutionResult]:
        """Progress events as the history grows, then the ExecutionResult (last item)."""
        reader = HistoryReader()
        events: list[dict[str, Any]] = []
        while True:
            description = self.sfn.describe_execution(executionArn=execution_arn)
            for event in self._new_events(execution_arn, reader.last_id):
                events.append(dict(event))
                yield from reader.read(dict(event))
            if description["status"] != "RUNNING":
                break
            time.sleep(poll)
        output = description.get("output")
        yield ExecutionResult(
            arn=execution_arn,
            status=description["status"],
            output=json.loads(output) if output else None,
            error=description.get("error"),
            cause=description.get("cause"),
            started=description.get("startDate"),
            stopped=description.get("stopDate"),
            visits=reader.visits,
            events=events,
        )

    def _new_events(self, execution_arn: str, after_id: int) -> list[dict[str, Any]]:
        """The history's events after `after_id`, oldest first: read newest first (reverseOrder) and
        only as far back as needed, so following a long execution does not re-read its whole history."""
        newest_first: dict[int, dict[str, Any]] = {}
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn, reverseOrder=True)
        for page in pages:
            fresh: list[dict[str, Any]] = [dict(event) for event in page["events"] if int(event["id"]) > after_id]
            newest_first.update((int(event["id"]), event) for event in fresh)
            if len(fresh) < len(page["events"]):
                break
        return [newest_first[event_id] for event_id in sorted(newest_first)]

    def wait(self, execution_arn: str, *, poll: float = 0.2) -> ExecutionResult:
        """The execution's result once it has ended (no progress shown)."""
        result: ExecutionResult | None = None
        for item in self.follow(execution_arn, poll=poll):
            if isinstance(item, ExecutionResult):
                result = item
        assert result is not None
        return result

    def run(self, execution_input: Any, *, poll: float = 0.2) -> ExecutionResult:
        """Start an execution and wait for its result (no progress shown)."""
        return self.wait(self.start(execution_input), poll=poll)


_patched = threading.Lock()
_patch_done = False


def patch_direct_lambda_service_errors() -> None:
    """Name Lambda service errors `Lambda.<Code>` for Task states whose Resource is a function ARN.

    moto's interpreter does so for `arn:aws:states:::lambda:invoke` but names them `Exception` for
    a function ARN; AWS says `Lambda.ServiceException`, `Lambda.TooManyRequestsException`, ...
    for both, and the standard Retry block (AWS-FACTS section 5) matches those names.
    """
    global _patch_done
    with _patched:
        if _patch_done:
            return
        from botocore.exceptions import ClientError
        from moto.stepfunctions.parser.api import HistoryEventType, LambdaFunctionFailedEventDetails
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEvent
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_lambda import (
            StateTaskServiceLambda,
        )
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.state_task_lambda import StateTaskLambda
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails

        original = StateTaskLambda._from_error

        def from_error(self: Any, env: Any, ex: Exception) -> Any:
            if not isinstance(ex, ClientError):
                return original(self, env, ex)
            error, cause = StateTaskServiceLambda._error_cause_from_client_error(ex)
            return FailureEvent(
                env=env,
                error_name=CustomErrorName(error),
                event_type=HistoryEventType.LambdaFunctionFailed,
                event_details=cast(
                    "EventDetails",
                    {"lambdaFunctionFailedEventDetails": LambdaFunctionFailedEventDetails(error=error, cause=cause)},
                ),
            )

        setattr(StateTaskLambda, "_from_error", from_error)  # noqa: B010
        _patch_done = True
