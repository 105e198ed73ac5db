"""RoutePodSubnets over a botocore-stubbed EC2 client, in milliseconds (`make mutate-fast`): each pod subnet
moved from the main route table to its AZ's node table (AssociateRouteTable) or from another table
(ReplaceRouteTableAssociation), left alone where it already is, the default-route check that refuses before any
association (NodeRouteTableMissing, with what was found), lost answers and refused retries that converge, and
the exact requests. The same step against moto: test_route_pod_subnets.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from podcidr.aws.clients import AwsClients
from podcidr.errors import NodeRouteTableMissing, TransientAwsError
from podcidr.models.migration import Migration
from podcidr.steps.route_pod_subnets import _explicit_association, route_pod_subnets, route_target
from tests.fixtures.stubbed_aws import all_answered, ec2_only
from tests.fixtures.vpc_topology import Topology, seed_migration

VPC = "vpc-0a1b2c3d4e5f60718"
OWNER = "111122223333"
MAIN = "rtb-0main00000000000a"
PUBLIC = "rtb-0public000000000a"
NODE_TABLES = ["rtb-0node100000000000", "rtb-0node200000000000", "rtb-0node300000000000"]
NATS = ["nat-0aaa0000000000001", "nat-0aaa0000000000002", "nat-0aaa0000000000003"]
IGW = "igw-0fedcba9876543210"
POD_SUBNETS = ["subnet-0pod1000000000000", "subnet-0pod2000000000000", "subnet-0pod3000000000000"]
NODE_SUBNETS = ["subnet-0node100000000000", "subnet-0node200000000000", "subnet-0node300000000000"]
PUBLIC_SUBNETS = ["subnet-0pub1000000000000", "subnet-0pub2000000000000", "subnet-0pub3000000000000"]
BY_VPC = {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]}


def _migration(tables: list[str] = NODE_TABLES, nats: list[str] = NATS, changes: int = 4) -> Migration:
    topology = Topology(VPC, MAIN, PUBLIC, PUBLIC_SUBNETS, NODE_SUBNETS, nats, tables)
    migration = seed_migration(topology)
    for subnet, subnet_id in zip(migration.pod_subnets, POD_SUBNETS, strict=True):
        subnet.subnet_id = subnet_id
    migration.changes = changes
    return migration


def _route(cidr: str, **target: str) -> dict[str, Any]:
    origin = "CreateRouteTable" if target.get("GatewayId") == "local" else "CreateRoute"
    state = target.pop("State", "active")
    return {"DestinationCidrBlock": cidr, **target, "Origin": origin, "State": state}


def _association(table_id: str, subnet_id: str | None, state: str = "associated") -> dict[str, Any]:
    """A RouteTableAssociation as DescribeRouteTables lists it: the main one names no subnet."""
    association: dict[str, Any] = {
        "Main": subnet_id is None,
        "RouteTableAssociationId": f"rtbassoc-{table_id[4:]}-{(subnet_id or 'main')[-4:]}",
        "RouteTableId": table_id,
        "AssociationState": {"State": state},
    }
    if subnet_id is not None:
        association["SubnetId"] = subnet_id
    return association


def _table(table_id: str, default: dict[str, str] | None, associations: list[dict[str, Any]]) -> dict[str, Any]:
    routes = [_route("172.31.0.0/16", GatewayId="local"), _route("100.64.0.0/16", GatewayId="local")]
    if default is not None:
        routes.append(_route("0.0.0.0/0", **default))
    return {
        "Associations": associations,
        "PropagatingVgws": [],
        "RouteTableId": table_id,
        "Routes": routes,
        "Tags": [],
        "VpcId": VPC,
        "OwnerId": OWNER,
    }


def _vpc(
    pod_associations: dict[str, list[dict[str, Any]]] | None = None,
    node_defaults: list[dict[str, str] | None] | None = None,
    main_default: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The seed VPC's route tables: main (no subnet of its own), public (igw), one node table per AZ with its
    NAT gateway; `pod_associations` adds the pod subnets' explicit associations to the named tables."""
    extra = pod_associations or {}
    defaults = node_defaults if node_defaults is not None else [{"NatGatewayId": nat} for nat in NATS]
    tables = [
        _table(MAIN, main_default, [_association(MAIN, None), *extra.get(MAIN, [])]),
        _table(
            PUBLIC,
            {"GatewayId": IGW},
            [_association(PUBLIC, s) for s in PUBLIC_SUBNETS] + extra.get(PUBLIC, []),
        ),
    ]
    for table, node_subnet, default in zip(NODE_TABLES, NODE_SUBNETS, defaults, strict=True):
        tables.append(_table(table, default, [_association(table, node_subnet), *extra.get(table, [])]))
    return tables


