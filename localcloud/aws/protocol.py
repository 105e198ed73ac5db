"""What an AWS request is (service, operation, caller) and how each protocol answers an error.

Operations are resolved from botocore's own service models, so the names are exactly the API's:
query protocols (EC2, ELBv2, STS, IAM) by `Action`, JSON protocols (Step Functions, DynamoDB,
Logs, Events) by `X-Amz-Target`, REST protocols (EKS, Lambda) by method and path against each
operation's `requestUri`.
"""

from __future__ import annotations

import functools
import io
import json
import re
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

import botocore.session

WsgiEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[WsgiEnviron, StartResponse], Iterable[bytes]]

# Signing name (the credential scope's service) -> botocore service model name.
_MODEL_BY_SIGNING_NAME = {
    "ec2": "ec2",
    "eks": "eks",
    "elasticloadbalancing": "elbv2",
    "sts": "sts",
    "iam": "iam",
    "lambda": "lambda",
    "states": "stepfunctions",
    "dynamodb": "dynamodb",
    "logs": "logs",
    "events": "events",
    "cloudformation": "cloudformation",
    "s3": "s3",
    "ssm": "ssm",
    "xray": "xray",
    "cloudwatch": "cloudwatch",
    "monitoring": "cloudwatch",
}

_READ_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Search", "Lookup", "Scan", "Query", "Head", "Select")
# CloudTrail marks these readOnly although their names do not say so.
_READ_OPERATIONS = {"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:DecodeAuthorizationMessage"}


def is_mutating(operation: str) -> bool:
    """Whether `service:Operation` changes anything: Describe*/List*/Get*/... (and STS's
    credential calls) are reads, everything else writes. Kubernetes verbs: get/list/watch read."""
    service, _, name = operation.partition(":")
    if service == "kubernetes":
        verb = name.split(" ", 1)[0].lower()
        return verb not in {"get", "list", "watch"}
    if operation in _READ_OPERATIONS:
        return False
    return not name.startswith(_READ_PREFIXES)


@dataclass(frozen=True)
class AwsRequest:
    service: str
    """The signing name, as IAM prefixes actions: ec2, eks, elasticloadbalancing, states, ..."""
    operation: str
    """The API's operation name: CreateSubnet."""
    protocol: str
    """botocore's protocol name: ec2, query, json, rest-json, rest-xml."""
    access_key: str | None
    region: str | None
    path_params: dict[str, str]

    @property
    def action(self) -> str:
        """`service:Operation`, as faults and the ledger name calls."""
        return f"{self.service}:{self.operation}"


@functools.cache
def _service_model(name: str) -> Any:
    return botocore.session.get_session().get_service_model(name)


