"""The migration document: Plan writes it, every later step reads it and fills its part,
and the Report step returns it as the execution output (DESIGN.md "Report").

A dry run returns it straight from Plan: the same shape, nothing created, `changes: 0`.

Fields beyond the report contract (vpcId, defaultRouteTarget, ...) are what later steps need
to act without discovering the cluster again; the contract allows the report to grow.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from podcidr.models.base import Contract
from podcidr.models.input import LoadBalancerKind, NodeReplacementOptions, NodeReplacementStrategy


class PodCidr(Contract):
    cidr: str
    association_id: str | None = None
    state: str | None = None
    """The block's association state when last seen (associating, associated, ...)."""
    created: bool = False


class PodSubnet(Contract):
    availability_zone: str
    cidr: str
    route_table_id: str
    default_route_target: str | None = None
    """The NAT gateway or transit gateway the node route table's default route goes to."""
    subnet_id: str | None = None
    route_table_association_id: str | None = None
    created: bool = False
    polls: dict[str, int] = Field(default_factory=dict)
    """How often each waiting step has checked so far (state-machine wait loops have ceilings)."""
    changes: int = 0
    """Mutating calls made for this subnet inside a Map iteration; Report folds it into `changes`."""


class LoadBalancerTag(Contract):
    subnet_id: str
    key: Literal["kubernetes.io/role/elb", "kubernetes.io/role/internal-elb"]
    value: str = "1"
    present: bool = False
    """The subnet already carried the tag when Plan looked."""
    created: bool = False


class EniConfig(Contract):
    name: str
    """The AZ name: nodes pick the ENIConfig named after their topology.kubernetes.io/zone."""
    availability_zone: str
    subnet: str | None = None
    """The pod subnet's ID, known once CreatePodSubnets has run."""
    security_groups: list[str]
    created: bool = False


CNI_CONFIGURED_BEFORE = "CONFIGURED"
"""Cni.status as Plan leaves it when the CNI already holds both env vars (None: not configured)."""


class Cni(Contract):
    via: Literal["addon", "daemonset"]
    version: str | None = None
    env: dict[str, str]
    """The env vars podcidr sets on aws-node."""
    current_configuration_values: str | None = None
    """The add-on's configurationValues before the change (managed add-on only)."""
    update_id: str | None = None
    status: str | None = None
    """The add-on update's or the rollout's status when last seen."""
    changed: bool = False


class Taint(Contract):
    key: str
    value: str | None = None
    effect: str


class NodegroupConfig(Contract):
    """What a replacement copies from the nodegroup it replaces (node subnets only)."""

    subnets: list[str]
    node_role: str
    instance_types: list[str] = Field(default_factory=list)
    ami_type: str | None = None
    capacity_type: str | None = None
    disk_size: int | None = None
    release_version: str | None = None
    version: str | None = None
    scaling_config: dict[str, int]
    update_config: dict[str, int | str] | None = None
    """maxUnavailable or maxUnavailablePercentage (integers) and updateStrategy (DEFAULT | MINIMAL)."""
    node_repair_config: dict[str, object] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    launch_template: dict[str, str] | None = None
    remote_access: dict[str, object] | None = None


class DrainReport(Contract):
    """How the old nodes were emptied (the report's `drain`)."""

    strategy: NodeReplacementStrategy
    nodes: int = 0
    """Old nodes emptied (drain) or deleted with their nodegroup (delete)."""
    evictions: int = 0
    """Pods evicted through the Eviction API (0 with `delete`: EKS evicts them)."""
    seconds: int = 0
    """From the first cordon (or the delete request) until the old nodes were empty (or gone)."""


class WorkloadRef(Contract):
    kind: str
    namespace: str
    name: str
    ready_before: int = 0
    """Its pods that were Ready when the first of them was evicted: as many must be available again."""

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


class DrainState(Contract):
    """Where a drain stands between two invocations; not part of the report."""

    started: float | None = None
    """Epoch seconds of the first cordon."""
    batch: list[str] = Field(default_factory=list)
    """The old nodes being emptied now (at most nodesAtOnce)."""
    awaited: list[WorkloadRef] = Field(default_factory=list)
    """Workloads evicted from this batch: available again on new nodes, with healthy targets, before the next."""
    held: dict[str, int] = Field(default_factory=dict)
    """namespace/pod -> polls in a row its eviction was refused (PDB) or held (no other healthy target)."""


class NodegroupReplacement(Contract):
    replaced: str
    by: str
    max_pods: int | None = None
    """Max pods per node under custom networking, by the formula of AWS-FACTS section 2."""
    config: NodegroupConfig
    status: str | None = None
    """Where the replacement stands (creating, active, deleting-old, done)."""
    created: bool = False
    polls: dict[str, int] = Field(default_factory=dict)
    """How often each waiting step has checked so far (state-machine wait loops have ceilings)."""
    changes: int = 0
    warnings: list[str] = Field(default_factory=list)
    """What the replacement could not guarantee (e.g. max pods on a custom AMI); Report folds it in."""
    max_pods_prefix_delegation: int | None = None
    """Self-managed CNI (whose env Plan cannot read): max pods should ClusterPreflight find
    ENABLE_PREFIX_DELEGATION=true on aws-node."""
    pod_subnet_addresses_prefix_delegation: int | None = None
    """Likewise: the addresses one node takes from its pod subnet with prefix delegation."""
    launch_template_user_data: str | None = None
    """Custom AMI: the user data (base64) of the launch template version that ReplaceNodegroups creates
    for the replacement, setting max pods to `maxPods`."""
    availability_zones: list[str] = Field(default_factory=list)
    """The AZs of the replacement's subnets: where its nodes can start."""
    node_replacement: NodeReplacementOptions = Field(default_factory=NodeReplacementOptions)
    """The input's nodeReplacement, as Plan read it."""
    drain: DrainReport | None = None
    draining: DrainState | None = None


