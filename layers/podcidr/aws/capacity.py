"""Capacity of a cluster that is not a managed nodegroup, read-only: self-managed instances,
Karpenter's instances, Windows nodes, Fargate profiles and EKS Auto Mode.

Nodes join a cluster as EC2 instances tagged `kubernetes.io/cluster/<name>` (eksctl, the
self-managed node CloudFormation template, Karpenter all tag them); a managed nodegroup's carry
`eks:nodegroup-name`, Karpenter's `karpenter.sh/nodepool`, an Auto Scaling group's
`aws:autoscaling:groupName`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from podcidr.aws.clients import transient_faults_retried
from podcidr.aws.discovery import _pages
from podcidr.models.discovery import ClusterInfo, NodegroupInfo

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient

CapacityKind = Literal["self-managed", "karpenter", "fargate", "windows", "auto-mode"]
NODEGROUP_TAG = "eks:nodegroup-name"
NODEPOOL_TAG = "karpenter.sh/nodepool"
AUTOSCALING_TAG = "aws:autoscaling:groupName"
LIVE_STATES = ["pending", "running", "stopping", "stopped"]


@dataclass(frozen=True)
class Capacity:
    kind: CapacityKind
    name: str
    instance_ids: tuple[str, ...] = ()
    namespaces: tuple[str, ...] = ()
    """Fargate: the namespaces its selectors match."""


def _tags(instance: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in instance.get("Tags") or ()}


def cluster_instances(ec2: EC2Client, cluster_name: str) -> list[dict[str, Any]]:
    reservations = _pages(
        ec2,
        "describe_instances",
        "Reservations",
        Filters=[
            {"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{cluster_name}"]},
            {"Name": "instance-state-name", "Values": LIVE_STATES},
        ],
    )
    return [instance for reservation in reservations for instance in reservation.get("Instances", [])]


def _instance_capacity(instances: list[dict[str, Any]]) -> list[Capacity]:
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for instance in instances:
        tags = _tags(instance)
        if NODEGROUP_TAG in tags:
            continue
        if str(instance.get("Platform", "")).lower() == "windows":
            key = ("windows", tags.get(AUTOSCALING_TAG) or tags.get("Name") or str(instance["InstanceId"]))
        elif NODEPOOL_TAG in tags:
            key = ("karpenter", tags[NODEPOOL_TAG])
        else:
            key = ("self-managed", tags.get(AUTOSCALING_TAG) or tags.get("Name") or str(instance["InstanceId"]))
        groups[key].append(str(instance["InstanceId"]))
    return [
        Capacity(kind=kind, name=name, instance_ids=tuple(sorted(ids)))  # type: ignore[arg-type]
        for (kind, name), ids in sorted(groups.items())
    ]


def fargate_profiles(eks: EKSClient, cluster_name: str) -> list[Capacity]:
    names = _pages(eks, "list_fargate_profiles", "fargateProfileNames", clusterName=cluster_name)
    result = []
    for name in sorted(map(str, names)):
        with transient_faults_retried("eks:DescribeFargateProfile"):
            profile = eks.describe_fargate_profile(clusterName=cluster_name, fargateProfileName=name)["fargateProfile"]
        namespaces = sorted({str(s.get("namespace")) for s in profile.get("selectors") or () if s.get("namespace")})
        result.append(Capacity(kind="fargate", name=name, namespaces=tuple(namespaces)))
    return result


def unmanaged_capacity(
    ec2: EC2Client, eks: EKSClient, cluster: ClusterInfo, nodegroups: tuple[NodegroupInfo, ...]
) -> list[Capacity]:
    """Everything that runs the cluster's pods outside its Linux managed nodegroups."""
    found = _instance_capacity(cluster_instances(ec2, cluster.name))
    found += [
        Capacity(kind="windows", name=group.name)
        for group in nodegroups
        if (group.ami_type or "").upper().startswith("WINDOWS")
    ]
    found += fargate_profiles(eks, cluster.name)
    if cluster.auto_mode:
        found.append(Capacity(kind="auto-mode", name="computeConfig"))
    return found
