"""`type: aws` integrations: API Gateway calling an AWS service action with the integration's role.

The URI `arn:aws:apigateway:<region>:<service>:action/<Action>` names a service by its endpoint
prefix (`states`) and one of its actions. As API Gateway does, the twin assumes the integration's
`credentials` role through STS, signs the rendered request template with it (SigV4, the service's
signing name) and sends it to the service, here the twin's endpoint: for JSON-protocol services a
`POST /` with `X-Amz-Target: <targetPrefix>.<Action>`. What comes back (status and body) is the
integration response, unchanged. Only JSON-protocol services (Step Functions, DynamoDB, ...) are
supported.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud.template import TemplateError

_ACTION_URI = re.compile(r"^arn:[a-z-]+:apigateway:([a-z0-9-]+):([a-z0-9.-]+):action/([A-Za-z0-9]+)$")
_MODEL_BY_ENDPOINT_PREFIX = {"states": "stepfunctions"}
CREDENTIALS_LIFETIME = 30 * 60
"""Seconds the twin reuses a role's assumed credentials (moto's last an hour)."""

AssumeRole = Callable[[str], Credentials]


@dataclass(frozen=True)
class IntegrationResponse:
    status: int
    body: str


@dataclass(frozen=True)
class ServiceAction:
    region: str
    endpoint_prefix: str
    action: str
    signing_name: str
    target_prefix: str
    json_version: str


def service_action(uri: str) -> ServiceAction:
    """What an integration URI calls (TemplateError for what the twin does not call)."""
    match = _ACTION_URI.match(uri)
    if match is None:
        raise TemplateError(f"the twin calls AWS integrations of the form ...:<service>:action/<Action>, not {uri}")
    region, prefix, action = match.groups()
    model = botocore.session.get_session().get_service_model(_MODEL_BY_ENDPOINT_PREFIX.get(prefix, prefix))
    metadata = model.metadata
    if metadata.get("protocol") != "json":
        raise TemplateError(f"the twin calls JSON-protocol services only; {prefix} speaks {metadata.get('protocol')}")
    if action not in model.operation_names:
        raise TemplateError(f"{prefix} has no action {action} (integration {uri})")
    return ServiceAction(
        region=region,
        endpoint_prefix=prefix,
        action=action,
        signing_name=str(metadata.get("signingName") or prefix),
        target_prefix=str(metadata["targetPrefix"]),
        json_version=str(metadata.get("jsonVersion", "1.0")),
    )


class RoleCredentials:
    """Assumed credentials per role ARN, renewed before they expire. Thread-safe."""

    def __init__(self, assume: AssumeRole) -> None:
        self._assume = assume
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Credentials]] = {}

    def __call__(self, role_arn: str) -> Credentials:
        with self._lock:
            cached = self._cache.get(role_arn)
            if cached is None or time.monotonic() - cached[0] > CREDENTIALS_LIFETIME:
                cached = (time.monotonic(), self._assume(role_arn))
                self._cache[role_arn] = cached
            return cached[1]


def call_service(
    endpoint_url: str, integration: dict[str, Any], body: str, credentials: Credentials
) -> IntegrationResponse:
    """Send the rendered integration request; the service's answer, whatever its status."""
    action = service_action(str(integration.get("uri", "")))
    if str(integration.get("httpMethod", "POST")).upper() != "POST":
        raise TemplateError(f"{action.endpoint_prefix} actions are called with POST, not {integration['httpMethod']}")
    request = AWSRequest(
        method="POST",
        url=endpoint_url.rstrip("/") + "/",
        data=body.encode(),
        headers={
            "Content-Type": f"application/x-amz-json-{action.json_version}",
            "X-Amz-Target": f"{action.target_prefix}.{action.action}",
        },
    )
    SigV4Auth(credentials, action.signing_name, action.region).add_auth(request)
    prepared = urllib.request.Request(
        str(request.url), data=body.encode(), headers=dict(request.headers.items()), method="POST"
    )
    try:
        with urllib.request.urlopen(prepared, timeout=29) as answer:  # API Gateway's integration timeout
            return IntegrationResponse(status=answer.status, body=answer.read().decode("utf-8", "replace"))
    except urllib.error.HTTPError as error:
        return IntegrationResponse(status=error.code, body=error.read().decode("utf-8", "replace"))
