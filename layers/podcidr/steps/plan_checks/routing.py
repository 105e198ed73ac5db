"""Which route table each pod subnet gets: its AZ's node route table, whatever that table's default
route is (NAT gateway, NAT instance, transit gateway, firewall endpoint, or none). Pods leave
through their node's primary ENI by SNAT (AWS_VPC_K8S_CNI_EXTERNALSNAT=false), so they need what
the nodes have, nothing more. RoutePodSubnets then only checks that the table's default route is
still the one Plan recorded, so everything that could stop it is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence

from podcidr.errors import NodeRouteTableMissing
from podcidr.models.discovery import ClusterTopology, RouteTableInfo, SubnetInfo

EGRESS_PREFIXES = ("nat-", "tgw-", "eni-", "i-", "vpce-")
"""Default-route targets that take private traffic out: NAT gateway, transit gateway, a NAT
instance (its ENI or instance ID), a firewall or Gateway Load Balancer endpoint."""


def _described(table: RouteTableInfo) -> str:
    return f"{table.route_table_id} (default route: {table.default_route_target or 'none'})"


def node_route_table(zone: str, node_subnets: Sequence[SubnetInfo], topology: ClusterTopology) -> RouteTableInfo:
    """The route table of the AZ's node subnets; with several, the one whose default route leaves the VPC privately."""
    subnets = [s for s in node_subnets if s.availability_zone == zone]
    table_ids = sorted({s.route_table_id for s in subnets if s.route_table_id})
    tables = [t for t in (topology.route_table(tid) for tid in table_ids) if t is not None]
    if len(tables) == 1:
        return tables[0]
    egress = [t for t in tables if (t.default_route_target or "").startswith(EGRESS_PREFIXES)]
    if len(egress) == 1:
        return egress[0]
    raise NodeRouteTableMissing(
        f"Cannot choose the route table for the pod subnet in {zone}: the node subnets there "
        f"({', '.join(s.subnet_id for s in subnets)}) use {', '.join(map(_described, tables)) or 'no route table'}, "
        f"and {'none' if not egress else 'more than one'} has a default route to a NAT gateway or instance, a "
        "transit gateway or a firewall endpoint. Give the node subnets of that AZ one route table (or exactly one "
        "with such a default route). Nothing was changed."
    )


def route_warnings(zone: str, table: RouteTableInfo) -> list[str]:
    """What the pods of the AZ will share with its nodes, said once."""
    default = next((r for r in table.routes if r.is_default), None)
    if default is None:
        return [
            f"The node route table of {zone} ({table.route_table_id}) has no default route: the pods there reach "
            "only the VPC and its routed networks, as the nodes do."
        ]
    if default.state != "active":
        return [
            f"The default route of {zone}'s node route table ({table.route_table_id}) to {default.target} is "
            f"{default.state}: the pods there will not reach outside the VPC, as the nodes do not."
        ]
    return []
