"""The Availability Zones every test load balancer serves, so the test pods run only there.

A load balancer sends no traffic to an IP target in an AZ it does not enable: DescribeTargetHealth
says `unused` (Target.NotInUse) and the check would never count 3 healthy targets. The internet-facing
ALB and NLB get the public subnets the AWS Load Balancer Controller discovers (kubernetes.io/role/elb,
one per AZ, none tagged for another cluster, none with fewer than 8 free addresses), often in fewer
AZs than the node subnets; the internal NLB gets one node subnet per AZ of the migration."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from podcidr.errors import UnsupportedCluster
from podcidr.models.discovery import SubnetInfo

ELB_TAG = "kubernetes.io/role/elb"
CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
MIN_FREE_ADDRESSES = 8
"""The controller drops a candidate subnet with fewer free addresses (AWS-FACTS 3)."""


def discoverable_public_zones(subnets: Iterable[SubnetInfo], to_tag: Collection[str], cluster_name: str) -> set[str]:
    """AZs of the subnets the controller will discover for an internet-facing load balancer: those
    carrying the role tag now or once TagLoadBalancerSubnets tags `to_tag`, not tagged for another cluster,
    with at least MIN_FREE_ADDRESSES free."""
    mine = CLUSTER_TAG_PREFIX + cluster_name
    zones = set()
    for subnet in subnets:
        if subnet.tags.get(ELB_TAG) not in ("1", "") and subnet.subnet_id not in to_tag:
            continue
        if subnet.available_ips < MIN_FREE_ADDRESSES:
            continue
        clusters = [key for key in subnet.tags if key.startswith(CLUSTER_TAG_PREFIX)]
        if clusters and mine not in clusters:
            continue
        zones.add(subnet.availability_zone)
    return zones


def served_zones(
    kinds: Sequence[str], public_zones: set[str], internal_zones: set[str], pod_zones: set[str], cluster_name: str
) -> list[str]:
    """The AZs the test pods may run in: served by every test load balancer and where the test pods'
    nodes are (`pod_zones`; empty: anywhere). Empty when nothing needs restricting (no kind, or a kind
    with no subnet at all: the controller's refusal says so). UnsupportedCluster when none is left."""
    served: dict[str, set[str]] = {}
    for kind in kinds:
        zones = internal_zones if kind == "private-nlb" else public_zones
        if zones:
            served[kind] = zones
    if not served:
        return []
    common = set.intersection(*served.values())
    if pod_zones:
        common &= pod_zones
    if common:
        return sorted(common)
    where = "; ".join(f"{kind} in {', '.join(sorted(zones))}" for kind, zones in served.items())
    nodes = f"; the test pods' nodes in {', '.join(sorted(pod_zones))}" if pod_zones else ""
    raise UnsupportedCluster(
        f"The test load balancers of cluster '{cluster_name}' share no Availability Zone ({where}{nodes}): a load "
        "balancer sends nothing to targets in an AZ it does not enable (Target.NotInUse), so the verification "
        "could never pass. Add a public subnet (kubernetes.io/role/elb) in a node AZ, or leave the internet-facing "
        "kinds out of verify.loadBalancers. Nothing was changed."
    )
