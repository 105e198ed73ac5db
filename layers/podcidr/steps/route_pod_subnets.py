"""RoutePodSubnets: put each pod subnet on its AZ's node route table.

A new subnet sits on the VPC's main route table implicitly (no association of its own): it gets
one with AssociateRouteTable. A subnet explicitly associated with another table has that
association moved with ReplaceRouteTableAssociation. A subnet already on its table is left alone.

Each node route table's default route must still be the one the plan found, whatever it is (NAT
gateway or instance, transit gateway, firewall endpoint, or none: pods leave by SNAT through their
node, plan_checks/routing.py). That is checked before any association is made, so a failing check
changes nothing: NodeRouteTableMissing says what was found. A pod subnet that the VPC's main route
table already serves implicitly, when that is the node table, is left alone: the main table's
associations are never touched.

Only a subnet's own association is ever replaced, never the main association (which says
which table is main).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import NodeRouteTableMissing, TransientAwsError
from podcidr.models.migration import Migration, PodSubnet
from podcidr.steps._ec2 import describe_route_tables

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import RouteTableAssociationTypeDef, RouteTableTypeDef, RouteTypeDef

    from podcidr.aws.clients import AwsClients

DEFAULT_ROUTE = "0.0.0.0/0"
_TARGET_KEYS = (
    "NatGatewayId",
    "TransitGatewayId",
    "GatewayId",
    "NetworkInterfaceId",
    "InstanceId",
    "VpcEndpointId",
    "VpcPeeringConnectionId",
    "LocalGatewayId",
    "CarrierGatewayId",
    "CoreNetworkArn",
)


def route_target(route: RouteTypeDef) -> str | None:
    for key in _TARGET_KEYS:
        value = route.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _check_default_route(subnet: PodSubnet, table: RouteTableTypeDef | None) -> None:
    az, table_id = subnet.availability_zone, subnet.route_table_id
    if table is None:
        raise NodeRouteTableMissing(
            f"The node route table {table_id} planned for {az} is gone from the VPC. Run podcidr again so "
            "that Plan picks the AZ's route table afresh."
        )
    defaults = [r for r in table.get("Routes", []) if r.get("DestinationCidrBlock") == DEFAULT_ROUTE]
    found = route_target(defaults[0]) if defaults else None
    state = defaults[0].get("State", "active") if defaults else None
    expected = subnet.default_route_target
    if found == expected:
        return
    what = f"goes to {found} ({state})" if found else "does not exist"
    wanted = f"go to {expected}" if expected else "not exist"
    raise NodeRouteTableMissing(
        f"The default route (0.0.0.0/0) of {table_id}, the node route table for {az}, {what}; when Plan looked it "
        f"did {wanted}, so the route table changed during the migration. Run podcidr "
        "again so that Plan looks afresh; no pod subnet was associated."
    )


def _explicit_association(
    tables: list[RouteTableTypeDef], subnet_id: str
) -> tuple[RouteTableTypeDef, RouteTableAssociationTypeDef] | None:
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("SubnetId") == subnet_id and association.get("AssociationState", {}).get(
                "State", "associated"
            ) in ("associated", "associating"):
                return table, association
    return None


def _is_main(tables: list[RouteTableTypeDef], table_id: str) -> bool:
    return any(a.get("Main") for t in tables if t.get("RouteTableId") == table_id for a in t.get("Associations", []))


def _associate(ec2: EC2Client, vpc_id: str, subnet: PodSubnet, tables: list[RouteTableTypeDef]) -> int:
    """Put one subnet on its table; returns the mutating calls made."""
    assert subnet.subnet_id is not None
    current = _explicit_association(tables, subnet.subnet_id)
    if current is not None and current[0].get("RouteTableId") == subnet.route_table_id:
        subnet.route_table_association_id = current[1].get("RouteTableAssociationId")
        return 0
    if current is None and _is_main(tables, subnet.route_table_id):
        subnet.route_table_association_id = None  # on the main table implicitly, as the node subnets are
        return 0
    try:
        if current is not None:
            with transient_faults_retried("ec2:ReplaceRouteTableAssociation"):
                replaced = ec2.replace_route_table_association(
                    AssociationId=current[1]["RouteTableAssociationId"], RouteTableId=subnet.route_table_id
                )
            subnet.route_table_association_id = replaced.get("NewAssociationId")
        else:
            with transient_faults_retried("ec2:AssociateRouteTable"):
                made = ec2.associate_route_table(RouteTableId=subnet.route_table_id, SubnetId=subnet.subnet_id)
            subnet.route_table_association_id = made.get("AssociationId")
    except ClientError as error:
        if error_code(error) == "InvalidSubnetID.NotFound":
            # EC2 is eventually consistent: CreatePodSubnets made this subnet a moment ago (AWS-FACTS 7)
            raise TransientAwsError(
                f"Pod subnet {subnet.subnet_id} is not visible to EC2 yet (InvalidSubnetID.NotFound right "
                "after its creation); associating it with its route table is retried"
            ) from error
        # botocore retries a throttled call by itself: when the first try acted and its answer was lost,
        # the retry is refused (Resource.AlreadyAssociated, InvalidAssociationID.NotFound). Look again.
        now = _explicit_association(describe_route_tables(ec2, vpc_id), subnet.subnet_id)
        if now is None and error_code(error) == "Resource.AlreadyAssociated":
            # EC2 says an association exists but does not list it yet (eventual consistency, AWS-FACTS 7)
            raise TransientAwsError(
                f"AssociateRouteTable refused pod subnet {subnet.subnet_id} as already associated, but no "
                "association of it is listed yet; looking again is retried"
            ) from error
        if now is None or now[0].get("RouteTableId") != subnet.route_table_id:
            raise
        subnet.route_table_association_id = now[1].get("RouteTableAssociationId")
    return 1


def route_pod_subnets(clients: AwsClients, migration: Migration) -> Migration:
    """Associate every pod subnet with its AZ's node route table."""
    result = migration.model_copy(deep=True)
    tables = describe_route_tables(clients.ec2, result.vpc_id)
    by_id = {t.get("RouteTableId"): t for t in tables}
    for subnet in result.pod_subnets:
        if subnet.subnet_id is None:
            raise RuntimeError(f"the pod subnet for {subnet.availability_zone} has no subnetId: CreatePodSubnets ran?")
        _check_default_route(subnet, by_id.get(subnet.route_table_id))
    for subnet in result.pod_subnets:
        result.changes += _associate(clients.ec2, result.vpc_id, subnet, tables)
    return result
