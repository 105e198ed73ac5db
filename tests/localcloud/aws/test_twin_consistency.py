"""EC2's eventual consistency for the workflow's calls (AWS-FACTS 7, timing.ec2Consistency): what it
just created is missing from its own reads for a moment; the twin's own reads see it at once."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.aws.server import LocalAws, TwinSession
from tests.localcloud.aws.conftest import FrozenClock

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _ids(subnets: list[dict[str, Any]]) -> set[str]:
    return {s["SubnetId"] for s in subnets}


def test_a_new_subnet_is_missing_from_the_workflows_reads_for_a_moment(
    aws: LocalAws, workflow: TwinSession, frozen: FrozenClock
) -> None:
    ec2 = workflow.client("ec2", config=NO_RETRY)
    vpc_id = aws.built.vpc_id
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.31.201.0/24", AvailabilityZone="ap-southeast-1a")["Subnet"][
        "SubnetId"
    ]

    with pytest.raises(ClientError) as missing:
        ec2.describe_subnets(SubnetIds=[subnet])
    assert missing.value.response["Error"]["Code"] == "InvalidSubnetID.NotFound"
    assert subnet in missing.value.response["Error"]["Message"]
    listed = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    assert subnet not in _ids(listed) and listed  # the others are there
    table = next(iter(aws.built.route_table_ids.values()))
    with pytest.raises(ClientError) as refused:
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    assert refused.value.response["Error"]["Code"] == "InvalidSubnetID.NotFound"
    admin = aws.admin_session().client("ec2")
    assert admin.describe_subnets(SubnetIds=[subnet])["Subnets"]  # the twin itself sees it at once

    frozen.advance(aws.scenario.timing.ec2_consistency)
    assert _ids(ec2.describe_subnets(SubnetIds=[subnet])["Subnets"]) == {subnet}
    assert subnet in _ids(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"])
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
