"""Small EC2 helpers shared by the VPC steps (tags as dicts, paginated lookups)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from podcidr.aws.clients import transient_faults_retried

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import FilterTypeDef, RouteTableTypeDef, SubnetTypeDef, TagTypeDef


def tag_dict(tags: Sequence[TagTypeDef] | None) -> dict[str, str]:
    """EC2's [{Key, Value}] as a dict."""
    return {tag["Key"]: tag.get("Value", "") for tag in tags or () if "Key" in tag}


def describe_subnets(
    ec2: EC2Client, *, filters: Sequence[FilterTypeDef] = (), subnet_ids: Sequence[str] = ()
) -> list[SubnetTypeDef]:
    subnets: list[SubnetTypeDef] = []
    with transient_faults_retried("ec2:DescribeSubnets"):
        pages = ec2.get_paginator("describe_subnets").paginate(Filters=list(filters), SubnetIds=list(subnet_ids))
        for page in pages:
            subnets.extend(page.get("Subnets", []))
    return subnets


def describe_route_tables(ec2: EC2Client, vpc_id: str) -> list[RouteTableTypeDef]:
    tables: list[RouteTableTypeDef] = []
    with transient_faults_retried("ec2:DescribeRouteTables"):
        pages = ec2.get_paginator("describe_route_tables").paginate(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        for page in pages:
            tables.extend(page.get("RouteTables", []))
    return tables
