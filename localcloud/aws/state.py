"""The AWS part of `--state` (DESIGN.md): read through the admin session, never in the ledger."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws


def _name(tags: list[dict[str, str]] | None) -> str | None:
    for tag in tags or []:
        if tag["Key"] == "Name":
            return tag["Value"]
    return None


def _target(route: dict[str, Any]) -> str:
    for key in (
        "GatewayId",
        "NatGatewayId",
        "TransitGatewayId",
        "VpcPeeringConnectionId",
        "NetworkInterfaceId",
        "InstanceId",
        "EgressOnlyInternetGatewayId",
        "VpcEndpointId",
    ):
        if route.get(key):
            return str(route[key])
    return "unknown"


def aws_state(aws: LocalAws) -> dict[str, Any]:
    session = aws.admin_session()
    ec2 = session.client("ec2")
    eks = session.client("eks")
    elbv2 = session.client("elbv2")
    vpc_id = aws.built.vpc_id if aws.built else None
    vpc_filter = [{"Name": "vpc-id", "Values": [vpc_id]}] if vpc_id else []

    vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"] if vpc_id else []
    blocks = [
        {
            "cidr": assoc["CidrBlock"],
            "associationId": assoc["AssociationId"],
            "state": assoc["CidrBlockState"]["State"],
            "primary": assoc["CidrBlock"] == vpc["CidrBlock"],
        }
        for vpc in vpcs
        for assoc in vpc.get("CidrBlockAssociationSet", [])
    ]

    tables = ec2.describe_route_tables(Filters=vpc_filter)["RouteTables"]
    main_table = next((t["RouteTableId"] for t in tables for a in t.get("Associations", []) if a.get("Main")), None)
    table_of: dict[str, str] = {}
    route_tables = []
    for table in tables:
        subnets = [a["SubnetId"] for a in table.get("Associations", []) if a.get("SubnetId")]
        for subnet_id in subnets:
            table_of[subnet_id] = table["RouteTableId"]
        route_tables.append(
            {
                "routeTableId": table["RouteTableId"],
                "name": _name(table.get("Tags")),
                "main": table["RouteTableId"] == main_table,
                "subnets": subnets,
                "routes": [
                    {
                        "destination": r.get("DestinationCidrBlock") or r.get("DestinationIpv6CidrBlock"),
                        "target": _target(r),
                        "state": r.get("State", "active"),
                    }
                    for r in table.get("Routes", [])
                ],
            }
        )

    subnets = [
        {
            "subnetId": s["SubnetId"],
            "name": _name(s.get("Tags")),
            "cidr": s["CidrBlock"],
            "availabilityZone": s["AvailabilityZone"],
            "availableIpAddressCount": s["AvailableIpAddressCount"],
            "tags": {t["Key"]: t["Value"] for t in s.get("Tags", [])},
            "routeTableId": table_of.get(s["SubnetId"], main_table),
            "explicitRouteTable": s["SubnetId"] in table_of,
        }
        for s in ec2.describe_subnets(Filters=vpc_filter)["Subnets"]
    ]
    subnets.sort(key=lambda s: s["cidr"])

    clusters = []
    for name in eks.list_clusters()["clusters"]:
        cluster = eks.describe_cluster(name=name)["cluster"]
        nodegroups = []
        for info in aws.eks.nodegroups(name):
            nodegroups.append(
                {
                    "name": info.name,
                    "status": info.status,
                    "subnets": info.subnets,
                    "instanceTypes": info.instance_types,
                    "scalingConfig": info.scaling_config,
                    "labels": info.labels,
                    "createdAt": info.created_at.isoformat(),
                }
            )
        addons = []
        extra = aws.eks.extra(name)
        for addon in extra.addons.values():
            addons.append(
                {
                    "name": addon.name,
                    "version": addon.version,
                    "status": addon.status,
                    "configurationValues": addon.configuration_values,
                    "configuration": addon.configuration,
                }
            )
        clusters.append(
            {
                "name": name,
                "status": cluster["status"],
                "version": cluster.get("version"),
                "authenticationMode": extra.authentication_mode,
                "addons": addons,
                "nodegroups": nodegroups,
                "accessEntries": [
                    {
                        "principalArn": e.principal_arn,
                        "type": e.type,
                        "policies": [p.policy_arn for p in e.policies.values()],
                    }
                    for e in extra.access_entries.values()
                ],
            }
        )

    load_balancers = []
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        targets: list[dict[str, Any]] = []
        try:
            groups = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
        except elbv2.exceptions.LoadBalancerNotFoundException:
            continue  # deleted since it was listed (the controller removes load balancers as the state is read)
        except elbv2.exceptions.TargetGroupNotFoundException:
            groups = []  # moto's answer for a load balancer without target groups (its groups deleted first)
        for group in groups:
            try:
                health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])[
                    "TargetHealthDescriptions"
                ]
            except elbv2.exceptions.TargetGroupNotFoundException:
                continue
            targets.extend(
                {
                    "targetGroup": group["TargetGroupName"],
                    "id": h["Target"]["Id"],
                    "port": h["Target"].get("Port"),
                    "health": h.get("TargetHealth", {}).get("State"),
                }
                for h in health
            )
        load_balancers.append(
            {
                "name": lb["LoadBalancerName"],
                "type": lb["Type"],
                "scheme": lb["Scheme"],
                "dnsName": lb.get("DNSName"),
                "subnets": [az["SubnetId"] for az in lb.get("AvailabilityZones", [])],
                "addresses": [
                    a.get("PrivateIPv4Address") or a.get("IpAddress")
                    for az in lb.get("AvailabilityZones", [])
                    for a in az.get("LoadBalancerAddresses", [])
                ],
                "targets": targets,
            }
        )

    return {
        "region": aws.region,
        "vpc": {"vpcId": vpc_id, "blocks": blocks},
        "subnets": subnets,
        "routeTables": route_tables,
        "clusters": clusters,
        "loadBalancers": load_balancers,
    }
