"""Plan's checks of what the input and the cluster refer to, before any change.

- The pods' security groups (the ENIConfigs' `securityGroups`): `eniConfigSecurityGroupIds` when
  given, else the groups on the nodes' primary ENIs: each nodegroup's launch template groups, or
  the cluster security group (EKS puts it on managed nodes whose template names none). They must
  exist, be in the cluster's VPC, and be a single group or several of which exactly one is tagged
  `kubernetes.io/cluster/<name>`: the AWS Load Balancer Controller takes an IP target's ENI's only
  group as it is, and among several refuses none or more than one tagged (its
  resolveEndpointSGForENI; AWS-FACTS 8). Under custom networking the pods' ENIs carry these groups.
- A given `podCidr` is not another cluster's pod block (its pod subnets, or the block podcidr
  recorded for it on the VPC).
"""

from __future__ import annotations

from collections.abc import Sequence
from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from podcidr import OWNER_TAG_KEY, POD_CIDR_TAG_PREFIX
from podcidr.aws.security_groups import SecurityGroupInfo, describe_security_groups
from podcidr.errors import CidrOverlap, InvalidInput, PodSecurityGroupConflict
from podcidr.models.discovery import ClusterTopology, NodegroupInfo
from podcidr.models.input import ExecutionInput

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
NOTHING_CHANGED = "Nothing was changed."


def cluster_tag(cluster_name: str) -> str:
    return CLUSTER_TAG_PREFIX + cluster_name


def pod_security_groups(
    request: ExecutionInput, topology: ClusterTopology, ec2: EC2Client, warnings: list[str]
) -> list[str]:
    """The groups the ENIConfigs give the pods, checked; PodSecurityGroupConflict or InvalidInput."""
    given = list(request.eni_config_security_group_ids)
    if given:
        found = describe_security_groups(ec2, given)
        _given_exist_in_vpc(given, found, topology)
        _one_cluster_tagged(given, found, topology.cluster.name, "the groups of eniConfigSecurityGroupIds", given=True)
        cluster_group = topology.cluster.cluster_security_group_id
        if cluster_group and cluster_group not in given:
            warnings.append(
                f"eniConfigSecurityGroupIds leaves out the cluster security group {cluster_group}: pods on the pod "
                "subnets lose what its rules allow (the control plane calling webhooks, groups that allow it as a "
                "source). Add it unless the given groups allow that traffic themselves."
            )
        return given
    groups, whose = _node_groups(topology, warnings)
    found = describe_security_groups(ec2, groups)
    missing = [g for g in groups if g not in found]
    if missing:
        raise PodSecurityGroupConflict(
            f"The pods would get the groups on the nodes' primary ENIs ({whose[0].lower()}{whose[1:]}): "
            f"{', '.join(groups)}, and {', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist in "
            "this account and region. Fix the nodegroup's launch template, or give eniConfigSecurityGroupIds. "
            + NOTHING_CHANGED
        )
    try:
        _one_cluster_tagged(groups, found, topology.cluster.name, whose, given=False)
    except PodSecurityGroupConflict as conflict:
        if request.verify.load_balancers:
            raise
        # the pods keep the groups their ENIs have today: no worse for the load balancer controller
        warnings.append(conflict.cause.removesuffix(" " + NOTHING_CHANGED))
    return groups


def _node_groups(topology: ClusterTopology, warnings: list[str]) -> tuple[list[str], str]:
    """The groups on the nodes' primary ENIs (one set for the whole cluster: an ENIConfig serves
    every node of its AZ) and where they come from."""
    cluster = topology.cluster
    by_set: dict[tuple[str, ...], list[NodegroupInfo]] = {}
    in_order: dict[frozenset[str], tuple[str, ...]] = {}  # the same groups in another order are the same set
    for group in topology.nodegroups:
        template_groups = group.launch_template.security_group_ids if group.launch_template else ()
        listed = tuple(template_groups) or (
            (cluster.cluster_security_group_id,) if cluster.cluster_security_group_id else ()
        )
        key = in_order.setdefault(frozenset(listed), listed)
        by_set.setdefault(key, []).append(group)
    if len(by_set) > 1:
        described = "; ".join(
            f"{', '.join(g.name for g in groups)}: {', '.join(key) or 'unknown'}" for key, groups in by_set.items()
        )
        raise PodSecurityGroupConflict(
            f"Cluster '{cluster.name}''s nodegroups put different security groups on their nodes' primary ENIs "
            f"({described}), and an ENIConfig gives every pod of its AZ one set. Give eniConfigSecurityGroupIds: "
            "the groups the pods need: one group, or several of which exactly one is tagged "
            f"{cluster_tag(cluster.name)}. " + NOTHING_CHANGED
        )
    if by_set:
        key, groups = next(iter(by_set.items()))
        with_template = [g.name for g in groups if g.launch_template and g.launch_template.security_group_ids]
        if with_template:
            return list(key), f"The launch template of nodegroup(s) {', '.join(with_template)}"
        if key:
            return list(key), f"The cluster security group of '{cluster.name}'"
    if cluster.cluster_security_group_id:
        return [cluster.cluster_security_group_id], f"The cluster security group of '{cluster.name}'"
    if cluster.security_group_ids:
        warnings.append(
            "DescribeCluster reported no cluster security group; the ENIConfigs use the cluster's security groups "
            f"{', '.join(cluster.security_group_ids)}. Set eniConfigSecurityGroupIds to choose."
        )
        return list(cluster.security_group_ids), f"The security groups of cluster '{cluster.name}'"
    raise PodSecurityGroupConflict(
        f"Cannot tell which security groups cluster '{cluster.name}''s nodes have: DescribeCluster reports no "
        "cluster security group and the nodegroups' launch templates name none. Give eniConfigSecurityGroupIds, "
        f"one group, or several of which exactly one is tagged {cluster_tag(cluster.name)}. " + NOTHING_CHANGED
    )


