"""Discovery, read-only: the cluster, its VPC (blocks, subnets, route tables, gateways, peerings),
its managed nodegroups and its VPC CNI. Every function takes the boto3 clients it uses, pages
through every list, and turns throttling and 5xx into TransientAwsError.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.models.discovery import (
    CidrBlockInfo,
    ClusterInfo,
    ClusterTopology,
    CniInfo,
    InstanceTypeInfo,
    LaunchTemplateInfo,
    NatGatewayInfo,
    NodegroupInfo,
    PeeringInfo,
    RouteInfo,
    RouteTableInfo,
    SubnetInfo,
    TransitGatewayInfo,
    VpcInfo,
)

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient

VPC_CNI_ADDON = "vpc-cni"
_GONE_NAT_STATES = frozenset({"deleted", "deleting", "failed"})


def _tags(items: Iterable[Any] | None) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in items or ()}


def _pages(client: Any, operation: str, result_key: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated list call."""
    items: list[dict[str, Any]] = []
    with transient_faults_retried(operation):
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(result_key, []))
    return items


# --- EKS ---------------------------------------------------------------------------------------


def describe_cluster(eks: EKSClient, name: str) -> ClusterInfo | None:
    """The cluster, or None if there is no cluster of that name."""
    try:
        with transient_faults_retried("eks:DescribeCluster"):
            cluster: dict[str, Any] = dict(eks.describe_cluster(name=name)["cluster"])
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise
    vpc_config = cluster.get("resourcesVpcConfig") or {}
    network = cluster.get("kubernetesNetworkConfig") or {}
    access = cluster.get("accessConfig") or {}
    return ClusterInfo(
        name=str(cluster["name"]),
        status=str(cluster.get("status", "ACTIVE")),
        version=str(cluster.get("version", "")),
        vpc_id=str(vpc_config.get("vpcId", "")),
        subnet_ids=tuple(vpc_config.get("subnetIds") or ()),
        security_group_ids=tuple(vpc_config.get("securityGroupIds") or ()),
        cluster_security_group_id=vpc_config.get("clusterSecurityGroupId") or None,
        authentication_mode=access.get("authenticationMode") or None,
        ip_family=str(network.get("ipFamily") or "ipv4").lower(),
        endpoint=cluster.get("endpoint"),
        tags=dict(cluster.get("tags") or {}),
        arn=cluster.get("arn"),
        endpoint_public_access=bool(vpc_config.get("endpointPublicAccess", True)),
        endpoint_private_access=bool(vpc_config.get("endpointPrivateAccess", False)),
        public_access_cidrs=tuple(vpc_config.get("publicAccessCidrs") or ("0.0.0.0/0",)),
        auto_mode=bool((cluster.get("computeConfig") or {}).get("enabled")),
    )


def _launch_template(ec2: EC2Client, spec: dict[str, Any] | None) -> LaunchTemplateInfo | None:
    if not spec:
        return None
    template_id, name, version = spec.get("id"), spec.get("name"), spec.get("version")
    image_id = instance_type = user_data = None
    groups: tuple[str, ...] = ()
    query: dict[str, Any] = {"LaunchTemplateId": template_id} if template_id else {"LaunchTemplateName": name}
    if template_id or name:
        query["Versions"] = [str(version or "$Default")]
        try:
            with transient_faults_retried("ec2:DescribeLaunchTemplateVersions"):
                versions = ec2.describe_launch_template_versions(**query).get("LaunchTemplateVersions", [])
        except ClientError as error:
            if not error_code(error).startswith("InvalidLaunchTemplate"):
                raise
            versions = []
        if versions:
            data = versions[0].get("LaunchTemplateData", {})
            image_id = data.get("ImageId")
            instance_type = data.get("InstanceType")
            groups = _primary_eni_groups(dict(data))
            user_data = data.get("UserData")
    return LaunchTemplateInfo(
        template_id=template_id,
        name=name,
        version=str(version) if version is not None else None,
        image_id=image_id,
        instance_type=instance_type,
        security_group_ids=groups,
        user_data=user_data,
    )


