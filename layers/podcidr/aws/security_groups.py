"""Security groups, read-only: which of the given IDs exist, their VPC and their tags."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podcidr.aws.clients import transient_faults_retried

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@dataclass(frozen=True)
class SecurityGroupInfo:
    group_id: str
    vpc_id: str
    name: str
    tags: dict[str, str] = field(default_factory=dict)


def describe_security_groups(ec2: EC2Client, group_ids: Iterable[str]) -> dict[str, SecurityGroupInfo]:
    """The groups of `group_ids` that exist, by ID. A `group-id` filter, not `GroupIds`: with
    GroupIds one missing group fails the whole call (InvalidGroup.NotFound) without saying which."""
    ids = sorted(set(group_ids))
    if not ids:
        return {}
    found: dict[str, SecurityGroupInfo] = {}
    with transient_faults_retried("ec2:DescribeSecurityGroups"):
        pages = ec2.get_paginator("describe_security_groups").paginate(Filters=[{"Name": "group-id", "Values": ids}])
        for page in pages:
            for group in page.get("SecurityGroups", []):
                info = _info(group)
                if info.group_id in ids:
                    found[info.group_id] = info
    return found


def _info(group: Any) -> SecurityGroupInfo:
    return SecurityGroupInfo(
        group_id=str(group["GroupId"]),
        vpc_id=str(group.get("VpcId", "")),
        name=str(group.get("GroupName", "")),
        tags={str(t["Key"]): str(t.get("Value", "")) for t in group.get("Tags") or ()},
    )
