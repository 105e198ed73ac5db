"""Build a scenario's AWS side in the twin, through the admin session (never in the ledger).

VPC (+ secondary blocks, associated at once), subnets with Name tags, internet gateway, NAT
gateways with their EIPs, route tables (the scenario's or the default layout) and their
associations, extra routes (`target: transit-gateway` creates a transit gateway and attaches the
VPC), peerings (active or pending-acceptance), IAM roles for the cluster and its nodes, the EKS
cluster with its cluster security group, its nodegroups (ACTIVE at once, or created when a
CREATING cluster becomes ACTIVE), the vpc-cni add-on and the authentication mode.
"""

from __future__ import annotations

import ipaddress
import json
import zlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from localcloud.aws import access_bootstrap, real_account
from localcloud.aws.root import root_arn

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws
    from localcloud.scenario import NodegroupSpec, Scenario

_TRUST = {
    "cluster": {"Service": "eks.amazonaws.com"},
    "node": {"Service": "ec2.amazonaws.com"},
}


@dataclass
class BuiltAws:
    """IDs of what the build made, by scenario name."""

    vpc_id: str = ""
    subnet_ids: dict[str, str] = field(default_factory=dict)
    route_table_ids: dict[str, str] = field(default_factory=dict)
    main_route_table_id: str = ""
    internet_gateway_id: str | None = None
    nat_gateway_ids: dict[str, str] = field(default_factory=dict)
    """Public subnet name -> NAT gateway ID."""
    transit_gateway_id: str | None = None
    peering_ids: list[str] = field(default_factory=list)
    cluster_role_arn: str = ""
    node_role_arn: str = ""
    cluster_security_group_id: str = ""
    nodegroup_arns: dict[str, str] = field(default_factory=dict)
    security_group_ids: dict[str, str] = field(default_factory=dict)
    """vpc.securityGroups name -> group ID."""
    egress_targets: dict[str, dict[str, str]] = field(default_factory=dict)
    """'nat-instance:<subnet>' / 'firewall:<subnet>' -> the CreateRoute target made there."""
    launch_templates: dict[str, dict[str, str]] = field(default_factory=dict)
    """Nodegroup name -> its launch template ({"id", "version"})."""
    unmanaged_instance_ids: list[str] = field(default_factory=list)
    """Self-managed and Karpenter instances."""


def _tags(name: str, extra: dict[str, str] | None = None) -> list[dict[str, str]]:
    return [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in (extra or {}).items()]


def _role(iam: Any, name: str, kind: str) -> str:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": _TRUST[kind], "Action": "sts:AssumeRole"}],
    }
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(document))["Role"]["Arn"])


def _nodegroup_request(group: NodegroupSpec, built: BuiltAws) -> dict[str, Any]:
    """CreateNodegroup's parameters for a scenario nodegroup, without the `aws:` tags EKS refuses."""
    request: dict[str, Any] = {
        "nodeRole": built.node_role_arn,
        "subnets": [built.subnet_ids[n] for n in group.subnets],
        "instanceTypes": group.instance_types,
        "amiType": _ami_type(group),
        "capacityType": group.capacity_type,
        "scalingConfig": {"minSize": group.min_size, "desiredSize": group.desired_size, "maxSize": group.max_size},
        "labels": group.labels,
        "tags": {k: v for k, v in group.tags.items() if not k.startswith("aws:")},
    }
    if group.taints:
        request["taints"] = [t.model_dump(exclude_none=True) for t in group.taints]
    if group.version:
        request["version"] = group.version
    if group.update_config:
        request["updateConfig"] = group.update_config.model_dump(by_alias=True, exclude_none=True)
    if group.name in built.launch_templates:
        request["launchTemplate"] = dict(built.launch_templates[group.name])
    return request


def _reserved_tags(moto_ng: Any, tags: dict[str, str]) -> None:
    """`aws:` tags as CloudFormation puts them on what it creates: not through CreateNodegroup."""
    moto_ng.tags.update({k: v for k, v in tags.items() if k.startswith("aws:")})


def _ami_type(group: NodegroupSpec) -> str:
    """EKS reports CUSTOM for a nodegroup whose launch template names its AMI."""
    return "CUSTOM" if group.launch_template and group.launch_template.custom_ami else str(group.ami_type)


def build_aws(aws: LocalAws) -> dict[str, BuiltAws]:
    """Every cluster of the scenario (`clusters`, or the one `cluster`), each VPC built once: the
    clusters that share a VPC share its IDs. By cluster name, in the scenario's order."""
    builts: dict[str, BuiltAws] = {}
    networks: dict[int, BuiltAws] = {}
    for member in aws.scenario.members():
        network = networks.get(id(member.vpc))
        if network is None:
            network = networks[id(member.vpc)] = _build_vpc(aws, member)
        built = replace(network, nodegroup_arns={}, launch_templates={}, unmanaged_instance_ids=[])
        _build_cluster(aws, member, built)
        builts[member.cluster.name] = built
    return builts


