"""The Service Authorization Reference as parliament ships it (parliament/iam_definition.json).

For each action: the resource types it authorizes (required ones end with `*` in the reference),
the condition keys each of them supports, and the keys of the action itself (its row without a
resource type); for each resource type its ARN format and its own keys. IAM evaluates a statement's
condition against the keys the action supports only: a key the reference does not list for the action
is absent from the request context, so a condition on it never matches. A resource type's own keys
(its "Resource types" row: aws:ResourceTag/*, eks:principalArn, ...) describe the resource and are in
the context of every action that addresses it, even where the action's row leaves them out (EKS lists
none in its actions' rows); the request keys among them (aws:RequestTag/*, aws:TagKeys) are not: they
come with the actions whose rows list them.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import parliament

# Global condition keys (IAM User Guide, "AWS global condition context keys") are in every request's
# context whatever the action; the tag keys among them (aws:RequestTag/*, aws:ResourceTag/*,
# aws:TagKeys) are not global: the reference lists them per action.
_GLOBAL_KEY = re.compile(
    r"^aws:(SourceAccount|SourceArn|SourceOwner|PrincipalArn|PrincipalAccount|PrincipalTag/.+|PrincipalType|"
    r"userid|username|RequestedRegion|CurrentTime|EpochTime|SecureTransport|SourceIp|ViaAWSService|"
    r"CalledVia|CalledViaFirst|CalledViaLast|PrincipalOrgID|PrincipalIsAWSService|ResourceAccount|"
    r"SourceVpc|SourceVpce|MultiFactorAuthPresent)$",
    re.IGNORECASE,
)


class UnknownAction(KeyError):
    """An action the Service Authorization Reference does not list."""


@dataclass(frozen=True)
class ResourceType:
    name: str
    required: bool
    condition_keys: frozenset[str]
    """Lower-cased patterns as the reference writes them (`aws:resourcetag/${tagkey}`)."""


@dataclass(frozen=True)
class Action:
    service: str
    name: str
    resource_types: tuple[ResourceType, ...]
    action_keys: frozenset[str]

    @property
    def qualified(self) -> str:
        return f"{self.service}:{self.name}"

    def resource_type(self, name: str) -> ResourceType | None:
        return next((rt for rt in self.resource_types if rt.name == name), None)

    def supports(self, key: str, resource_type: str | None) -> bool:
        """Whether condition key `key` is in this action's request context for that resource type."""
        if _GLOBAL_KEY.match(key):
            return True
        keys = set(self.action_keys)
        rt = self.resource_type(resource_type) if resource_type else None
        if rt is not None:
            keys |= rt.condition_keys
        return any(_key_matches(pattern, key) for pattern in keys)


def _key_matches(pattern: str, key: str) -> bool:
    """`aws:requesttag/${tagkey}` matches `aws:RequestTag/podcidr:cluster` (keys are case-insensitive)."""
    regex = re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(pattern.lower()))
    return re.fullmatch(regex, key.lower()) is not None


@functools.cache
def _services() -> dict[str, dict[str, Any]]:
    return {service["prefix"]: service for service in parliament.iam_definition}


@functools.cache
def action(qualified: str) -> Action:
    """`ec2:CreateSubnet` as the reference describes it (UnknownAction if it does not)."""
    prefix, _, name = qualified.partition(":")
    service = _services().get(prefix.lower())
    if service is None:
        raise UnknownAction(qualified)
    privilege = next((p for p in service["privileges"] if p["privilege"].lower() == name.lower()), None)
    if privilege is None:
        raise UnknownAction(qualified)
    resource_types = []
    action_keys: frozenset[str] = frozenset()
    for row in privilege["resource_types"]:
        keys = frozenset(key.lower() for key in row["condition_keys"])
        if not row["resource_type"]:
            action_keys = keys
            continue
        name = row["resource_type"].rstrip("*")
        resource_types.append(
            ResourceType(
                name=name,
                required=row["resource_type"].endswith("*"),
                condition_keys=keys | _resource_keys(service["prefix"], name),
            )
        )
    return Action(
        service=service["prefix"],
        name=privilege["privilege"],
        resource_types=tuple(resource_types),
        action_keys=action_keys,
    )


_REQUEST_KEYS = ("aws:requesttag/", "aws:tagkeys")


@functools.cache
def _resource_keys(service: str, resource_type: str) -> frozenset[str]:
    """The keys the reference's "Resource types" table gives the resource type, less the request keys."""
    for resource in _services()[service]["resources"]:
        if resource["resource"] == resource_type:
            keys = (key.lower() for key in resource.get("condition_keys") or [])
            return frozenset(key for key in keys if not key.startswith(_REQUEST_KEYS))
    return frozenset()


@functools.cache
def arn_format(service: str, resource_type: str) -> str:
    """The reference's ARN format of a resource type: `arn:${Partition}:ec2:${Region}:${Account}:subnet/${SubnetId}`."""
    for resource in _services()[service]["resources"]:
        if resource["resource"] == resource_type:
            return str(resource["arn"])
    raise UnknownAction(f"{service} has no resource type {resource_type}")


def build_arn(service: str, resource_type: str, **values: str) -> str:
    """The ARN of one resource from its type's format; Partition/Region/Account and the format's own
    variables (`SubnetId`, `ClusterName`, ...) come from `values` (a missing one is an error)."""
    fmt = arn_format(service, resource_type)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{resource_type} ARN needs {name} ({fmt})")
        return values[name]

    return re.sub(r"\$\{([^}]+)\}", fill, fmt)


def known_actions(pattern: str) -> list[str]:
    """The actions an Action element's pattern (`eks:Describe*`) names; [] for an unknown one."""
    try:
        return [f"{a['service']}:{a['action']}" for a in parliament.expand_action(pattern)]
    except (parliament.UnknownActionException, parliament.UnknownPrefixException, ValueError):
        return []
