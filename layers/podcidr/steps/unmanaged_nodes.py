"""Which nodes belong to capacity podcidr does not migrate (Migration.unmanaged_capacity): by the
instance in their providerID (self-managed, Karpenter, Windows instances), Fargate's compute-type
label, or Fargate pods' namespaces."""

from __future__ import annotations

from typing import Any

from podcidr.models.migration import UnmanagedCapacity

FARGATE_LABEL = "eks.amazonaws.com/compute-type"


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
    node = nodes.get(str(pod.get("spec", {}).get("nodeName")))
    on_node = capacity_of_node(node, capacity) if node is not None else None
    if on_node is not None:
        return on_node
    namespace = pod.get("metadata", {}).get("namespace")
    if node is not None and node.get("metadata", {}).get("labels", {}).get(FARGATE_LABEL) == "fargate":
        return next((c for c in capacity if c.kind == "fargate" and namespace in c.namespaces), None)
    return None