def _describe(stub: Stubber, tables: list[dict[str, Any]]) -> None:
    stub.add_response("describe_route_tables", {"RouteTables": tables}, BY_VPC)


def _associate(stub: Stubber, table_id: str, subnet_id: str, association_id: str) -> None:
    stub.add_response(
        "associate_route_table",
        {"AssociationId": association_id, "AssociationState": {"State": "associated"}},
        {"RouteTableId": table_id, "SubnetId": subnet_id},
    )


def test_moves_each_pod_subnet_from_the_main_table_to_its_node_table() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    for table, subnet in zip(NODE_TABLES, POD_SUBNETS, strict=True):
        _associate(stub, table, subnet, f"rtbassoc-new-{subnet[-4:]}")

    with all_answered(stub):
        routed = route_pod_subnets(clients, _migration())

    assert routed.changes == 4 + 3
    assert [s.route_table_association_id for s in routed.pod_subnets] == [
        f"rtbassoc-new-{subnet[-4:]}" for subnet in POD_SUBNETS
    ]


def test_a_rerun_finds_its_associations_and_changes_nothing() -> None:
    clients, stub = ec2_only()
    ours = {t: [_association(t, s)] for t, s in zip(NODE_TABLES, POD_SUBNETS, strict=True)}
    _describe(stub, _vpc(ours))
    migration = _migration()

    with all_answered(stub):
        again = route_pod_subnets(clients, migration)

    assert again.changes == 4
    assert [s.route_table_association_id for s in again.pod_subnets] == [
        ours[t][0]["RouteTableAssociationId"] for t in NODE_TABLES
    ]


def test_an_explicit_association_to_another_table_is_replaced() -> None:
    clients, stub = ec2_only()
    stray = _association(PUBLIC, POD_SUBNETS[1])
    _describe(stub, _vpc({PUBLIC: [stray]}))
    _associate(stub, NODE_TABLES[0], POD_SUBNETS[0], "rtbassoc-new-1")
    stub.add_response(
        "replace_route_table_association",
        {"NewAssociationId": "rtbassoc-new-2", "AssociationState": {"State": "associated"}},
        {"AssociationId": stray["RouteTableAssociationId"], "RouteTableId": NODE_TABLES[1]},
    )
    _associate(stub, NODE_TABLES[2], POD_SUBNETS[2], "rtbassoc-new-3")

    with all_answered(stub):
        routed = route_pod_subnets(clients, _migration())

    assert routed.changes == 4 + 3
    assert [s.route_table_association_id for s in routed.pod_subnets] == [
        "rtbassoc-new-1",
        "rtbassoc-new-2",
        "rtbassoc-new-3",
    ]


def test_an_association_still_associating_is_the_subnets_current_one() -> None:
    clients, stub = ec2_only()
    associating = _association(NODE_TABLES[0], POD_SUBNETS[0], "associating")
    gone = _association(PUBLIC, POD_SUBNETS[1], "disassociated")
    failed = _association(PUBLIC, POD_SUBNETS[2], "failed")
    _describe(stub, _vpc({NODE_TABLES[0]: [associating], PUBLIC: [gone, failed]}))
    _associate(stub, NODE_TABLES[1], POD_SUBNETS[1], "rtbassoc-new-2")
    _associate(stub, NODE_TABLES[2], POD_SUBNETS[2], "rtbassoc-new-3")

    with all_answered(stub):
        routed = route_pod_subnets(clients, _migration())

    assert routed.changes == 4 + 2
    assert [s.route_table_association_id for s in routed.pod_subnets] == [
        associating["RouteTableAssociationId"],
        "rtbassoc-new-2",
        "rtbassoc-new-3",
    ]