def _primary_eni_groups(data: dict[str, Any]) -> tuple[str, ...]:
    """A launch template's groups: `SecurityGroupIds`, or those of its primary network interface."""
    groups = [str(g) for g in data.get("SecurityGroupIds") or ()]
    for interface in data.get("NetworkInterfaces") or ():
        if int(interface.get("DeviceIndex", 0) or 0) == 0:
            groups.extend(str(g) for g in interface.get("Groups") or ())
    return tuple(dict.fromkeys(groups))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def describe_nodegroups(eks: EKSClient, ec2: EC2Client, cluster_name: str) -> list[NodegroupInfo]:
    """Every managed nodegroup of the cluster, in name order."""
    names = _pages(eks, "list_nodegroups", "nodegroups", clusterName=cluster_name)
    nodegroups = []
    for name in sorted(map(str, names)):
        with transient_faults_retried("eks:DescribeNodegroup"):
            group: dict[str, Any] = dict(
                eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=name)["nodegroup"]
            )
        scaling = {k: int(v) for k, v in (group.get("scalingConfig") or {}).items()}
        update = group.get("updateConfig")  # integers and the string updateStrategy: kept as they are
        nodegroups.append(
            NodegroupInfo(
                name=name,
                status=str(group.get("status", "ACTIVE")),
                subnets=tuple(group.get("subnets") or ()),
                node_role=str(group.get("nodeRole", "")),
                scaling_config=scaling,
                instance_types=tuple(group.get("instanceTypes") or ()),
                ami_type=group.get("amiType"),
                capacity_type=group.get("capacityType"),
                disk_size=_int_or_none(group.get("diskSize")),
                release_version=group.get("releaseVersion"),
                version=group.get("version"),
                labels=dict(group.get("labels") or {}),
                taints=tuple(dict(t) for t in group.get("taints") or ()),
                tags=dict(group.get("tags") or {}),
                update_config=dict(update) if update else None,
                node_repair_config=dict(group["nodeRepairConfig"]) if group.get("nodeRepairConfig") else None,
                remote_access=dict(group["remoteAccess"]) if group.get("remoteAccess") else None,
                launch_template=_launch_template(ec2, group.get("launchTemplate")),
            )
        )
    return nodegroups


def describe_cni(eks: EKSClient, cluster_name: str) -> CniInfo:
    """The VPC CNI: the managed add-on if there is one, else the self-managed aws-node DaemonSet."""
    try:
        with transient_faults_retried("eks:DescribeAddon"):
            addon: dict[str, Any] = dict(eks.describe_addon(clusterName=cluster_name, addonName=VPC_CNI_ADDON)["addon"])
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return CniInfo(via="daemonset")
        raise
    return CniInfo(
        via="addon",
        version=addon.get("addonVersion"),
        configuration_values=addon.get("configurationValues") or None,
        status=addon.get("status"),
    )


# --- EC2 ---------------------------------------------------------------------------------------


def describe_vpc(ec2: EC2Client, vpc_id: str) -> VpcInfo:
    with transient_faults_retried("ec2:DescribeVpcs"):
        vpc: dict[str, Any] = dict(ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0])
    blocks = tuple(
        CidrBlockInfo(
            cidr=str(a["CidrBlock"]),
            state=str((a.get("CidrBlockState") or {}).get("State", "associated")),
            association_id=a.get("AssociationId"),
        )
        for a in vpc.get("CidrBlockAssociationSet") or ()
    )
    primary = str(vpc["CidrBlock"])
    if not any(block.cidr == primary for block in blocks):
        blocks = (CidrBlockInfo(cidr=primary, state="associated"), *blocks)
    return VpcInfo(
        vpc_id=vpc_id, primary_cidr=primary, blocks=blocks, tags=_tags(vpc.get("Tags")), owner_id=vpc.get("OwnerId")
    )


def _route_target(route: dict[str, Any]) -> str:
    for key in (
        "NatGatewayId",
        "TransitGatewayId",
        "GatewayId",
        "VpcPeeringConnectionId",
        "NetworkInterfaceId",
        "InstanceId",
        "VpcEndpointId",
        "EgressOnlyInternetGatewayId",
        "CarrierGatewayId",
        "LocalGatewayId",
        "CoreNetworkArn",
    ):
        if route.get(key):
            return str(route[key])
    return "unknown"


