"""Pods whose volumes are bound to an AZ (an EBS volume attaches only to instances of its AZ) can move
only to new nodes in that AZ: ClusterPreflight checks that the replacement nodegroups can start
nodes there before anything is changed.

A volume's AZ is its PersistentVolume's required node affinity on a zone label (the EBS CSI driver
writes `topology.kubernetes.io/zone`, older volumes `topology.ebs.csi.aws.com/zone` or the in-tree
`failure-domain.beta.kubernetes.io/zone`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from podcidr.errors import UnsupportedCluster
from podcidr.steps.support import all_items

if TYPE_CHECKING:
    from podcidr.kube.client import Kube
    from podcidr.models.migration import NodegroupReplacement

Obj = dict[str, Any]
ZONE_KEYS = ("topology.kubernetes.io/zone", "topology.ebs.csi.aws.com/zone", "failure-domain.beta.kubernetes.io/zone")


def zone_of(volume: Obj) -> str | None:
    """The single AZ a PersistentVolume's required node affinity allows, or None."""
    required = ((volume.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}
    zones: set[str] = set()
    for term in required.get("nodeSelectorTerms") or []:
        for expression in term.get("matchExpressions") or []:
            if expression.get("key") in ZONE_KEYS and expression.get("operator") == "In":
                zones.update(expression.get("values") or [])
    return zones.pop() if len(zones) == 1 else None


def zonal_pods(kube: Kube, pods: list[Obj], node_group: dict[str, str]) -> dict[tuple[str, str], list[str]]:
    """(old nodegroup, AZ) -> the pods on its nodes whose volumes are bound to that AZ."""
    claimed = [p for p in pods if (p.get("spec") or {}).get("nodeName") in node_group and _claims(p)]
    if not claimed:
        return {}
    volumes = {v["metadata"]["name"]: v for v in all_items(kube.core.list_persistent_volume)}
    claims = {
        (c["metadata"]["namespace"], c["metadata"]["name"]): c
        for c in all_items(kube.core.list_persistent_volume_claim_for_all_namespaces)
    }
    found: dict[tuple[str, str], list[str]] = defaultdict(list)
    for pod in claimed:
        namespace = pod["metadata"]["namespace"]
        for claim_name in _claims(pod):
            claim = claims.get((namespace, claim_name)) or {}
            volume = volumes.get((claim.get("spec") or {}).get("volumeName") or "")
            zone = zone_of(volume) if volume else None
            if zone:
                key = (node_group[pod["spec"]["nodeName"]], zone)
                found[key].append(f"{namespace}/{pod['metadata']['name']}")
                break
    return dict(found)


def _claims(pod: Obj) -> list[str]:
    return [
        str(v["persistentVolumeClaim"]["claimName"])
        for v in (pod.get("spec") or {}).get("volumes") or []
        if v.get("persistentVolumeClaim", {}).get("claimName")
    ]


def check_volume_zones(
    nodegroups: list[NodegroupReplacement], zonal: dict[tuple[str, str], list[str]], staying_zones: set[str]
) -> list[str]:
    """Raise UnsupportedCluster when neither a replacement nor a node that stays (`staying_zones`: the
    AZs of the nodes outside the replaced nodegroups) can take a pod in its volume's AZ; warnings where
    a replacement can but need not (fewer nodes than AZs: EC2 Auto Scaling picks the AZs)."""
    by_old = {item.replaced: item for item in nodegroups}
    covered = {zone for item in nodegroups for zone in item.availability_zones} | staying_zones
    missing = {key: pods for key, pods in zonal.items() if key[1] not in covered}
    if missing:
        listed = "; ".join(
            f"{', '.join(sorted(pods))} (on {old}) in {zone}" for (old, zone), pods in sorted(missing.items())
        )
        raise UnsupportedCluster(
            f"Pods with volumes bound to an availability zone could not move: {listed}, but no replacement "
            f"nodegroup has a node subnet there (they cover {', '.join(sorted(covered)) or 'no AZ'}). An EBS volume "
            "attaches only in its own AZ. Give the nodegroup a node subnet in that AZ (or move the workload), then "
            "run podcidr again. Nothing was changed."
        )
    warnings = []
    for (old, zone), pods in sorted(zonal.items()):
        item = by_old.get(old)
        if item is None:
            continue
        desired = int(item.config.scaling_config.get("desiredSize", 0))
        if desired < len(item.availability_zones):
            warnings.append(
                f"Nodegroup {item.by} (replacing {old}) starts {desired} node(s) over {len(item.availability_zones)} "
                f"AZs, and EC2 Auto Scaling chooses the AZs: {', '.join(sorted(pods))} need a node in {zone} for "
                "their volumes. If none starts there they stay Pending and the drain stops before deleting "
                f"anything; a desiredSize of at least {len(item.availability_zones)} avoids it."
            )
    return warnings