def test_a_subnets_association_counts_while_associating_not_once_disassociated() -> None:
    def table(table_id: str, state: str | None) -> Any:
        association: dict[str, Any] = {"SubnetId": "subnet-pod", "RouteTableAssociationId": f"{table_id}-assoc"}
        if state is not None:
            association["AssociationState"] = {"State": state}
        return {"RouteTableId": table_id, "Associations": [association]}

    assert _explicit_association([table("rtb-a", "disassociated"), table("rtb-b", "associating")], "subnet-pod") == (
        table("rtb-b", "associating"),
        table("rtb-b", "associating")["Associations"][0],
    )
    assert _explicit_association([table("rtb-a", "disassociating"), table("rtb-b", "failed")], "subnet-pod") is None
    found = _explicit_association([table("rtb-c", None)], "subnet-pod")  # no state given: taken as associated
    assert found is not None and found[0]["RouteTableId"] == "rtb-c"
    assert _explicit_association([table("rtb-b", "associated")], "subnet-other") is None


def test_a_node_table_that_is_the_main_table_is_never_touched() -> None:
    """Node subnets implicitly on the main table: the pod subnets are already on it, implicitly."""
    clients, stub = ec2_only()
    _describe(stub, _vpc(main_default={"GatewayId": IGW}))
    migration = _migration(tables=[MAIN] * 3, nats=[IGW] * 3)
    for subnet in migration.pod_subnets:
        subnet.route_table_association_id = "rtbassoc-0stale0000000000"  # an earlier plan's, not this table's

    with all_answered(stub):
        routed = route_pod_subnets(clients, migration)

    assert routed.changes == 4
    assert [s.route_table_association_id for s in routed.pod_subnets] == [None] * 3


def test_a_pod_subnet_explicitly_elsewhere_is_moved_back_to_a_main_node_table() -> None:
    clients, stub = ec2_only()
    stray = _association(PUBLIC, POD_SUBNETS[0])
    _describe(stub, _vpc({PUBLIC: [stray]}, main_default={"GatewayId": IGW}))
    stub.add_response(
        "replace_route_table_association",
        {"NewAssociationId": "rtbassoc-new-1", "AssociationState": {"State": "associated"}},
        {"AssociationId": stray["RouteTableAssociationId"], "RouteTableId": MAIN},
    )
    migration = _migration(tables=[MAIN] * 3, nats=[IGW] * 3)

    with all_answered(stub):
        routed = route_pod_subnets(clients, migration)

    assert routed.changes == 4 + 1
    assert [s.route_table_association_id for s in routed.pod_subnets] == ["rtbassoc-new-1", None, None]


def test_a_default_route_elsewhere_is_node_route_table_missing_before_any_association() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    migration = _migration()
    migration.pod_subnets[2].default_route_target = "nat-0bbb0000000000009"

    with all_answered(stub), pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(clients, migration)
    assert raised.value.cause == (
        f"The default route (0.0.0.0/0) of {NODE_TABLES[2]}, the node route table for ap-southeast-1c, goes to "
        f"{NATS[2]} (active); when Plan looked it did go to nat-0bbb0000000000009, so the route table changed "
        "during the migration. Run podcidr again so that Plan looks afresh; no pod subnet was associated."
    )


def test_a_blackhole_default_route_says_so() -> None:
    """The NAT gateway was deleted: the route stays, blackholed; the message names its state."""
    clients, stub = ec2_only()
    defaults: list[dict[str, str] | None] = [{"NatGatewayId": nat} for nat in NATS]
    defaults[1] = {"NatGatewayId": NATS[0], "State": "blackhole"}
    _describe(stub, _vpc(node_defaults=defaults))

    with all_answered(stub), pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(clients, _migration())
    assert raised.value.cause.startswith(
        f"The default route (0.0.0.0/0) of {NODE_TABLES[1]}, the node route table for ap-southeast-1b, goes to "
        f"{NATS[0]} (blackhole); when Plan looked it did go to {NATS[1]}, so"
    )


