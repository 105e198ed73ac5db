"""Plan: validate, discover, and decide everything later steps will do, changing nothing.

Every check that can be made before changing anything is made here, so a plan that succeeds
is one the rest of the workflow can carry out (short of what only the cluster can tell).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from ipaddress import IPv4Network
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from podcidr import OWNER_TAG_KEY, pod_cidr_tag_key
from podcidr.aws import discovery
from podcidr.aws.tags import creatable_tags
from podcidr.cidr import (
    Peering,
    Route,
    VpcBlock,
    VpcNetwork,
    check_pod_cidr,
    choose_pod_cidr,
    fixed_address,
    plan_pod_subnets,
)
from podcidr.errors import (
    ClusterNotActive,
    ClusterNotFound,
    CniConfigConflict,
    InvalidInput,
    UnsupportedCluster,
)
from podcidr.maxpods import max_pods_custom_networking, pod_subnet_addresses_per_node
from podcidr.models.discovery import (
    ClusterInfo,
    ClusterTopology,
    CniInfo,
    InstanceTypeInfo,
    NodegroupInfo,
    RouteTableInfo,
    SubnetInfo,
)
from podcidr.models.input import ExecutionInput, parse_execution_input
from podcidr.models.migration import (
    CNI_CONFIGURED_BEFORE,
    Cni,
    DrainReport,
    EniConfig,
    FixedAddress,
    LoadBalancerCheck,
    LoadBalancerTag,
    Migration,
    NodegroupConfig,
    NodegroupReplacement,
    PlacementNodegroup,
    PodCidr,
    PodSubnet,
    Taint,
    Verification,
)
from podcidr.models.plan import PlanEvent, PlanOutcome
from podcidr.steps import plan_references
from podcidr.steps.cni_configuration import parse_configuration_values
from podcidr.steps.plan_checks import cni_settings, routing, verification_zones
from podcidr.steps.plan_checks import launch_template as launch_template_checks
from podcidr.steps.plan_checks import nodegroups as new_nodegroups
from podcidr.steps.plan_checks.account import check_account
from podcidr.steps.polling import MAX_NODEGROUPS, wait_ceiling

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient

CLUSTER_CREATING_CEILING_SECONDS = 40 * 60
"""How long Plan waits for a CREATING cluster (EKS takes 10-15 minutes) before ClusterNotActive."""
NODEGROUPS_GOING = ("DELETING", "CREATE_FAILED", "DELETE_FAILED")
"""Nodegroups that are going away or never ran: not replaced (refused when named in the input)."""

CUSTOM_NETWORK_ENV = {
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true",
    "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone",
}
MIN_ADDON_VERSION = (1, 15)
"""The first vpc-cni add-on version whose configuration schema has ENI_CONFIG_LABEL_DEF (AWS-FACTS 2)."""
ELB_TAG = "kubernetes.io/role/elb"
INTERNAL_ELB_TAG = "kubernetes.io/role/internal-elb"
REPLACEMENT_SUFFIX = "-podcidr"
NODEGROUP_NAME_MAX = 63


def max_polls(poll_seconds: int) -> int:
    """How many CREATING checks fit in the ceiling at `poll_seconds` apart (at most POLLS_PER_WAIT)."""
    return wait_ceiling(CLUSTER_CREATING_CEILING_SECONDS, poll_seconds, minimum=1)


def parse_event(event: Any) -> tuple[ExecutionInput, PlanEvent]:
    """The execution input and the Plan event it came in, or InvalidInput."""
    if not isinstance(event, dict):
        raise InvalidInput(f"Plan expects {{'input': ..., 'polls': n}}, found {type(event).__name__}")
    try:
        parsed = PlanEvent.model_validate(event)
    except ValidationError as error:
        raise InvalidInput(f"Plan's event is not valid: {error.errors(include_url=False)}") from None
    return parse_execution_input(parsed.input), parsed


def plan(event: Any, ec2: EC2Client, eks: EKSClient, region: str) -> PlanOutcome:
    """Plan's logic: the outcome for the state machine ($.plan)."""
    execution_input, parsed = parse_event(event)
    if parsed.validate_only:
        return PlanOutcome(status="VALID", polls=parsed.polls, poll_seconds=execution_input.poll_seconds)
    return plan_migration(execution_input, parsed.polls, ec2, eks, region)


