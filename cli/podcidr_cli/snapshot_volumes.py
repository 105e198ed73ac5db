"""A StatefulSet's volumes as the scenario's `volumeClaim: {size, zones}`: read from its first
volumeClaimTemplate whose claims the EBS CSI driver provisions (an EBS volume lives in one AZ and
pins its pod there), with the AZ of each ordinal's volume from EC2.

The claims are read for their provisioner (`volume.kubernetes.io/storage-provisioner`, on the claim:
PersistentVolumes and StorageClasses are cluster-scoped, which AmazonEKSViewPolicy does not read);
the AZs from the EBS volumes the driver tagged with their claim (`kubernetes.io/created-for/pvc/...`,
ec2:DescribeVolumes). A template whose claims another driver provisions (EFS: any AZ) is not bound
to an AZ and is not written; one without claims yet is taken as EBS, EKS's block storage.
`zones` lists the AZs of ordinals 0, 1, ... up to the first one without a volume.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

from podcidr_cli.snapshot_common import SnapshotError, paginate, tag

EBS_PROVISIONERS = frozenset({"ebs.csi.aws.com", "kubernetes.io/aws-ebs"})
PROVISIONER_ANNOTATIONS = ("volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")
PVC_NAME_TAG = "kubernetes.io/created-for/pvc/name"
PVC_NAMESPACE_TAG = "kubernetes.io/created-for/pvc/namespace"
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


class ZonalVolumes:
    """The cluster's claims and the EBS volumes made for them, read once."""

    def __init__(self, kube: Any, ec2: Any) -> None:
        self.claims = {
            (c.metadata.namespace, c.metadata.name): c
            for c in kube.core.list_persistent_volume_claim_for_all_namespaces().items
        }
        volumes = paginate(ec2, "describe_volumes", "Volumes", Filters=[{"Name": "tag-key", "Values": [PVC_NAME_TAG]}])
        self.zones = {(tag(v, PVC_NAMESPACE_TAG), tag(v, PVC_NAME_TAG)): str(v["AvailabilityZone"]) for v in volumes}

    def volume_claim(self, statefulset: Any) -> dict[str, Any] | None:
        namespace, name = statefulset.metadata.namespace, statefulset.metadata.name
        replicas = statefulset.spec.replicas if statefulset.spec.replicas is not None else 1
        for template in statefulset.spec.volume_claim_templates or []:
            claims = [f"{template.metadata.name}-{name}-{i}" for i in range(replicas)]
            if not self._zonal(namespace, claims):
                continue
            requests = (template.spec.resources.requests if template.spec.resources else None) or {}
            where = f"StatefulSet {namespace}/{name}'s volumeClaimTemplate {template.metadata.name!r}"
            written: dict[str, Any] = {"size": scenario_size(str(requests.get("storage", "1Gi")), where)}
            zones = []
            for claim in claims:
                zone = self.zones.get((namespace, claim))
                if zone is None:
                    break
                zones.append(zone)
            if zones:
                written["zones"] = zones
            return written
        return None

    def _zonal(self, namespace: str, claims: list[str]) -> bool:
        provisioners = set()
        for claim in claims:
            if (namespace, claim) in self.zones:
                return True
            found = self.claims.get((namespace, claim))
            annotations = (found.metadata.annotations or {}) if found is not None else {}
            provisioners |= {annotations[a] for a in PROVISIONER_ANNOTATIONS if a in annotations}
        return not provisioners or bool(provisioners & EBS_PROVISIONERS)