def _given_exist_in_vpc(given: Sequence[str], found: dict[str, SecurityGroupInfo], topology: ClusterTopology) -> None:
    vpc_id = topology.cluster.vpc_id
    missing = [g for g in given if g not in found]
    elsewhere = [f"{g} (in {found[g].vpc_id})" for g in given if g in found and found[g].vpc_id != vpc_id]
    problems = []
    if missing:
        problems.append(f"{', '.join(missing)} {'does' if len(missing) == 1 else 'do'} not exist in this account")
    if elsewhere:
        problems.append(f"{', '.join(elsewhere)} {'is' if len(elsewhere) == 1 else 'are'} not in the cluster's VPC")
    if problems:
        raise InvalidInput(
            f"eniConfigSecurityGroupIds: {'; '.join(problems)}. Give groups of VPC {vpc_id} "
            f"(aws ec2 describe-security-groups --filters Name=vpc-id,Values={vpc_id}), or omit the key to give "
            "the pods their nodes' groups. " + NOTHING_CHANGED
        )


def _one_cluster_tagged(
    groups: Sequence[str], found: dict[str, SecurityGroupInfo], cluster_name: str, whose: str, *, given: bool
) -> None:
    tag = cluster_tag(cluster_name)
    if len(set(groups)) == 1:
        return  # the controller edits an ENI's only group whatever its tags
    tagged = [g for g in groups if tag in found[g].tags]
    if len(tagged) == 1:
        return
    listed = ", ".join(f"{g} ({found[g].name}{', tagged' if g in tagged else ''})" for g in groups)
    if given:
        fix = f"give exactly one group tagged {tag} among eniConfigSecurityGroupIds"
    else:
        fix = (
            f"tag exactly one of them {tag}=owned (or remove the tag from all but one), or give "
            "eniConfigSecurityGroupIds with exactly one tagged group"
        )
    raise PodSecurityGroupConflict(
        f"{whose[0].upper()}{whose[1:]} would give the pods security groups {listed}: "
        f"{'none is' if not tagged else f'{len(tagged)} are'} tagged {tag}, and the AWS Load Balancer Controller "
        f"needs exactly one among several groups on a pod ENI (its IP targets never become healthy otherwise). "
        f"To fix it, {fix}, or give a single group. " + NOTHING_CHANGED
    )


def check_pod_cidr_unused(requested: IPv4Network, topology: ClusterTopology) -> None:
    """CidrOverlap if `requested` holds another cluster's pod subnets or is its recorded pod block."""
    name = topology.cluster.name
    found = []
    for key, value in sorted(topology.vpc.tags.items()):
        other = key.removeprefix(POD_CIDR_TAG_PREFIX)
        if key.startswith(POD_CIDR_TAG_PREFIX) and other != name and _overlaps(requested, value):
            found.append(f"{value}, the pod block of cluster '{other}' (VPC tag {key})")
    for subnet in topology.subnets:
        if not subnet.network.overlaps(requested):
            continue
        owners = {subnet.tags.get(OWNER_TAG_KEY)} | {
            key.removeprefix(CLUSTER_TAG_PREFIX) for key in subnet.tags if key.startswith(CLUSTER_TAG_PREFIX)
        }
        others = sorted(o for o in owners if o and o != name)
        if others:
            found.append(f"subnet {subnet.subnet_id} ({subnet.cidr}) of cluster '{others[0]}'")
    if found:
        raise CidrOverlap(
            f"podCidr {requested} is already used by another cluster of VPC {topology.cluster.vpc_id}: "
            f"{'; '.join(found)}. Give a podCidr that no other cluster uses, or omit it to let podcidr choose a "
            "free block. " + NOTHING_CHANGED
        )


def _overlaps(block: IPv4Network, value: str) -> bool:
    try:
        return block.overlaps(IPv4Network(value))
    except ValueError:
        return False