def plan_migration(
    execution_input: ExecutionInput, polls: int, ec2: EC2Client, eks: EKSClient, region: str
) -> PlanOutcome:
    name = execution_input.cluster_name
    cluster = discovery.describe_cluster(eks, name)
    if cluster is None:
        raise ClusterNotFound(
            f"No EKS cluster named '{name}' in {region} for this account. Check clusterName and that the "
            "state machine runs in the cluster's region. Nothing was changed."
        )
    seconds = execution_input.poll_seconds
    if cluster.status == "CREATING":
        polls += 1
        if polls > max_polls(seconds):
            raise ClusterNotActive(
                f"Cluster '{name}' is still CREATING after {polls - 1} checks {seconds} s apart "
                f"(about {(polls - 1) * seconds // 60} minutes). Look at the cluster in the EKS console; "
                "start the migration again once it is ACTIVE. Nothing was changed."
            )
        return PlanOutcome(status="CLUSTER_CREATING", polls=polls, poll_seconds=seconds)
    if cluster.status != "ACTIVE":
        raise ClusterNotActive(
            f"Cluster '{name}' is {cluster.status}, not ACTIVE. podcidr migrates ACTIVE clusters only; "
            "run again once the cluster is ACTIVE. Nothing was changed."
        )
    if cluster.ip_family != "ipv4":
        raise UnsupportedCluster(
            f"Cluster '{name}' uses the {cluster.ip_family} IP family. Custom networking (pods on a secondary "
            "VPC CIDR) is for IPv4 clusters only; an IPv6 cluster does not run out of pod addresses. "
            "Nothing was changed."
        )
    topology = discovery.discover_topology(ec2, eks, cluster, region)
    found = check_account(execution_input, topology, ec2, eks)
    if found.nodegroups_creating:
        polls += 1
        new_nodegroups.check_creating_bound(name, found.nodegroups_creating, polls, seconds)
        return PlanOutcome(status="NODEGROUPS_CREATING", polls=polls, poll_seconds=seconds)
    planner = _Planner(execution_input, found.topology, ec2, found.prefix_delegation, warnings=found.warnings)
    migration = planner.migration()
    migration.unmanaged_capacity = found.unmanaged_capacity
    return PlanOutcome(status="PLANNED", polls=polls, poll_seconds=seconds, migration=migration)


def _release_of_version(group: NodegroupInfo) -> str | None:
    """The AMI release to pin, only where CreateNodegroup accepts it: one of the nodegroup's version."""
    release, version = group.release_version, group.version
    if release and version and release.startswith(f"{version}."):
        return release
    return None


