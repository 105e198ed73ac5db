"""ExtendVpcCidr over a botocore-stubbed EC2 client, in milliseconds (`make mutate-fast`): the exact requests
and answers of each path, with every member EC2 returns. The same step against moto and a fake EC2 for the timed
states: test_extend_vpc_cidr.py."""

from __future__ import annotations

from typing import Any

from podcidr import pod_cidr_tag_key
from podcidr.models.migration import Migration
from podcidr.steps.extend_vpc_cidr import extend_vpc_cidr
from tests.fixtures.stubbed_aws import all_answered, ec2_only
from tests.fixtures.vpc_topology import CLUSTER, POD_CIDR, Topology, seed_migration

VPC = "vpc-0a1b2c3d4e5f60718"
OWNER = "111122223333"
NODE_CIDR = "192.168.0.0/16"
MARK = {"Key": pod_cidr_tag_key(CLUSTER), "Value": POD_CIDR}


def _migration(association_id: str | None = None, changes: int = 0) -> Migration:
    tables = ["rtb-0node100000000000", "rtb-0node200000000000", "rtb-0node300000000000"]
    nats = ["nat-0aaa0000000000001", "nat-0aaa0000000000002", "nat-0aaa0000000000003"]
    topology = Topology(VPC, "rtb-0main00000000000a", "rtb-0public000000000a", [], [], nats, tables)
    migration = seed_migration(topology)
    migration.pod_cidr.association_id = association_id
    migration.changes = changes
    return migration


def _block(cidr: str, association_id: str, state: str = "associated") -> dict[str, Any]:
    return {"AssociationId": association_id, "CidrBlock": cidr, "CidrBlockState": {"State": state}}


def _vpc(blocks: list[dict[str, Any]], tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    vpc: dict[str, Any] = {
        "CidrBlock": NODE_CIDR,
        "DhcpOptionsId": "dopt-0123456789abcdef0",
        "State": "available",
        "VpcId": VPC,
        "OwnerId": OWNER,
        "InstanceTenancy": "default",
        "Ipv6CidrBlockAssociationSet": [],
        "CidrBlockAssociationSet": [_block(NODE_CIDR, "vpc-cidr-assoc-0primary000000000"), *blocks],
        "IsDefault": False,
    }
    if tags:
        vpc["Tags"] = tags
    return vpc


def test_a_block_the_plan_knew_and_marked_is_reported_as_it_is_with_nothing_asked_or_counted() -> None:
    clients, stub = ec2_only()
    stub.add_response(
        "describe_vpcs",
        {"Vpcs": [_vpc([_block(POD_CIDR, "vpc-cidr-assoc-0pod0000000000000")], [MARK])]},
        {"VpcIds": [VPC]},
    )
    with all_answered(stub):
        result = extend_vpc_cidr(clients, _migration("vpc-cidr-assoc-0pod0000000000000", changes=3))
    assert result.pod_cidr.model_dump() == {
        "cidr": POD_CIDR,
        "association_id": "vpc-cidr-assoc-0pod0000000000000",
        "state": "associated",
        "created": False,
    }
    assert (result.changes, result.polls) == (3, {})