class FixedAddress(Contract):
    subnet_id: str
    ip: str


class LoadBalancerCheck(Contract):
    kind: LoadBalancerKind
    dns_name: str | None = None
    healthy_targets: int = 0
    targets_in_pod_cidr: bool | None = None
    fixed_addresses: list[FixedAddress] = Field(default_factory=list)
    """private-nlb only: one planned free address per node subnet."""
    status: str | None = None
    """Where the check stands (provisioning, done); drives the verification loop."""
    target_ips: list[str] = Field(default_factory=list)
    source_cidrs: list[str] = Field(default_factory=list)
    """Who may reach the load balancer (its frontend security group's sources): verify.sourceCidrs or
    the VPC's IPv4 blocks, decided at Plan."""
    polls: dict[str, int] = Field(default_factory=dict)
    changes: int = 0


class PodCheck(Contract):
    checked: int = 0
    in_pod_cidr: int = 0
    outside: list[str] = Field(default_factory=list)


class PlacementNodegroup(Contract):
    """A replacement nodegroup an earlier execution made (podcidr's tag): the test pods may run there."""

    name: str
    taints: list[Taint] = Field(default_factory=list)


class Verification(Contract):
    load_balancers: list[LoadBalancerCheck] = Field(default_factory=list)
    replacements_made: list[PlacementNodegroup] = Field(default_factory=list)
    """podcidr's replacement nodegroups that existed at Plan (verification_placement.py)."""
    zones: list[str] = Field(default_factory=list)
    """The AZs every test load balancer serves, where the test pods run (empty: anywhere)."""
    pods: PodCheck | None = None
    image: str
    keep_workloads: bool = False
    namespace: str = "podcidr-verify"
    workloads: str | None = None
    """The test workloads' state: deployed, removing, removed, kept."""


class ClusterAccess(Contract):
    """The access entry that lets podcidr's cluster functions reach the Kubernetes API."""

    principal_arn: str
    policy_arn: str
    access_scope: str = "cluster"
    created: bool = False
    """This execution created the access entry or associated the policy."""
    entry_created: bool = False
    """This execution created the access entry (a lost response included) or adopted one podcidr made, re-tagging it
    with its ARN: it removes it at the end."""
    changes: int = 0
    """The mutating calls EnsureClusterAccess counted in `changes` for it (taken back when it is revoked)."""
    revoked: bool = False
    """RevokeClusterAccess removed the entry (not kept with keepClusterAccess, not found there before)."""


class StepTiming(Contract):
    """When a step was first entered and last left (Lambda clock, ISO 8601 UTC), wait loops included."""

    started: str
    finished: str
    invocations: int = 1


class UnmanagedCapacity(Contract):
    """Capacity podcidr does not migrate (ignoreUnmanagedCapacity): listed in the report, its pods
    left out of VerifyPods."""

    kind: Literal["self-managed", "karpenter", "fargate", "windows", "auto-mode"]
    name: str
    nodes: int = 0
    pods: int = 0
    """Running pods on it, counted by VerifyPods."""
    instance_ids: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    """Fargate: the namespaces of its selectors."""


class Migration(Contract):
    cluster_name: str
    dry_run: bool
    region: str
    vpc_id: str
    cluster_version: str
    cluster_security_group_id: str | None = None
    authentication_mode: str
    node_subnet_ids: list[str]
    poll_seconds: int
    pod_cidr: PodCidr
    pod_subnets: list[PodSubnet]
    load_balancer_tags: list[LoadBalancerTag]
    eni_configs: list[EniConfig]
    cni: Cni
    nodegroups: list[NodegroupReplacement]
    verification: Verification
    cluster_access: ClusterAccess | None = None
    unmanaged_capacity: list[UnmanagedCapacity] = Field(default_factory=list)
    keep_cluster_access: bool = False
    """The input's keepClusterAccess."""
    execution_arn: str | None = None
    """This execution's ARN (EnsureClusterAccess records it): it marks the access entry and the test
    namespace this execution makes, which ExecutionEnded removes after a stop, a time-out or a failure."""
    skipped: list[str] = Field(default_factory=list)
    """Checks a dry run could not make without cluster access, each saying why."""
    warnings: list[str] = Field(default_factory=list)
    polls: dict[str, int] = Field(default_factory=dict)
    """How often each waiting step has checked so far (state-machine wait loops have ceilings)."""
    changes: int = 0
    timings: dict[str, StepTiming] = Field(default_factory=dict)
    """Per-step timing, for the Report's duration metrics."""
