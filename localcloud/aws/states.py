"""Step Functions as AWS answers where moto does not.

- StartExecution without a `name`: AWS names the execution with a UUID; moto names it "None", so
  a second unnamed start fails with ExecutionAlreadyExists. The twin gives it a UUID.
- GetExecutionHistory: moto returns every event, oldest first, whatever the request says. AWS
  pages them (`maxResults`, default 100, at most 1000; `nextToken`), lists them newest first when
  `reverseOrder` is true, and leaves out the events' input and output when `includeExecutionData`
  is false. The twin does the same over moto's full history.
- DescribeExecution: moto leaves out `inputDetails`/`outputDetails` (AWS: `{"included": true}` beside
  the data), `redriveCount` (0 until redriven) and `redriveStatus` (NOT_REDRIVABLE while running or
  once succeeded, REDRIVABLE after a failure, abort or time-out; AWS API reference, Execution
  redrive). The twin adds them.
- A body that is not JSON is a SerializationException (400), as on AWS (moto failed with a 500).
"""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Iterable
from typing import Any

from localcloud.aws.protocol import AwsRequest, StartResponse, WsgiApp, WsgiEnviron, call, read_body, send_error

DEFAULT_PAGE = 100
MAX_PAGE = 1000
_EXECUTION_DATA = ("input", "inputDetails", "output", "outputDetails")


class StepFunctionsRules:
    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request: AwsRequest | None = environ.get("localcloud.request")
            if request is None or request.service != "states":
                return inner(environ, start_response)
            handler = {
                "StartExecution": _start_execution,
                "GetExecutionHistory": _get_execution_history,
                "DescribeExecution": _describe_execution,
            }.get(request.operation)
            if handler is None:
                return inner(environ, start_response)
            try:
                return handler(inner, environ, start_response)
            except _NotJson:
                return send_error(start_response, "json", "SerializationException", "The request body is not JSON")

        return app


class _NotJson(Exception):
    pass


def _params(environ: WsgiEnviron) -> dict[str, Any]:
    try:
        params = json.loads(read_body(environ) or b"{}")
    except ValueError:
        raise _NotJson from None
    if not isinstance(params, dict):
        raise _NotJson
    return params


def _replace_body(environ: WsgiEnviron, params: dict[str, Any]) -> None:
    body = json.dumps(params).encode()
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))


def _start_execution(inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
    params = _params(environ)
    if params and not params.get("name"):
        params["name"] = str(uuid.uuid4())
        _replace_body(environ, params)
    return inner(environ, start_response)


def _describe_execution(inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
    response = call(inner, environ)
    if response.status != 200:
        return response.replay(start_response)
    execution = json.loads(response.body)
    for data in ("input", "output"):
        if data in execution:
            execution.setdefault(f"{data}Details", {"included": True})
    execution.setdefault("redriveCount", 0)
    redrivable = execution.get("status") in ("FAILED", "ABORTED", "TIMED_OUT")
    execution.setdefault("redriveStatus", "REDRIVABLE" if redrivable else "NOT_REDRIVABLE")
    if not redrivable:
        reason = (
            "Execution is RUNNING and cannot be redriven"
            if execution.get("status") == "RUNNING"
            else ("Execution is SUCCEEDED and cannot be redriven")
        )
        execution.setdefault("redriveStatusReason", reason)
    response.body = json.dumps(execution).encode()
    return response.replay(start_response)


def _get_execution_history(inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
    params = _params(environ)
    if not isinstance(params.get("executionArn"), str):
        return send_error(
            start_response,
            "json",
            "ValidationException",
            "1 validation error detected: Value null at 'executionArn' failed to satisfy constraint: "
            "Member must not be null",
        )
    page_size = int(params.get("maxResults") or DEFAULT_PAGE)
    if not 0 < page_size <= MAX_PAGE:
        return send_error(
            start_response,
            "json",
            "ValidationException",
            f"1 validation error detected: Value '{page_size}' at 'maxResults' failed to satisfy constraint: "
            f"Member must have value less than or equal to {MAX_PAGE}",
        )
    try:
        after = _after_event(params.get("nextToken"), str(params.get("executionArn")))
    except ValueError:
        return send_error(start_response, "json", "InvalidToken", f"Invalid Token: '{params.get('nextToken')}'")
    _replace_body(environ, {"executionArn": params.get("executionArn")})
    response = call(inner, environ)
    if response.status != 200:
        return response.replay(start_response)
    events: list[dict[str, Any]] = json.loads(response.body)["events"]
    for event in events:  # moto starts the first state's events from 0; AWS links each to the event before
        if int(event.get("id") or 0) > 1 and not event.get("previousEventId"):
            event["previousEventId"] = int(event["id"]) - 1
    if params.get("reverseOrder"):
        events.reverse()
    # a token names the last event given: the next page goes on after it, however the history grew since
    start = next((i + 1 for i, event in enumerate(events) if int(event["id"]) == after), len(events)) if after else 0
    page: dict[str, Any] = {"events": events[start : start + page_size]}
    if start + page_size < len(events):
        page["nextToken"] = _token(int(events[start + page_size - 1]["id"]), str(params.get("executionArn")))
    if params.get("includeExecutionData") is False:
        page["events"] = [_without_data(event) for event in page["events"]]
    response.body = json.dumps(page).encode()
    return response.replay(start_response)


def _token(last_event_id: int, execution_arn: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([last_event_id, execution_arn]).encode()).decode()


def _after_event(token: Any, execution_arn: str) -> int:
    """The ID of the last event the previous page gave (0 without a token)."""
    if not token:
        return 0
    try:
        last_event_id, arn = json.loads(base64.urlsafe_b64decode(str(token).encode()))
    except (TypeError, ValueError) as error:
        raise ValueError(str(token)) from error
    if arn != execution_arn or not isinstance(last_event_id, int):
        raise ValueError(str(token))
    return last_event_id


def _without_data(event: dict[str, Any]) -> dict[str, Any]:
    return {
        key: (
            {name: value for name, value in details.items() if name not in _EXECUTION_DATA}
            if key.endswith("EventDetails") and isinstance(details, dict)
            else details
        )
        for key, details in event.items()
    }
