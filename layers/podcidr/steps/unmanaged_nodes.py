"""Which nodes belong to capacity podcidr does not migrate (Migration.unmanaged_capacity): by the
instance in their providerID (self-managed, Karpenter, Windows instances), Fargate's compute-type
label, or Fargate pods' namespaces."""

from __future__ import annotations

from typing import Any

from podcidr.models.migration import UnmanagedCapacity

FARGATE_LABEL = "eks.amazonaws.com/compute-type"
FARGATE_PROFILE_LABEL = "eks.amazonaws.com/fargate-profile"


def instance_id(node: dict[str, Any]) -> str | None:
    provider = str(node.get("spec", {}).get("providerID") or "")
    return provider.rsplit("/", 1)[-1] if provider.startswith("aws://") else None


def capacity_of_node(node: dict[str, Any], capacity: list[UnmanagedCapacity]) -> UnmanagedCapacity | None:
    labels = node.get("metadata", {}).get("labels", {})
    found = instance_id(node)
    for item in capacity:
        if found and found in item.instance_ids:
            return item
    if labels.get(FARGATE_LABEL) == "fargate":
        return next((item for item in capacity if item.kind == "fargate"), None)
    return None


def capacity_of_pod(
    pod: dict[str, Any], nodes: dict[str, dict[str, Any]], capacity: list[UnmanagedCapacity]
) -> UnmanagedCapacity | None:
    """A pod on a Fargate node belongs to the Fargate profile its label eks.amazonaws.com/fargate-profile
    names (how a pod matching several profiles picks one, EKS user guide "Fargate profile"), else to the
    one selecting its namespace, else to the first one (on Fargate all the same: left out of VerifyPods)."""
    node = nodes.get(str(pod.get("spec", {}).get("nodeName")))
    if node is None:
        return None
    if node.get("metadata", {}).get("labels", {}).get(FARGATE_LABEL) != "fargate":
        return capacity_of_node(node, capacity)
    profiles = [item for item in capacity if item.kind == "fargate"]
    metadata = pod.get("metadata", {})
    named = (metadata.get("labels") or {}).get(FARGATE_PROFILE_LABEL)
    return next(
        (item for item in profiles if item.name == named),
        next(
            (item for item in profiles if metadata.get("namespace") in item.namespaces),
            profiles[0] if profiles else None,
        ),
    )
