"""A stop ends the execution at once, whatever call it has in flight, as on AWS (twin only; patches moto).

On AWS, StopExecution ends the execution ABORTED at once: its history ends with ExecutionAborted, the
"Execution Status Change" event goes out, and a Lambda invocation already running is not cancelled: it
runs to completion and what it creates lands after the stop, while the history keeps the Task as
scheduled and started, with no completion (Step Functions developer guide, "StopExecution"; podcidr's
late_calls.py relies on it).

moto's interpreter waits in the Task for the invocation's answer: the execution stayed RUNNING until
the function returned, then recorded its result (LambdaFunctionSucceeded or Failed) after the stop, and
a failed call even ended it FAILED instead of ABORTED. Here the stop records ExecutionAborted and the
status (and its event) at once and closes the history; the interpreter's thread finishes the call, and
whatever it records afterwards is dropped, as is its own end of the execution.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_done = False


class _Ended:
    """The execution's end was told at the stop: the worker's own end tells nothing more."""

    def terminated(self) -> None:
        return None


def patch_stop_in_flight() -> None:
    """Make StopExecution end the execution at once, its history closed (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.stepfunctions.parser.api import ExecutionAbortedEventDetails, ExecutionStatus, HistoryEventType
        from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
        from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
        from moto.stepfunctions.parser.backend.execution import Execution

        add_event = EventManager.add_event

        def add_event_until_closed(self: Any, *args: Any, **kwargs: Any) -> int:
            if getattr(self, "_twin_closed", False):
                return 0  # the execution was stopped: nothing more goes into its history
            return int(add_event(self, *args, **kwargs))

        stop = Execution.stop

        def stop_at_once(self: Any, stop_date: Any, error: str | None, cause: str | None) -> None:
            worker = self.exec_worker
            env = getattr(worker, "env", None)
            running = self.exec_status == ExecutionStatus.RUNNING
            stop(self, stop_date=stop_date, error=error, cause=cause)
            if worker is None or env is None or not running or getattr(env.event_manager, "_twin_closed", False):
                return
            context = env.event_history_context
            context.source_event_id = 0
            env.event_manager.add_event(
                context=context,
                event_type=HistoryEventType.ExecutionAborted,
                event_details=EventDetails(  # type: ignore[typeddict-item] # a total TypedDict, used partly by moto too
                    executionAbortedEventDetails=ExecutionAbortedEventDetails(error=error, cause=cause)
                ),
                timestamp=stop_date,
            )
            env.event_manager._twin_closed = True
            told = worker._execution_communication
            worker._execution_communication = _Ended()
            told.terminated()  # ABORTED now, and the status-change event (localcloud.triggers.events)
            self.stop_date = stop_date

        setattr(EventManager, "add_event", add_event_until_closed)  # noqa: B010
        setattr(Execution, "stop", stop_at_once)  # noqa: B010
        _done = True
