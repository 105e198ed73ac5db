"""Fixes to moto's Step Functions interpreter that the triggers' states need (twin only).

- `$$.Execution.StartTime` is a `datetime` in moto; on AWS it is an ISO 8601 string
  (`2024-05-01T10:00:00.123Z`). TakeLock writes it into the lock item, which moto's DynamoDB
  integration then fails to serialize ("Object of type datetime is not JSON serializable").
  `$$.State.EnteredTime` is `2024-05-01T10:00:00.123456+00:00` in moto, `2024-05-01T10:00:00.123Z` on
  AWS.
- Choice's Timestamp comparisons take RFC 3339 times with fractional seconds on AWS
  (`2024-05-01T10:00:00.123Z`, as the context object's); moto parses only `%Y-%m-%dT%H:%M:%SZ`.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

_lock = threading.Lock()
_done = False


def iso8601(moment: datetime) -> str:
    """A timestamp as Step Functions writes it in the context object."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def patch_context_start_time() -> None:
    """Make `$$.Execution.StartTime` the ISO string AWS gives (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

        original = ExecutionWorker._get_evaluation_environment

        def evaluation_environment(self: Any) -> Any:
            env = original(self)
            execution = env.states.context_object.context_object_data["Execution"]
            start = execution.get("StartTime")
            if isinstance(start, datetime):
                execution["StartTime"] = iso8601(start)
            return env

        setattr(ExecutionWorker, "_get_evaluation_environment", evaluation_environment)  # noqa: B010

        from moto.stepfunctions.parser.asl.component.state.state import CommonStateField

        original_input = CommonStateField._eval_state_input

        def state_input(self: Any, env: Any) -> None:
            state = env.states.context_object.context_object_data.get("State")
            entered = state.get("EnteredTime") if isinstance(state, dict) else None
            if isinstance(entered, str) and not entered.endswith("Z"):
                state["EnteredTime"] = iso8601(datetime.fromisoformat(entered))
            original_input(self, env)

        setattr(CommonStateField, "_eval_state_input", state_input)  # noqa: B010

        from moto.stepfunctions.parser.asl.component.state.choice.comparison.operator.implementations import (
            is_operator,
        )

        def string_to_timestamp(string: str) -> datetime | None:
            if not isinstance(string, str) or not string.endswith("Z") or "T" not in string:
                return None
            try:
                return datetime.fromisoformat(string[:-1]).replace(tzinfo=None)
            except ValueError:
                return None

        is_operator.IsTimestamp.string_to_timestamp = staticmethod(string_to_timestamp)  # type: ignore[method-assign]
        _done = True


# --- aws-sdk integrations ----------------------------------------------------------------------
#
# `arn:aws:states:::aws-sdk:<service>:<action>` takes and returns the API's members in PascalCase
# (`ExecutionArn` in, `Status` out) on AWS. moto's interpreter hands the parameters to boto3
# as they are (boto3 wants the model's names, `executionArn`, and drops unknown ones unvalidated)
# and returns boto3's names and datetime objects. The twin translates both ways, guided by the
# botocore model of the operation.

_sdk_lock = threading.Lock()
_sdk_done = False


def _model_names(value: Any, shape: Any) -> Any:
    """`value` (PascalCase or any case) with the member names of `shape` (a botocore shape)."""
    if shape is None:
        return value
    kind = shape.type_name
    if kind == "structure" and isinstance(value, dict):
        by_lower = {name.lower(): name for name in shape.members}
        result = {}
        for key, item in value.items():
            name = by_lower.get(str(key).lower(), key)
            result[name] = _model_names(item, shape.members.get(name))
        return result
    if kind == "list" and isinstance(value, list):
        return [_model_names(item, shape.member) for item in value]
    if kind == "map" and isinstance(value, dict):
        return {key: _model_names(item, shape.value) for key, item in value.items()}
    return value


def _sdk_names(value: Any, shape: Any) -> Any:
    """A boto3 response as the aws-sdk integration returns it: PascalCase members, ISO timestamps."""
    if isinstance(value, datetime):
        return iso8601(value)
    if shape is not None and shape.type_name == "structure" and isinstance(value, dict):
        return {
            str(key)[:1].upper() + str(key)[1:]: _sdk_names(item, shape.members.get(key)) for key, item in value.items()
        }
    if isinstance(value, list):
        member = shape.member if shape is not None and shape.type_name == "list" else None
        return [_sdk_names(item, member) for item in value]
    if isinstance(value, dict):
        inner = shape.value if shape is not None and shape.type_name == "map" else None
        return {key: _sdk_names(item, inner) for key, item in value.items()}
    return value


def patch_aws_sdk_member_names() -> None:
    """Translate aws-sdk integration parameters and results as AWS does (idempotent)."""
    global _sdk_done
    with _sdk_lock:
        if _sdk_done:
            return
        import botocore.session
        from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
            StateTaskServiceAwsSdk,
        )

        models: dict[str, Any] = {}

        def operation(task: Any) -> Any:
            service = task._get_boto_service_name()
            if service not in models:
                models[service] = botocore.session.get_session().get_service_model(service)
            action = str(task.resource.api_action)
            return models[service].operation_model(action[:1].upper() + action[1:])

        def normalise_parameters(self: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
            translated = _model_names(parameters, operation(self).input_shape)
            parameters.clear()
            parameters.update(translated)

        def normalise_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
            if isinstance(response, dict):
                translated = _sdk_names(response, operation(self).output_shape)
                response.clear()
                response.update(translated)

        setattr(StateTaskServiceAwsSdk, "_normalise_parameters", normalise_parameters)  # noqa: B010
        setattr(StateTaskServiceAwsSdk, "_normalise_response", normalise_response)  # noqa: B010
        _sdk_done = True


def patch_interpreter() -> None:
    """Every fix above, the startExecution integration (child executions), Map iteration errors, the
    history limit, stops inside a Map and a Wait until a timestamp."""
    from localcloud.triggers.child_executions import patch_start_execution_integration
    from localcloud.triggers.history_limit import patch_history_limit
    from localcloud.triggers.map_iteration_errors import patch_map_iteration_errors
    from localcloud.triggers.stopped_execution import patch_stopped_execution
    from localcloud.triggers.stopped_in_flight import patch_stop_in_flight
    from localcloud.triggers.wait_until import patch_wait_until_timestamp

    patch_context_start_time()
    patch_aws_sdk_member_names()
    patch_start_execution_integration()
    patch_map_iteration_errors()
    patch_history_limit()
    patch_stopped_execution()
    patch_wait_until_timestamp()
    patch_stop_in_flight()
