"""The invoke endpoint: a method request through API Gateway's pipeline to its integration and back.

Served on the twin's endpoint under `/restapis/<api-id>/<stage>/_user_request_/<path>` (the
address LocalStack uses as well), in this order, as API Gateway runs a REST API method:

1. route: the resource and method (none: MISSING_AUTHENTICATION_TOKEN, 403, as API Gateway
   answers for a path or method it does not serve);
2. authorization: IAM (sigv4);
3. request validation: required parameters, then the body against its model;
4. integration request: the request template of the body's content type (`passthroughBehavior:
   never` and no template for it: UNSUPPORTED_MEDIA_TYPE, 415), rendered (VTL);
5. the `type: aws` integration, called with its role's credentials;
6. integration response: the first selection pattern that matches the service's HTTP status code
   in full (Java's String.matches), else `default`; its status must be one of the method's
   responses; its response template rendered over the service's body, which may override the
   status and add headers (`$context.responseOverride.status`, `.header.<name>`).

A mapping that cannot be rendered or selected is API_CONFIGURATION_ERROR (500 "Internal server
error"), a service that cannot be reached INTEGRATION_FAILURE (504).
"""

from __future__ import annotations

import re
import urllib.error
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from botocore.credentials import Credentials

from localcloud.apigateway import validation
from localcloud.apigateway.definition import Operation, RestApi
from localcloud.apigateway.integration import call_service
from localcloud.apigateway.responses import GatewayResponse, Refused, gateway_response
from localcloud.apigateway.sigv4 import Caller, RootCredentials, SignedRequest, authorize
from localcloud.apigateway.urls import INVOKE_PATH
from localcloud.apigateway.vtl import Input, MappingTemplateError, render
from localcloud.aws.protocol import StartResponse, WsgiApp, WsgiEnviron, read_body, send
from localcloud.template import TemplateError

INTERNAL_ERROR = "Internal server error"


@dataclass(frozen=True)
class Account:
    """What the endpoint needs from the twin once it runs."""

    region: str
    account_id: str
    endpoint_url: str
    root: RootCredentials
    role_credentials: Callable[[str], Credentials]


@dataclass
class MethodRequest:
    method: str
    path: str
    """The resource path as requested (/migrations/abc), percent-encoded as sent."""
    body: bytes
    content_type: str
    headers: dict[str, str]
    querystring: dict[str, str]
    signed: SignedRequest