def _build_vpc(aws: LocalAws, scenario: Scenario) -> BuiltAws:
    """The VPC and what is in it but not of a cluster; `scenario` is one of the scenario's members."""
    session = aws.admin_session()
    ec2 = session.client("ec2")
    built = BuiltAws()
    cluster = scenario.cluster

    vpc = ec2.create_vpc(
        CidrBlock=scenario.vpc.cidr,
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(f"{cluster.name}-vpc")}],
    )["Vpc"]
    built.vpc_id = vpc_id = vpc["VpcId"]
    real_account.share_vpc(aws, vpc_id, scenario.vpc.owner_id)
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    for cidr in scenario.vpc.secondary_cidrs:
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=cidr)
    aws.ec2.settle()

    for subnet in scenario.vpc.subnets:
        created = ec2.create_subnet(
            VpcId=vpc_id,
            CidrBlock=subnet.cidr,
            AvailabilityZone=subnet.az,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": _tags(subnet.name, subnet.tags)}],
        )["Subnet"]
        built.subnet_ids[subnet.name] = created["SubnetId"]
        if subnet.public:
            ec2.modify_subnet_attribute(SubnetId=created["SubnetId"], MapPublicIpOnLaunch={"Value": True})

    real_account.share_subnets(aws, list(built.subnet_ids.values()), scenario.vpc.owner_id)
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    built.main_route_table_id = main[0]["RouteTableId"]
    ec2.create_tags(Resources=[built.main_route_table_id], Tags=_tags(f"{cluster.name}-main"))

    tables = scenario.route_tables()
    needs_igw = any(s.public for s in scenario.vpc.subnets) or any(
        t.default_route == "internet-gateway" for t in tables
    )
    if needs_igw:
        igw = ec2.create_internet_gateway(
            TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": _tags(f"{cluster.name}-igw")}]
        )["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
        built.internet_gateway_id = igw

    for nat in scenario.vpc.nat_gateways:
        allocation = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat_id = ec2.create_nat_gateway(
            SubnetId=built.subnet_ids[nat.subnet],
            AllocationId=allocation,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": _tags(f"{cluster.name}-nat-{nat.subnet}")}],
        )["NatGateway"]["NatGatewayId"]
        built.nat_gateway_ids[nat.subnet] = nat_id

    needs_tgw = any(r.target == "transit-gateway" for r in scenario.vpc.routes) or any(
        t.default_route == "transit-gateway" for t in tables
    )
    if needs_tgw:
        tgw = ec2.create_transit_gateway(
            Description=f"{cluster.name} transit gateway",
            TagSpecifications=[{"ResourceType": "transit-gateway", "Tags": _tags(f"{cluster.name}-tgw")}],
        )["TransitGateway"]["TransitGatewayId"]
        per_az: dict[str, str] = {}
        for subnet in scenario.vpc.subnets:
            if not subnet.public:
                per_az.setdefault(subnet.az, built.subnet_ids[subnet.name])
        ec2.create_transit_gateway_vpc_attachment(
            TransitGatewayId=tgw, VpcId=vpc_id, SubnetIds=list(per_az.values()) or list(built.subnet_ids.values())[:1]
        )
        built.transit_gateway_id = tgw

    def target(kind: str, nat_subnet: str | None = None) -> dict[str, str]:
        if kind == "internet-gateway":
            assert built.internet_gateway_id is not None
            return {"GatewayId": built.internet_gateway_id}
        if kind == "nat-gateway":
            subnet = nat_subnet or next(iter(built.nat_gateway_ids))
            return {"NatGatewayId": built.nat_gateway_ids[subnet]}
        if kind in ("nat-instance", "firewall"):
            return real_account.egress_target(ec2, scenario, built, kind, nat_subnet)
        assert built.transit_gateway_id is not None
        return {"TransitGatewayId": built.transit_gateway_id}

    for table in tables:
        table_id = ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": _tags(table.name)}]
        )["RouteTable"]["RouteTableId"]
        built.route_table_ids[table.name] = table_id
        if table.default_route != "none":
            ec2.create_route(
                RouteTableId=table_id, DestinationCidrBlock="0.0.0.0/0", **target(table.default_route, table.nat_subnet)
            )
        for name in table.subnets:
            ec2.associate_route_table(RouteTableId=table_id, SubnetId=built.subnet_ids[name])

    for route in scenario.vpc.routes:
        for name in route.route_tables or [t.name for t in tables]:
            ec2.create_route(
                RouteTableId=built.route_table_ids[name], DestinationCidrBlock=route.destination, **target(route.target)
            )

    for i, peering in enumerate(scenario.vpc.peerings):
        peer = ec2.create_vpc(
            CidrBlock=str(ipaddress.IPv4Network(peering.cidr)),
            TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(f"peer-{i}")}],
        )["Vpc"]["VpcId"]
        pcx = ec2.create_vpc_peering_connection(VpcId=vpc_id, PeerVpcId=peer)["VpcPeeringConnection"][
            "VpcPeeringConnectionId"
        ]
        if peering.status == "active":
            ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
        built.peering_ids.append(pcx)

    built.security_group_ids = real_account.create_security_groups(ec2, scenario, vpc_id)
    return built


