"""What an execution's history says: status, current state, the workflow's steps done, retries.

Read from GetExecutionHistory as the console draws its graph; pure functions over the events, so
the rendering can be tested without AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STEPS: tuple[str, ...] = (
    "Plan",
    "EnsureClusterAccess",
    "ClusterPreflight",
    "ExtendVpcCidr",
    "CreatePodSubnets",
    "RoutePodSubnets",
    "TagLoadBalancerSubnets",
    "ApplyEniConfigs",
    "ConfigureCni",
    "ReplaceNodegroups",
    "VerifyLoadBalancers",
    "VerifyPods",
    "Report",
)
"""The workflow's top-level steps, in order (DESIGN.md); the progress bar counts these."""

ENDED = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
_END_EVENTS = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}
_ATTEMPTS = {"TaskScheduled", "LambdaFunctionScheduled", "ActivityScheduled"}


def steps_of(definition: Mapping[str, Any] | None, execution_input: Any = None) -> list[str]:
    """The steps this execution goes through: STEPS present in the definition (all without one);
    a dry run ends after Plan."""
    names = set((definition or {}).get("States", {})) or set(STEPS)
    steps = [step for step in STEPS if step in names]
    if isinstance(execution_input, dict) and execution_input.get("dryRun") is True:
        steps = steps[:1]
    return steps or ["Plan"]


@dataclass
class Progress:
    steps: list[str]
    status: str = "RUNNING"
    current_state: str | None = None
    done: list[str] = field(default_factory=list)
    retries: int = 0
    started: datetime | None = None
    stopped: datetime | None = None
    error: str | None = None
    cause: str | None = None
    output: Any = None
    entered: list[str] = field(default_factory=list)
    """Every state entered, in order (Map iterations included)."""

    @property
    def ended(self) -> bool:
        return self.status in ENDED

    @property
    def completed(self) -> int:
        return len(self.steps) if self.status == "SUCCEEDED" else len([s for s in self.done if s in self.steps])

    def elapsed(self, now: datetime | None = None) -> float:
        if self.started is None:
            return 0.0
        end = self.stopped or now or datetime.now(UTC)
        return max(0.0, (end - self.started).total_seconds())


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def read_history(events: Iterable[Mapping[str, Any]], steps: list[str]) -> Progress:
    """The progress of an execution from its history events (oldest first)."""
    progress = Progress(steps=list(steps))
    attempts_in_entry = 0
    for event in events:
        kind = str(event.get("type", ""))
        if kind == "ExecutionStarted":
            progress.started = _time(event.get("timestamp"))
        entered = event.get("stateEnteredEventDetails")
        if entered:
            progress.current_state = str(entered["name"])
            progress.entered.append(progress.current_state)
            attempts_in_entry = 0
        exited = event.get("stateExitedEventDetails")
        if exited and exited.get("name") in progress.steps and exited["name"] not in progress.done:
            progress.done.append(str(exited["name"]))
        if kind in _ATTEMPTS:
            attempts_in_entry += 1
            if attempts_in_entry > 1:
                progress.retries += 1
        if kind in _END_EVENTS:
            progress.status = _END_EVENTS[kind]
            progress.stopped = _time(event.get("timestamp"))
            details = next((v for k, v in event.items() if k.endswith("EventDetails") and isinstance(v, dict)), {})
            progress.error = details.get("error")
            progress.cause = details.get("cause")
            if kind == "ExecutionSucceeded" and details.get("output") is not None:
                try:
                    progress.output = json.loads(details["output"])
                except ValueError:
                    progress.output = details["output"]
    return progress
