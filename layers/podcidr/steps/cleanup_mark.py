"""The clean-up's mark on the cluster's lock item (ExecutionEnded's MarkLock, before every round of
CleanUpEndedExecution): `cleaningFor` = the ended execution, `cleaningUntil` = until when the round may
still touch the cluster. TakeLock and TakeOverLock refuse while a mark holds (they compare it with
their `$$.State.EnteredTime`), so a newer migration can neither take the lock nor adopt the access entry
or the namespace in the middle of a round: it waits for the mark's time and tries again.

`cleaningUntil` is an ISO 8601 UTC time with milliseconds (`2026-11-30T16:40:00.500Z`), the format of the
context object's times: strings of one format compare as the times do, in a DynamoDB condition as in a
Choice or a Wait (TimestampPath).

The function plans the next mark at the end of each call (the state machine cannot add seconds to a
time): the wait before it, MarkLock's own retries, then the whole round. A round that starts too late
for its mark to cover it touches nothing. No mark outlives the Express execution that wrote it.
"""

from __future__ import annotations

from datetime import UTC, datetime

FUNCTION_TIMEOUT_SECONDS = 30
"""CleanUpEndedExecutionFunction's Timeout (template.yaml; a test holds them equal): a round ends, or is
killed, within it."""
ROUND_TASK_TIMEOUT_SECONDS = 40
"""CleanUpTestWorkloads' TimeoutSeconds (execution-ended.asl.yaml; a test holds them equal)."""
MARK_RETRIES_SECONDS = 10
"""MarkLock's Retry waits (1 + 2 s at most, jittered) and its calls."""
CLOCK_MARGIN_SECONDS = 10
"""Between the function's clock and Step Functions' (the time TakeLock compares the mark with)."""
MARK_SECONDS = MARK_RETRIES_SECONDS + ROUND_TASK_TIMEOUT_SECONDS + CLOCK_MARGIN_SECONDS
"""How long after its planned start a round stays marked."""
EXPRESS_SECONDS = 300
"""An Express execution's longest duration: a mark never outlives the execution that wrote it."""


def iso(moment: float) -> str:
    """Epoch seconds as the context object writes times (milliseconds, UTC, `Z`)."""
    when = datetime.fromtimestamp(moment, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def next_mark(now: float, wait_seconds: float, machine_started_at: str | None) -> str:
    """`cleaningUntil` for a round that starts after `wait_seconds` (and MarkLock)."""
    until = now + wait_seconds + MARK_SECONDS
    if machine_started_at:
        until = min(until, epoch(machine_started_at) + EXPRESS_SECONDS)
    return iso(until)


def covers(mark_until: str | None, now: float) -> bool:
    """Whether a round starting `now` ends, even killed at its timeout, while the mark still holds."""
    return mark_until is not None and now + FUNCTION_TIMEOUT_SECONDS + CLOCK_MARGIN_SECONDS <= epoch(mark_until)
