"""The twin's scenario file (DESIGN.md "Scenario file"): every key optional, the default is the
seed's topology. `load_scenario` reads YAML; `Scenario.model_validate` takes a dict. A scenario
that contradicts itself raises `ScenarioError` naming the offending key.

Defaults that depend on other keys are derived, not fixed: without `vpc.subnets` the seed's layout
is cut from the VPC's primary block (three public and three node subnets, one per AZ of the
region: the first six sixteenths of the block); without `natGateways` one NAT sits in the first
public subnet; without `routeTables` there is one public table (internet gateway) and one private
table per NAT; `cluster.subnets` defaults to the private subnets, a nodegroup's `subnets` to the
cluster's.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

DEFAULT_REGION = "ap-southeast-1"
DEFAULT_VPC_CIDR = "172.31.0.0/16"
DEFAULT_CLUSTER = "eksworkshop"
DEFAULT_CNI_VERSION = "v1.18.3-eksbuild.1"
INVOKE_FAULT = "lambda:InvokeFunction "
"""A fault on one function's invocations: `lambda:InvokeFunction <logical ID or name>`, with a `delay`."""

_AZ_LETTERS = ("a", "b", "c")
_OPERATION = re.compile(
    r"^(\*|kubernetes:[a-z]+( [A-Za-z]+)?|lambda:InvokeFunction [A-Za-z0-9_-]+|[a-z0-9-]+:([A-Z][A-Za-z0-9]+|\*))$"
)
_CNI_VERSION = re.compile(r"^v\d+\.\d+\.\d+-eksbuild\.\d+$")
_CNI_IMAGE_TAG = re.compile(r"^v\d+\.\d+\.\d+(-eksbuild\.\d+)?$")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")


class ScenarioError(ValueError):
    """The scenario contradicts itself or is not valid; `key` names the offending key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"scenario key '{key}': {message}")
        self.key = key
        self.message = message


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SubnetSpec(_Model):
    name: str
    az: str
    cidr: str
    public: bool = False
    tags: dict[str, str] = Field(default_factory=dict)


class NatGatewaySpec(_Model):
    subnet: str


DefaultRoute = Literal["internet-gateway", "nat-gateway", "nat-instance", "transit-gateway", "firewall", "none"]
"""nat-instance: an EC2 instance in the table's natSubnet (default: the first public subnet) routes
through its ENI; firewall: an AWS Network Firewall endpoint (a VPC endpoint, vpce-) in that subnet."""


class RouteTableSpec(_Model):
    name: str
    default_route: DefaultRoute = "none"
    nat_subnet: str | None = None
    """For `defaultRoute: nat-gateway`: the public subnet whose NAT gateway the route goes to; for
    nat-instance and firewall: the public subnet the instance or the firewall endpoint is in."""
    subnets: list[str] = Field(default_factory=list)


class RouteSpec(_Model):
    destination: str
    target: Literal["transit-gateway", "internet-gateway", "nat-gateway"] = "transit-gateway"
    route_tables: list[str] | None = None
    """Names of the tables that get the route; default: every table the scenario builds."""


class PeeringSpec(_Model):
    cidr: str
    status: Literal["active", "pending-acceptance"] = "active"


class SecurityGroupSpec(_Model):
    """A security group of the VPC besides the cluster security group (which EKS makes)."""

    name: str
    tags: dict[str, str] = Field(default_factory=dict)


class VpcSpec(_Model):
    owner_id: str | None = None
    """A VPC shared with this account through RAM: DescribeVpcs reports this account as its owner."""
    security_groups: list[SecurityGroupSpec] = Field(default_factory=list)
    """Extra security groups in the VPC, named for launch templates (`launchTemplate.securityGroups`)."""
    cidr: str = DEFAULT_VPC_CIDR
    secondary_cidrs: list[str] = Field(default_factory=list)
    subnets: list[SubnetSpec] = Field(default_factory=list)
    nat_gateways: list[NatGatewaySpec] = Field(default_factory=list)
    route_tables: list[RouteTableSpec] | None = None
    routes: list[RouteSpec] = Field(default_factory=list)
    peerings: list[PeeringSpec] = Field(default_factory=list)


class VpcCniSpec(_Model):
    addon: bool = True
    """True: the EKS managed add-on; false: a self-managed aws-node DaemonSet."""
    version: str = DEFAULT_CNI_VERSION
    """The add-on version (v1.18.3-eksbuild.1); self-managed: the image tag (v1.18.3)."""
    prefix_delegation: bool = False
    """ENABLE_PREFIX_DELEGATION=true in the CNI's configuration (add-on configurationValues, or aws-node's env)."""


class EndpointSpec(_Model):
    """The cluster endpoint's access (EKS's defaults: public from anywhere, no private access)."""

    public_access: bool = True
    private_access: bool = False
    public_access_cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"])


class LaunchTemplateSpec(_Model):
    """The nodegroup's launch template (EC2), made by the twin's build."""

    security_groups: list[str] = Field(default_factory=list)
    """Names of `vpc.securityGroups` on the nodes' primary ENIs (empty: EKS adds the cluster security group)."""
    custom_ami: bool = False
    """An AMI in the template: EKS then leaves the bootstrap (and so max pods) to the template's user data."""
    max_pods: int | None = Field(default=None, ge=1, le=250)
    """The max pods the user data sets (custom AMI only)."""
    ami_family: Literal["AL2023", "AL2"] = "AL2023"
    """How the user data bootstraps a custom AMI: AL2023 nodeadm NodeConfig, or AL2 bootstrap.sh."""
    user_data: str | None = None
    """Raw user data (shell or MIME), overriding what amiFamily and maxPods would write."""


