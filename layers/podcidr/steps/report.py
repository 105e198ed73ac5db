"""Report: the execution's output (DESIGN.md "Report").

Map iterations count their mutating calls in their item's own `changes` (an iteration cannot
write the document's total); Report folds them into `migration.changes`, the one count the report
shows. The items' counters are dropped from the output, so no one adds them twice; everything
else of the migration document stays (the report contract allows it to grow).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from podcidr.models.migration import Migration


def fold_changes(migration: Migration) -> Migration:
    """The document with the Map items' changes added to `changes` (and the items' set to 0)."""
    result = migration.model_copy(deep=True)
    for subnet in result.pod_subnets:
        result.changes += subnet.changes
        subnet.changes = 0
    for nodegroup in result.nodegroups:
        result.changes += nodegroup.changes
        nodegroup.changes = 0
        for warning in nodegroup.warnings:
            if warning not in result.warnings:
                result.warnings.append(warning)
    for check in result.verification.load_balancers:
        result.changes += check.changes
        check.changes = 0
    return result


def step_durations(migration: Migration) -> dict[str, float]:
    """Seconds from a step's first entry to its last exit (its wait loop included), per step that recorded it."""
    durations = {}
    for step, timing in migration.timings.items():
        try:
            started = datetime.fromisoformat(timing.started.replace("Z", "+00:00"))
            finished = datetime.fromisoformat(timing.finished.replace("Z", "+00:00"))
        except ValueError:
            continue
        durations[step] = max(0.0, (finished - started).total_seconds())
    return durations


def report_document(migration: Migration) -> dict[str, Any]:
    """The execution output: the folded document without the items' internal counters."""
    document = fold_changes(migration).to_json()
    for key in ("podSubnets", "nodegroups"):
        for item in document.get(key, []):
            item.pop("changes", None)
            item.pop("draining", None)
    for check in document.get("verification", {}).get("loadBalancers", []):
        check.pop("changes", None)
    return document
