"""`arn:aws:states:::states:startExecution` (and `.sync`, `.sync:2`) in the twin, as AWS runs it.

moto's interpreter has the integration but cannot run it: it hands the task's parameters to boto3 in
the optimized integration's PascalCase (`StateMachineArn`), which botocore's serializer does not
know (a KeyError, reported as States.Runtime), and it reads the answers (`ExecutionArn`) in
PascalCase while boto3 gives `executionArn`. On AWS:

- the parameters are StartExecution's members in PascalCase (`StateMachineArn`, `Name`, `Input`);
- the plain task returns `{"ExecutionArn", "StartDate"}`;
- `.sync` and `.sync:2` wait for the child and return its DescribeExecution in PascalCase
  (`ExecutionArn`, `Input`, `Output`, `Status`, `StartDate`, `StopDate`, ...), dates as epoch
  milliseconds; `.sync:2` gives `Input` and `Output` as JSON, `.sync` as strings;
- a child that does not succeed fails the task with `States.TaskFailed`, whose Cause is that
  description (JSON, with the child's `Error` and `Cause`).

The twin translates both ways, guided by the botocore model, and leaves the waiting to moto.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

from localcloud.triggers.interpreter import _model_names

_lock = threading.Lock()
_done = False


def _epoch_millis(value: Any) -> Any:
    if isinstance(value, datetime):
        return int(value.timestamp() * 1000)
    return value


def sfn_output(response: dict[str, Any]) -> dict[str, Any]:
    """A boto3 Step Functions answer as the optimized integration returns it (PascalCase, epoch ms)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(key)[:1].upper() + str(key)[1:]: convert(item) for key, item in value.items()}
        if isinstance(value, list):
            return [convert(item) for item in value]
        return _epoch_millis(value)

    result: dict[str, Any] = {}
    for key, value in response.items():
        name = str(key)[:1].upper() + str(key)[1:]
        # Input and Output are the execution's own documents: kept as they are (JSON or a string).
        result[name] = value if name in ("Input", "Output") else convert(value)
    return result


def patch_start_execution_integration() -> None:
    """Make moto's `states:startExecution[.sync[:2]]` tasks speak as AWS's (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        import botocore.session
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
            StateTaskServiceSfn,
        )

        model = botocore.session.get_session().get_service_model("stepfunctions")
        normalise_parameters = StateTaskServiceSfn._normalise_parameters

        def parameters_in_model_names(
            self: Any, parameters: dict[str, Any], boto_service_name: Any = None, service_action_name: Any = None
        ) -> None:
            normalise_parameters(self, parameters, boto_service_name, service_action_name)
            action = str(service_action_name or self.resource.api_action)
            operation = model.operation_model(action[:1].upper() + action[1:])
            translated = _model_names(parameters, operation.input_shape)
            parameters.clear()
            parameters.update(translated)

        def response_in_integration_names(
            self: Any, response: Any, boto_service_name: Any = None, service_action_name: Any = None
        ) -> None:
            if isinstance(response, dict):
                response.pop("ResponseMetadata", None)
                translated = sfn_output(response)
                response.clear()
                response.update(translated)

        setattr(StateTaskServiceSfn, "_normalise_parameters", parameters_in_model_names)  # noqa: B010
        setattr(StateTaskServiceSfn, "_normalise_response", response_in_integration_names)  # noqa: B010
        _done = True
