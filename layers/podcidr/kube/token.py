"""The EKS bearer token (AWS-FACTS section 4), as `aws eks get-token` builds it.

A presigned STS GetCallerIdentity GET URL with the header `x-k8s-aws-id: <cluster name>` signed
in, prefixed `k8s-aws-v1.` and base64url-encoded without padding. EKS accepts it for 15 minutes
from X-Amz-Date; we treat it as good for 14 and renew it earlier (TOKEN_RENEW_AFTER).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_sts import STSClient

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
PRESIGN_EXPIRES_SECONDS = 60
"""The X-Amz-Expires of the presigned URL, as aws-cli sets it (EKS still accepts the token 15 minutes)."""
TOKEN_LIFETIME_SECONDS = 14 * 60
TOKEN_RENEW_AFTER_SECONDS = 10 * 60
"""A token older than this is replaced before the next request (well inside the 14 minutes)."""

_HANDLERS_ATTRIBUTE = "_podcidr_k8s_aws_id_handlers"


def _move_cluster_id_to_context(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    if CLUSTER_ID_HEADER in params:
        context[CLUSTER_ID_HEADER] = params.pop(CLUSTER_ID_HEADER)


def _sign_cluster_id_header(request: Any, **_: Any) -> None:
    if CLUSTER_ID_HEADER in request.context:
        request.headers[CLUSTER_ID_HEADER] = request.context[CLUSTER_ID_HEADER]


def _register_handlers(sts: STSClient) -> None:
    """Let GetCallerIdentity carry the cluster name as a signed header (once per client)."""
    if getattr(sts.meta, _HANDLERS_ATTRIBUTE, False):
        return
    sts.meta.events.register("provide-client-params.sts.GetCallerIdentity", _move_cluster_id_to_context)
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", _sign_cluster_id_header)
    setattr(sts.meta, _HANDLERS_ATTRIBUTE, True)


def eks_token(sts: STSClient, cluster_name: str) -> str:
    """A bearer token for the cluster, signed with the STS client's credentials."""
    _register_handlers(sts)
    url = sts.generate_presigned_url(
        "get_caller_identity",
        Params={CLUSTER_ID_HEADER: cluster_name},
        ExpiresIn=PRESIGN_EXPIRES_SECONDS,
        HttpMethod="GET",
    )
    return TOKEN_PREFIX + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@dataclass
class TokenSource:
    """Hands out a token for one cluster, renewing it before it can expire."""

    sts: STSClient
    cluster_name: str
    clock: Callable[[], float] = time.monotonic
    _token: str | None = None
    _issued_at: float = 0.0

    def token(self) -> str:
        now = self.clock()
        if self._token is None or now - self._issued_at >= TOKEN_RENEW_AFTER_SECONDS:
            self._token = eks_token(self.sts, self.cluster_name)
            self._issued_at = now
        return self._token
