"""Gateway responses: what API Gateway answers when a request does not reach its integration, or
the integration cannot be mapped.

Each response type has a default status and body (`{"message":$context.error.messageString}`); an
API may customize a type (`x-amazon-apigateway-gateway-responses`), and a type it does not
customize falls back to its customized DEFAULT_4XX or DEFAULT_5XX. Their templates are not Velocity:
API Gateway substitutes `$context` variables (and `$stageVariables`) into them, no more.
`$context.error.messageString` is the message as a JSON string (quoted), and
`$context.error.validationErrorString` the validation errors escaped for a JSON string (unquoted).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'

# Response type -> (default status, x-amzn-ErrorType).
RESPONSE_TYPES: dict[str, tuple[int | None, str]] = {
    "ACCESS_DENIED": (403, "AccessDeniedException"),
    "API_CONFIGURATION_ERROR": (500, "InternalServerErrorException"),
    "BAD_REQUEST_BODY": (400, "BadRequestException"),
    "BAD_REQUEST_PARAMETERS": (400, "BadRequestException"),
    "DEFAULT_4XX": (None, ""),
    "DEFAULT_5XX": (None, ""),
    "EXPIRED_TOKEN": (403, "ExpiredTokenException"),
    "INTEGRATION_FAILURE": (504, "InternalServerErrorException"),
    "INVALID_SIGNATURE": (403, "InvalidSignatureException"),
    "MISSING_AUTHENTICATION_TOKEN": (403, "MissingAuthenticationTokenException"),
    "UNSUPPORTED_MEDIA_TYPE": (415, "UnsupportedMediaTypeException"),
}
_VARIABLE = re.compile(r"\$(context|stageVariables)\.([A-Za-z0-9_]+(?:\.[A-Za-z][A-Za-z0-9_]*)*)")


class Refused(Exception):
    """A request answered by a gateway response instead of its integration. For DEFAULT_4XX (no
    specific type in API Gateway) the status and error type are the refusal's own."""

    def __init__(
        self,
        response_type: str,
        message: str,
        *,
        status: int = 403,
        error_type: str = "",
        validation_errors: str = "",
    ) -> None:
        super().__init__(message)
        self.response_type = response_type
        self.message = message
        self.status = status
        self.error_type = error_type
        self.validation_errors = validation_errors


@dataclass(frozen=True)
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def gateway_response(
    refusal: Refused,
    customized: Mapping[str, Mapping[str, Any]],
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str] | None = None,
) -> GatewayResponse:
    """The answer to `refusal` under the API's customized gateway responses."""
    default_status, error_type = RESPONSE_TYPES.get(refusal.response_type, (None, ""))
    status = default_status or refusal.status
    family = "DEFAULT_4XX" if status < 500 else "DEFAULT_5XX"
    custom = customized.get(refusal.response_type) or customized.get(family) or {}
    if custom.get("statusCode"):
        status = int(custom["statusCode"])
    template = (custom.get("responseTemplates") or {}).get("application/json", DEFAULT_TEMPLATE)
    error = {
        "message": refusal.message,
        "messageString": json.dumps(refusal.message, ensure_ascii=False),
        "responseType": refusal.response_type,
        "validationErrorString": json.dumps(refusal.validation_errors, ensure_ascii=False)[1:-1],
    }
    variables = {"context": {**context, "error": error}, "stageVariables": dict(stage_variables or {})}
    body = substitute(str(template), variables).encode()
    headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", refusal.error_type or error_type)]
    for name, value in (custom.get("responseParameters") or {}).items():
        header = str(name).removeprefix("gatewayresponse.header.")
        if header != name and str(value).startswith("'") and str(value).endswith("'"):
            headers.append((header, str(value)[1:-1]))
    return GatewayResponse(status=status, headers=headers, body=body)


def substitute(template: str, variables: Mapping[str, Any]) -> str:
    """`$context.a.b` and `$stageVariables.x` replaced by their values ("" when unknown)."""

    def value(match: re.Match[str]) -> str:
        found: Any = variables.get(match.group(1))
        for key in match.group(2).split("."):
            found = found.get(key) if isinstance(found, Mapping) else None
        return "" if found is None else str(found)

    return _VARIABLE.sub(value, template)
