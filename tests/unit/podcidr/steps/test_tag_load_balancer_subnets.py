"""TagLoadBalancerSubnets against moto."""

from __future__ import annotations

import pytest

from podcidr.aws.clients import AwsClients
from podcidr.models.migration import LoadBalancerTag, Migration
from podcidr.steps.create_pod_subnet import PodSubnetItem, create_pod_subnet
from podcidr.steps.tag_load_balancer_subnets import tag_load_balancer_subnets
from tests.fixtures.vpc_topology import (
    CLUSTER,
    ELB,
    INTERNAL_ELB,
    POD_CIDR,
    Topology,
    as_state_machine_retries,
    lose_response,
    record_calls,
    seed_migration,
)


def _tags(aws: AwsClients, subnet_id: str) -> dict[str, str]:
    subnet = aws.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
    return {t["Key"]: t["Value"] for t in subnet.get("Tags", [])}


@pytest.fixture
def migration(aws: AwsClients, seed: Topology) -> Migration:
    aws.ec2.associate_vpc_cidr_block(VpcId=seed.vpc_id, CidrBlock=POD_CIDR)
    migration = seed_migration(seed)
    migration.pod_subnets = [
        create_pod_subnet(aws, PodSubnetItem(cluster_name=CLUSTER, vpc_id=seed.vpc_id, subnet=s))
        for s in migration.pod_subnets
    ]
    return migration


def test_tags_public_and_node_subnets_one_call_per_key(aws: AwsClients, seed: Topology, migration: Migration) -> None:
    calls = record_calls(aws.ec2)

    tagged = tag_load_balancer_subnets(aws, migration)

    assert calls.mutating == ["CreateTags", "CreateTags"]
    assert tagged.changes == 2
    assert all(t.created for t in tagged.load_balancer_tags)
    for subnet in seed.public_subnet_ids:
        assert _tags(aws, subnet)[ELB] == "1" and INTERNAL_ELB not in _tags(aws, subnet)
    for subnet in seed.node_subnet_ids:
        assert _tags(aws, subnet)[INTERNAL_ELB] == "1" and ELB not in _tags(aws, subnet)
    for pod_subnet in migration.pod_subnets:
        tags = _tags(aws, str(pod_subnet.subnet_id))
        assert ELB not in tags and INTERNAL_ELB not in tags


def test_rerun_makes_zero_mutating_calls(aws: AwsClients, migration: Migration) -> None:
    tag_load_balancer_subnets(aws, migration)
    calls = record_calls(aws.ec2)

    again = tag_load_balancer_subnets(aws, migration)

    assert calls.mutating == []
    assert again.changes == 0
    assert not any(t.created for t in again.load_balancer_tags)


def test_a_tag_already_present_with_any_value_is_left_alone(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    aws.ec2.create_tags(Resources=[seed.node_subnet_ids[1]], Tags=[{"Key": INTERNAL_ELB, "Value": ""}])
    calls = record_calls(aws.ec2)

    tagged = tag_load_balancer_subnets(aws, migration)

    assert calls.mutating == ["CreateTags", "CreateTags"]
    assert _tags(aws, seed.node_subnet_ids[1])[INTERNAL_ELB] == ""
    created: dict[tuple[str, str], bool] = {(t.subnet_id, t.key): t.created for t in tagged.load_balancer_tags}
    assert created[(seed.node_subnet_ids[1], INTERNAL_ELB)] is False
    assert sum(created.values()) == 5


def test_a_lost_tag_response_converges_with_tags_once(aws: AwsClients, seed: Topology, migration: Migration) -> None:
    lost = lose_response(aws.ec2, "CreateTags")
    calls = record_calls(aws.ec2)

    tagged = as_state_machine_retries(tag_load_balancer_subnets, aws, migration)

    assert lost() == 1
    # The first attempt's first batch acted and lost its answer; the retry adds only the other batch.
    assert calls.mutating == ["CreateTags", "CreateTags"]
    for subnet in seed.public_subnet_ids:
        assert _tags(aws, subnet)[ELB] == "1"
    for subnet in seed.node_subnet_ids:
        assert _tags(aws, subnet)[INTERNAL_ELB] == "1"
    assert tagged.changes == 1


def test_no_planned_tags_makes_no_call_at_all(aws: AwsClients, seed: Topology) -> None:
    migration = seed_migration(seed, tag_load_balancer_subnets=False)
    calls = record_calls(aws.ec2)

    result = tag_load_balancer_subnets(aws, migration)

    assert calls.calls == []
    assert result == migration


def test_a_planned_tag_on_a_pod_subnet_is_refused_before_any_tag(aws: AwsClients, migration: Migration) -> None:
    pod_subnet = str(migration.pod_subnets[0].subnet_id)
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id=pod_subnet, key=INTERNAL_ELB))
    calls = record_calls(aws.ec2)

    with pytest.raises(RuntimeError, match="pod subnet"):
        tag_load_balancer_subnets(aws, migration)
    assert calls.mutating == []


def test_a_planned_tag_on_a_subnet_inside_the_pod_block_is_refused_by_its_cidr(
    aws: AwsClients, migration: Migration
) -> None:
    """A subnet of the pod block is refused even when the plan does not list it as a pod subnet."""
    stray = aws.ec2.create_subnet(VpcId=migration.vpc_id, CidrBlock="100.64.250.0/24")["Subnet"]["SubnetId"]
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id=stray, key=ELB))
    calls = record_calls(aws.ec2)

    with pytest.raises(RuntimeError) as raised:
        tag_load_balancer_subnets(aws, migration)
    assert str(raised.value) == (
        f"refusing to tag {stray} with {ELB}: it is a pod subnet, and load balancers must never be placed in pod "
        "subnets (the plan is wrong)"
    )
    assert calls.mutating == []
