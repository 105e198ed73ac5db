"""IAM authorization of a method request, as API Gateway does it for `awsSigv4` methods.

The request must carry a Signature Version 4 `Authorization` header scoped to `execute-api` and the
twin's region, made with credentials the twin knows: its own admin key (the account's root), an
IAM user's access key or an assumed role's session credentials (moto's IAM and STS). The signature
is computed again with botocore over the request as received and must be equal. Then the caller's
identity policies must allow `execute-api:Invoke` on the method's ARN
(`arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`), evaluated by moto's IAM
policy engine (the root needs no policy). Each refusal names the gateway response API Gateway uses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.iam.access_control import CreateAccessKeyFailure, IAMPolicy, PermissionResult, create_access_key
from moto.iam.models import iam_backends

from localcloud.apigateway.responses import Refused

SERVICE = "execute-api"
ALGORITHM = "AWS4-HMAC-SHA256"
CLOCK_SKEW = timedelta(minutes=5)
_FIELD = re.compile(r"(Credential|SignedHeaders|Signature)=([^,\s]+)")


@dataclass(frozen=True)
class Caller:
    """Who signed the request (`$context.identity`)."""

    arn: str
    account_id: str
    access_key: str
    caller: str
    """The principal id: the account id for the root, `AROA...:session` for an assumed role."""


@dataclass(frozen=True)
class RootCredentials:
    """The twin's own key: the account's root user, allowed everything."""

    account_id: str
    access_key: str
    secret_key: str


@dataclass(frozen=True)
class SignedRequest:
    method: str
    url: str
    """As the client sent it: http://host/raw/path?query (the path percent-encoded as received)."""
    headers: dict[str, str]
    body: bytes


def authorize(request: SignedRequest, *, region: str, resource_arn: str, root: RootCredentials) -> Caller:
    """The caller of a correctly signed request allowed to invoke `resource_arn`, or Refused."""
    headers = {key.lower(): value for key, value in request.headers.items()}
    authorization = headers.get("authorization", "")
    if not authorization:
        raise Refused("MISSING_AUTHENTICATION_TOKEN", "Missing Authentication Token")
    fields = dict(_FIELD.findall(authorization))
    amz_date = headers.get("x-amz-date", "")
    missing = [name for name in ("Credential", "Signature", "SignedHeaders") if name not in fields]
    if not authorization.startswith(ALGORITHM) or missing or not amz_date:
        raise _incomplete(
            f"Authorization header requires {', '.join(repr(m) for m in missing) or 'the AWS4-HMAC-SHA256 form'}"
            " and an 'X-Amz-Date' header."
        )
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or scope[4] != "aws4_request":
        raise _incomplete(f"Credential is not a SigV4 credential scope: {fields['Credential']}")
    access_key, date, scope_region, service = scope[:4]
    if service != SERVICE:
        raise Refused("INVALID_SIGNATURE", f"Credential should be scoped to correct service: '{SERVICE}'. ")
    if scope_region != region:
        raise Refused("INVALID_SIGNATURE", f"Credential should be scoped to a valid region, not '{scope_region}'. ")
    _check_date(amz_date, date)
    token = headers.get("x-amz-security-token")
    credentials, caller, policies = _identity(access_key, token, root)
    signed = {name: headers.get(name, "") for name in fields["SignedHeaders"].split(";")}
    if _signature(request, signed, credentials, scope_region, amz_date) != fields["Signature"]:
        raise Refused(
            "INVALID_SIGNATURE",
            "The request signature we calculated does not match the signature you provided. Check your AWS "
            "Secret Access Key and signing method. Consult the service documentation for details.",
        )
    if policies is not None and not _allowed(policies, resource_arn):
        raise Refused(
            "ACCESS_DENIED",
            f"User: {caller.arn} is not authorized to perform: execute-api:Invoke on resource: {resource_arn}",
        )
    return caller


def _incomplete(message: str) -> Refused:
    return Refused("DEFAULT_4XX", message, error_type="IncompleteSignatureException")


def _check_date(amz_date: str, scope_date: str) -> None:
    try:
        signed_at = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise _incomplete(f"X-Amz-Date is not a date: {amz_date}") from None
    if not amz_date.startswith(scope_date):
        raise Refused(
            "INVALID_SIGNATURE", f"Date in Credential scope does not match YYYYMMDD from X-Amz-Date: {amz_date}"
        )
    now = datetime.now(UTC)
    if signed_at < now - CLOCK_SKEW:
        earliest = (now - CLOCK_SKEW).strftime("%Y%m%dT%H%M%SZ")
        raise Refused(
            "INVALID_SIGNATURE",
            f"Signature expired: {amz_date} is now earlier than {earliest} ({now.strftime('%Y%m%dT%H%M%SZ')} - 5 min.)",
        )
    if signed_at > now + CLOCK_SKEW:
        raise Refused("INVALID_SIGNATURE", f"Signature not yet current: {amz_date} is still later than now + 5 min.")


def _identity(
    access_key: str, token: str | None, root: RootCredentials
) -> tuple[Credentials, Caller, list[Any] | None]:
    """The key's credentials, its caller, and its identity policies (None for the root: no check)."""
    if access_key == root.access_key:
        caller = Caller(
            arn=f"arn:aws:iam::{root.account_id}:root",
            account_id=root.account_id,
            access_key=access_key,
            caller=root.account_id,
        )
        return Credentials(root.access_key, root.secret_key), caller, None
    headers = {"X-Amz-Security-Token": token} if token else {}
    try:
        key = create_access_key(account_id=root.account_id, partition="aws", access_key_id=access_key, headers=headers)
    except CreateAccessKeyFailure:
        raise Refused(
            "DEFAULT_4XX",
            "The security token included in the request is invalid.",
            error_type="UnrecognizedClientException",
        ) from None
    arn = str(key.arn)
    caller = Caller(arn=arn, account_id=root.account_id, access_key=access_key, caller=_principal_id(arn, root))
    return key.create_credentials(), caller, list(key.collect_policies())


def _principal_id(arn: str, root: RootCredentials) -> str:
    """`AIDA...` for a user, `AROA...:<session>` for an assumed role (aws:userid)."""
    iam = iam_backends[root.account_id]["aws"]
    kind, _, rest = arn.split(":", 5)[5].partition("/")
    if kind == "assumed-role":
        role, _, session = rest.partition("/")
        return f"{iam.get_role(role).id}:{session}"
    return str(iam.get_user(rest).id)


def _signature(
    request: SignedRequest, signed_headers: dict[str, str], credentials: Credentials, region: str, amz_date: str
) -> str:
    copy = AWSRequest(method=request.method, url=request.url, data=request.body, headers=signed_headers)
    copy.context["timestamp"] = amz_date
    signer = SigV4Auth(credentials, SERVICE, region)
    canonical = signer.canonical_request(copy)
    return str(signer.signature(signer.string_to_sign(copy, canonical), copy))


def _allowed(policies: list[Any], resource_arn: str) -> bool:
    allowed = False
    for policy in policies:
        result = IAMPolicy(policy).is_action_permitted("execute-api:Invoke", resource_arn)
        if result == PermissionResult.DENIED:
            return False
        allowed = allowed or result == PermissionResult.PERMITTED
    return allowed
