"""Where the verification pods may run: only on the replacement nodegroups' nodes when nodegroups are
replaced, so the test workload and its load balancers can be deployed before ReplaceNodegroups (the
load balancers provision while the old nodes drain, DESIGN.md steps 10-11). Its pods stay Pending
until the new nodes are Ready, and never land on an old node that the drain would have to empty.

Replacements whose taints the test pods do not tolerate (NoSchedule, NoExecute) are left out; when
none is left, or no nodegroup is replaced, the pods are not constrained (they must stay schedulable)."""

from __future__ import annotations

from typing import Any

from podcidr.models.migration import Migration
from podcidr.steps.support import NODEGROUP_LABEL

_REFUSING = ("NoSchedule", "NoExecute")


def replacement_nodegroups(migration: Migration) -> list[str]:
    """The replacement nodegroups the verification pods can run on."""
    return sorted(
        item.by for item in migration.nodegroups if not any(taint.effect in _REFUSING for taint in item.config.taints)
    )


def replacement_affinity(nodegroups: list[str]) -> dict[str, Any] | None:
    """The pod template's affinity keeping it on those nodegroups' nodes; None without any."""
    if not nodegroups:
        return None
    term = {"matchExpressions": [{"key": NODEGROUP_LABEL, "operator": "In", "values": list(nodegroups)}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}
