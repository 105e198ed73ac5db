"""Plan's checks of a real account, in the order Plan makes them: the endpoint and the VPC's owner
(refusals whatever the nodegroups), nodegroups still CREATING (wait), capacity that is not a
managed nodegroup, the CNI's prefix delegation."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from podcidr.aws.capacity import unmanaged_capacity
from podcidr.models.discovery import ClusterTopology
from podcidr.models.migration import UnmanagedCapacity
from podcidr.steps.plan_checks import capacity, cni_settings, endpoint, nodegroups, ownership

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient

    from podcidr.models.input import ExecutionInput


@dataclass
class AccountFindings:
    topology: ClusterTopology
    """The topology with the nodegroups podcidr may replace (Windows ones left out)."""
    nodegroups_creating: list[str] = field(default_factory=list)
    unmanaged_capacity: list[UnmanagedCapacity] = field(default_factory=list)
    prefix_delegation: bool = False
    warnings: list[str] = field(default_factory=list)


def check_account(
    request: ExecutionInput,
    topology: ClusterTopology,
    ec2: EC2Client,
    eks: EKSClient,
    functions: endpoint.FunctionsNetwork | None = None,
) -> AccountFindings:
    cluster = topology.cluster
    functions = functions or endpoint.FunctionsNetwork.from_environment()
    warnings = endpoint.check_endpoint_reachable(cluster, {s.subnet_id for s in topology.subnets}, functions)
    ownership.check_vpc_owner(cluster, topology.vpc)
    creating = nodegroups.creating(topology.nodegroups)
    if creating:
        return AccountFindings(topology=topology, nodegroups_creating=creating, warnings=warnings)
    found = unmanaged_capacity(ec2, eks, cluster, topology.nodegroups)
    unmanaged = capacity.plan_unmanaged_capacity(cluster.name, found, request.ignore_unmanaged_capacity)
    if unmanaged:
        warnings.append(
            "Not migrated (ignoreUnmanagedCapacity): "
            + "; ".join(capacity.describe(c) for c in found)
            + ". Their pods keep node-subnet addresses and VerifyPods leaves them out."
        )
    windows = capacity.windows_nodegroups(found)
    if windows:
        topology = replace(topology, nodegroups=tuple(g for g in topology.nodegroups if g.name not in windows))
    return AccountFindings(
        topology=topology,
        unmanaged_capacity=unmanaged,
        prefix_delegation=cni_settings.prefix_delegation(topology.cni),
        warnings=warnings,
    )
