"""A StatefulSet's volumes as the scenario's `volumeClaim: {size, zones}`: read from its first
volumeClaimTemplate whose claims the EBS CSI driver provisions (an EBS volume lives in one AZ and
pins its pod there), with the AZ of each ordinal's volume from EC2.

The claims are read for their provisioner (`volume.kubernetes.io/storage-provisioner`, on the claim:
PersistentVolumes and StorageClasses are cluster-scoped, which AmazonEKSViewPolicy does not read) and
the PersistentVolume they are bound to (`spec.volumeName`); the AZs from the EBS volumes tagged with
that PersistentVolume's name (`kubernetes.io/created-for/pv/name`, set by the EBS CSI driver and the
in-tree provisioner, unique per volume where claim names are not: other clusters, Retain volumes of
deleted claims). A template whose claims EFS provisions (any AZ) is not bound to an AZ and is not
written; one without claims yet is taken as EBS, EKS's block storage. Nothing is guessed: a claim
not bound yet, bound to no EBS volume found, or of an unknown provisioner stops the snapshot.
`zones` lists the AZs of the ordinals from the first up to the last one with a claim.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from podcidr_cli.snapshot_common import SnapshotError, paginate

EBS_PROVISIONERS = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs"})
ANY_ZONE_PROVISIONERS = frozenset({"efs.csi.aws.com"})
PROVISIONER_ANNOTATIONS = ("volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")
PV_NAME_TAG = "kubernetes.io/created-for/pv/name"
FILTER_VALUES_MAX = 200
GONE_STATES = frozenset({"deleting", "deleted"})
_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$")
_BYTES = {None: 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_BYTES |= {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}


def scenario_size(quantity: str, where: str) -> str:
    """A storage request as the scenario writes sizes: Gi, or Mi below 1Gi (rounded up, as EBS
    rounds a volume up to whole GiB anyway)."""
    found = _QUANTITY.fullmatch(quantity.strip())
    if found is None:
        raise SnapshotError(
            f"{where} requests storage {quantity!r}, a quantity the scenario cannot write (use a size such as "
            "500Mi, 10Gi, 10G); nothing was written"
        )
    size = Decimal(found.group(1)) * _BYTES[found.group(2)]
    if size < 2**30:
        return f"{max(1, math.ceil(size / 2**20))}Mi"
    return f"{math.ceil(size / 2**30)}Gi"


def claim_names(statefulset: Any, template: Any) -> list[str]:
    """The claims of each ordinal, from `spec.ordinals.start` (0 unless set)."""
    ordinals = getattr(statefulset.spec, "ordinals", None)
    start = (ordinals.start if ordinals is not None else None) or 0
    replicas = statefulset.spec.replicas if statefulset.spec.replicas is not None else 1
    name = statefulset.metadata.name
    return [f"{template.metadata.name}-{name}-{i}" for i in range(start, start + replicas)]


def _provisioner(claim: Any) -> str | None:
    annotations = claim.metadata.annotations or {}
    return next((annotations[a] for a in PROVISIONER_ANNOTATIONS if a in annotations), None)


def _volume_name(claim: Any) -> str | None:
    bound = claim.status is not None and claim.status.phase == "Bound"
    return claim.spec.volume_name if bound and claim.spec is not None else None


class ZonalVolumes:
    """The claims of the StatefulSets' templates and the EBS volumes bound to them, read once."""

    def __init__(self, kube: Any, ec2: Any, statefulsets: Iterable[Any]) -> None:
        self.claims = {
            (c.metadata.namespace, c.metadata.name): c
            for c in kube.core.list_persistent_volume_claim_for_all_namespaces().items
        }
        wanted = {
            (s.metadata.namespace, claim)
            for s in statefulsets
            for template in s.spec.volume_claim_templates or []
            for claim in claim_names(s, template)
        }
        names = sorted({n for key in wanted if key in self.claims for n in [_volume_name(self.claims[key])] if n})
        self.zones: dict[str, str] = {}
        for i in range(0, len(names), FILTER_VALUES_MAX):
            chunk = names[i : i + FILTER_VALUES_MAX]
            filters = [{"Name": f"tag:{PV_NAME_TAG}", "Values": chunk}]
            for volume in paginate(ec2, "describe_volumes", "Volumes", Filters=filters):
                pv = next((t.get("Value") for t in volume.get("Tags") or [] if t.get("Key") == PV_NAME_TAG), None)
                if pv in chunk and volume.get("State") not in GONE_STATES:
                    self.zones[str(pv)] = str(volume["AvailabilityZone"])

    def volume_claim(self, statefulset: Any) -> dict[str, Any] | None:
        namespace, name = statefulset.metadata.namespace, statefulset.metadata.name
        for template in statefulset.spec.volume_claim_templates or []:
            where = f"StatefulSet {namespace}/{name}'s volumeClaimTemplate {template.metadata.name!r}"
            zones = [self._zone(namespace, claim) for claim in claim_names(statefulset, template)]
            if any(zone is False for zone in zones):
                continue
            requests = (template.spec.resources.requests if template.spec.resources else None) or {}
            written: dict[str, Any] = {"size": scenario_size(str(requests.get("storage", "1Gi")), where)}
            while zones and zones[-1] is None:
                zones.pop()
            if None in zones:
                missing = [c for c, z in zip(claim_names(statefulset, template), zones, strict=False) if z is None]
                raise SnapshotError(
                    f"{where}: ordinals with volumes come after ones without (no claim {', '.join(missing)}, as with "
                    "podManagementPolicy Parallel), which the scenario's volumeClaim.zones cannot write; let the "
                    "StatefulSet create every ordinal's claim and run the snapshot again; nothing was written"
                )
            if zones:
                written["zones"] = zones
            return written
        return None

    def _zone(self, namespace: str, name: str) -> str | bool | None:
        """The AZ of a claim's EBS volume, None when the claim does not exist yet, False when it binds no AZ."""
        claim = self.claims.get((namespace, name))
        if claim is None:
            return None
        where = f"claim {namespace}/{name}"
        provisioner = _provisioner(claim)
        if provisioner in ANY_ZONE_PROVISIONERS:
            return False
        if provisioner is not None and provisioner not in EBS_PROVISIONERS:
            raise SnapshotError(
                f"{where} is provisioned by {provisioner!r}, which the snapshot cannot tell the AZ of (it knows EBS "
                "and EFS); remove the StatefulSet from the cluster you snapshot or write its volumeClaim by hand; "
                "nothing was written"
            )
        volume = _volume_name(claim)
        if volume is None:
            phase = claim.status.phase if claim.status is not None else None
            raise SnapshotError(
                f"{where} is {phase or 'not bound'}, so its volume and AZ are not known yet; wait until it is Bound "
                f"(kubectl get pvc -n {namespace} {name}) and run the snapshot again; nothing was written"
            )
        if volume not in self.zones and provisioner is None:
            raise SnapshotError(
                f"{where} names no provisioner and its PersistentVolume {volume} is no EBS volume tagged "
                f"{PV_NAME_TAG}: a volume made by hand (EFS?) whose AZ the snapshot cannot tell; remove the "
                "StatefulSet from the cluster you snapshot or write its volumeClaim by hand; nothing was written"
            )
        if volume not in self.zones:
            raise SnapshotError(
                f"{where} is bound to PersistentVolume {volume}, but no EBS volume tagged {PV_NAME_TAG}={volume} "
                "was found, so its AZ is not known; check the volume (kubectl get pv) and that the snapshot reads "
                "the cluster's Region; nothing was written"
            )
        return self.zones[volume]