class SelfManagedNodeSpec(_Model):
    """EC2 instances that joined the cluster outside any managed nodegroup (an Auto Scaling group of the user's)."""

    name: str
    subnets: list[str] = Field(default_factory=list)
    instance_type: str = "m5.large"
    count: int = Field(default=1, ge=1, le=20)
    os: Literal["linux", "windows"] = "linux"


class KarpenterNodeSpec(_Model):
    """EC2 instances that Karpenter launched for a NodePool."""

    node_pool: str = "default"
    subnets: list[str] = Field(default_factory=list)
    instance_type: str = "m5.large"
    count: int = Field(default=1, ge=1, le=20)


class FargateProfileSpec(_Model):
    name: str
    namespaces: list[str] = Field(min_length=1)
    subnets: list[str] = Field(default_factory=list)
    """Default: the cluster's private subnets."""


class TaintSpec(_Model):
    key: str
    value: str | None = None
    effect: Literal["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"]


class UpdateConfigSpec(_Model):
    """A nodegroup's updateConfig as EKS takes it: one of maxUnavailable / maxUnavailablePercentage."""

    max_unavailable: int | None = Field(default=None, ge=1, le=100)
    max_unavailable_percentage: int | None = Field(default=None, ge=1, le=100)
    update_strategy: Literal["DEFAULT", "MINIMAL"] | None = None


class NodegroupSpec(_Model):
    name: str
    subnets: list[str] = Field(default_factory=list)
    instance_types: list[str] = Field(default_factory=lambda: ["t3.2xlarge"])
    min_size: int = Field(default=3, ge=0)
    desired_size: int = Field(default=3, ge=0)
    max_size: int = Field(default=6, ge=1)
    labels: dict[str, str] = Field(default_factory=dict)
    ami_type: str = "AL2023_x86_64_STANDARD"
    capacity_type: Literal["ON_DEMAND", "SPOT"] = "ON_DEMAND"
    version: str | None = None
    """The nodegroup's Kubernetes version; default: the cluster's."""
    taints: list[TaintSpec] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    """Tags as found on the nodegroup; `aws:` keys (CloudFormation's) are set as CloudFormation sets them,
    not through CreateNodegroup, which refuses them."""
    update_config: UpdateConfigSpec | None = None
    launch_template: LaunchTemplateSpec | None = None


PdbValue = int | str
"""A PodDisruptionBudget's minAvailable/maxUnavailable: a count (>= 0) or a percentage ("50%")."""
_PERCENT = re.compile(r"^(100|[1-9]?[0-9])%$")


class PdbSpec(_Model):
    min_available: PdbValue | None = None
    max_unavailable: PdbValue | None = None


class VolumeClaimSpec(_Model):
    """A StatefulSet's volumeClaimTemplate (`data`): one EBS-backed PersistentVolumeClaim per pod. An
    EBS volume lives in one AZ, so its PersistentVolume pins the pod to that AZ for good."""

    size: str = "1Gi"
    zones: list[str] = Field(default_factory=list)
    """The AZ of each ordinal's volume where it exists already (zones[0] for pod 0, ...); the volume
    of any other ordinal is created in the AZ of the node its pod first lands on."""


class WorkloadSpec(_Model):
    namespace: str = "default"
    name: str
    kind: Literal["Deployment", "StatefulSet"] = "Deployment"
    replicas: int = Field(default=3, ge=0)
    image: str = "public.ecr.aws/nginx/nginx:1.27-alpine-slim"
    exposed_by: list[Literal["alb", "nlb"]] = Field(default_factory=list)
    """Load balancers in front of the workload (IP targets): an ALB Ingress, an internal NLB Service."""
    pdb: PdbSpec | None = None
    volume_claim: VolumeClaimSpec | None = None
    """StatefulSets only: each pod's volume, bound to an AZ."""
    probe: bool = False
    """Requests go through each load balancer in front of the workload all along the execution, one
    every 100 ms of twin time; `--state` counts them under `probes` (localcloud/cluster/probes.py)."""


