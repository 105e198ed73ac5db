"""Whether a load balancer can reach an IP target: the security groups of the pod's ENI (AWS-FACTS 8).

The AWS Load Balancer Controller lets the load balancer in by adding rules to one security group of
the target's ENI: its only group whatever the tags, or among several the one tagged
`kubernetes.io/cluster/<cluster>`; among several it expects exactly one such group ("expect exactly
one securityGroup tagged with kubernetes.io/cluster/<name> for eni ...", its resolveEndpointSGForENI;
aws-load-balancer-controller #1897, #1594). Under custom networking the pod ENIs carry the
ENIConfig's groups. With several groups, none or several tagged, the controller adds no rule and
reports why; the target then passes health checks only if the groups' own rules already let the
load balancer's addresses in on the target's port, and otherwise never becomes healthy.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Reachability:
    reachable: bool
    problem: str | None = None
    """Why the controller could not manage the rules (its event's message), or None."""


def _tags(group: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in group.get("Tags") or []}


def _allows(group: dict[str, Any], sources: list[str], port: int) -> bool:
    """Whether one of the group's ingress rules lets every source address in on `port` (TCP)."""
    if not sources:
        return False
    addresses = [ipaddress.ip_address(a) for a in sources]
    for rule in group.get("IpPermissions") or []:
        protocol = str(rule.get("IpProtocol", ""))
        if protocol not in ("-1", "tcp", "6"):
            continue
        if protocol != "-1" and not (int(rule.get("FromPort", 0)) <= port <= int(rule.get("ToPort", 65535))):
            continue
        blocks = [ipaddress.ip_network(r["CidrIp"], strict=False) for r in rule.get("IpRanges") or []]
        if all(any(a in block for block in blocks) for a in addresses):
            return True
    return False


def interfaces_by_address(ec2: Any) -> dict[str, dict[str, Any]]:
    """Each private address (primary or secondary) -> the network interface holding it. Read once
    for all the targets a pass registers: one listing per target took minutes for 500 targets."""
    # moto's `addresses.private-ip-address` filter matches primary addresses only; pods have secondary ones
    index: dict[str, dict[str, Any]] = {}
    for page in ec2.get_paginator("describe_network_interfaces").paginate():
        for eni in page["NetworkInterfaces"]:
            for address in eni.get("PrivateIpAddresses") or []:
                index.setdefault(address.get("PrivateIpAddress", ""), eni)
    return index


def target_reachability(
    ec2: Any,
    *,
    cluster_name: str,
    target_ip: str,
    port: int,
    load_balancer_addresses: list[str],
    interfaces: dict[str, dict[str, Any]] | None = None,
) -> Reachability:
    """What the controller finds for an IP target (through the twin's admin EC2 client); `interfaces`
    from `interfaces_by_address` (read here when not given)."""
    eni = (interfaces if interfaces is not None else interfaces_by_address(ec2)).get(target_ip)
    if eni is None:
        return Reachability(True)  # not an ENI address the twin knows (nothing to judge)
    group_ids = [g["GroupId"] for g in eni.get("Groups") or []]
    if len(set(group_ids)) == 1:
        return Reachability(True)  # the controller's resolveEndpointSGForENI takes a lone group as it is
    groups = ec2.describe_security_groups(GroupIds=group_ids)["SecurityGroups"] if group_ids else []
    tag = f"kubernetes.io/cluster/{cluster_name}"
    tagged = sorted(g["GroupId"] for g in groups if tag in _tags(g))
    if len(tagged) == 1:
        return Reachability(True)
    problem = (
        f"expect exactly one securityGroup tagged with {tag} for eni {eni['NetworkInterfaceId']}, "
        f"got: [{' '.join(tagged)}] (clusterName: {cluster_name})"
    )
    reachable = any(_allows(g, load_balancer_addresses, port) for g in groups)
    return Reachability(reachable, problem)