def test_no_default_route_is_node_route_table_missing() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc(node_defaults=[None, {"NatGatewayId": NATS[1]}, {"NatGatewayId": NATS[2]}]))

    with all_answered(stub), pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(clients, _migration())
    assert raised.value.cause == (
        f"The default route (0.0.0.0/0) of {NODE_TABLES[0]}, the node route table for ap-southeast-1a, does not "
        f"exist; when Plan looked it did go to {NATS[0]}, so the route table changed during the migration. Run "
        "podcidr again so that Plan looks afresh; no pod subnet was associated."
    )


def test_a_default_route_where_plan_found_none_is_node_route_table_missing() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    migration = _migration()
    migration.pod_subnets[0].default_route_target = None

    with all_answered(stub), pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(clients, migration)
    assert raised.value.cause == (
        f"The default route (0.0.0.0/0) of {NODE_TABLES[0]}, the node route table for ap-southeast-1a, goes to "
        f"{NATS[0]} (active); when Plan looked it did not exist, so the route table changed during the migration. "
        "Run podcidr again so that Plan looks afresh; no pod subnet was associated."
    )


def test_an_internet_gateway_is_no_node_route_when_the_plan_named_none() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    migration = _migration(tables=[PUBLIC] * 3)
    for subnet in migration.pod_subnets:
        subnet.default_route_target = None

    with all_answered(stub), pytest.raises(NodeRouteTableMissing, match=f"of {PUBLIC}, .* goes to {IGW} \\(active\\)"):
        route_pod_subnets(clients, migration)


def test_a_node_table_without_default_route_is_used_when_plan_found_none() -> None:
    """Pods leave through their node by SNAT: a node table with no default route serves them as it serves the
    nodes (#11.5)."""
    clients, stub = ec2_only()
    _describe(stub, _vpc(node_defaults=[None, None, None]))
    for table, subnet in zip(NODE_TABLES, POD_SUBNETS, strict=True):
        _associate(stub, table, subnet, f"rtbassoc-new-{subnet[-4:]}")
    migration = _migration()
    for subnet in migration.pod_subnets:
        subnet.default_route_target = None

    with all_answered(stub):
        routed = route_pod_subnets(clients, migration)

    assert routed.changes == 4 + 3


def test_a_vanished_route_table_is_node_route_table_missing() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    migration = _migration()
    migration.pod_subnets[1].route_table_id = "rtb-0123456789abcdef0"

    with all_answered(stub), pytest.raises(NodeRouteTableMissing) as raised:
        route_pod_subnets(clients, migration)
    assert raised.value.cause == (
        "The node route table rtb-0123456789abcdef0 planned for ap-southeast-1b is gone from the VPC. Run podcidr "
        "again so that Plan picks the AZ's route table afresh."
    )


def test_a_pod_subnet_without_id_is_refused_before_any_call() -> None:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    migration = _migration()
    migration.pod_subnets[2].subnet_id = None

    with all_answered(stub), pytest.raises(RuntimeError) as raised:
        route_pod_subnets(clients, migration)
    assert str(raised.value) == "the pod subnet for ap-southeast-1c has no subnetId: CreatePodSubnets ran?"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NatGatewayId", "nat-0aaa0000000000001"),
        ("TransitGatewayId", "tgw-0123456789abcdef0"),
        ("GatewayId", "vpce-0123456789abcdef0"),
        ("VpcEndpointId", "vpce-0fedcba9876543210"),
        ("VpcPeeringConnectionId", "pcx-0123456789abcdef0"),
        ("LocalGatewayId", "lgw-0123456789abcdef0"),
        ("CarrierGatewayId", "cagw-0123456789abcdef0"),
        ("CoreNetworkArn", "arn:aws:networkmanager::111122223333:core-network/core-network-0123456789abcdef0"),
    ],
)
def test_a_default_routes_target_is_whatever_it_goes_to(key: str, value: str) -> None:
    assert route_target(_route("0.0.0.0/0", **{key: value})) == value


