"""A Wait state until a timestamp (`Timestamp`, `TimestampPath`) on the twin ends at that time, as on AWS.

moto truncates the timestamp's fractional seconds, subtracts the process's local time (not UTC) and
waits the whole seconds of the difference rounded down: it ends up to a second early (or hours off in
another time zone). A state machine that waits until a lock item's mark expires
(`2026-11-30T16:40:00.500Z`) and then writes conditionally on that expiry would find the mark still
there. The twin waits whole seconds rounded up: never before the time, as AWS.
"""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
_done = False


def seconds_until(timestamp: str, now: datetime) -> int | None:
    """Whole seconds from `now` until an RFC 3339 UTC `timestamp` (rounded up; 0 if past), None if it is not one."""
    if not isinstance(timestamp, str) or not timestamp.endswith("Z") or "T" not in timestamp:
        return None
    try:
        moment = datetime.fromisoformat(timestamp[:-1]).replace(tzinfo=UTC)
    except ValueError:
        return None
    return max(0, math.ceil((moment - now).total_seconds()))


def patch_wait_until_timestamp() -> None:
    global _done
    with _lock:
        if _done:
            return
        from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import FailureEventException
        from moto.stepfunctions.parser.asl.component.state.wait.wait_function.timestamp import Timestamp

        def wait_seconds(self: Any, env: Any) -> int:
            self.string.eval(env=env)
            timestamp = env.stack.pop()
            seconds = seconds_until(timestamp, datetime.now(UTC))
            if seconds is None or Timestamp._from_timestamp_string(timestamp) is None:
                raise FailureEventException(self._create_failure_event(env, timestamp))
            return seconds

        setattr(Timestamp, "_get_wait_seconds", wait_seconds)  # noqa: B010
        _done = True
