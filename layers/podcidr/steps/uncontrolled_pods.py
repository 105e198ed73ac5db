"""Pods that no controller would recreate, found on the nodegroups being replaced (ClusterPreflight).

Replacing a nodegroup empties its nodes: a pod without a controlling owner (no ReplicaSet, Job,
StatefulSet, DaemonSet, ...) is deleted and never comes back. kubectl drain refuses such pods
without --force for the same reason. Mirror pods (static pods, owned by the kubelet's manifest) and
finished pods are left out: the node's own kubelet recreates the first, and the second are done.
"""

from __future__ import annotations

from typing import Any

MIRROR_ANNOTATION = "kubernetes.io/config.mirror"


def _uncontrolled(pod: dict[str, Any]) -> bool:
    metadata = pod["metadata"]
    if MIRROR_ANNOTATION in (metadata.get("annotations") or {}):
        return False
    return not any(owner.get("controller") for owner in metadata.get("ownerReferences") or [])


def uncontrolled_pod_warning(pods: list[dict[str, Any]], node_group: dict[str, str]) -> str | None:
    """One warning naming every uncontrolled pod on the old nodes (node name -> its nodegroup), or None."""
    found = sorted(
        (node_group[pod["spec"]["nodeName"]], f"{pod['metadata']['namespace']}/{pod['metadata']['name']}")
        for pod in pods
        if pod["spec"].get("nodeName") in node_group and _uncontrolled(pod)
    )
    if not found:
        return None
    nodegroups = sorted({nodegroup for nodegroup, _ in found})
    names = ", ".join(f"{name} (on {nodegroup})" for nodegroup, name in found)
    return (
        f"{len(found)} pod(s) on nodegroup(s) {', '.join(nodegroups)} have no controller: {names}. Replacing "
        "the nodegroup deletes them and nothing recreates them. Run them under a Deployment, StatefulSet or "
        "Job (or recreate them yourself after the migration)."
    )
