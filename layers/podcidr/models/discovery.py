"""What discovery finds: the cluster, its VPC and its nodegroups, as read-only snapshots.

Plain frozen dataclasses: they never cross the state machine, only the Plan step reads them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from ipaddress import IPv4Network
from typing import Any, Literal


@dataclass(frozen=True)
class ClusterInfo:
    name: str
    status: str
    version: str
    vpc_id: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...] = ()
    cluster_security_group_id: str | None = None
    authentication_mode: str | None = None
    """accessConfig.authenticationMode; None when DescribeCluster does not report it."""
    ip_family: str = "ipv4"
    endpoint: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    arn: str | None = None
    endpoint_public_access: bool = True
    endpoint_private_access: bool = False
    public_access_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    auto_mode: bool = False
    """computeConfig.enabled: EKS Auto Mode runs (some of) the nodes."""


@dataclass(frozen=True)
class CidrBlockInfo:
    cidr: str
    state: str
    association_id: str | None = None

    @property
    def network(self) -> IPv4Network:
        return IPv4Network(self.cidr)


@dataclass(frozen=True)
class VpcInfo:
    vpc_id: str
    primary_cidr: str
    blocks: tuple[CidrBlockInfo, ...]
    """Every IPv4 block, the primary included, with its association state."""
    tags: dict[str, str] = field(default_factory=dict)
    owner_id: str | None = None
    """The account that owns the VPC (another one's when the VPC is shared through RAM)."""


@dataclass(frozen=True)
class RouteInfo:
    destination: str | None
    """The IPv4 destination; None for IPv6 or prefix-list routes."""
    target: str
    """The target's ID (igw-, nat-, tgw-, pcx-, eni-, vgw-, ...) or 'local'."""
    state: str = "active"
    destination_prefix_list: str | None = None

    @property
    def is_default(self) -> bool:
        return self.destination == "0.0.0.0/0"


@dataclass(frozen=True)
class RouteTableInfo:
    route_table_id: str
    main: bool
    subnet_ids: tuple[str, ...]
    """Subnets explicitly associated with the table."""
    routes: tuple[RouteInfo, ...]
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def default_route_target(self) -> str | None:
        for route in self.routes:
            if route.is_default:
                return route.target
        return None

    @property
    def routes_to_internet_gateway(self) -> bool:
        return any(route.target.startswith("igw-") for route in self.routes)


@dataclass(frozen=True)
class SubnetInfo:
    subnet_id: str
    availability_zone: str
    cidr: str
    available_ips: int
    tags: dict[str, str]
    route_table_id: str | None
    """The table the subnet uses: its explicit association, else the VPC's main table."""
    explicit_route_table: bool
    public: bool
    """Its route table has a route to an internet gateway."""

    @property
    def network(self) -> IPv4Network:
        return IPv4Network(self.cidr)


@dataclass(frozen=True)
class NatGatewayInfo:
    nat_gateway_id: str
    subnet_id: str
    state: str


@dataclass(frozen=True)
class TransitGatewayInfo:
    transit_gateway_id: str
    state: str


@dataclass(frozen=True)
class PeeringInfo:
    peering_id: str
    status: str
    requester_vpc_id: str
    accepter_vpc_id: str
    requester_cidrs: tuple[str, ...]
    accepter_cidrs: tuple[str, ...]

    def peer_cidrs(self, vpc_id: str) -> tuple[str, ...]:
        """The other side's IPv4 blocks, seen from `vpc_id`."""
        return self.accepter_cidrs if self.requester_vpc_id == vpc_id else self.requester_cidrs


@dataclass(frozen=True)
class LaunchTemplateInfo:
    template_id: str | None
    name: str | None
    version: str | None
    image_id: str | None = None
    """An AMI in the launch template: a custom AMI (max pods is then the user's job)."""
    instance_type: str | None = None
    security_group_ids: tuple[str, ...] = ()
    """The groups the template puts on the nodes' primary ENI (none: EKS uses the cluster security group)."""
    user_data: str | None = None
    """The version's user data (base64), which bootstraps a custom AMI."""


@dataclass(frozen=True)
class NodegroupInfo:
    name: str
    status: str
    subnets: tuple[str, ...]
    node_role: str
    scaling_config: dict[str, int]
    instance_types: tuple[str, ...] = ()
    ami_type: str | None = None
    capacity_type: str | None = None
    disk_size: int | None = None
    release_version: str | None = None
    version: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    taints: tuple[dict[str, str], ...] = ()
    tags: dict[str, str] = field(default_factory=dict)
    update_config: dict[str, int | str] | None = None
    """As DescribeNodegroup returns it: maxUnavailable(Percentage) integers, updateStrategy a string."""
    node_repair_config: dict[str, Any] | None = None
    remote_access: dict[str, Any] | None = None
    launch_template: LaunchTemplateInfo | None = None


@dataclass(frozen=True)
class CniInfo:
    via: Literal["addon", "daemonset"]
    version: str | None = None
    """The add-on version (v1.18.3-eksbuild.1); None for a self-managed DaemonSet (read from the cluster)."""
    configuration_values: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class InstanceTypeInfo:
    instance_type: str
    max_enis: int
    ips_per_eni: int
    vcpus: int


@dataclass(frozen=True)
class ClusterTopology:
    """Everything Plan reads, in one snapshot."""

    region: str
    cluster: ClusterInfo
    vpc: VpcInfo
    subnets: tuple[SubnetInfo, ...]
    route_tables: tuple[RouteTableInfo, ...]
    nat_gateways: tuple[NatGatewayInfo, ...]
    transit_gateways: tuple[TransitGatewayInfo, ...]
    peerings: tuple[PeeringInfo, ...]
    nodegroups: tuple[NodegroupInfo, ...]
    cni: CniInfo

    def subnet(self, subnet_id: str) -> SubnetInfo | None:
        return next((s for s in self.subnets if s.subnet_id == subnet_id), None)

    def route_table(self, route_table_id: str) -> RouteTableInfo | None:
        return next((t for t in self.route_tables if t.route_table_id == route_table_id), None)
