"""Identity-based policy evaluation for one request (IAM User Guide, "Policy evaluation logic",
single account, no boundaries, SCPs or session policies: the twin's roles have none).

A request names an action and the resources it touches (CreateSubnet: the new subnet and its VPC;
AssociateRouteTable: the table and the subnet). Each resource is authorized on its own, with the
request's keys and that resource's keys, keeping only the condition keys the Service
Authorization Reference lists for the action and that resource type (catalog.Action.supports):
- an explicit Deny that matches wins;
- else an Allow that matches allows; every resource must be allowed;
- else the request is implicitly denied.
Written by hand (moto's IAMPolicy matches actions case-sensitively, has no NotResource, denies on a
failed condition and knows one operator); the Service Authorization Reference comes from parliament.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from localcloud.iam import catalog
from localcloud.iam.conditions import action_matches, condition_holds, resource_matches


@dataclass(frozen=True)
class Resource:
    arn: str
    """The ARN the request addresses (`*` for an action without resource types)."""
    type: str | None = None
    """Its resource type in the reference (`subnet`), None for `*`."""
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Keys that belong to this resource: aws:ResourceTag/<key>, ec2:Vpc, ..."""


@dataclass(frozen=True)
class Request:
    principal: str
    action: str
    """`service:Operation` as IAM names it (`ec2:CreateSubnet`, `iam:PassRole`)."""
    resources: tuple[Resource, ...]
    context: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Keys of the request: aws:RequestTag/<key>, aws:TagKeys, ec2:CreateAction, iam:PassedToService, ..."""


@dataclass(frozen=True)
class Decision:
    allowed: bool
    explicit_deny: bool = False
    resource: str = "*"
    """The first resource that was not allowed (or `*`)."""


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _statements(policies: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    statements: list[Mapping[str, Any]] = []
    for policy in policies:
        raw = policy.get("Statement", [])
        statements.extend(raw if isinstance(raw, list) else [raw])
    return statements


def _supported_context(request: Request, resource: Resource) -> dict[str, list[str]]:
    try:
        described = catalog.action(request.action)
    except catalog.UnknownAction:
        described = None
    merged = {**request.context, **resource.context}
    return {
        key: list(values)
        for key, values in merged.items()
        if described is not None and described.supports(key, resource.type)
    }


def _applies(statement: Mapping[str, Any], action: str, arn: str, context: Mapping[str, Sequence[str]]) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, action) for p in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(action_matches(p, action) for p in _as_list(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        if not any(resource_matches(p, arn) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(resource_matches(p, arn) for p in _as_list(statement["NotResource"])):
            return False
    else:
        return False
    return condition_holds(statement.get("Condition") or {}, context)


def evaluate(policies: Iterable[Mapping[str, Any]], request: Request) -> Decision:
    statements = _statements(policies)
    for resource in request.resources or (Resource("*"),):
        context = _supported_context(request, resource)
        matching = [s for s in statements if _applies(s, request.action, resource.arn, context)]
        if any(s.get("Effect") == "Deny" for s in matching):
            return Decision(allowed=False, explicit_deny=True, resource=resource.arn)
        if not any(s.get("Effect") == "Allow" for s in matching):
            return Decision(allowed=False, resource=resource.arn)
    return Decision(allowed=True)