class InvokeEndpoint:
    """WSGI middleware answering method requests of the template's APIs; the rest goes on to moto."""

    def __init__(self) -> None:
        self.apis: dict[str, RestApi] = {}
        self.account: Account | None = None
        """Set while the twin runs; until then every request goes on."""
        self.served: list[dict[str, Any]] = []
        """One entry per method request answered: method, path, status (for --state)."""

    def bind(self, apis: list[RestApi], account: Account) -> None:
        self.apis = {api.api_id: api for api in apis}
        self.account = account

    def unbind(self) -> None:
        self.apis = {}
        self.account = None

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            match = INVOKE_PATH.match(_raw_path(environ))
            api = self.apis.get(match.group("api")) if match else None
            if match is None or api is None or self.account is None:
                return inner(environ, start_response)
            request = _method_request(environ, match.group("path") or "/")
            response = self.invoke(api, match.group("stage"), request, self.account)
            self.served.append({"method": request.method, "path": request.path, "status": response.status})
            return send(start_response, response.status, response.headers, response.body)

        return app

    def invoke(self, api: RestApi, stage: str, request: MethodRequest, account: Account) -> GatewayResponse:
        context = _context(api, stage, request, account)
        try:
            found = api.operation(request.method, request.path) if stage == api.stage else None
            if found is None:
                raise Refused("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
            operation, path_params = found
            context["resourcePath"] = operation.resource_path
            if operation.authorization == "AWS_IAM":
                resource = (
                    f"arn:aws:execute-api:{account.region}:{account.account_id}:{api.api_id}/{stage}/"
                    f"{request.method}{request.path}"
                )
                _identify(
                    context, authorize(request.signed, region=account.region, resource_arn=resource, root=account.root)
                )
            params = {"path": path_params, "querystring": request.querystring, "header": request.headers}
            validation.check_parameters(operation, params)
            validation.check_body(operation, request.content_type, request.body)
            response = _integrate(operation, request, params, context, account)
        except Refused as refusal:
            response = gateway_response(refusal, api.gateway_responses, context)
        return _with_ids(response, context)


def _integrate(
    operation: Operation,
    request: MethodRequest,
    params: Mapping[str, Mapping[str, str]],
    context: dict[str, Any],
    account: Account,
) -> GatewayResponse:
    integration = operation.integration
    if integration.get("type") != "aws":
        raise Refused("API_CONFIGURATION_ERROR", INTERNAL_ERROR, status=500)
    templates = integration.get("requestTemplates") or {}
    template = templates.get(request.content_type)
    if template is None and (integration.get("passthroughBehavior") == "never" or templates):
        raise Refused("UNSUPPORTED_MEDIA_TYPE", "Unsupported Media Type", status=415)
    try:
        text = request.body.decode("utf-8", "replace")
        body = text if template is None else render(template, payload=Input(text, params), context=context)
        credentials = account.role_credentials(str(integration["credentials"]))
        answer = call_service(account.endpoint_url, integration, body, credentials)
    except (MappingTemplateError, TemplateError, KeyError):
        raise Refused("API_CONFIGURATION_ERROR", INTERNAL_ERROR, status=500) from None
    except urllib.error.URLError:
        raise Refused("INTEGRATION_FAILURE", INTERNAL_ERROR, status=504) from None
    chosen = select_response(integration.get("responses") or {}, answer.status)
    status = str((chosen or {}).get("statusCode", ""))
    if chosen is None or status not in operation.method_responses:
        raise Refused("API_CONFIGURATION_ERROR", INTERNAL_ERROR, status=500)
    response_templates = chosen.get("responseTemplates") or {}
    content_type = (
        "application/json"
        if "application/json" in response_templates
        else next(iter(response_templates), "application/json")
    )
    output = answer.body
    # A response template may override the status and set headers ($context.responseOverride).
    override: dict[str, Any] = {"status": None, "header": {}}
    if content_type in response_templates:
        try:
            output = render(
                response_templates[content_type],
                payload=Input(answer.body, params),
                context={**context, "responseOverride": override},
            )
        except MappingTemplateError:
            raise Refused("API_CONFIGURATION_ERROR", INTERNAL_ERROR, status=500) from None
    headers = [("Content-Type", content_type), *((str(k), str(v)) for k, v in override["header"].items())]
    final = int(override["status"]) if override["status"] is not None else int(status)
    return GatewayResponse(status=final, headers=headers, body=output.encode())


def select_response(responses: Mapping[str, Any], status: int) -> dict[str, Any] | None:
    """The integration response whose selection pattern matches the status code in full, else `default`."""
    for pattern, response in responses.items():
        if pattern != "default" and re.fullmatch(str(pattern), str(status)):
            return dict(response)
    default = responses.get("default")
    return None if default is None else dict(default)


def _method_request(environ: WsgiEnviron, path: str) -> MethodRequest:
    body = read_body(environ)
    headers = {
        key[5:].replace("_", "-").title(): str(value) for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    if environ.get("CONTENT_LENGTH"):
        headers["Content-Length"] = str(environ["CONTENT_LENGTH"])
    content_type = headers.get("Content-Type", "application/json").split(";", 1)[0].strip().lower()
    url = f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}{_raw_uri(environ)}"
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    return MethodRequest(
        method=method,
        path=path,
        body=body,
        content_type=content_type or "application/json",
        headers=headers,
        querystring=dict(parse_qsl(str(environ.get("QUERY_STRING") or ""), keep_blank_values=True)),
        signed=SignedRequest(method=method, url=url, headers=headers, body=body),
    )


def _raw_uri(environ: WsgiEnviron) -> str:
    """Path and query as the client sent them (werkzeug's PATH_INFO is decoded: `%2F` would split a parameter)."""
    return str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO") or "/")


def _raw_path(environ: WsgiEnviron) -> str:
    return _raw_uri(environ).split("?", 1)[0]


def _context(api: RestApi, stage: str, request: MethodRequest, account: Account) -> dict[str, Any]:
    now = datetime.now(UTC)
    request_id = str(uuid.uuid4())
    return {
        "accountId": account.account_id,
        "apiId": api.api_id,
        "domainName": f"{api.api_id}.execute-api.{account.region}.amazonaws.com",
        "domainPrefix": api.api_id,
        "extendedRequestId": request_id[:16],
        "httpMethod": request.method,
        "path": f"/{stage}{request.path}",
        "protocol": "HTTP/1.1",
        "requestId": request_id,
        "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "requestTimeEpoch": int(now.timestamp() * 1000),
        "resourcePath": request.path,
        "stage": stage,
        "identity": {"sourceIp": "127.0.0.1", "userAgent": request.headers.get("User-Agent", "")},
    }


def _identify(context: dict[str, Any], caller: Caller) -> None:
    context["identity"].update(
        {
            "accountId": caller.account_id,
            "accessKey": caller.access_key,
            "caller": caller.caller,
            "user": caller.caller,
            "userArn": caller.arn,
        }
    )


def _with_ids(response: GatewayResponse, context: Mapping[str, Any]) -> GatewayResponse:
    headers = [
        *response.headers,
        ("x-amzn-RequestId", str(context["requestId"])),
        ("x-amz-apigw-id", str(context["extendedRequestId"])),
        ("Content-Length", str(len(response.body))),
    ]
    return GatewayResponse(status=response.status, headers=headers, body=response.body)
