"""Plan's choice of an AZ's node route table (plan_checks/routing.py) when the AZ's node subnets use
several: the one whose default route leaves the VPC privately, else NodeRouteTableMissing naming them."""

from __future__ import annotations

from dataclasses import replace

import pytest

from podcidr.errors import NodeRouteTableMissing
from podcidr.models.discovery import RouteInfo, RouteTableInfo, SubnetInfo
from podcidr.steps.plan_checks.routing import node_route_table, route_warnings
from tests.unit.podcidr.steps.test_plan_references import _topology

AZ = "ap-southeast-1a"


def _table(table_id: str, target: str | None) -> RouteTableInfo:
    routes = [RouteInfo("10.0.0.0/16", "local")] + ([RouteInfo("0.0.0.0/0", target)] if target else [])
    return RouteTableInfo(table_id, main=False, subnet_ids=(), routes=tuple(routes))


def _subnet(subnet_id: str, table_id: str, zone: str = AZ) -> SubnetInfo:
    return SubnetInfo(subnet_id, zone, "10.0.0.0/24", 100, {}, table_id, True, False)


def test_the_table_with_a_private_way_out_is_chosen_among_several() -> None:
    tables = (_table("rtb-igw", "igw-1"), _table("rtb-nat", "nat-1"))
    topology = replace(_topology("vpc-1", None), route_tables=tables)
    subnets = [_subnet("subnet-1", "rtb-igw"), _subnet("subnet-2", "rtb-nat"), _subnet("subnet-3", "rtb-x", "b")]
    assert node_route_table(AZ, subnets, topology).route_table_id == "rtb-nat"


def test_no_private_way_out_among_several_names_each_table_and_its_default_route() -> None:
    tables = (_table("rtb-igw", "igw-1"), _table("rtb-none", None))
    topology = replace(_topology("vpc-1", None), route_tables=tables)
    subnets = [_subnet("subnet-1", "rtb-igw"), _subnet("subnet-2", "rtb-none")]
    with pytest.raises(NodeRouteTableMissing) as raised:
        node_route_table(AZ, subnets, topology)
    assert raised.value.cause == (
        f"Cannot choose the route table for the pod subnet in {AZ}: the node subnets there (subnet-1, subnet-2) use "
        "rtb-igw (default route: igw-1), rtb-none (default route: none), and none has a default route to a NAT "
        "gateway or instance, a transit gateway or a firewall endpoint. Give the node subnets of that AZ one route "
        "table (or exactly one with such a default route). Nothing was changed."
    )


def test_several_private_ways_out_are_refused_too() -> None:
    tables = (_table("rtb-a", "nat-1"), _table("rtb-b", "tgw-1"))
    topology = replace(_topology("vpc-1", None), route_tables=tables)
    with pytest.raises(NodeRouteTableMissing, match=r"and more than one has a default route"):
        node_route_table(AZ, [_subnet("subnet-1", "rtb-a"), _subnet("subnet-2", "rtb-b")], topology)


def test_the_one_table_of_the_zones_node_subnets_is_taken_whatever_its_default_route() -> None:
    topology = replace(_topology("vpc-1", None), route_tables=(_table("rtb-igw", "igw-1"), _table("rtb-b", "nat-1")))
    subnets = [_subnet("subnet-1", "rtb-igw"), _subnet("subnet-2", "rtb-igw"), _subnet("subnet-3", "rtb-b", "b")]
    assert node_route_table(AZ, subnets, topology).route_table_id == "rtb-igw"


def test_node_subnets_without_a_route_table_are_refused_saying_so() -> None:
    topology = replace(_topology("vpc-1", None), route_tables=())
    with pytest.raises(NodeRouteTableMissing) as raised:
        node_route_table(AZ, [_subnet("subnet-1", "rtb-gone")], topology)
    assert raised.value.cause.startswith(
        f"Cannot choose the route table for the pod subnet in {AZ}: the node subnets there (subnet-1) use no route "
        "table, and none has a default route"
    )


def test_a_node_table_without_a_default_route_is_said_once() -> None:
    assert route_warnings(AZ, _table("rtb-1", None)) == [
        f"The node route table of {AZ} (rtb-1) has no default route: the pods there reach only the VPC and its "
        "routed networks, as the nodes do."
    ]


def test_a_default_route_not_active_is_said_with_its_target_and_state() -> None:
    table = _table("rtb-1", "nat-1")
    blackhole = replace(table, routes=(table.routes[0], RouteInfo("0.0.0.0/0", "nat-1", state="blackhole")))
    assert route_warnings(AZ, blackhole) == [
        f"The default route of {AZ}'s node route table (rtb-1) to nat-1 is blackhole: the pods there will not reach "
        "outside the VPC, as the nodes do not."
    ]


def test_an_active_default_route_is_not_warned_of() -> None:
    assert route_warnings(AZ, _table("rtb-1", "nat-1")) == []