def _build_cluster(aws: LocalAws, scenario: Scenario, built: BuiltAws) -> None:
    """The EKS cluster of `scenario` (a member) in the VPC `built` holds."""
    session = aws.admin_session()
    ec2 = session.client("ec2")
    iam = session.client("iam")
    eks = session.client("eks")
    cluster = scenario.cluster
    vpc_id = built.vpc_id
    built.cluster_role_arn = _role(iam, f"{cluster.name}-cluster-role", "cluster")
    built.node_role_arn = _role(iam, f"{cluster.name}-node-role", "node")
    # EKS names it eks-cluster-sg-<cluster>-<a number>, tags it for the cluster (the one group the load
    # balancer controller looks for on a pod's ENI, AWS-FACTS 8) and puts it on the nodes of managed
    # nodegroups without a launch template.
    sg_name = f"eks-cluster-sg-{cluster.name}-{zlib.crc32(cluster.name.encode()) % 10**10:010d}"
    sg = ec2.create_security_group(
        GroupName=sg_name,
        Description="EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
        "as well as any managed workloads.",
        VpcId=vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [
                    {"Key": "Name", "Value": sg_name},
                    {"Key": "aws:eks:cluster-name", "Value": cluster.name},
                    {"Key": f"kubernetes.io/cluster/{cluster.name}", "Value": "owned"},
                ],
            }
        ],
    )["GroupId"]
    built.cluster_security_group_id = sg
    for group in cluster.nodegroups:
        template = real_account.create_launch_template(ec2, scenario, group, built.security_group_ids)
        if template is not None:
            built.launch_templates[group.name] = template
    eks.create_cluster(
        name=cluster.name,
        version=cluster.version,
        roleArn=built.cluster_role_arn,
        resourcesVpcConfig={
            "subnetIds": [built.subnet_ids[n] for n in cluster.subnets],
            "endpointPublicAccess": cluster.endpoint.public_access,
            "endpointPrivateAccess": cluster.endpoint.private_access,
            "publicAccessCidrs": list(cluster.endpoint.public_access_cidrs),
        },
        kubernetesNetworkConfig={"serviceIpv4Cidr": cluster.service_ipv4_cidr, "ipFamily": "ipv4"},
        accessConfig={"authenticationMode": cluster.authentication_mode},
    )
    if cluster.vpc_cni.addon:
        aws.eks.install_addon(
            cluster.name, "vpc-cni", cluster.vpc_cni.version, real_account.addon_configuration(cluster.vpc_cni)
        )

    creating = cluster.status == "CREATING"

    def create_nodegroups_later() -> None:
        # Runs inside a tick (a request thread holds the clock): moto's backend directly, no HTTP.
        backend = aws.eks.backend
        for group in cluster.nodegroups:
            request = _nodegroup_request(group, built)
            nodegroup = backend.create_nodegroup(
                cluster_name=cluster.name,
                node_role=built.node_role_arn,
                nodegroup_name=group.name,
                subnets=request["subnets"],
                scaling_config=request["scalingConfig"],
                instance_types=group.instance_types,
                ami_type=_ami_type(group),
                labels=group.labels,
                taints=request.get("taints"),
                tags=request["tags"],
                capacity_type=group.capacity_type,
                version=request.get("version"),
                launch_template=request.get("launchTemplate"),
            )
            aws.eks.nodegroup_rules.complete(backend.clusters[cluster.name], nodegroup, request)
            _reserved_tags(nodegroup, group.tags)
            built.nodegroup_arns[group.name] = nodegroup.arn
            aws.eks.track_new_nodegroup(cluster.name, group.name)

    if not creating:
        for group in cluster.nodegroups:
            arn = eks.create_nodegroup(
                clusterName=cluster.name, nodegroupName=group.name, **_nodegroup_request(group, built)
            )["nodegroup"]["nodegroupArn"]
            _reserved_tags(aws.eks.backend.clusters[cluster.name].nodegroups[group.name], group.tags)
            built.nodegroup_arns[group.name] = arn
        aws.eks.settle_nodegroups()
    built.unmanaged_instance_ids = real_account.launch_unmanaged_capacity(aws, ec2, scenario, built, sg)
    real_account.create_fargate_profiles(eks, iam, scenario, built)
    aws.eks.register_cluster(
        cluster.name,
        authentication_mode=cluster.authentication_mode,
        cluster_security_group_id=sg,
        vpc_id=vpc_id,
        service_ipv4_cidr=cluster.service_ipv4_cidr,
        creating_for=scenario.timing.cluster_create if creating else None,
        on_active=create_nodegroups_later if creating else None,
    )
    if cluster.auto_mode:
        aws.eks.extra(cluster.name).auto_mode_node_role = built.node_role_arn
    # The twin builds the account with the root's keys: the root created the cluster.
    access_bootstrap.grant_cluster_creator(aws.eks, cluster.name, root_arn(aws.account_id))
    if cluster.nodegroups:
        access_bootstrap.grant_node_role(aws.eks, cluster.name, built.node_role_arn)
