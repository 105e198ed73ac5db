"""Capacity that is not a managed nodegroup: podcidr replaces managed nodegroups only, so nodes it
cannot replace keep giving pods node-subnet addresses. Without `ignoreUnmanagedCapacity` such a
cluster is refused; with it, that capacity is listed in the report as not migrated and VerifyPods
leaves its pods out."""

from __future__ import annotations

from podcidr.aws.capacity import Capacity
from podcidr.errors import UnsupportedCluster
from podcidr.models.migration import UnmanagedCapacity

_WHAT = {
    "self-managed": "self-managed nodes",
    "karpenter": "Karpenter NodePool",
    "fargate": "Fargate profile",
    "windows": "Windows nodes",
    "auto-mode": "EKS Auto Mode",
}


def describe(capacity: Capacity) -> str:
    what = f"{_WHAT[capacity.kind]} '{capacity.name}'" if capacity.kind != "auto-mode" else _WHAT["auto-mode"]
    if capacity.instance_ids:
        what += f" ({len(capacity.instance_ids)} instance(s): {', '.join(capacity.instance_ids[:5])})"
    if capacity.namespaces:
        what += f" (namespaces {', '.join(capacity.namespaces)})"
    return what


def plan_unmanaged_capacity(cluster_name: str, found: list[Capacity], ignore: bool) -> list[UnmanagedCapacity]:
    if not found:
        return []
    listed = "; ".join(describe(c) for c in found)
    if not ignore:
        raise UnsupportedCluster(
            f"Cluster '{cluster_name}' has capacity that is not a managed nodegroup: {listed}. podcidr moves pods by "
            "replacing managed nodegroups, so pods there would keep node-subnet addresses (Fargate and Windows pods "
            "always do; self-managed and Karpenter nodes take custom networking only once replaced). Run again with "
            '"ignoreUnmanagedCapacity": true to migrate the managed nodegroups and report that capacity as not '
            "migrated, or move it to managed nodegroups first. Nothing was changed."
        )
    return [
        UnmanagedCapacity(
            kind=c.kind,
            name=c.name,
            nodes=len(c.instance_ids),
            instance_ids=list(c.instance_ids),
            namespaces=list(c.namespaces),
        )
        for c in found
    ]


def windows_nodegroups(found: list[Capacity]) -> set[str]:
    """Managed nodegroups of Windows nodes: custom networking does not apply to them, so they are not replaced."""
    return {c.name for c in found if c.kind == "windows" and not c.instance_ids}
