"""Who am I and may I: SelfSubjectReview (`kubectl auth whoami`) and SelfSubjectAccessReview
(`kubectl auth can-i`), answered from the EKS token's identity and the access policies.

The user info is what aws-iam-authenticator gives EKS: the username of the access entry (or
aws-auth mapping), uid `aws-iam-authenticator:<account>:<user id>`, the groups plus
`system:authenticated`, and the extras (accessKeyId, arn, canonicalArn, principalId, sessionName).
"""

from __future__ import annotations

import json
from typing import Any

from localcloud.kube.auth import Authorizer, Principal, RequestAttributes
from localcloud.kube.errors import ApiError
from localcloud.kube.resources import ResourceRegistry

Obj = dict[str, Any]
WHOAMI = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
CAN_I = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
PATHS = frozenset({WHOAMI, CAN_I})
PROTOBUF = "application/vnd.kubernetes.protobuf"
PROTOBUF_MAGIC = b"k8s\x00"
_RESOURCE_ATTRIBUTES = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def request_body(data: bytes, content_type: str) -> Any:
    """The review as JSON: kubectl sends reviews as protobuf (the typed client's default for them)."""
    if content_type.startswith(PROTOBUF):
        return _review_from_protobuf(data)
    try:
        return json.loads(data or b"{}")
    except ValueError as err:
        raise ApiError(400, "BadRequest", f"the body of the request was in an unknown format: {err}") from err


def _fields(data: bytes) -> dict[int, list[Any]]:
    """The fields of one protobuf message (varints and length-delimited values; others skipped)."""
    fields: dict[int, list[Any]] = {}
    at = 0

    def varint() -> int:
        nonlocal at
        value, shift = 0, 0
        while True:
            if at >= len(data):
                raise ApiError(400, "BadRequest", "the protobuf body of the request is truncated")
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while at < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            fields.setdefault(number, []).append(varint())
        elif wire == 2:
            length = varint()
            fields.setdefault(number, []).append(data[at : at + length])
            at += length
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise ApiError(400, "BadRequest", f"unsupported protobuf wire type {wire}")
    return fields


def _strings(message: bytes, names: tuple[str, ...]) -> Obj:
    fields = _fields(message)
    return {name: fields[i + 1][0].decode() for i, name in enumerate(names) if i + 1 in fields}


def _review_from_protobuf(data: bytes) -> Obj:
    """runtime.Unknown (`k8s\\0` envelope) -> raw SelfSubject*Review -> its spec's attributes."""
    if not data.startswith(PROTOBUF_MAGIC):
        raise ApiError(400, "BadRequest", "the protobuf body of the request has no k8s envelope")
    raw = (_fields(data[len(PROTOBUF_MAGIC) :]).get(2) or [b""])[0]
    spec_bytes = (_fields(raw).get(2) or [b""])[0]
    spec_fields = _fields(spec_bytes)
    spec: Obj = {}
    if 1 in spec_fields:
        spec["resourceAttributes"] = _strings(spec_fields[1][0], _RESOURCE_ATTRIBUTES)
    if 2 in spec_fields:
        spec["nonResourceAttributes"] = _strings(spec_fields[2][0], ("path", "verb"))
    return {"spec": spec}


def user_info(principal: Principal) -> Obj:
    info: Obj = {"username": principal.username, "groups": [*principal.groups, "system:authenticated"]}
    identity = principal.identity
    if identity is not None:
        info["uid"] = f"aws-iam-authenticator:{identity.account_id}:{identity.user_id}"
        info["extra"] = {
            "accessKeyId": [identity.access_key_id],
            "arn": [identity.arn],
            "canonicalArn": [identity.canonical_arn],
            "principalId": [identity.user_id],
            "sessionName": [identity.session_name or ""],
            "sigs.k8s.io/aws-iam-authenticator/principalId": [identity.user_id],
        }
    return info


def _allowed(spec: Obj, principal: Principal, authorizer: Authorizer | None, registry: ResourceRegistry) -> bool:
    if authorizer is None or principal.admin:
        return True
    attributes = spec.get("resourceAttributes")
    if not isinstance(attributes, dict):
        return False  # non-resource URLs (/healthz, ...): no access policy grants them
    group, plural = str(attributes.get("group") or ""), str(attributes.get("resource") or "")
    resource = next((r for r in registry.all() if r.group == group and r.plural == plural), None)
    return authorizer.allowed(
        principal,
        RequestAttributes(
            verb=str(attributes.get("verb") or ""),
            group=group,
            resource=plural,
            subresource=attributes.get("subresource") or None,
            namespace=attributes.get("namespace") or None,
            name=attributes.get("name") or None,
        ),
        cluster_scoped_resource=resource is not None and not resource.namespaced,
    )


def answer(
    path: str, body: Any, principal: Principal | None, authorizer: Authorizer | None, registry: ResourceRegistry
) -> Obj:
    """The created review (201), with its status filled in."""
    if principal is None:
        raise ApiError(401, "Unauthorized", "Unauthorized")
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "the body of the request was in an unknown format")
    if path == WHOAMI:
        return {
            "kind": "SelfSubjectReview",
            "apiVersion": "authentication.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "status": {"userInfo": user_info(principal)},
        }
    spec = body.get("spec") or {}
    allowed = _allowed(spec, principal, authorizer, registry)
    status: Obj = {"allowed": allowed}
    if not allowed:
        status["reason"] = "no access policy of the principal's access entry allows it"
    return {
        "kind": "SelfSubjectAccessReview",
        "apiVersion": "authorization.k8s.io/v1",
        "metadata": {"creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
