"""A stopped execution ends ABORTED whatever state it was in, as on AWS (twin only; patches moto).

On AWS, StopExecution ends the execution at once: no state retries, catches or runs after it, and
its status is ABORTED. moto stops a Map state's iterations by failing them (MapIterationAborted, with
the stop's error string where a dict of details belongs); the Map then fails on those details
(AttributeError), and the execution ends FAILED with States.Runtime. A task state that fails only
because its execution was stopped now just ends, and the stop's ABORTED stands.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_done = False


class _Stopped(Exception):
    """The state failed because the execution was stopped: it ends without retry or catch."""


def patch_stopped_execution() -> None:
    """Make a stop inside a Map (or any task state) end the execution ABORTED (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.stepfunctions.parser.asl.component.state.exec.execute_state import ExecutionState
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.state_map import StateMap
        from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped

        from_error = ExecutionState._from_error

        def failure_unless_stopped(self: Any, env: Any, ex: Exception) -> Any:
            if isinstance(env.program_state(), ProgramStopped):
                raise _Stopped from ex
            return from_error(self, env, ex)

        setattr(ExecutionState, "_from_error", failure_unless_stopped)  # noqa: B010
        for state_class in (ExecutionState, StateMap):  # the Map has its own retry-and-catch loop
            setattr(state_class, "_eval_state", _until_stopped(state_class._eval_state))  # noqa: B010
        _done = True


def _until_stopped(eval_state: Any) -> Any:
    def state_until_stopped(self: Any, env: Any) -> None:
        try:
            eval_state(self, env)
        except _Stopped:
            return  # the state's own eval returns at once: the program is no longer running

    return state_until_stopped
