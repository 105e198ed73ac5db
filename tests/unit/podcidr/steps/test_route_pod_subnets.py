"""RoutePodSubnets against moto."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from podcidr.aws.clients import AwsClients
from podcidr.errors import NodeRouteTableMissing, TransientAwsError
from podcidr.models.migration import Migration
from podcidr.steps.create_pod_subnet import PodSubnetItem, create_pod_subnet
from podcidr.steps.route_pod_subnets import _explicit_association, route_pod_subnets
from tests.fixtures.vpc_topology import (
    CLUSTER,
    POD_CIDR,
    Topology,
    as_state_machine_retries,
    build_seed_vpc,
    lose_response,
    record_calls,
    refuse_after_acting,
    seed_migration,
)


def _with_pod_subnets(aws: AwsClients, topology: Topology) -> Migration:
    aws.ec2.associate_vpc_cidr_block(VpcId=topology.vpc_id, CidrBlock=POD_CIDR)
    migration = seed_migration(topology)
    migration.pod_subnets = [
        create_pod_subnet(aws, PodSubnetItem(cluster_name=CLUSTER, vpc_id=topology.vpc_id, subnet=s))
        for s in migration.pod_subnets
    ]
    return migration


def _associations(aws: AwsClients, vpc_id: str, subnet_id: str | None) -> list[tuple[str, str]]:
    tables = aws.ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    return [
        (t["RouteTableId"], a["RouteTableAssociationId"])
        for t in tables
        for a in t.get("Associations", [])
        if a.get("SubnetId") == subnet_id
    ]


@pytest.fixture
def migration(aws: AwsClients, seed: Topology) -> Migration:
    return _with_pod_subnets(aws, seed)


def test_moves_each_pod_subnet_from_the_main_table_to_its_node_table(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    for subnet in migration.pod_subnets:
        assert _associations(aws, seed.vpc_id, subnet.subnet_id) == []  # implicitly on the main table
    calls = record_calls(aws.ec2)

    routed = route_pod_subnets(aws, migration)

    assert calls.mutating == ["AssociateRouteTable"] * 3
    assert routed.changes == 3
    for subnet in routed.pod_subnets:
        [(table, association)] = _associations(aws, seed.vpc_id, subnet.subnet_id)
        assert table == subnet.route_table_id == seed.node_route_table_ids[0]
        assert association == subnet.route_table_association_id


def test_rerun_makes_zero_mutating_calls(aws: AwsClients, seed: Topology, migration: Migration) -> None:
    first = route_pod_subnets(aws, migration)
    calls = record_calls(aws.ec2)

    again = route_pod_subnets(aws, migration)

    assert calls.mutating == []
    assert again.changes == 0
    assert [s.route_table_association_id for s in again.pod_subnets] == [
        s.route_table_association_id for s in first.pod_subnets
    ]


def test_a_lost_association_response_converges_on_one_association_each(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    lost = lose_response(aws.ec2, "AssociateRouteTable", times=2)
    calls = record_calls(aws.ec2)

    routed = as_state_machine_retries(route_pod_subnets, aws, migration)

    assert lost() == 2
    assert calls.mutating == ["AssociateRouteTable"] * 3
    for subnet in routed.pod_subnets:
        [(table, association)] = _associations(aws, seed.vpc_id, subnet.subnet_id)
        assert (table, association) == (subnet.route_table_id, subnet.route_table_association_id)


def test_an_explicit_association_to_another_table_is_replaced(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    stray = migration.pod_subnets[1]
    aws.ec2.associate_route_table(RouteTableId=seed.public_route_table_id, SubnetId=str(stray.subnet_id))
    calls = record_calls(aws.ec2)

    routed = route_pod_subnets(aws, migration)

    assert sorted(calls.mutating) == ["AssociateRouteTable", "AssociateRouteTable", "ReplaceRouteTableAssociation"]
    [(table, association)] = _associations(aws, seed.vpc_id, stray.subnet_id)
    assert table == stray.route_table_id
    assert association == routed.pod_subnets[1].route_table_association_id


def test_a_nat_and_table_per_az_routes_each_pod_subnet_to_its_own_az(aws: AwsClients) -> None:
    topology = build_seed_vpc(aws.ec2, nat_per_az=True)
    assert len(set(topology.node_route_table_ids)) == 3
    migration = _with_pod_subnets(aws, topology)

    routed = route_pod_subnets(aws, migration)

    for subnet, node_table in zip(routed.pod_subnets, topology.node_route_table_ids, strict=True):
        [(table, _)] = _associations(aws, topology.vpc_id, subnet.subnet_id)
        assert table == node_table
        az_of_subnet = aws.ec2.describe_subnets(SubnetIds=[str(subnet.subnet_id)])["Subnets"][0]["AvailabilityZone"]
        assert az_of_subnet == subnet.availability_zone


def test_a_default_route_elsewhere_is_node_route_table_missing_and_changes_nothing(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    migration.pod_subnets[2].default_route_target = "nat-0000000000000000a"
    calls = record_calls(aws.ec2)

    with pytest.raises(NodeRouteTableMissing, match=r"goes to nat-[0-9a-f]+ \(active\).*nat-0000000000000000a"):
        route_pod_subnets(aws, migration)
    assert calls.mutating == []


def test_no_default_route_is_node_route_table_missing(aws: AwsClients, seed: Topology, migration: Migration) -> None:
    table = seed.node_route_table_ids[0]
    aws.ec2.delete_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0")
    subnet = migration.pod_subnets[0]
    with pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(aws, migration)
    assert raised.value.cause == (
        f"The default route (0.0.0.0/0) of {table}, the node route table for {subnet.availability_zone}, does not "
        f"exist; when Plan looked it did go to {subnet.default_route_target}, so the route table changed during the "
        "migration. Run podcidr again so that Plan looks afresh; no pod subnet was associated."
    )


def test_a_default_route_where_plan_found_none_is_node_route_table_missing(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    subnet = migration.pod_subnets[0]
    found = subnet.default_route_target
    subnet.default_route_target = None
    with pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(aws, migration)
    assert raised.value.cause == (
        f"The default route (0.0.0.0/0) of {subnet.route_table_id}, the node route table for "
        f"{subnet.availability_zone}, goes to {found} (active); when Plan looked it did not exist, so the route "
        "table changed during the migration. Run podcidr again so that Plan looks afresh; no pod subnet was "
        "associated."
    )


def test_a_node_table_without_default_route_is_used_when_plan_found_none(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    """Pods leave through their node by SNAT: a node table with no default route serves them as it serves
    the nodes (#11.5)."""
    aws.ec2.delete_route(RouteTableId=seed.node_route_table_ids[0], DestinationCidrBlock="0.0.0.0/0")
    for subnet in migration.pod_subnets:
        subnet.default_route_target = None
    routed = route_pod_subnets(aws, migration)
    assert routed.changes == 3
    assert all(s.route_table_association_id for s in routed.pod_subnets)


def test_an_internet_gateway_is_no_node_route_when_the_plan_named_none(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    for subnet in migration.pod_subnets:
        subnet.route_table_id = seed.public_route_table_id
        subnet.default_route_target = None
    with pytest.raises(NodeRouteTableMissing, match="goes to igw-"):
        route_pod_subnets(aws, migration)


def test_a_vanished_route_table_is_node_route_table_missing(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    migration.pod_subnets[0].route_table_id = "rtb-0123456789abcdef0"
    with pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(aws, migration)
    assert raised.value.cause == (
        f"The node route table rtb-0123456789abcdef0 planned for {migration.pod_subnets[0].availability_zone} is "
        "gone from the VPC. Run podcidr again so that Plan picks the AZ's route table afresh."
    )


@pytest.mark.parametrize(
    ("operation", "code", "stray"),
    [
        ("AssociateRouteTable", "Resource.AlreadyAssociated", False),
        ("ReplaceRouteTableAssociation", "InvalidAssociationID.NotFound", True),
    ],
)
def test_a_refused_retry_of_its_own_association_converges(
    aws: AwsClients, seed: Topology, migration: Migration, operation: str, code: str, stray: bool
) -> None:
    if stray:
        for subnet in migration.pod_subnets:
            aws.ec2.associate_route_table(RouteTableId=seed.public_route_table_id, SubnetId=str(subnet.subnet_id))
    refuse_after_acting(aws.ec2, operation, code)

    routed = route_pod_subnets(aws, migration)

    assert routed.changes == 3
    for subnet in routed.pod_subnets:
        [(table, association)] = _associations(aws, seed.vpc_id, subnet.subnet_id)
        assert (table, association) == (subnet.route_table_id, subnet.route_table_association_id)


def test_a_node_table_that_is_the_main_table_is_never_touched(
    aws: AwsClients, seed: Topology, migration: Migration
) -> None:
    # Node subnets implicitly on the main route table: the pod subnets already are on it, implicitly.
    public = aws.ec2.describe_route_tables(RouteTableIds=[seed.public_route_table_id])["RouteTables"][0]
    gateway = next(r["GatewayId"] for r in public["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0")
    aws.ec2.create_route(RouteTableId=seed.main_route_table_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
    for subnet in migration.pod_subnets:
        subnet.route_table_id = seed.main_route_table_id
        subnet.default_route_target = gateway
    calls = record_calls(aws.ec2)

    routed = route_pod_subnets(aws, migration)

    assert calls.mutating == [] and routed.changes == 0
    for subnet in routed.pod_subnets:
        assert _associations(aws, seed.vpc_id, subnet.subnet_id) == []  # still implicit: no association made
        assert subnet.route_table_association_id is None  # none of its own, not an empty id


def _refuse(aws: AwsClients, code: str) -> None:
    """AssociateRouteTable refused without acting."""

    def refuse(**_: object) -> None:
        raise ClientError({"Error": {"Code": code, "Message": code}}, "AssociateRouteTable")

    aws.ec2.associate_route_table = refuse  # type: ignore[method-assign,assignment]


def test_a_pod_subnet_not_visible_yet_is_a_transient_fault(aws: AwsClients, migration: Migration) -> None:
    """EC2 is eventually consistent: a subnet made a moment ago may be unknown to AssociateRouteTable."""
    _refuse(aws, "InvalidSubnetID.NotFound")
    subnet_id = migration.pod_subnets[0].subnet_id
    with pytest.raises(TransientAwsError) as raised:
        route_pod_subnets(aws, migration)
    assert str(raised.value) == (
        f"Pod subnet {subnet_id} is not visible to EC2 yet (InvalidSubnetID.NotFound right after its creation); "
        "associating it with its route table is retried"
    )


def test_already_associated_with_no_association_listed_yet_is_a_transient_fault(
    aws: AwsClients, migration: Migration
) -> None:
    """EC2 says an association exists; a read that does not list it yet lags (eventual consistency)."""
    _refuse(aws, "Resource.AlreadyAssociated")
    subnet_id = migration.pod_subnets[0].subnet_id
    with pytest.raises(TransientAwsError) as raised:
        route_pod_subnets(aws, migration)
    assert str(raised.value) == (
        f"AssociateRouteTable refused pod subnet {subnet_id} as already associated, but no association of it is "
        "listed yet; looking again is retried"
    )


def test_routing_leaves_its_input_as_it_was(aws: AwsClients, migration: Migration) -> None:
    """A retried Task is given the same input again: the step answers with a copy."""
    before = migration.model_copy(deep=True)
    routed = route_pod_subnets(aws, migration)
    assert all(s.route_table_association_id for s in routed.pod_subnets)
    assert migration == before


def test_a_subnet_s_association_counts_while_associating_not_once_disassociated() -> None:
    """DescribeRouteTables lists an association's state; one still associating is the subnet's current one."""

    def table(table_id: str, state: str | None) -> Any:
        association: dict[str, Any] = {"SubnetId": "subnet-pod", "RouteTableAssociationId": f"{table_id}-assoc"}
        if state is not None:
            association["AssociationState"] = {"State": state}
        return {"RouteTableId": table_id, "Associations": [association]}

    assert _explicit_association([table("rtb-a", "disassociated"), table("rtb-b", "associating")], "subnet-pod") == (
        table("rtb-b", "associating"),
        table("rtb-b", "associating")["Associations"][0],
    )
    assert _explicit_association([table("rtb-a", "disassociated"), table("rtb-b", "failed")], "subnet-pod") is None
    found = _explicit_association([table("rtb-c", None)], "subnet-pod")  # no state given: taken as associated
    assert found is not None and found[0]["RouteTableId"] == "rtb-c"
    assert _explicit_association([table("rtb-b", "associated")], "subnet-other") is None
