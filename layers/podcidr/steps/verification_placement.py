"""Where the verification pods may run: only on the replacement nodegroups' nodes when nodegroups are
replaced, so the test workload and its load balancers can be deployed before ReplaceNodegroups (the
load balancers provision while the old nodes drain, DESIGN.md steps 10-11). Its pods stay Pending
until the new nodes are Ready, and never land on an old node that the drain would have to empty.

The pods tolerate the replacements' taints (a replacement copies its old nodegroup's), so a tainted
replacement can run them; the affinity still keeps them off any other node carrying the same taints.

The replacements are those still to be made (migration.nodegroups) and those an earlier execution
made (verification.replacementsMade: Plan does not replace them again, so on a re-run after a failed
verification migration.nodegroups alone may be empty while the pods must still run there, not on
capacity that was not migrated). Without any replacement the pods are not constrained by nodegroup.

They also run only in the AZs every test load balancer serves (verification.zones, Plan's
plan_checks/verification_zones.py): a target elsewhere is `unused` (Target.NotInUse), never healthy."""

from __future__ import annotations

from typing import Any

from podcidr.models.migration import Migration, Taint
from podcidr.steps.support import NODEGROUP_LABEL

ZONE_LABEL = "topology.kubernetes.io/zone"

KUBERNETES_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}
"""EKS spells a nodegroup taint's effect NO_SCHEDULE (DescribeNodegroup, CreateNodegroup); the node,
and so a toleration, spells it NoSchedule."""


def replacement_nodegroups(migration: Migration) -> list[str]:
    """The replacement nodegroups the verification pods run on: to be made, and made before."""
    made = (item.name for item in migration.verification.replacements_made)
    return sorted({item.by for item in migration.nodegroups} | set(made))


def _replacement_taints(migration: Migration) -> list[Taint]:
    planned = [taint for item in migration.nodegroups for taint in item.config.taints]
    return planned + [taint for item in migration.verification.replacements_made for taint in item.taints]


def replacement_affinity(nodegroups: list[str], zones: list[str] | None = None) -> dict[str, Any] | None:
    """The pod template's affinity keeping it on those nodegroups' nodes in those AZs; None without any."""
    expressions = []
    if nodegroups:
        expressions.append({"key": NODEGROUP_LABEL, "operator": "In", "values": list(nodegroups)})
    if zones:
        expressions.append({"key": ZONE_LABEL, "operator": "In", "values": list(zones)})
    if not expressions:
        return None
    term = {"matchExpressions": expressions}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def replacement_tolerations(migration: Migration) -> list[dict[str, str]]:
    """One toleration per distinct taint of the replacements, as Kubernetes spells it."""
    tolerations: list[dict[str, str]] = []
    for taint in _replacement_taints(migration):
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
        "affinity": replacement_affinity(replacement_nodegroups(migration), migration.verification.zones),
        "tolerations": replacement_tolerations(migration) or None,
    }