AuthenticationMode = Literal["CONFIG_MAP", "API_AND_CONFIG_MAP", "API"]


class ClusterSpec(_Model):
    name: str = DEFAULT_CLUSTER
    version: str = "1.30"
    subnets: list[str] = Field(default_factory=list)
    authentication_mode: AuthenticationMode = "API_AND_CONFIG_MAP"
    status: Literal["ACTIVE", "CREATING"] = "ACTIVE"
    """CREATING: DescribeCluster says CREATING for timing.clusterCreate seconds after the build."""
    service_ipv4_cidr: str = "10.100.0.0/16"
    vpc_cni: VpcCniSpec = Field(default_factory=VpcCniSpec)
    endpoint: EndpointSpec = Field(default_factory=EndpointSpec)
    auto_mode: bool = False
    """EKS Auto Mode (DescribeCluster computeConfig.enabled): AWS runs the nodes."""
    load_balancer_controller: bool = True
    nodegroups: list[NodegroupSpec] = Field(default_factory=lambda: [NodegroupSpec(name="managed-ng")])
    workloads: list[WorkloadSpec] = Field(default_factory=lambda: [WorkloadSpec(name="web")])
    self_managed_nodes: list[SelfManagedNodeSpec] = Field(default_factory=list)
    karpenter_nodes: list[KarpenterNodeSpec] = Field(default_factory=list)
    fargate_profiles: list[FargateProfileSpec] = Field(default_factory=list)


class TimingSpec(_Model):
    """Simulated durations in seconds (small by default so rehearsals are fast)."""

    cidr_associate: float = Field(default=0.2, ge=0)
    addon_update: float = Field(default=0.5, ge=0)
    nodegroup_create: float = Field(default=2, ge=0)
    nodegroup_delete: float = Field(default=2, ge=0)
    load_balancer: float = Field(default=1, ge=0)
    target_registration: float | None = Field(default=None, ge=0)
    """Cluster twin: how long a new target stays `initial` before it is `healthy` (AWS: 90-180 s for an
    NLB IP target, AWS-FACTS 8); default: `loadBalancer`. It also sets the pace of the durations AWS and
    Kubernetes count in real minutes (a deregistration delay, a termination grace period):
    `localcloud/cluster/pace.py`."""
    cluster_create: float = Field(default=2, ge=0)
    node_ready: float = Field(default=0.5, ge=0)
    """Cluster twin: from a node's registration to Ready."""
    node_join: float = Field(default=10, ge=0)
    """Cluster twin: how long a creating nodegroup's nodes may stay NotReady before EKS gives up on it
    (CREATE_FAILED, health issue NodeCreationFailure). EKS does not document how long it waits."""
    pod_ready: float = Field(default=0.2, ge=0)
    """Cluster twin: from a pod's scheduling to Running/Ready."""
    access_entry: float = Field(default=1.0, ge=0)
    """EKS: how long a new access entry (or access policy association) takes to apply; meanwhile the
    Kubernetes API answers 401 (no entry yet) or 403 (no policy yet) (AWS-FACTS 7)."""
    ec2_consistency: float = Field(default=1.0, ge=0)
    """EC2 is eventually consistent: for this long after the workflow created a subnet (security group,
    network interface, route table) its own reads may not see it (InvalidSubnetID.NotFound; AWS-FACTS 7).
    0 turns it off."""


class FaultSpec(_Model):
    operation: str
    """`service:Operation` as IAM spells it (ec2:CreateSubnet, eks:UpdateAddon) or `kubernetes:<verb> <Kind>`;
    `service:*` is every call of a service and `*` every AWS call the workflow makes."""
    when: Literal["before", "after"] = "before"
    times: int | None = Field(default=None, ge=1)
    """How many calls fail; default 1, or no limit with `rate`."""
    rate: float | None = Field(default=None, gt=0, le=1)
    """The fraction of matching calls that fail, drawn from a random generator seeded with `seed`."""
    seed: int = 0
    """Same scenario and seed, same draws: a run with `rate` is reproducible."""
    cluster: str | None = None
    """Only calls about this cluster of the scenario: its Kubernetes API's, and EKS calls naming it."""
    error: str = "ThrottlingException"
    message: str | None = None
    delay: float | None = Field(default=None, gt=0, le=900)
    """Twin key (docs/rehearsal.md): with `operation: lambda:InvokeFunction <function>`, the invocation
    takes this many seconds longer instead of failing (`when: before`: before its handler runs)."""

    @property
    def limit(self) -> int | None:
        """How many calls fail at most (None: no limit)."""
        if self.times is not None:
            return self.times
        return None if self.rate is not None else 1


class FleetClusterSpec(ClusterSpec):
    """One cluster of `clusters:`: in its own VPC (`vpc`) or, without it, in the scenario's `vpc`."""

    vpc: VpcSpec | None = None