def _uri_pattern(uri: str) -> tuple[re.Pattern[str], int]:
    path = uri.split("?", 1)[0]
    regex = ""
    literal = 0
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{"):
            name = part[1:-1]
            greedy = name.endswith("+")
            name = name.rstrip("+")
            regex += f"(?P<{re.sub(r'[^A-Za-z0-9_]', '_', name)}>{'.+' if greedy else '[^/]+'})"
        else:
            regex += re.escape(part)
            literal += len(part)
    return re.compile(f"^{regex}/?$"), literal


@functools.cache
def _rest_routes(model_name: str) -> list[tuple[str, re.Pattern[str], int, str, str]]:
    model = _service_model(model_name)
    routes = []
    for op_name in model.operation_names:
        http = model.operation_model(op_name).http
        pattern, literal = _uri_pattern(http["requestUri"])
        query = http["requestUri"].split("?", 1)[1] if "?" in http["requestUri"] else ""
        routes.append((http["method"], pattern, literal, query, op_name))
    routes.sort(key=lambda r: -r[2])
    return routes


def read_body(environ: WsgiEnviron) -> bytes:
    """The request body; environ's input is replaced so the next app can read it again."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return bytes(body)


def _credential(environ: WsgiEnviron) -> tuple[str | None, str | None, str | None]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    match = re.search(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request", auth)
    if match:
        return match.group(1), match.group(2), match.group(3)
    query = parse_qs(environ.get("QUERY_STRING", ""))
    credential = query.get("X-Amz-Credential", [""])[0].split("/")
    if len(credential) == 5:
        return credential[0], credential[2], credential[3]
    return None, None, None


def classify(environ: WsgiEnviron) -> AwsRequest | None:
    """What the request is, or None for what is not an AWS API call (moto-api, ...)."""
    path = environ.get("PATH_INFO", "") or ""
    if path.startswith("/moto-api"):
        return None
    access_key, region, service = _credential(environ)
    if service is None:
        return None
    model_name = _MODEL_BY_SIGNING_NAME.get(service, service)
    try:
        model = _service_model(model_name)
    except Exception:  # noqa: BLE001 - a service botocore does not know: name it as best we can
        model = None
    protocol = str(model.metadata["protocol"]) if model is not None else "unknown"
    operation = "Unknown"
    path_params: dict[str, str] = {}
    target = environ.get("HTTP_X_AMZ_TARGET")
    if service == "execute-api":  # a method request of an API (IAM's action for it)
        operation = "Invoke"
    elif target:
        operation = target.split(".", 1)[-1]
        protocol = "json"
    elif protocol in {"query", "ec2"}:
        body = read_body(environ).decode("utf-8", "replace")
        params = parse_qs(body) if body else parse_qs(environ.get("QUERY_STRING", ""))
        operation = params.get("Action", ["Unknown"])[0]
        if service == "elasticloadbalancing" and params.get("Version", [""])[0] == "2012-06-01":
            protocol = "query"
    elif protocol in {"rest-json", "rest-xml"} and model is not None:
        method = environ.get("REQUEST_METHOD", "GET")
        query = environ.get("QUERY_STRING", "")
        # Labels are percent-encoded by the SDK (an ARN's '/' is %2F): match on the raw path.
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or path
        raw_path = str(raw).split("?", 1)[0]
        if "://" in raw_path:
            raw_path = "/" + raw_path.split("://", 1)[1].split("/", 1)[-1]
        for route_method, pattern, _, route_query, op_name in _rest_routes(model_name):
            if route_method != method:
                continue
            match = pattern.match(raw_path)
            if match and (not route_query or route_query.split("=")[0] in query):
                operation = op_name
                path_params = {k: unquote(v) for k, v in match.groupdict().items()}
                break
    return AwsRequest(
        service=service,
        operation=operation,
        protocol=protocol,
        access_key=access_key,
        region=region,
        path_params=path_params,
    )


_STATUS = {
    "RequestLimitExceeded": 503,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
    "Unavailable": 503,
    "InternalError": 500,
    "InternalFailure": 500,
    "InternalServerError": 500,
    "ServerException": 500,
    "ServiceException": 500,
    "TooManyRequestsException": 429,
    "ResourceNotFoundException": 404,
    "NotFoundException": 404,
    "ResourceInUseException": 409,
    "AccessDenied": 403,
    "AccessDeniedException": 403,
    "UnauthorizedOperation": 403,
}


def error_status(code: str) -> int:
    return _STATUS.get(code, 400)


def error_response(
    protocol: str, code: str, message: str, status: int | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An error exactly as the protocol's real service sends it (botocore parses it the same way)."""
    status = status or error_status(code)
    request_id = str(uuid.uuid4())
    esc = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if protocol == "ec2":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{code}</Code>'
            f"<Message>{esc}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        ).encode()
        headers = [("Content-Type", "text/xml;charset=UTF-8")]
    elif protocol in {"query", "rest-xml"}:
        kind = "Receiver" if status >= 500 else "Sender"
        body = (
            f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>{kind}</Type>'
            f"<Code>{code}</Code><Message>{esc}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        headers = [("Content-Type", "text/xml")]
    elif protocol == "rest-json":
        body = json.dumps({"message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{code}:")]
    else:  # json
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0")]
    headers += [("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
    return status, headers, body


def send(start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes) -> list[bytes]:
    from http import HTTPStatus

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Error"
    start_response(f"{status} {reason}", headers)
    return [body]


def send_error(
    start_response: StartResponse, protocol: str, code: str, message: str, status: int | None = None
) -> list[bytes]:
    return send(start_response, *error_response(protocol, code, message, status))


def service_error_status(service: str, code: str) -> int:
    """The HTTP status a service answers an error with. Step Functions answers 400 for every error
    of the caller's request, throttling and access denied included (AWS-FACTS 9)."""
    status = error_status(code)
    if service == "states" and status < 500:
        return 400
    return status


def send_json(start_response: StartResponse, document: Any, status: int = 200) -> list[bytes]:
    body = json.dumps(document, default=str).encode()
    return send(
        start_response, status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body
    )


@dataclass
class Captured:
    """A response an inner app produced, held so a middleware can inspect or replace it."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def replay(self, start_response: StartResponse) -> list[bytes]:
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(self.body))))
        return send(start_response, self.status, headers, self.body)


def call(app: WsgiApp, environ: WsgiEnviron) -> Captured:
    """Run an inner WSGI app to completion and capture its response."""
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = list(headers)
        return lambda _data: None

    result = app(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return Captured(status=captured.get("status", 500), headers=captured.get("headers", []), body=body)
