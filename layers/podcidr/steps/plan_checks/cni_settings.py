"""What the VPC CNI's current configuration means for the plan: prefix delegation changes max pods
and how many addresses a node takes from its pod subnet."""

from __future__ import annotations

from ipaddress import IPv4Network

from podcidr.errors import SubnetSizing
from podcidr.maxpods import max_pods_custom_networking, pod_subnet_addresses_per_node
from podcidr.models.discovery import CniInfo, InstanceTypeInfo
from podcidr.models.migration import Migration, NodegroupReplacement
from podcidr.steps.cni_configuration import parse_configuration_values

PREFIX_DELEGATION = "ENABLE_PREFIX_DELEGATION"


def prefix_delegation(cni: CniInfo) -> bool:
    """ENABLE_PREFIX_DELEGATION=true in the add-on's configurationValues (JSON or YAML). A self-managed
    aws-node's env is read in the cluster, which Plan does not reach: false there."""
    if cni.via != "addon":
        return False
    values, _ = parse_configuration_values(cni.configuration_values)
    env = values.get("env")
    return isinstance(env, dict) and str(env.get(PREFIX_DELEGATION, "")).lower() == "true"


def plan_if_prefix_delegation(replacement: NodegroupReplacement, types: list[InstanceTypeInfo]) -> None:
    """A self-managed CNI's env is read in the cluster (ClusterPreflight): record what max pods and
    pod subnet sizing become should it turn out to delegate prefixes."""
    if not types:
        return
    replacement.max_pods_prefix_delegation = min(max_pods_custom_networking(t, prefix_delegation=True) for t in types)
    replacement.pod_subnet_addresses_prefix_delegation = max(
        pod_subnet_addresses_per_node(t, prefix_delegation=True) for t in types
    )


def usable_addresses(cidr: str) -> int:
    return IPv4Network(cidr).num_addresses - 5  # AWS reserves the first four and the last


def apply_self_managed_prefix_delegation(migration: Migration) -> None:
    """ClusterPreflight found ENABLE_PREFIX_DELEGATION=true on a self-managed aws-node: the replacements'
    max pods count prefixes, and each pod subnet must hold one node's prefixes (SubnetSizing, before any change)."""
    need = max((g.pod_subnet_addresses_prefix_delegation or 0 for g in migration.nodegroups), default=0)
    small = [s for s in migration.pod_subnets if s.subnet_id is None and usable_addresses(s.cidr) < need]
    if small:
        planned = ", ".join(f"{s.cidr} ({s.availability_zone})" for s in small)
        raise SubnetSizing(
            f"The self-managed aws-node sets {PREFIX_DELEGATION}=true: one node then takes {need} addresses (/28 "
            f"prefixes) from its pod subnet, more than the planned {planned} can hold. Run again with a shorter "
            "podSubnetPrefixLength (or a larger podCidr). Nothing was changed."
        )
    for group in migration.nodegroups:
        if group.max_pods_prefix_delegation is not None:
            group.max_pods = group.max_pods_prefix_delegation
