"""Kubernetes API errors as the API server returns them: `Status` objects with a code and a reason.

Every failure of the emulator is an `ApiError`; the HTTP layer turns it into the `Status` body and
the status code, exactly as kube-apiserver does (`k8s.io/apimachinery/pkg/api/errors`).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A Kubernetes API error: HTTP `code`, `reason` (NotFound, Conflict, ...) and a message."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.metadata = metadata or {}

    def status(self) -> dict[str, Any]:
        """The `Status` object of the response body."""
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if not self.reason:
            del body["reason"]  # a Status without a reason (reason is omitempty)
        if self.details is not None:
            body["details"] = self.details
        return body


def qualified(plural: str, group: str) -> str:
    """`pods`, `deployments.apps`: how messages name a resource."""
    return f"{plural}.{group}" if group else plural


def _details(name: str | None, group: str, plural: str) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": plural}
    if name:
        details["name"] = name
    if group:
        details["group"] = group
    return details


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404, "NotFound", f'{qualified(plural, group)} "{name}" not found', details=_details(name, group, plural)
    )


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(plural, group)} "{name}" already exists',
        details=_details(name, group, plural),
    )


def conflict(plural: str, group: str, name: str, why: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
        details=_details(name, group, plural),
    )


STALE = "the object has been modified; please apply your changes to the latest version and try again"


def invalid(kind: str, group: str, name: str, causes: list[tuple[str, str]]) -> ApiError:
    """422 Invalid; `causes` are (field, message) pairs as field.ErrorList prints them."""
    what = f"{kind}.{group}" if group else kind
    text = ", ".join(f"{field}: {message}" for field, message in causes)
    if len(causes) > 1:
        text = f"[{text}]"
    details = _details(name, group, kind)
    details["causes"] = [
        {"reason": "FieldValueInvalid", "message": message, "field": field} for field, message in causes
    ]
    return ApiError(422, "Invalid", f'{what} "{name}" is invalid: {text}', details=details)


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def unsupported_media_type(content_type: str, accepted: list[str]) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
    )


def method_not_allowed(verb: str, plural: str, group: str) -> ApiError:
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({verb} {qualified(plural, group)})",
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


def unauthorized() -> ApiError:
    return ApiError(401, "Unauthorized", "Unauthorized")


def forbidden(message: str, *, name: str | None, group: str, plural: str) -> ApiError:
    return ApiError(403, "Forbidden", message, details=_details(name, group, plural))


def too_many_requests(message: str, *, retry_after: int | None = None) -> ApiError:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    details = {"retryAfterSeconds": retry_after} if retry_after is not None else None
    return ApiError(429, "TooManyRequests", message, details=details, headers=headers)


# Error names a fault may carry (the scenario's `error`), with the code the API server uses.
FAULT_CODES: dict[str, int] = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "AlreadyExists": 409,
    "Conflict": 409,
    "Gone": 410,
    "Expired": 410,
    "Invalid": 422,
    "TooManyRequests": 429,
    "InternalError": 500,
    "ServiceUnavailable": 503,
    "Timeout": 504,
}


def from_fault(error: str, message: str) -> ApiError:
    """The error an injected fault returns: a reason name (TooManyRequests, InternalError, ...) or
    an HTTP code as text ("503"). Unknown names become 500 InternalError with that name in the message."""
    if error.isdigit():
        code = int(error)
        reason = next((name for name, c in FAULT_CODES.items() if c == code), "InternalError")
        return ApiError(code, reason, message)
    if error in FAULT_CODES:
        retry = 1 if error == "TooManyRequests" else None
        err = ApiError(FAULT_CODES[error], error, message)
        if retry is not None:
            err.headers["Retry-After"] = str(retry)
            err.details = {"retryAfterSeconds": retry}
        return err
    return ApiError(500, "InternalError", f"{error}: {message}")