def _version_tuple(version: str) -> tuple[int, int] | None:
    match = re.match(r"^v?(\d+)\.(\d+)", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _owned(tags: dict[str, str], cluster_name: str) -> bool:
    return tags.get(OWNER_TAG_KEY) == cluster_name


class _Planner:
    # A plain class, not a dataclass: mutmut does not mutate the methods of a decorated class.
    def __init__(
        self,
        request: ExecutionInput,
        topology: ClusterTopology,
        ec2: EC2Client,
        prefix_delegation: bool,
        *,
        warnings: list[str],
    ) -> None:
        self.request = request
        self.topology = topology
        self.ec2 = ec2
        self.prefix_delegation = prefix_delegation
        """ENABLE_PREFIX_DELEGATION in the CNI's configuration: max pods and pod subnet sizing count prefixes."""
        self.warnings = warnings

    @property
    def cluster(self) -> ClusterInfo:
        return self.topology.cluster

    @property
    def name(self) -> str:
        return self.cluster.name

    def migration(self) -> Migration:
        nodegroups = self._selected_nodegroups()
        node_subnets = self._node_subnets()
        zones = self._zones(node_subnets)
        route_tables = {zone: self._node_route_table(zone, node_subnets) for zone in zones}
        block, pod_cidr = self._pod_cidr()
        instance_types = self._instance_types(nodegroups)
        pod_subnets = self._pod_subnets(block, zones, route_tables, nodegroups, instance_types)
        load_balancer_tags = self._load_balancer_tags(zones, node_subnets, block)
        replacements = self._replacements(nodegroups, node_subnets, block, instance_types)
        verification = self._verification(node_subnets, zones, load_balancer_tags, replacements)
        return Migration(
            cluster_name=self.name,
            dry_run=self.request.dry_run,
            region=self.topology.region,
            vpc_id=self.cluster.vpc_id,
            cluster_version=self.cluster.version,
            cluster_security_group_id=self.cluster.cluster_security_group_id,
            authentication_mode=self._authentication_mode(),
            node_subnet_ids=[s.subnet_id for s in node_subnets],
            poll_seconds=self.request.poll_seconds,
            keep_cluster_access=self.request.keep_cluster_access,
            pod_cidr=pod_cidr,
            pod_subnets=pod_subnets,
            load_balancer_tags=load_balancer_tags,
            eni_configs=self._eni_configs(pod_subnets),
            cni=self._cni(self.topology.cni),
            nodegroups=replacements,
            verification=verification,
            skipped=self._skipped(),
            warnings=self.warnings,
        )

    # --- cluster -------------------------------------------------------------------------------

    def _authentication_mode(self) -> str:
        mode = self.cluster.authentication_mode
        if mode is None:
            self.warnings.append(
                "DescribeCluster reported no accessConfig.authenticationMode; assuming CONFIG_MAP, "
                "which gives podcidr no way to reach the Kubernetes API by access entries."
            )
            return "CONFIG_MAP"
        if mode == "CONFIG_MAP":
            self.warnings.append(
                f"Cluster '{self.name}' authenticates through the aws-auth ConfigMap only (CONFIG_MAP): podcidr "
                "cannot create an access entry; switch it to API_AND_CONFIG_MAP (one-way) before a real run."
            )
        return mode

    # --- nodegroups and node subnets -------------------------------------------------------------

    def _selected_nodegroups(self) -> list[NodegroupInfo]:
        every = list(self.topology.nodegroups)
        by_name = {group.name: group for group in every}
        if self.request.replace_nodegroups and not every:
            raise UnsupportedCluster(
                f"Cluster '{self.name}' has no managed nodegroup, and podcidr moves pods by replacing managed "
                "nodegroups. Replace self-managed nodes yourself and run with replaceNodegroups false. "
                "Nothing was changed."
            )
        if self.request.nodegroups is not None:
            unknown = [n for n in self.request.nodegroups if n not in by_name]
            if unknown:
                raise InvalidInput(
                    f"nodegroups names {', '.join(map(repr, unknown))}, which cluster '{self.name}' does not have; "
                    f"its managed nodegroups: {', '.join(sorted(by_name)) or 'none'}. Nothing was changed."
                )
            chosen = [by_name[n] for n in self.request.nodegroups]
        else:
            chosen = every
        named = self.request.nodegroups is not None
        going = [g.name for g in chosen if g.status in NODEGROUPS_GOING and not _owned(g.tags, self.name)]
        if named and going:
            raise InvalidInput(
                f"nodegroups names {', '.join(repr(n) for n in going)}, which "
                f"{'is' if len(going) == 1 else 'are'} being deleted or failed "
                f"({', '.join(f'{g.name}: {g.status}' for g in chosen if g.name in going)}); replacing "
                f"{'it' if len(going) == 1 else 'them'} would recreate capacity that is going away or cannot run. "
                f"Leave {'it' if len(going) == 1 else 'them'} out of nodegroups (or fix "
                f"{'it' if len(going) == 1 else 'them'}: aws eks describe-nodegroup shows the health issues) and run "
                "again. Nothing was changed."
            )
        selected = []
        for group in chosen:
            if _owned(group.tags, self.name):
                continue  # a replacement podcidr made: its nodes already use custom networking
            if group.name in going:
                self.warnings.append(f"Nodegroup '{group.name}' is {group.status}: it is not replaced.")
                continue
            if group.status not in ("ACTIVE", "DEGRADED"):
                self.warnings.append(f"Nodegroup '{group.name}' is {group.status}, not ACTIVE.")
            selected.append(group)
        # one child execution each: replacements made earlier and nodegroups going away start none
        if self.request.replace_nodegroups and len(selected) > MAX_NODEGROUPS:
            raise UnsupportedCluster(
                f"Cluster '{self.name}' has {len(selected)} managed nodegroups to replace; one execution replaces at "
                f"most {MAX_NODEGROUPS} (its history holds 25,000 events). List up to {MAX_NODEGROUPS} in "
                "nodegroups, then run again for the others. Nothing was changed."
            )
        return selected

    def _node_subnets(self) -> list[SubnetInfo]:
        """The subnets the cluster's nodes live in: those of its managed nodegroups, else its private ones."""
        known = {s.subnet_id: s for s in self.topology.subnets}
        ids = sorted({sid for group in self.topology.nodegroups for sid in group.subnets if sid in known})
        if not ids:
            cluster_subnets = [known[sid] for sid in self.cluster.subnet_ids if sid in known]
            private = [s.subnet_id for s in cluster_subnets if not s.public]
            ids = sorted(private or [s.subnet_id for s in cluster_subnets])
        if not ids:
            raise UnsupportedCluster(
                f"None of cluster '{self.name}''s subnets or nodegroup subnets is in its VPC {self.cluster.vpc_id}. "
                "Nothing was changed."
            )
        return sorted((known[sid] for sid in ids), key=lambda s: (s.availability_zone, s.cidr))

    def _zones(self, node_subnets: Sequence[SubnetInfo]) -> list[str]:
        node_zones = sorted({s.availability_zone for s in node_subnets})
        if self.request.availability_zones is None:
            return node_zones
        unknown = [zone for zone in self.request.availability_zones if zone not in node_zones]
        if unknown:
            raise InvalidInput(
                f"availabilityZones names {', '.join(unknown)}, where cluster '{self.name}' has no node subnet; "
                f"its node subnets are in {', '.join(node_zones)}. Nothing was changed."
            )
        zones = list(self.request.availability_zones)
        nodegroup_zones = {
            self.topology.subnet(sid).availability_zone: group.name  # type: ignore[union-attr]
            for group in self.topology.nodegroups
            for sid in group.subnets
            if self.topology.subnet(sid) is not None
        }
        missing = sorted(zone for zone in nodegroup_zones if zone not in zones)
        if missing:
            raise InvalidInput(
                f"availabilityZones leaves out {', '.join(missing)}, where nodegroup "
                f"'{nodegroup_zones[missing[0]]}' has nodes: once custom networking is on, aws-node fails on a node "
                "whose AZ has no ENIConfig (VPC CNI >= 1.13). Include every AZ with nodes, or omit "
                "availabilityZones. Nothing was changed."
            )
        return sorted(zones)

    def _node_route_table(self, zone: str, node_subnets: Sequence[SubnetInfo]) -> RouteTableInfo:
        table = routing.node_route_table(zone, node_subnets, self.topology)
        self.warnings.extend(routing.route_warnings(zone, table))
        return table

    # --- the pod block -------------------------------------------------------------------------

    def _vpc_network(self) -> VpcNetwork:
        vpc_id = self.cluster.vpc_id
        routes = tuple(
            Route(IPv4Network(route.destination), route.target, table.route_table_id)
            for table in self.topology.route_tables
            for route in table.routes
            if route.destination and route.target != "local" and ":" not in route.destination
        )
        peerings = tuple(
            Peering(
                peering_id=p.peering_id,
                status=p.status,
                peer_cidrs=tuple(IPv4Network(c) for c in p.peer_cidrs(vpc_id) if ":" not in c),
                requested_by_this_vpc=p.requester_vpc_id == vpc_id,
            )
            for p in self.topology.peerings
        )
        blocks = tuple(VpcBlock(b.network, b.state, b.association_id) for b in self.topology.vpc.blocks)
        return VpcNetwork(IPv4Network(self.topology.vpc.primary_cidr), blocks, routes, peerings)

    def _owned_block(self) -> IPv4Network | None:
        """A block podcidr associated for this cluster earlier (VPC tag, or holding its owned subnets)."""
        secondary = [
            b
            for b in self.topology.vpc.blocks
            if b.cidr != self.topology.vpc.primary_cidr and b.state in ("associating", "associated")
        ]
        recorded = self.topology.vpc.tags.get(pod_cidr_tag_key(self.name))
        for block in secondary:
            if block.cidr == recorded:
                return block.network
        owned_subnets = [s.network for s in self.topology.subnets if _owned(s.tags, self.name)]
        for block in secondary:
            if any(s.subnet_of(block.network) for s in owned_subnets):
                return block.network
        return None

    def _pod_cidr(self) -> tuple[IPv4Network, PodCidr]:
        requested = IPv4Network(self.request.pod_cidr) if self.request.pod_cidr else None
        if requested is not None:
            plan_references.check_pod_cidr_unused(requested, self.topology)
        owned = self._owned_block()
        if owned is not None:
            if requested is not None and requested != owned:
                raise InvalidInput(
                    f"podCidr {requested} differs from {owned}, the pod block podcidr already associated with "
                    f"cluster '{self.name}''s VPC in an earlier run. Omit podCidr or give {owned} to continue "
                    "with it (or disassociate it first). Nothing was changed."
                )
            info = next(b for b in self.topology.vpc.blocks if b.network == owned)
            return owned, PodCidr(cidr=str(owned), association_id=info.association_id, state=info.state)
        network = self._vpc_network()
        if requested is not None:
            check_pod_cidr(requested, network)
            block = requested
        else:
            block = choose_pod_cidr(network)
        return block, PodCidr(cidr=str(block))

    # --- pod subnets ---------------------------------------------------------------------------

    def _instance_types(self, nodegroups: Sequence[NodegroupInfo]) -> dict[str, InstanceTypeInfo]:
        names = {t for group in nodegroups for t in self._types_of(group)}
        return discovery.describe_instance_types(self.ec2, names)

    @staticmethod
    def _types_of(group: NodegroupInfo) -> list[str]:
        if group.launch_template and group.launch_template.instance_type:
            return [group.launch_template.instance_type]  # EKS then allows no instanceTypes of its own
        return list(group.instance_types)

    def _pod_subnets(
        self,
        block: IPv4Network,
        zones: Sequence[str],
        route_tables: dict[str, RouteTableInfo],
        nodegroups: Sequence[NodegroupInfo],
        instance_types: dict[str, InstanceTypeInfo],
    ) -> list[PodSubnet]:
        in_block = [s for s in self.topology.subnets if s.network.subnet_of(block)]
        adopted: dict[str, SubnetInfo] = {}
        for subnet in sorted(in_block, key=lambda s: s.subnet_id):
            if _owned(subnet.tags, self.name) and subnet.availability_zone in zones:
                adopted.setdefault(subnet.availability_zone, subnet)
        per_node = [
            (pod_subnet_addresses_per_node(instance_types[t], prefix_delegation=self.prefix_delegation), t)
            for group in nodegroups
            for t in self._types_of(group)
            if t in instance_types
        ]
        need, need_type = max(per_node) if per_node else (0, "")
        layout = plan_pod_subnets(
            block,
            zones,
            self.request.pod_subnet_prefix_length,
            existing={zone: subnet.network for zone, subnet in adopted.items()},
            taken=[s.network for s in in_block if s not in adopted.values()],
            min_addresses=need,
            min_addresses_why=f"addresses one {need_type} node takes from its pod subnet",
        )
        result = []
        for zone in zones:
            table = route_tables[zone]
            found = adopted.get(zone)
            result.append(
                PodSubnet(
                    availability_zone=zone,
                    cidr=str(layout[zone]),
                    route_table_id=table.route_table_id,
                    default_route_target=table.default_route_target,
                    subnet_id=found.subnet_id if found else None,
                )
            )
        return result

    # --- load-balancer tags, ENIConfigs, CNI -----------------------------------------------------

    def _load_balancer_tags(
        self, zones: Sequence[str], node_subnets: Sequence[SubnetInfo], block: IPv4Network
    ) -> list[LoadBalancerTag]:
        if not self.request.tag_load_balancer_subnets:
            return []
        node_ids = {s.subnet_id for s in node_subnets}
        tags = []
        public = [
            s
            for s in self.topology.subnets
            if s.public
            and s.availability_zone in zones
            and s.subnet_id not in node_ids
            and not s.network.overlaps(block)
        ]
        wanted = [(s, ELB_TAG) for s in public] + [
            (s, INTERNAL_ELB_TAG) for s in node_subnets if not s.network.overlaps(block)
        ]
        for subnet, key in wanted:
            value = subnet.tags.get(key)
            if value not in (None, "1", ""):
                # TagLoadBalancerSubnets adds a missing key only: another value is the owner's choice, kept
                self.warnings.append(
                    f"Subnet {subnet.subnet_id} carries {key}={value}: left as it is (podcidr adds the tag only "
                    "where it is missing), and the AWS Load Balancer Controller does not choose it for load balancers."
                )
                continue
            tags.append(LoadBalancerTag(subnet_id=subnet.subnet_id, key=key, present=value is not None))
        return tags

    def _eni_configs(self, pod_subnets: Sequence[PodSubnet]) -> list[EniConfig]:
        groups = plan_references.pod_security_groups(self.request, self.topology, self.ec2, self.warnings)
        return [
            EniConfig(
                name=s.availability_zone,
                availability_zone=s.availability_zone,
                subnet=s.subnet_id,
                security_groups=groups,
            )
            for s in pod_subnets
        ]

    def _cni(self, cni: CniInfo) -> Cni:
        if cni.via == "daemonset":
            return Cni(via="daemonset", env=dict(CUSTOM_NETWORK_ENV))
        version = _version_tuple(cni.version or "")
        if version is not None and version < MIN_ADDON_VERSION:
            raise UnsupportedCluster(
                f"The vpc-cni add-on is {cni.version}: its configuration schema has no ENI_CONFIG_LABEL_DEF "
                "(it arrived in v1.15), so podcidr cannot turn on custom networking through the add-on. Update the "
                "vpc-cni add-on to v1.15 or newer (a version supported for your Kubernetes version), then run again. "
                "Nothing was changed."
            )
        if cni.status and cni.status not in ("ACTIVE", "DEGRADED"):
            self.warnings.append(f"The vpc-cni add-on is {cni.status}; ConfigureCni waits for it to settle.")
        current = self._configuration_values(cni.configuration_values)
        env = current.get("env") or {}
        if not isinstance(env, dict):
            raise CniConfigConflict(
                f"The vpc-cni add-on's configurationValues 'env' is not an object ({cni.configuration_values}); "
                "fix it before running podcidr. Nothing was changed."
            )
        label = env.get("ENI_CONFIG_LABEL_DEF")
        if label not in (None, CUSTOM_NETWORK_ENV["ENI_CONFIG_LABEL_DEF"]):
            raise CniConfigConflict(
                f"The vpc-cni add-on already sets ENI_CONFIG_LABEL_DEF={label}; podcidr names ENIConfigs after the "
                "AZ and needs topology.kubernetes.io/zone. Remove or change that setting, then run again. "
                "Nothing was changed."
            )
        eni_config = current.get("eniConfig")
        if isinstance(eni_config, dict) and eni_config.get("create"):
            raise CniConfigConflict(
                "The vpc-cni add-on creates ENIConfigs itself (configurationValues eniConfig.create=true); podcidr "
                "would create the same objects. Turn eniConfig.create off (podcidr manages them) or finish the "
                "migration by hand. Nothing was changed."
            )
        if env.get("ENI_CONFIG_ANNOTATION_DEF"):
            self.warnings.append(
                f"ENI_CONFIG_ANNOTATION_DEF={env['ENI_CONFIG_ANNOTATION_DEF']} is set: a node carrying that annotation "
                "uses the ENIConfig it names, not the one named after its AZ."
            )
        done = all(str(env.get(k, "")).lower() == v for k, v in CUSTOM_NETWORK_ENV.items())
        return Cni(
            via="addon",
            version=cni.version,
            env=dict(CUSTOM_NETWORK_ENV),
            current_configuration_values=cni.configuration_values,
            status=CNI_CONFIGURED_BEFORE if done else None,
        )

    @staticmethod
    def _configuration_values(values: str | None) -> dict[str, Any]:
        """JSON or YAML, as EKS accepts them and ConfigureCni merges them."""
        return parse_configuration_values(values)[0]

    # --- nodegroup replacements ------------------------------------------------------------------

    def _replacement_name(self, old: str, taken: set[str]) -> str:
        base = old[: NODEGROUP_NAME_MAX - len(REPLACEMENT_SUFFIX)] + REPLACEMENT_SUFFIX
        owned = {g.name for g in self.topology.nodegroups if _owned(g.tags, self.name)}
        name, n = base, 2
        while name in taken and name not in owned:
            suffix = f"{REPLACEMENT_SUFFIX}-{n}"
            name, n = old[: NODEGROUP_NAME_MAX - len(suffix)] + suffix, n + 1
        return name

    def _replacements(
        self,
        nodegroups: Sequence[NodegroupInfo],
        node_subnets: Sequence[SubnetInfo],
        block: IPv4Network,
        instance_types: dict[str, InstanceTypeInfo],
    ) -> list[NodegroupReplacement]:
        if not self.request.replace_nodegroups:
            if nodegroups:
                self.warnings.append(
                    "replaceNodegroups is false: existing nodes keep giving pods node-subnet addresses until "
                    f"they are replaced ({', '.join(g.name for g in nodegroups)})."
                )
            return []
        node_ids = {s.subnet_id for s in node_subnets}
        taken = {g.name for g in self.topology.nodegroups}
        result = []
        for group in nodegroups:
            subnets = [
                sid
                for sid in group.subnets
                if sid in node_ids and not self.topology.subnet(sid).network.overlaps(block)  # type: ignore[union-attr]
            ]
            template = group.launch_template
            custom_ami = group.ami_type == "CUSTOM" or bool(template and template.image_id)
            if (group.ami_type or "").startswith("AL2023"):
                self.warnings.append(
                    f"Nodegroup '{group.name}' runs AL2023: nodeadm does not account for custom networking by "
                    "default (amazon-eks-ami #2201); EKS sets max pods for managed nodegroups created after the "
                    "CNI change."
                )
            max_pods = self._max_pods(group, instance_types)
            user_data = None
            if custom_ami and template:
                user_data = launch_template_checks.replacement_user_data(self.name, group, max_pods)
            launch_template = None
            if template:
                launch_template = {
                    k: v
                    for k, v in (("id", template.template_id), ("name", template.name), ("version", template.version))
                    if v
                }
                if template.template_id:
                    launch_template.pop("name", None)
            name = self._replacement_name(group.name, taken)
            taken.add(name)
            config = NodegroupConfig(
                subnets=subnets,
                node_role=group.node_role,
                instance_types=[] if template and template.instance_type else list(group.instance_types),
                ami_type=None if custom_ami else group.ami_type,
                capacity_type=group.capacity_type,
                disk_size=None if template else group.disk_size,
                release_version=None if custom_ami else _release_of_version(group),
                version=None if custom_ami else group.version,
                scaling_config=dict(group.scaling_config),
                update_config=group.update_config,
                node_repair_config=group.node_repair_config,
                labels=dict(group.labels),
                taints=[Taint(key=t["key"], value=t.get("value"), effect=t["effect"]) for t in group.taints],
                tags={**creatable_tags(group.tags), OWNER_TAG_KEY: self.name},
                launch_template=launch_template,
                remote_access=None if template else group.remote_access,
            )
            replacement = NodegroupReplacement(
                replaced=group.name,
                by=name,
                max_pods=max_pods,
                config=config,
                launch_template_user_data=user_data,
                availability_zones=sorted({self.topology.subnet(sid).availability_zone for sid in subnets}),  # type: ignore[union-attr]
                node_replacement=self.request.node_replacement,
                drain=DrainReport(strategy=self.request.node_replacement.strategy),
            )
            if self.topology.cni.via == "daemonset":
                cni_settings.plan_if_prefix_delegation(
                    replacement, [instance_types[t] for t in self._types_of(group) if t in instance_types]
                )
            result.append(replacement)
        return result

    def _max_pods(self, group: NodegroupInfo, instance_types: dict[str, InstanceTypeInfo]) -> int | None:
        types = self._types_of(group)
        known = [instance_types[t] for t in types if t in instance_types]
        if not types or len(known) != len(types):
            self.warnings.append(
                f"Cannot compute max pods for nodegroup '{group.name}': instance types "
                f"{', '.join(types) or 'unknown'} not all described by EC2."
            )
            return None
        return min(max_pods_custom_networking(t, prefix_delegation=self.prefix_delegation) for t in known)

    # --- verification and skipped checks --------------------------------------------------------

    def _verification(
        self,
        node_subnets: Sequence[SubnetInfo],
        zones: Sequence[str],
        load_balancer_tags: Sequence[LoadBalancerTag],
        replacements: Sequence[NodegroupReplacement],
    ) -> Verification:
        kinds = self.request.verify.load_balancers
        made = self._replacements_made()
        to_tag = {tag.subnet_id for tag in load_balancer_tags if tag.key == ELB_TAG}
        internal = one_subnet_per_zone([s for s in node_subnets if s.availability_zone in zones])
        pod_zones = {zone for item in replacements for zone in item.availability_zones} | {
            self.topology.subnet(sid).availability_zone  # type: ignore[union-attr]
            for group in self.topology.nodegroups
            if group.name in {m.name for m in made}
            for sid in group.subnets
            if self.topology.subnet(sid) is not None
        }
        test_pod_zones = verification_zones.served_zones(
            kinds,
            verification_zones.discoverable_public_zones(self.topology.subnets, to_tag, self.name),
            {s.availability_zone for s in internal},
            pod_zones,
            self.name,
        )
        checks = []
        for kind in kinds:
            addresses: list[FixedAddress] = []
            if kind == "private-nlb":
                subnets = one_subnet_per_zone([s for s in node_subnets if s.availability_zone in zones])
                used = discovery.addresses_in_use(self.ec2, (s.subnet_id for s in subnets))
                addresses = [
                    FixedAddress(subnet_id=s.subnet_id, ip=str(fixed_address(s.network, used.get(s.subnet_id, ()))))
                    for s in subnets
                ]
            checks.append(LoadBalancerCheck(kind=kind, fixed_addresses=addresses, source_cidrs=self._source_cidrs()))
        return Verification(
            load_balancers=checks,
            replacements_made=made,
            zones=test_pod_zones,
            image=self.request.verify.image,
            keep_workloads=self.request.verify.keep_workloads,
        )

    def _replacements_made(self) -> list[PlacementNodegroup]:
        """The replacements an earlier execution made (podcidr's tag, not going away): Plan does not
        replace them again, and the test pods still run on them on a re-run."""
        return [
            PlacementNodegroup(
                name=group.name,
                taints=[Taint(key=t["key"], value=t.get("value"), effect=t["effect"]) for t in group.taints],
            )
            for group in sorted(self.topology.nodegroups, key=lambda g: g.name)
            if _owned(group.tags, self.name) and group.status not in NODEGROUPS_GOING
        ]

    def _source_cidrs(self) -> list[str]:
        """verify.sourceCidrs, else the VPC's associated IPv4 blocks (its clients): never 0.0.0.0/0."""
        given = self.request.verify.source_cidrs
        if given:
            return list(given)
        return [block.cidr for block in self.topology.vpc.blocks if block.state == "associated"]

    def _skipped(self) -> list[str]:
        if not self.request.dry_run:
            return []
        why = "a dry run makes no access entry, so it cannot read the cluster"
        skipped = [f"ENIConfig CRD (crd.k8s.amazonaws.com/v1alpha1 eniconfigs) installed: not checked, {why}."]
        if self.request.verify.load_balancers:
            skipped.append(
                f"AWS Load Balancer Controller running (for load-balancer verification): not checked, {why}."
            )
        if self.request.replace_nodegroups:
            skipped.append(f"PodDisruptionBudgets that would block draining the old nodes: not checked, {why}.")
        if self.topology.cni.via == "daemonset":
            skipped.append(f"Version and env of the self-managed aws-node DaemonSet: not read, {why}.")
        else:
            skipped.append(
                f"aws-node env values another field manager than EKS holds (the add-on update would keep them): "
                f"not read, {why}."
            )
        return skipped


def one_subnet_per_zone(subnets: Sequence[SubnetInfo]) -> list[SubnetInfo]:
    """An NLB takes one subnet per Availability Zone (the AWS Load Balancer Controller refuses two):
    the lowest subnet ID of each zone, as the controller's own discovery picks, in the given order."""
    chosen: dict[str, str] = {}
    for subnet in sorted(subnets, key=lambda s: s.subnet_id):
        chosen.setdefault(subnet.availability_zone, subnet.subnet_id)
    keep = set(chosen.values())
    return [s for s in subnets if s.subnet_id in keep]
