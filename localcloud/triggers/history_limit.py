"""The 25,000-event history limit of a Step Functions execution, enforced in the twin.

On AWS an execution's history holds at most 25,000 events; an execution that would write more
fails (AWS-FACTS 5 and 7). moto's interpreter writes as many as it is given. The twin counts the
events of each execution (the Map iterations' and Parallel branches' share their execution's
count, as on AWS) and, when the next event would leave no room for the execution's own
ExecutionFailed event, fails the execution: `States.Runtime` with a cause that names the limit
(the error name AWS uses here is not documented; the outcome, a failed execution, is).

moto checks the other data limit itself: a state's output (or a task's result) above 256 KB fails
with `States.DataLimitExceeded` (moto.stepfunctions.parser.quotas).
"""

from __future__ import annotations

import threading
from typing import Any

HISTORY_LIMIT = 25_000
HISTORY_LIMIT_ERROR = "States.Runtime"
HISTORY_LIMIT_CAUSE = (
    "The execution reached the maximum number of events in its history ({limit}). Step Functions keeps at "
    "most 25,000 events per execution; move long loops into child executions or poll less often."
)
_TERMINAL = {"ExecutionFailed", "ExecutionSucceeded", "ExecutionAborted", "ExecutionTimedOut"}

_lock = threading.Lock()
_done = False
_limit = HISTORY_LIMIT


def set_limit(events: int) -> None:
    """Tests only: a smaller limit, to reach it quickly (HISTORY_LIMIT is AWS's)."""
    global _limit
    _limit = events


def limit() -> int:
    return _limit


def patch_history_limit() -> None:
    """Fail an execution whose history would pass the limit (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.stepfunctions.parser.api import ExecutionFailedEventDetails
        from moto.stepfunctions.parser.asl.eval.environment import Environment
        from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager

        environment_init = Environment.__init__
        set_error = Environment.set_error
        add_event = EventManager.add_event

        def init_with_owner(self: Any, *args: Any, **kwargs: Any) -> None:
            environment_init(self, *args, **kwargs)
            # Frames (Map iterations, branches) replace their manager by their execution's afterwards:
            # the manager keeps the environment that made it, the execution's own.
            self.event_manager.twin_execution_env = self

        def set_error_keeping_the_limit(self: Any, error: Any) -> None:
            # What a state does after the execution failed (it is stopped mid-way) must not replace the cause.
            set_error(self, getattr(self, "twin_history_failure", None) or error)

        def add_event_within_limit(self: Any, context: Any, event_type: Any, *args: Any, **kwargs: Any) -> int:
            kind = str(getattr(event_type, "value", event_type))
            if kind not in _TERMINAL:
                with self._mutex:
                    written = self._event_id_gen._next_id - 1
                if written >= _limit - 1:
                    execution = getattr(self, "twin_execution_env", None)
                    if execution is not None and getattr(execution, "twin_history_failure", None) is None:
                        execution.twin_history_failure = ExecutionFailedEventDetails(
                            error=HISTORY_LIMIT_ERROR, cause=HISTORY_LIMIT_CAUSE.format(limit=_limit)
                        )
                        execution.set_error(execution.twin_history_failure)
                    return int(written)
            return int(add_event(self, context, event_type, *args, **kwargs))

        setattr(Environment, "__init__", init_with_owner)  # noqa: B010
        setattr(Environment, "set_error", set_error_keeping_the_limit)  # noqa: B010
        setattr(EventManager, "add_event", add_event_within_limit)  # noqa: B010
        _done = True