def describe_route_tables(ec2: EC2Client, vpc_id: str) -> list[RouteTableInfo]:
    tables = _pages(ec2, "describe_route_tables", "RouteTables", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    result = []
    for table in tables:
        associations = table.get("Associations") or []
        main = any(a.get("Main") for a in associations)
        subnets = tuple(str(a["SubnetId"]) for a in associations if a.get("SubnetId") and not a.get("Main"))
        routes = tuple(
            RouteInfo(
                destination=route.get("DestinationCidrBlock"),
                target=_route_target(route),
                state=str(route.get("State", "active")),
                destination_prefix_list=route.get("DestinationPrefixListId"),
            )
            for route in table.get("Routes") or ()
        )
        result.append(
            RouteTableInfo(
                route_table_id=str(table["RouteTableId"]),
                main=main,
                subnet_ids=subnets,
                routes=routes,
                tags=_tags(table.get("Tags")),
            )
        )
    return sorted(result, key=lambda t: t.route_table_id)


def describe_subnets(ec2: EC2Client, vpc_id: str, route_tables: Iterable[RouteTableInfo]) -> list[SubnetInfo]:
    """Every subnet of the VPC, with the route table it uses and whether that makes it public."""
    tables = list(route_tables)
    explicit = {subnet_id: table for table in tables for subnet_id in table.subnet_ids}
    main = next((table for table in tables if table.main), None)
    subnets = _pages(ec2, "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    result = []
    for subnet in subnets:
        subnet_id = str(subnet["SubnetId"])
        table = explicit.get(subnet_id, main)
        result.append(
            SubnetInfo(
                subnet_id=subnet_id,
                availability_zone=str(subnet["AvailabilityZone"]),
                cidr=str(subnet["CidrBlock"]),
                available_ips=int(subnet.get("AvailableIpAddressCount", 0)),
                tags=_tags(subnet.get("Tags")),
                route_table_id=table.route_table_id if table else None,
                explicit_route_table=subnet_id in explicit,
                public=bool(table and table.routes_to_internet_gateway),
            )
        )
    return sorted(result, key=lambda s: (s.availability_zone, s.cidr))


def describe_nat_gateways(ec2: EC2Client, vpc_id: str) -> list[NatGatewayInfo]:
    gateways = _pages(ec2, "describe_nat_gateways", "NatGateways", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return sorted(
        (
            NatGatewayInfo(
                nat_gateway_id=str(g["NatGatewayId"]),
                subnet_id=str(g.get("SubnetId", "")),
                state=str(g.get("State", "")),
            )
            for g in gateways
            if g.get("VpcId", vpc_id) == vpc_id and g.get("State") not in _GONE_NAT_STATES
        ),
        key=lambda g: g.nat_gateway_id,
    )


def describe_transit_gateways(ec2: EC2Client, transit_gateway_ids: Iterable[str]) -> list[TransitGatewayInfo]:
    """The transit gateways that the VPC's routes point to."""
    ids = sorted(set(transit_gateway_ids))
    if not ids:
        return []
    gateways = _pages(ec2, "describe_transit_gateways", "TransitGateways", TransitGatewayIds=ids)
    return [
        TransitGatewayInfo(transit_gateway_id=str(g["TransitGatewayId"]), state=str(g.get("State", "")))
        for g in gateways
        if g.get("TransitGatewayId") in ids
    ]


def _peering_cidrs(info: dict[str, Any]) -> tuple[str, ...]:
    cidrs = [str(c["CidrBlock"]) for c in info.get("CidrBlockSet") or () if c.get("CidrBlock")]
    if not cidrs and info.get("CidrBlock"):
        cidrs = [str(info["CidrBlock"])]
    return tuple(dict.fromkeys(cidrs))


def describe_peerings(ec2: EC2Client, vpc_id: str) -> list[PeeringInfo]:
    """Peerings this VPC requested or was asked to accept (any status)."""
    found: dict[str, PeeringInfo] = {}
    for side in ("requester-vpc-info.vpc-id", "accepter-vpc-info.vpc-id"):
        connections = _pages(
            ec2,
            "describe_vpc_peering_connections",
            "VpcPeeringConnections",
            Filters=[{"Name": side, "Values": [vpc_id]}],
        )
        for pcx in connections:
            requester = pcx.get("RequesterVpcInfo") or {}
            accepter = pcx.get("AccepterVpcInfo") or {}
            if vpc_id not in (requester.get("VpcId"), accepter.get("VpcId")):
                continue  # moto ignores these filters
            found[str(pcx["VpcPeeringConnectionId"])] = PeeringInfo(
                peering_id=str(pcx["VpcPeeringConnectionId"]),
                status=str((pcx.get("Status") or {}).get("Code", "")),
                requester_vpc_id=str(requester.get("VpcId", "")),
                accepter_vpc_id=str(accepter.get("VpcId", "")),
                requester_cidrs=_peering_cidrs(requester),
                accepter_cidrs=_peering_cidrs(accepter),
            )
    return [found[key] for key in sorted(found)]


def describe_instance_types(ec2: EC2Client, names: Iterable[str]) -> dict[str, InstanceTypeInfo]:
    """ENIs, IPv4 addresses per ENI and vCPUs of each instance type (for the max-pods formula)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    types = _pages(ec2, "describe_instance_types", "InstanceTypes", InstanceTypes=wanted)
    result = {}
    for item in types:
        network = item.get("NetworkInfo") or {}
        result[str(item["InstanceType"])] = InstanceTypeInfo(
            instance_type=str(item["InstanceType"]),
            max_enis=int(network.get("MaximumNetworkInterfaces", 0)),
            ips_per_eni=int(network.get("Ipv4AddressesPerInterface", 0)),
            vcpus=int((item.get("VCpuInfo") or {}).get("DefaultVCpus", 0)),
        )
    return result


def addresses_in_use(ec2: EC2Client, subnet_ids: Iterable[str]) -> dict[str, set[str]]:
    """The addresses of each subnet that an address of ours cannot take: every network interface's
    private IPv4 addresses and the addresses of its /28 prefixes (prefix delegation: ENI
    Ipv4Prefixes), and the subnet's CIDR reservations (GetSubnetCidrReservations, either type: EC2
    hands those out only as prefixes or by explicit assignment)."""
    ids = sorted(set(subnet_ids))
    used: dict[str, set[str]] = {subnet_id: set() for subnet_id in ids}
    if not ids:
        return used
    interfaces = _pages(
        ec2, "describe_network_interfaces", "NetworkInterfaces", Filters=[{"Name": "subnet-id", "Values": ids}]
    )
    for interface in interfaces:
        subnet_id = str(interface.get("SubnetId", ""))
        if subnet_id not in used:
            continue
        for address in interface.get("PrivateIpAddresses") or ():
            if address.get("PrivateIpAddress"):
                used[subnet_id].add(str(address["PrivateIpAddress"]))
        if interface.get("PrivateIpAddress"):
            used[subnet_id].add(str(interface["PrivateIpAddress"]))
        for prefix in interface.get("Ipv4Prefixes") or ():
            if prefix.get("Ipv4Prefix"):
                used[subnet_id].update(str(a) for a in IPv4Network(str(prefix["Ipv4Prefix"]), strict=False))
    for subnet_id in ids:
        for cidr in subnet_cidr_reservations(ec2, subnet_id):
            used[subnet_id].update(str(a) for a in IPv4Network(cidr, strict=False))
    return used


def subnet_cidr_reservations(ec2: EC2Client, subnet_id: str) -> list[str]:
    """The subnet's IPv4 CIDR reservations (no paginator in botocore: NextToken by hand)."""
    cidrs: list[str] = []
    token: str | None = None
    with transient_faults_retried("ec2:GetSubnetCidrReservations"):
        while True:
            page = (
                ec2.get_subnet_cidr_reservations(SubnetId=subnet_id, NextToken=token)
                if token
                else ec2.get_subnet_cidr_reservations(SubnetId=subnet_id)
            )
            cidrs.extend(str(r["Cidr"]) for r in page.get("SubnetIpv4CidrReservations", []) if r.get("Cidr"))
            token = page.get("NextToken")
            if not token:
                return cidrs


# --- everything at once ------------------------------------------------------------------------


def with_vpc_id(ec2: EC2Client, cluster: ClusterInfo) -> ClusterInfo:
    """The cluster with its VPC ID, found from its subnets if DescribeCluster left it out (moto does)."""
    if cluster.vpc_id or not cluster.subnet_ids:
        return cluster
    with transient_faults_retried("ec2:DescribeSubnets"):
        subnets = ec2.describe_subnets(SubnetIds=list(cluster.subnet_ids[:1])).get("Subnets", [])
    return replace(cluster, vpc_id=str(subnets[0]["VpcId"])) if subnets else cluster


def discover_topology(ec2: EC2Client, eks: EKSClient, cluster: ClusterInfo, region: str) -> ClusterTopology:
    """Everything Plan reads about an existing cluster and its VPC."""
    cluster = with_vpc_id(ec2, cluster)
    vpc = describe_vpc(ec2, cluster.vpc_id)
    route_tables = describe_route_tables(ec2, cluster.vpc_id)
    subnets = describe_subnets(ec2, cluster.vpc_id, route_tables)
    tgw_ids = {route.target for table in route_tables for route in table.routes if route.target.startswith("tgw-")}
    return ClusterTopology(
        region=region,
        cluster=cluster,
        vpc=vpc,
        subnets=tuple(subnets),
        route_tables=tuple(route_tables),
        nat_gateways=tuple(describe_nat_gateways(ec2, cluster.vpc_id)),
        transit_gateways=tuple(describe_transit_gateways(ec2, tgw_ids)),
        peerings=tuple(describe_peerings(ec2, cluster.vpc_id)),
        nodegroups=tuple(describe_nodegroups(eks, ec2, cluster.name)),
        cni=describe_cni(eks, cluster.name),
    )