class Scenario(_Model):
    region: str = DEFAULT_REGION
    vpc: VpcSpec = Field(default_factory=VpcSpec)
    cluster: ClusterSpec = Field(default_factory=ClusterSpec)
    timing: TimingSpec = Field(default_factory=TimingSpec)
    faults: list[FaultSpec] = Field(default_factory=list)
    clusters: list[FleetClusterSpec] = Field(default_factory=list)
    """Several clusters in one twin (a fleet); `cluster` is shorthand for one. `cluster` is then the first."""

    @model_validator(mode="before")
    @classmethod
    def _derive_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        region = data.get("region", DEFAULT_REGION)
        vpc = _derive_vpc(data.get("vpc"), region)
        data["vpc"] = vpc
        clusters = data.get("clusters")
        if clusters:
            if data.get("cluster") is not None:
                raise ScenarioError("clusters", "give either `cluster` (one) or `clusters` (several), not both")
            if isinstance(clusters, list):
                data["clusters"] = [_derive_member(c, vpc, region) for c in clusters]
            return data  # `cluster` becomes the first of them once they are valid (_consistent)
        data["cluster"] = _derive_cluster(data.get("cluster"), vpc)
        return data

    def members(self) -> list[Scenario]:
        """One scenario per cluster of the twin, each with its cluster's VPC (the same VpcSpec object
        for clusters that share one): `clusters`, or the one `cluster`."""
        if not self.clusters:
            return [self]
        return [self._member(spec) for spec in self.clusters]

    def _member(self, spec: FleetClusterSpec) -> Scenario:
        cluster = ClusterSpec.model_construct(**{k: getattr(spec, k) for k in ClusterSpec.model_fields})
        return Scenario.model_construct(
            region=self.region,
            vpc=spec.vpc if spec.vpc is not None else self.vpc,
            cluster=cluster,
            timing=self.timing,
            faults=self.faults,
            clusters=[],
        )

    def subnet(self, name: str) -> SubnetSpec:
        for subnet in self.vpc.subnets:
            if subnet.name == name:
                return subnet
        raise KeyError(name)

    @property
    def availability_zones(self) -> list[str]:
        return sorted({s.az for s in self.vpc.subnets})

    def route_tables(self) -> list[RouteTableSpec]:
        """The route tables to build: `vpc.routeTables`, or the default layout."""
        if self.vpc.route_tables is not None:
            return self.vpc.route_tables
        public = [s.name for s in self.vpc.subnets if s.public]
        private = [s for s in self.vpc.subnets if not s.public]
        tables = [RouteTableSpec(name="public", default_route="internet-gateway", subnets=public)] if public else []
        nats = [self.subnet(n.subnet) for n in self.vpc.nat_gateways]
        if not nats:
            return tables
        by_az = {nat.az: nat for nat in reversed(nats)}
        for nat in nats:
            if by_az.get(nat.az) is not nat:
                continue
            suffix = nat.az.removeprefix(self.region) if len(by_az) > 1 else ""
            members = [s.name for s in private if by_az.get(s.az, nats[0]) is nat]
            tables.append(
                RouteTableSpec(
                    name=f"private{'-' + suffix if suffix else ''}",
                    default_route="nat-gateway",
                    nat_subnet=nat.name,
                    subnets=members,
                )
            )
        return tables

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        _check_fault_clusters(self)
        _check_fault_delays(self)
        if not self.clusters:
            _check(self)
            return self
        _unique("clusters", [c.name for c in self.clusters])
        self.cluster = self.members()[0].cluster
        for i, (spec, member) in enumerate(zip(self.clusters, self.members(), strict=True)):
            try:
                _check(member)
            except ScenarioError as error:
                raise ScenarioError(_member_key(error.key, i, own_vpc=spec.vpc is not None), error.message) from None
        return self


def _check_fault_delays(s: Scenario) -> None:
    for i, fault in enumerate(s.faults):
        if (fault.delay is not None) != fault.operation.startswith(INVOKE_FAULT):
            raise ScenarioError(
                f"faults[{i}]", f"`delay` goes with `operation: {INVOKE_FAULT}<function>`, and only `delay` with it"
            )


def _check_fault_clusters(s: Scenario) -> None:
    names = {c.name for c in s.clusters} if s.clusters else {s.cluster.name}
    for i, fault in enumerate(s.faults):
        if fault.cluster is None:
            continue
        if fault.cluster not in names:
            raise ScenarioError(f"faults[{i}].cluster", f"{fault.cluster!r} is not a cluster of the scenario")
        if not fault.operation.startswith(("kubernetes:", "eks:")):
            raise ScenarioError(
                f"faults[{i}].cluster", "goes with kubernetes: and eks: operations, which name a cluster"
            )


