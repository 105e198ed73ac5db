"""A new cluster's nodegroups: the tool that made the cluster (eksctl, Terraform, CDK) usually
creates them right after it is ACTIVE. Plan waits while any is CREATING (the state machine's
Wait, as for a CREATING cluster) and refuses past the ceiling; nodegroups created after Plan are
not podcidr's to replace (README: "New clusters")."""

from __future__ import annotations

from collections.abc import Iterable

from podcidr.errors import ClusterNotActive
from podcidr.models.discovery import NodegroupInfo

NODEGROUPS_CREATING_CEILING_SECONDS = 30 * 60
"""Nodegroups take minutes to create; half an hour covers large ones."""


def creating(nodegroups: Iterable[NodegroupInfo]) -> list[str]:
    return sorted(group.name for group in nodegroups if group.status == "CREATING")


def check_creating_bound(cluster_name: str, names: list[str], polls: int, poll_seconds: int) -> None:
    """ClusterNotActive once the nodegroups have been CREATING past the ceiling (`polls` checks so far)."""
    if (polls - 1) * poll_seconds < NODEGROUPS_CREATING_CEILING_SECONDS:
        return
    raise ClusterNotActive(
        f"Nodegroup(s) {', '.join(names)} of cluster '{cluster_name}' are still CREATING after {polls - 1} checks "
        f"{poll_seconds} s apart (about {(polls - 1) * poll_seconds // 60} minutes). Look at them in the EKS console "
        "(a nodegroup whose nodes cannot join fails after a while); start the migration again once they are ACTIVE "
        "or deleted. Nothing was changed."
    )
