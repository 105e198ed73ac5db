"""The account's root user, whose keys the twin holds (ADMIN_ACCESS_KEY).

The twin builds the account with these keys, so the root is also the EKS cluster's creator; a
user handed these keys by `python -m localcloud up` is the account's administrator:
- `sts get-caller-identity` answers `arn:aws:iam::<acct>:root` with the account ID as UserId, as
  STS answers root credentials (moto would answer `user/moto` for a key it never issued);
- an EKS token presigned with these keys authenticates as that root ARN (`credential`), which
  the cluster's creator access entry maps to cluster admin (see localcloud.aws.access_bootstrap).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable

from localcloud.aws.protocol import StartResponse, WsgiApp, WsgiEnviron, classify, send
from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from localcloud.kube.auth import Credential, CredentialResolver, moto_credential_resolver


def root_arn(account_id: str, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:root"


def credential(account_id: str) -> Credential:
    """What STS knows about the root's access key."""
    return Credential(
        access_key_id=ADMIN_ACCESS_KEY,
        secret_access_key=ADMIN_SECRET_KEY,
        session_token=None,
        arn=root_arn(account_id),
        account_id=account_id,
        user_id=account_id,
    )


def credential_resolver(account_id: str, others: CredentialResolver = moto_credential_resolver) -> CredentialResolver:
    """STS's view of an access key: the root's, else what `others` (moto's STS and IAM) knows."""
    root = credential(account_id)

    def resolve(access_key_id: str) -> Credential | None:
        return root if access_key_id == ADMIN_ACCESS_KEY else others(access_key_id)

    return resolve


def caller_identity_middleware(account_id: str) -> Callable[[WsgiApp], WsgiApp]:
    """Answers sts:GetCallerIdentity signed with the root's key; everything else goes on."""

    def wrap(inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request = environ.get("localcloud.request") or classify(environ)
            if request is None or request.action != "sts:GetCallerIdentity" or request.access_key != ADMIN_ACCESS_KEY:
                return inner(environ, start_response)
            return send(start_response, *_identity_response(request.protocol, account_id))

        return app

    return wrap


def _identity_response(protocol: str, account_id: str) -> tuple[int, list[tuple[str, str]], bytes]:
    request_id = str(uuid.uuid4())
    arn = root_arn(account_id)
    if protocol == "json":
        import json

        body = json.dumps({"Arn": arn, "UserId": account_id, "Account": account_id}).encode()
        content_type = "application/x-amz-json-1.0"
    else:
        body = (
            '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
            f"<GetCallerIdentityResult><Arn>{arn}</Arn><UserId>{account_id}</UserId>"
            f"<Account>{account_id}</Account></GetCallerIdentityResult>"
            f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>"
        ).encode()
        content_type = "text/xml"
    headers = [("Content-Type", content_type), ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))]
    return 200, headers, body
