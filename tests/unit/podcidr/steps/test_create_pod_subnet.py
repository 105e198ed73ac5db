"""CreatePodSubnet (one Map iteration per AZ) against moto."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from podcidr import OWNER_TAG_KEY
from podcidr.aws.clients import AwsClients
from podcidr.errors import CidrOverlap
from podcidr.models.migration import Migration
from podcidr.steps.create_pod_subnet import PodSubnetItem, create_pod_subnet
from tests.fixtures.vpc_topology import (
    AZS,
    CLUSTER,
    ELB,
    INTERNAL_ELB,
    POD_CIDR,
    POD_SUBNET_CIDRS,
    Topology,
    as_state_machine_retries,
    lose_response,
    record_calls,
    seed_migration,
)


@pytest.fixture
def migration(aws: AwsClients, seed: Topology) -> Migration:
    aws.ec2.associate_vpc_cidr_block(VpcId=seed.vpc_id, CidrBlock=POD_CIDR)
    return seed_migration(seed)


def _items(migration: Migration) -> list[PodSubnetItem]:
    return [PodSubnetItem(cluster_name=CLUSTER, vpc_id=migration.vpc_id, subnet=s) for s in migration.pod_subnets]


def _pod_subnets(aws: AwsClients, vpc_id: str) -> list[dict[str, Any]]:
    subnets = aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    pods = [dict(s) for s in subnets if s["CidrBlock"].startswith("100.64.")]
    return sorted(pods, key=lambda s: ipaddress.IPv4Network(s["CidrBlock"]))


def test_creates_one_private_owned_subnet_per_az(aws: AwsClients, migration: Migration) -> None:
    calls = record_calls(aws.ec2)
    results = [create_pod_subnet(aws, item) for item in _items(migration)]

    subnets = _pod_subnets(aws, migration.vpc_id)
    assert [s["CidrBlock"] for s in subnets] == list(POD_SUBNET_CIDRS)
    assert [s["AvailabilityZone"] for s in subnets] == list(AZS)
    for subnet, result in zip(subnets, results, strict=True):
        tags = {t["Key"]: t["Value"] for t in subnet["Tags"]}
        assert tags == {OWNER_TAG_KEY: CLUSTER, "Name": f"{CLUSTER}-pods-{subnet['AvailabilityZone']}"}
        assert ELB not in tags and INTERNAL_ELB not in tags
        assert subnet["MapPublicIpOnLaunch"] is False
        assert result.subnet_id == subnet["SubnetId"]
        assert result.created is True
        assert result.changes == 1
    assert calls.mutating == ["CreateSubnet"] * 3


def test_rerun_adopts_with_zero_mutating_calls(aws: AwsClients, migration: Migration) -> None:
    first = [create_pod_subnet(aws, item) for item in _items(migration)]
    calls = record_calls(aws.ec2)
    for planned, made in zip(migration.pod_subnets, first, strict=True):
        planned.subnet_id = made.subnet_id  # as Plan records the pod subnets it finds on a re-run

    again = [create_pod_subnet(aws, item) for item in _items(migration)]

    assert calls.mutating == []
    assert [r.subnet_id for r in again] == [r.subnet_id for r in first]
    assert all(r.created is False and r.changes == 0 for r in again)


def test_a_lost_create_response_converges_on_one_subnet_per_az(aws: AwsClients, migration: Migration) -> None:
    lost = lose_response(aws.ec2, "CreateSubnet", times=3)
    calls = record_calls(aws.ec2)

    results = [as_state_machine_retries(create_pod_subnet, aws, item) for item in _items(migration)]

    assert lost() == 3
    subnets = _pod_subnets(aws, migration.vpc_id)
    assert len(subnets) == 3
    assert calls.mutating == ["CreateSubnet"] * 3
    assert [r.subnet_id for r in results] == [s["SubnetId"] for s in subnets]
    assert all(r.created is True and r.changes == 1 for r in results)  # made by this execution


def test_a_conflict_on_create_means_it_exists_look_it_up(aws: AwsClients, migration: Migration) -> None:
    item = _items(migration)[0]
    # A racing attempt created it between this attempt's lookup and its CreateSubnet.
    subnet_id = create_pod_subnet(aws, item).subnet_id
    calls = record_calls(aws.ec2)
    original = aws.ec2.describe_subnets
    lookups = [0]

    def first_lookup_misses(**kwargs: Any) -> Any:
        lookups[0] += 1
        response = original(**kwargs)
        return {**response, "Subnets": []} if lookups[0] == 1 else response

    aws.ec2.describe_subnets = first_lookup_misses  # type: ignore[method-assign]
    result = create_pod_subnet(aws, item)

    assert result.subnet_id == subnet_id
    assert result.created is True  # unknown to the plan: this execution's racing attempt made it
    assert calls.mutating == ["CreateSubnet"]  # refused with InvalidSubnet.Conflict
    assert len(_pod_subnets(aws, migration.vpc_id)) == 3 - 2  # only the first AZ's


def test_a_subnet_that_becomes_visible_between_the_reads_is_adopted(aws: AwsClients, migration: Migration) -> None:
    """The lost try's subnet is missing from both reads by CIDR (EC2's eventual consistency) and is
    listed by the read of the VPC's subnets a moment later: it is ours, not an overlap (failed before:
    CidrOverlap naming our own subnet)."""
    item = _items(migration)[0]
    subnet_id = create_pod_subnet(aws, item).subnet_id
    original = aws.ec2.describe_subnets

    def reads_by_cidr_miss(**kwargs: Any) -> Any:
        response = original(**kwargs)
        by_cidr = any(f["Name"] == "cidr-block" for f in kwargs.get("Filters", []))
        return {**response, "Subnets": []} if by_cidr else response

    aws.ec2.describe_subnets = reads_by_cidr_miss  # type: ignore[method-assign]
    result = create_pod_subnet(aws, item)
    assert result.subnet_id == subnet_id and result.created is True


def test_a_foreign_subnet_with_the_planned_cidr_is_an_error(aws: AwsClients, migration: Migration) -> None:
    aws.ec2.create_subnet(VpcId=migration.vpc_id, CidrBlock=POD_SUBNET_CIDRS[0], AvailabilityZone=AZS[0])
    calls = record_calls(aws.ec2)
    with pytest.raises(CidrOverlap, match=r"100\.64\.0\.0/18.*not tagged podcidr:cluster=eksworkshop"):
        create_pod_subnet(aws, _items(migration)[0])
    assert calls.mutating == []


def test_another_clusters_subnet_is_not_adopted(aws: AwsClients, migration: Migration) -> None:
    aws.ec2.create_subnet(
        VpcId=migration.vpc_id,
        CidrBlock=POD_SUBNET_CIDRS[1],
        AvailabilityZone=AZS[1],
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": OWNER_TAG_KEY, "Value": "other"}]}],
    )
    with pytest.raises(CidrOverlap, match="tagged podcidr:cluster=other"):
        create_pod_subnet(aws, _items(migration)[1])


def test_an_overlapping_foreign_subnet_is_named(aws: AwsClients, migration: Migration) -> None:
    """Only the VPC's subnets that overlap the planned block are named, with their name, CIDR and AZ: not
    the node subnets beside it, nor another VPC's subnet with an overlapping CIDR."""
    name_tag: Any = [{"ResourceType": "subnet", "Tags": [{"Key": "Name", "Value": "batch"}]}]
    named = aws.ec2.create_subnet(
        VpcId=migration.vpc_id, CidrBlock="100.64.1.0/24", AvailabilityZone=AZS[0], TagSpecifications=name_tag
    )["Subnet"]["SubnetId"]
    unnamed = aws.ec2.create_subnet(VpcId=migration.vpc_id, CidrBlock="100.64.2.0/24", AvailabilityZone=AZS[1])
    unnamed_id = unnamed["Subnet"]["SubnetId"]
    elsewhere = aws.ec2.create_vpc(CidrBlock="100.64.0.0/16")["Vpc"]["VpcId"]
    aws.ec2.create_subnet(VpcId=elsewhere, CidrBlock="100.64.3.0/24", AvailabilityZone=AZS[0])

    with pytest.raises(CidrOverlap) as raised:
        create_pod_subnet(aws, _items(migration)[0])

    assert raised.value.cause == (
        f"AWS refused the pod subnet 100.64.0.0/18 in {AZS[0]}: it overlaps {named} (batch) 100.64.1.0/24 in "
        f"{AZS[0]}, {unnamed_id} 100.64.2.0/24 in {AZS[1]}. Remove the overlapping subnet or choose another podCidr."
    )


def test_public_ip_on_launch_is_turned_off(aws: AwsClients, migration: Migration) -> None:
    item = _items(migration)[0]
    subnet_id = create_pod_subnet(aws, item).subnet_id
    assert subnet_id is not None
    item.subnet.subnet_id = subnet_id
    aws.ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    calls = record_calls(aws.ec2)

    result = create_pod_subnet(aws, item)

    assert calls.mutating == ["ModifySubnetAttribute"]
    assert result.changes == 1
    assert aws.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["MapPublicIpOnLaunch"] is False
