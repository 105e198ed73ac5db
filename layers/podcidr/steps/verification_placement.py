"""Where the verification pods may run: only on the replacement nodegroups' nodes when nodegroups are
replaced, so the test workload and its load balancers can be deployed before ReplaceNodegroups (the
load balancers provision while the old nodes drain, DESIGN.md steps 10-11). Its pods stay Pending
until the new nodes are Ready, and never land on an old node that the drain would have to empty.

The pods tolerate the replacements' taints (a replacement copies its old nodegroup's), so a tainted
replacement can run them; the affinity still keeps them off any other node carrying the same taints.
Without a replaced nodegroup the pods are not constrained."""

from __future__ import annotations

from typing import Any

from podcidr.models.migration import Migration
from podcidr.steps.support import NODEGROUP_LABEL

KUBERNETES_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
"""EKS spells a nodegroup taint's effect NO_SCHEDULE (DescribeNodegroup, CreateNodegroup); the node,
and so a toleration, spells it NoSchedule."""


def replacement_nodegroups(migration: Migration) -> list[str]:
    """The replacement nodegroups the verification pods run on."""
    return sorted(item.by for item in migration.nodegroups)


def replacement_affinity(nodegroups: list[str]) -> dict[str, Any] | None:
    """The pod template's affinity keeping it on those nodegroups' nodes; None without any."""
    if not nodegroups:
        return None
    term = {"matchExpressions": [{"key": NODEGROUP_LABEL, "operator": "In", "values": list(nodegroups)}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def replacement_tolerations(migration: Migration) -> list[dict[str, str]]:
    """One toleration per distinct taint of the replacements, as Kubernetes spells it."""
    tolerations: list[dict[str, str]] = []
    for item in migration.nodegroups:
        for taint in item.config.taints:
            toleration = {"key": taint.key, "effect": KUBERNETES_EFFECTS.get(taint.effect, taint.effect)}
            if taint.value:
                toleration |= {"operator": "Equal", "value": taint.value}
            else:
                toleration["operator"] = "Exists"
            if toleration not in tolerations:
                tolerations.append(toleration)
    return tolerations


def verification_placement(migration: Migration) -> dict[str, Any]:
    """The pod spec's affinity and tolerations (null when none: a merge patch then removes them)."""
    return {
        "affinity": replacement_affinity(replacement_nodegroups(migration)),
        "tolerations": replacement_tolerations(migration) or None,
    }