def test_an_instance_route_goes_to_its_network_interface() -> None:
    """A route to an instance lists the instance, its owner and its network interface: Plan and this step name
    the interface, both through route_target."""
    route = _route(
        "0.0.0.0/0", InstanceId="i-0123456789abcdef0", InstanceOwnerId=OWNER, NetworkInterfaceId="eni-0a1b2c3d4e5f6"
    )
    assert route_target(route) == "eni-0a1b2c3d4e5f6"
    assert route_target(_route("0.0.0.0/0", InstanceId="i-0123456789abcdef0")) == "i-0123456789abcdef0"
    assert route_target({"DestinationCidrBlock": "0.0.0.0/0", "Origin": "CreateRoute", "State": "blackhole"}) is None


def test_a_lost_association_answer_converges_on_one_association_each() -> None:
    """The first attempt's AssociateRouteTable acted and its answer was lost (a 503 after acting): the state
    machine retries the step, which finds that association and makes only the others."""
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    stub.add_client_error(
        "associate_route_table",
        "ServiceUnavailable",
        "Service Unavailable",
        503,
        expected_params={"RouteTableId": NODE_TABLES[0], "SubnetId": POD_SUBNETS[0]},
    )
    migration = _migration()
    with all_answered(stub), pytest.raises(TransientAwsError, match="ec2:AssociateRouteTable failed with"):
        route_pod_subnets(clients, migration)

    made = _association(NODE_TABLES[0], POD_SUBNETS[0])
    _describe(stub, _vpc({NODE_TABLES[0]: [made]}))
    _associate(stub, NODE_TABLES[1], POD_SUBNETS[1], "rtbassoc-new-2")
    _associate(stub, NODE_TABLES[2], POD_SUBNETS[2], "rtbassoc-new-3")
    with all_answered(stub):
        routed = route_pod_subnets(clients, migration)

    assert routed.changes == 4 + 2
    assert [s.route_table_association_id for s in routed.pod_subnets] == [
        made["RouteTableAssociationId"],
        "rtbassoc-new-2",
        "rtbassoc-new-3",
    ]


def test_a_retry_refused_as_already_associated_finds_its_own_association() -> None:
    """botocore's own retry of a throttled AssociateRouteTable that acted is refused: the step looks again."""
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    made = _association(NODE_TABLES[0], POD_SUBNETS[0])
    stub.add_client_error(
        "associate_route_table",
        "Resource.AlreadyAssociated",
        f"the specified association for route table {NODE_TABLES[0]} conflicts with an existing association",
        400,
        expected_params={"RouteTableId": NODE_TABLES[0], "SubnetId": POD_SUBNETS[0]},
    )
    _describe(stub, _vpc({NODE_TABLES[0]: [made]}))
    _associate(stub, NODE_TABLES[1], POD_SUBNETS[1], "rtbassoc-new-2")
    _associate(stub, NODE_TABLES[2], POD_SUBNETS[2], "rtbassoc-new-3")

    with all_answered(stub):
        routed = route_pod_subnets(clients, _migration())

    assert routed.changes == 4 + 3
    assert routed.pod_subnets[0].route_table_association_id == made["RouteTableAssociationId"]


def test_a_retry_of_a_replacement_refused_as_not_found_finds_the_new_association() -> None:
    clients, stub = ec2_only()
    stray = _association(PUBLIC, POD_SUBNETS[0])
    _describe(stub, _vpc({PUBLIC: [stray]}))
    stub.add_client_error(
        "replace_route_table_association",
        "InvalidAssociationID.NotFound",
        f"The association ID '{stray['RouteTableAssociationId']}' does not exist",
        400,
        expected_params={"AssociationId": stray["RouteTableAssociationId"], "RouteTableId": NODE_TABLES[0]},
    )
    made = _association(NODE_TABLES[0], POD_SUBNETS[0])
    _describe(stub, _vpc({NODE_TABLES[0]: [made]}))
    _associate(stub, NODE_TABLES[1], POD_SUBNETS[1], "rtbassoc-new-2")
    _associate(stub, NODE_TABLES[2], POD_SUBNETS[2], "rtbassoc-new-3")

    with all_answered(stub):
        routed = route_pod_subnets(clients, _migration())

    assert routed.changes == 4 + 3
    assert routed.pod_subnets[0].route_table_association_id == made["RouteTableAssociationId"]


