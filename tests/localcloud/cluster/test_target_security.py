"""Which IP targets the load balancer controller can let a load balancer reach (AWS-FACTS 8): it
edits an ENI's only group whatever its tags, and among several the one tagged
kubernetes.io/cluster/<name>, refusing none or more than one tagged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.cluster.target_security import target_reachability

CLUSTER = "demo"
TAG = {"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "owned"}
POD_IP = "100.64.0.10"


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("ec2", region_name="ap-southeast-1")


def _pod_eni(ec2: Any, *tags: list[dict[str, str]]) -> None:
    """A pod ENI carrying one group per entry of `tags` (each the group's tags)."""
    vpc = ec2.create_vpc(CidrBlock="100.64.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="100.64.0.0/24")["Subnet"]["SubnetId"]
    groups = []
    for number, group_tags in enumerate(tags):
        group = ec2.create_security_group(GroupName=f"g{number}", Description="pods", VpcId=vpc)["GroupId"]
        if group_tags:
            ec2.create_tags(Resources=[group], Tags=group_tags)
        groups.append(group)
    ec2.create_network_interface(
        SubnetId=subnet,
        Groups=groups,
        PrivateIpAddresses=[
            {"PrivateIpAddress": "100.64.0.5", "Primary": True},
            {"PrivateIpAddress": POD_IP, "Primary": False},
        ],
    )


def _reach(ec2: Any) -> Any:
    return target_reachability(
        ec2, cluster_name=CLUSTER, target_ip=POD_IP, port=80, load_balancer_addresses=["172.31.0.9"]
    )


@pytest.mark.parametrize("tags", [[], [TAG]], ids=["untagged", "tagged"])
def test_a_lone_group_is_taken_whatever_its_tags(ec2: Any, tags: list[dict[str, str]]) -> None:
    _pod_eni(ec2, tags)
    assert _reach(ec2).reachable and _reach(ec2).problem is None


def test_among_several_groups_exactly_one_tagged_lets_the_load_balancer_in(ec2: Any) -> None:
    _pod_eni(ec2, [TAG], [])
    assert _reach(ec2).reachable


@pytest.mark.parametrize("tagged", [0, 2])
def test_among_several_groups_none_or_two_tagged_keep_the_load_balancer_out(ec2: Any, tagged: int) -> None:
    _pod_eni(ec2, *([TAG] if i < tagged else [] for i in range(2)))
    found = _reach(ec2)
    assert not found.reachable
    assert found.problem is not None
    assert found.problem.startswith(f"expect exactly one securityGroup tagged with kubernetes.io/cluster/{CLUSTER}")
