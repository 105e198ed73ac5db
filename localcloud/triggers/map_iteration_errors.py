"""A Map iteration's `States.*` error, carried up by the twin as AWS does.

On AWS a Map state whose iteration fails fails with that iteration's error: a Task inside that
failed with `States.TaskFailed` (a child execution of `states:startExecution.sync:2` that failed,
for one) makes the Map fail with `States.TaskFailed` and the same Cause, for the Map's Catch. moto's
iteration worker names every iteration error a *custom* error name, which refuses the `States.`
prefix (ValueError), so the Map fails with `States.Runtime` instead and its Catch never runs. The
twin names a `States.*` iteration error as the States error it is.
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_done = False


def patch_map_iteration_errors() -> None:
    """Make moto's Map iterations report `States.*` errors by their name (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import (
            ILLEGAL_CUSTOM_ERROR_PREFIX,
            CustomErrorName,
        )
        from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
        from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration import iteration_worker

        def iteration_error_name(error_name: str | None) -> Any:
            if error_name is not None and error_name.startswith(ILLEGAL_CUSTOM_ERROR_PREFIX):
                return StatesErrorName.from_name(error_name)
            return CustomErrorName(error_name=error_name)

        # The worker's module-level name only: custom error names elsewhere keep moto's check.
        setattr(iteration_worker, "CustomErrorName", iteration_error_name)  # noqa: B010
        _done = True