def _refused_as_already_associated(found: dict[str, list[dict[str, Any]]]) -> tuple[AwsClients, Stubber]:
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    stub.add_client_error(
        "associate_route_table",
        "Resource.AlreadyAssociated",
        "the specified association conflicts with an existing association",
        400,
        expected_params={"RouteTableId": NODE_TABLES[0], "SubnetId": POD_SUBNETS[0]},
    )
    _describe(stub, _vpc(found))
    return clients, stub


def test_a_refusal_for_an_association_on_another_table_is_raised_as_is() -> None:
    clients, stub = _refused_as_already_associated({PUBLIC: [_association(PUBLIC, POD_SUBNETS[0])]})

    with all_answered(stub), pytest.raises(ClientError, match=r"\(Resource\.AlreadyAssociated\)"):
        route_pod_subnets(clients, _migration())


def test_already_associated_with_no_association_listed_yet_is_a_transient_fault() -> None:
    """EC2 says an association exists; a read that does not list it yet lags (eventual consistency)."""
    clients, stub = _refused_as_already_associated({})

    with all_answered(stub), pytest.raises(TransientAwsError) as raised:
        route_pod_subnets(clients, _migration())
    assert str(raised.value) == (
        f"AssociateRouteTable refused pod subnet {POD_SUBNETS[0]} as already associated, but no association of it "
        "is listed yet; looking again is retried"
    )


def test_a_pod_subnet_not_visible_yet_is_a_transient_fault() -> None:
    """EC2 is eventually consistent: a subnet made a moment ago may be unknown to AssociateRouteTable."""
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    stub.add_client_error(
        "associate_route_table",
        "InvalidSubnetID.NotFound",
        f"The subnet ID '{POD_SUBNETS[0]}' does not exist",
        400,
        expected_params={"RouteTableId": NODE_TABLES[0], "SubnetId": POD_SUBNETS[0]},
    )

    with all_answered(stub), pytest.raises(TransientAwsError) as raised:
        route_pod_subnets(clients, _migration())
    assert str(raised.value) == (
        f"Pod subnet {POD_SUBNETS[0]} is not visible to EC2 yet (InvalidSubnetID.NotFound right after its "
        "creation); associating it with its route table is retried"
    )


def test_routing_leaves_its_input_as_it_was() -> None:
    """A retried Task is given the same input again: the step answers with a copy."""
    clients, stub = ec2_only()
    _describe(stub, _vpc())
    for table, subnet in zip(NODE_TABLES, POD_SUBNETS, strict=True):
        _associate(stub, table, subnet, f"rtbassoc-new-{subnet[-4:]}")
    migration = _migration()
    before = migration.model_copy(deep=True)

    with all_answered(stub):
        route_pod_subnets(clients, migration)

    assert migration == before


def test_a_throttled_replacement_is_a_transient_fault_naming_it() -> None:
    clients, stub = ec2_only()
    stray = _association(PUBLIC, POD_SUBNETS[0])
    _describe(stub, _vpc({PUBLIC: [stray]}))
    stub.add_client_error(
        "replace_route_table_association",
        "RequestLimitExceeded",
        "Request limit exceeded.",
        503,
        expected_params={"AssociationId": stray["RouteTableAssociationId"], "RouteTableId": NODE_TABLES[0]},
    )

    with all_answered(stub), pytest.raises(TransientAwsError) as raised:
        route_pod_subnets(clients, _migration())
    assert str(raised.value).startswith("ec2:ReplaceRouteTableAssociation failed with RequestLimitExceeded: ")