def _member_key(key: str, index: int, *, own_vpc: bool) -> str:
    """A member's error key as the file spells it: cluster.x -> clusters[i].x, its own vpc.x -> clusters[i].vpc.x."""
    for prefix, own in (("cluster", True), ("vpc", own_vpc)):
        if own and (key == prefix or key.startswith((f"{prefix}.", f"{prefix}["))):
            rest = key.removeprefix(prefix)
            return f"clusters[{index}]{rest}" if prefix == "cluster" else f"clusters[{index}].vpc{rest}"
    return key


def _derive_vpc(document: Any, region: Any) -> Any:
    if document is not None and not isinstance(document, dict):
        return document
    vpc = dict(document or {})
    if "subnets" not in vpc and isinstance(region, str):
        vpc["subnets"] = _seed_subnets(region, str(vpc.get("cidr", DEFAULT_VPC_CIDR)))
    if "natGateways" not in vpc and "nat_gateways" not in vpc:
        public = [s for s in vpc.get("subnets") or [] if isinstance(s, dict) and s.get("public")]
        vpc["natGateways"] = [{"subnet": public[0].get("name")}] if public else []
    return vpc


def _derive_member(document: Any, shared_vpc: Any, region: Any) -> Any:
    """A `clusters:` item: its own VPC's defaults (if it has one), then the cluster's from that VPC."""
    if not isinstance(document, dict):
        return document
    member = dict(document)
    vpc = shared_vpc
    if member.get("vpc") is not None:
        vpc = member["vpc"] = _derive_vpc(member["vpc"], region)
    return _derive_cluster(member, vpc)


def _derive_cluster(document: Any, vpc: Any) -> Any:
    if document is not None and not isinstance(document, dict):
        return document
    if not isinstance(vpc, dict) or not isinstance(vpc.get("subnets"), list):
        return document
    cluster = dict(document or {})
    if "subnets" not in cluster:
        cluster["subnets"] = [s.get("name") for s in vpc["subnets"] if isinstance(s, dict) and not s.get("public")]
    groups = cluster.get("nodegroups")
    if groups is None:
        groups = [{"name": "managed-ng"}]
    if isinstance(groups, list):
        cluster["nodegroups"] = [
            {**g, "subnets": list(cluster["subnets"])} if isinstance(g, dict) and "subnets" not in g else g
            for g in groups
        ]
    cni = cluster.get("vpcCni")
    if isinstance(cni, dict) and cni.get("addon") is False and "version" not in cni:
        cluster["vpcCni"] = {**cni, "version": DEFAULT_CNI_VERSION.split("-", 1)[0]}
    private = [s.get("name") for s in vpc["subnets"] if isinstance(s, dict) and not s.get("public")] or cluster[
        "subnets"
    ]
    for key in ("selfManagedNodes", "karpenterNodes", "fargateProfiles"):
        items = cluster.get(key)
        if isinstance(items, list):
            defaults = private if key == "fargateProfiles" else cluster["subnets"]
            cluster[key] = [
                {**item, "subnets": list(defaults)} if isinstance(item, dict) and "subnets" not in item else item
                for item in items
            ]
    return cluster


def _seed_subnets(region: str, cidr: str) -> list[dict[str, Any]]:
    try:
        block = ipaddress.IPv4Network(cidr)
    except ValueError:
        return []
    if block.prefixlen > 24:
        return []
    sixteenths = list(block.subnets(prefixlen_diff=4))
    subnets = []
    for i, letter in enumerate(_AZ_LETTERS):
        subnets.append(
            {"name": f"public-{letter}", "az": f"{region}{letter}", "cidr": str(sixteenths[i]), "public": True}
        )
    for i, letter in enumerate(_AZ_LETTERS):
        subnets.append({"name": f"node-{letter}", "az": f"{region}{letter}", "cidr": str(sixteenths[3 + i])})
    return subnets


def _network(key: str, value: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ScenarioError(key, f"{value!r} is not an IPv4 CIDR block ({error})") from None


_QUANTITY = re.compile(r"^[1-9]\d*(Mi|Gi|Ti)$")


def _check_volume_claim(key: str, workload: WorkloadSpec, azs: set[str]) -> None:
    claim = workload.volume_claim
    if claim is None:
        return
    if workload.kind != "StatefulSet":
        raise ScenarioError(f"{key}.volumeClaim", "goes with kind: StatefulSet (a Deployment's pods share no claim)")
    if not _QUANTITY.fullmatch(claim.size):
        raise ScenarioError(f"{key}.volumeClaim.size", f"{claim.size!r} is not a size such as 512Mi, 1Gi or 2Ti")
    if len(claim.zones) > workload.replicas:
        raise ScenarioError(
            f"{key}.volumeClaim.zones", f"names {len(claim.zones)} volumes for {workload.replicas} pods"
        )
    for j, zone in enumerate(claim.zones):
        if zone not in azs:
            raise ScenarioError(f"{key}.volumeClaim.zones[{j}]", f"{zone!r} is not the AZ of any of vpc.subnets")


def _unique(key: str, names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ScenarioError(key, f"duplicate name {name!r}")
        seen.add(name)


def _check(s: Scenario) -> None:
    if not _REGION.fullmatch(s.region):
        raise ScenarioError("region", f"{s.region!r} is not a region name")
    primary = _network("vpc.cidr", s.vpc.cidr)
    if not 16 <= primary.prefixlen <= 28:
        raise ScenarioError("vpc.cidr", f"a VPC block must be /16 to /28, not /{primary.prefixlen}")
    blocks = [primary]
    for i, cidr in enumerate(s.vpc.secondary_cidrs):
        key = f"vpc.secondaryCidrs[{i}]"
        block = _network(key, cidr)
        if not 16 <= block.prefixlen <= 28:
            raise ScenarioError(key, f"a VPC block must be /16 to /28, not /{block.prefixlen}")
        if any(block.overlaps(b) for b in blocks):
            raise ScenarioError(key, f"{cidr} overlaps another block of the VPC")
        blocks.append(block)
    if len(blocks) > 5:
        raise ScenarioError("vpc.secondaryCidrs", "a VPC holds at most 5 IPv4 blocks (quota)")

    _unique("vpc.subnets", [sub.name for sub in s.vpc.subnets])
    names = {sub.name for sub in s.vpc.subnets}
    placed: list[tuple[str, ipaddress.IPv4Network]] = []
    for i, sub in enumerate(s.vpc.subnets):
        key = f"vpc.subnets[{i}]"
        if not (sub.az.startswith(s.region) and re.fullmatch(r"[a-z]", sub.az.removeprefix(s.region))):
            raise ScenarioError(f"{key}.az", f"{sub.az!r} is not an availability zone of {s.region}")
        net = _network(f"{key}.cidr", sub.cidr)
        if not 16 <= net.prefixlen <= 28:
            raise ScenarioError(f"{key}.cidr", f"a subnet must be /16 to /28, not /{net.prefixlen}")
        if not any(net.subnet_of(b) for b in blocks):
            raise ScenarioError(f"{key}.cidr", f"{sub.cidr} ({sub.name}) is outside every block of the VPC")
        for other, other_net in placed:
            if net.overlaps(other_net):
                raise ScenarioError(f"{key}.cidr", f"{sub.cidr} ({sub.name}) overlaps subnet {other}")
        placed.append((sub.name, net))

    def known(key: str, name: str) -> SubnetSpec:
        if name not in names:
            raise ScenarioError(key, f"unknown subnet {name!r}")
        return s.subnet(name)

    _unique("vpc.natGateways", [n.subnet for n in s.vpc.nat_gateways])
    for i, nat in enumerate(s.vpc.nat_gateways):
        if not known(f"vpc.natGateways[{i}].subnet", nat.subnet).public:
            raise ScenarioError(f"vpc.natGateways[{i}].subnet", f"NAT gateway in {nat.subnet!r}, which is not public")
    nat_subnets = {n.subnet for n in s.vpc.nat_gateways}

    if s.vpc.owner_id is not None and not _ACCOUNT_ID.fullmatch(s.vpc.owner_id):
        raise ScenarioError("vpc.ownerId", f"{s.vpc.owner_id!r} is not an AWS account ID (12 digits)")
    _unique("vpc.securityGroups", [g.name for g in s.vpc.security_groups])
    public_subnets = [sub.name for sub in s.vpc.subnets if sub.public]

    if s.vpc.route_tables is not None:
        _unique("vpc.routeTables", [t.name for t in s.vpc.route_tables])
        member: dict[str, str] = {}
        for i, table in enumerate(s.vpc.route_tables):
            key = f"vpc.routeTables[{i}]"
            for j, name in enumerate(table.subnets):
                known(f"{key}.subnets[{j}]", name)
                if name in member:
                    raise ScenarioError(f"{key}.subnets[{j}]", f"{name!r} is already in route table {member[name]!r}")
                member[name] = table.name
            if table.default_route == "nat-gateway":
                if table.nat_subnet is None:
                    raise ScenarioError(f"{key}.natSubnet", "defaultRoute nat-gateway needs natSubnet")
                known(f"{key}.natSubnet", table.nat_subnet)
                if table.nat_subnet not in nat_subnets:
                    raise ScenarioError(f"{key}.natSubnet", f"no NAT gateway in {table.nat_subnet!r}")
            elif table.default_route in ("nat-instance", "firewall"):
                if table.nat_subnet is not None and not known(f"{key}.natSubnet", table.nat_subnet).public:
                    raise ScenarioError(f"{key}.natSubnet", f"{table.nat_subnet!r} is not public")
                if table.nat_subnet is None and not public_subnets:
                    raise ScenarioError(
                        f"{key}.defaultRoute", f"a {table.default_route} needs a public subnet to sit in"
                    )
            elif table.nat_subnet is not None:
                raise ScenarioError(
                    f"{key}.natSubnet", "natSubnet only goes with defaultRoute nat-gateway, nat-instance or firewall"
                )
            if table.default_route == "internet-gateway":
                for j, name in enumerate(table.subnets):
                    if not s.subnet(name).public:
                        raise ScenarioError(f"{key}.subnets[{j}]", f"{name!r} is not public but routes to the IGW")
    table_names = {t.name for t in s.route_tables()}
    for i, route in enumerate(s.vpc.routes):
        key = f"vpc.routes[{i}]"
        _network(f"{key}.destination", route.destination)
        if route.target == "nat-gateway" and not nat_subnets:
            raise ScenarioError(f"{key}.target", "a route to a NAT gateway needs a NAT gateway")
        for j, name in enumerate(route.route_tables or []):
            if name not in table_names:
                raise ScenarioError(f"{key}.routeTables[{j}]", f"unknown route table {name!r}")
    for i, peering in enumerate(s.vpc.peerings):
        net = _network(f"vpc.peerings[{i}].cidr", peering.cidr)
        if not 16 <= net.prefixlen <= 28:
            raise ScenarioError(
                f"vpc.peerings[{i}].cidr", f"the peer is a VPC: its block must be /16 to /28, not /{net.prefixlen}"
            )
        if any(net.overlaps(b) for b in blocks):
            raise ScenarioError(f"vpc.peerings[{i}].cidr", f"{peering.cidr} overlaps a block of the VPC")

    _unique("vpc.securityGroups", [g.name for g in s.vpc.security_groups])
    group_names = {g.name for g in s.vpc.security_groups}

    c = s.cluster
    if not c.subnets:
        raise ScenarioError("cluster.subnets", "the cluster needs subnets")
    _unique("cluster.subnets", c.subnets)
    for j, name in enumerate(c.subnets):
        known(f"cluster.subnets[{j}]", name)
    if len({s.subnet(n).az for n in c.subnets}) < 2:
        raise ScenarioError("cluster.subnets", "EKS needs subnets in at least two availability zones")
    _network("cluster.serviceIpv4Cidr", c.service_ipv4_cidr)
    if c.vpc_cni.addon and not _CNI_VERSION.fullmatch(c.vpc_cni.version):
        raise ScenarioError(
            "cluster.vpcCni.version", f"{c.vpc_cni.version!r} is not an add-on version (v1.18.3-eksbuild.1)"
        )
    if not c.vpc_cni.addon and not _CNI_IMAGE_TAG.fullmatch(c.vpc_cni.version):
        raise ScenarioError(
            "cluster.vpcCni.version", f"{c.vpc_cni.version!r} is not an image tag of the VPC CNI (v1.18.3)"
        )
    if not (c.endpoint.public_access or c.endpoint.private_access):
        raise ScenarioError("cluster.endpoint", "EKS needs public or private endpoint access (or both)")
    if not c.endpoint.public_access_cidrs:
        raise ScenarioError("cluster.endpoint.publicAccessCidrs", "give at least one block (0.0.0.0/0: anywhere)")
    for j, cidr in enumerate(c.endpoint.public_access_cidrs):
        _network(f"cluster.endpoint.publicAccessCidrs[{j}]", cidr)
    group_names = {g.name for g in s.vpc.security_groups}
    _unique("cluster.nodegroups", [g.name for g in c.nodegroups])
    for i, group in enumerate(c.nodegroups):
        key = f"cluster.nodegroups[{i}]"
        if not group.subnets:
            raise ScenarioError(f"{key}.subnets", "a nodegroup needs subnets")
        for j, name in enumerate(group.subnets):
            known(f"{key}.subnets[{j}]", name)
            if name not in c.subnets:
                raise ScenarioError(f"{key}.subnets[{j}]", f"{name!r} is not one of the cluster's subnets")
        if not group.min_size <= group.desired_size <= group.max_size:
            raise ScenarioError(f"{key}.desiredSize", "needs minSize <= desiredSize <= maxSize")
        if not group.instance_types:
            raise ScenarioError(f"{key}.instanceTypes", "a nodegroup needs an instance type")
        _check_nodegroup_version(key, group.version, c.version)
        update = group.update_config
        if update is not None and (update.max_unavailable is None) == (update.max_unavailable_percentage is None):
            raise ScenarioError(
                f"{key}.updateConfig", "give exactly one of maxUnavailable and maxUnavailablePercentage"
            )
        template = group.launch_template
        if template is not None:
            for j, name in enumerate(template.security_groups):
                if name not in group_names:
                    raise ScenarioError(
                        f"{key}.launchTemplate.securityGroups[{j}]", f"{name!r} is not one of vpc.securityGroups"
                    )
            if not template.custom_ami and (template.max_pods is not None or template.user_data is not None):
                raise ScenarioError(
                    f"{key}.launchTemplate", "maxPods and userData go with customAmi: true (EKS bootstraps its AMIs)"
                )
    _unique("cluster.workloads", [f"{w.namespace}/{w.name}" for w in c.workloads])
    for i, workload in enumerate(c.workloads):
        key = f"cluster.workloads[{i}]"
        _unique(f"{key}.exposedBy", list(workload.exposed_by))
        if workload.pdb is not None and (workload.pdb.min_available is None) == (workload.pdb.max_unavailable is None):
            raise ScenarioError(f"{key}.pdb", "give exactly one of minAvailable and maxUnavailable")
        _check_volume_claim(key, workload, {subnet.az for subnet in s.vpc.subnets})
        if workload.pdb is not None:
            for field_name, value in (
                ("minAvailable", workload.pdb.min_available),
                ("maxUnavailable", workload.pdb.max_unavailable),
            ):
                if (isinstance(value, int) and value < 0) or (isinstance(value, str) and not _PERCENT.match(value)):
                    raise ScenarioError(f"{key}.pdb.{field_name}", f"{value!r} is neither a count nor a percentage")
        if workload.probe and not workload.exposed_by:
            raise ScenarioError(f"{key}.probe", "a probe goes through the workload's load balancers: give exposedBy")
    capacity: list[tuple[str, list[str]]] = [
        *((f"cluster.selfManagedNodes[{i}]", n.subnets) for i, n in enumerate(c.self_managed_nodes)),
        *((f"cluster.karpenterNodes[{i}]", n.subnets) for i, n in enumerate(c.karpenter_nodes)),
    ]
    _unique("cluster.selfManagedNodes", [n.name for n in c.self_managed_nodes])
    _unique("cluster.fargateProfiles", [p.name for p in c.fargate_profiles])
    for i, profile in enumerate(c.fargate_profiles):
        key = f"cluster.fargateProfiles[{i}]"
        capacity.append((key, profile.subnets))
        for j, name in enumerate(profile.subnets):
            if known(f"{key}.subnets[{j}]", name).public:
                raise ScenarioError(f"{key}.subnets[{j}]", f"{name!r} is public; Fargate uses private subnets only")
    for key, subnets in capacity:
        if not subnets:
            raise ScenarioError(f"{key}.subnets", "needs subnets")
        for j, name in enumerate(subnets):
            known(f"{key}.subnets[{j}]", name)

    for i, fault in enumerate(s.faults):
        if not _OPERATION.fullmatch(fault.operation):
            raise ScenarioError(
                f"faults[{i}].operation",
                f"{fault.operation!r} is not 'service:Operation' (ec2:CreateSubnet), 'service:*', '*', "
                "'kubernetes:<verb> <Kind>' or 'lambda:InvokeFunction <function>'",
            )


def _minor(version: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _check_nodegroup_version(key: str, version: str | None, cluster_version: str) -> None:
    """A managed nodegroup runs the cluster's minor version or up to three below it (EKS version skew)."""
    if version is None:
        return
    node, control = _minor(version), _minor(cluster_version)
    if node is None:
        raise ScenarioError(f"{key}.version", f"{version!r} is not a Kubernetes version (1.30)")
    if control is not None and not (node[0] == control[0] and control[1] - 3 <= node[1] <= control[1]):
        raise ScenarioError(
            f"{key}.version", f"{version} is not within three minor versions below the cluster's {cluster_version}"
        )


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "scenario"


def parse_scenario(document: Any) -> Scenario:
    """Validate a scenario document (a dict; None is the default scenario) or raise ScenarioError."""
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ScenarioError("scenario", f"a scenario is a mapping, found {type(document).__name__}")
    try:
        return Scenario.model_validate(document)
    except ScenarioError:
        raise
    except ValidationError as error:
        for issue in error.errors(include_url=False):
            ctx_error = (issue.get("ctx") or {}).get("error")
            if isinstance(ctx_error, ScenarioError):
                raise ctx_error from None
        issue = error.errors(include_url=False)[0]
        key = _location(issue["loc"])
        if issue["type"] == "extra_forbidden":
            raise ScenarioError(key, "unknown key") from None
        raise ScenarioError(key, issue["msg"].removeprefix("Value error, ")) from None


def load_scenario(path: str | Path | None = None) -> Scenario:
    """The scenario of a YAML file, or the default scenario without a path."""
    if path is None:
        return parse_scenario({})
    try:
        document = yaml.safe_load(Path(path).read_text())
    except OSError as error:
        raise ScenarioError("scenario", f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ScenarioError("scenario", f"{path} is not valid YAML: {error}") from None
    return parse_scenario(document)
