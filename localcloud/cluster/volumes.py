"""The EBS CSI driver with WaitForFirstConsumer binding, as a StatefulSet's claims meet it on EKS.

A PersistentVolumeClaim that names a storage class waits for its first pod to be scheduled; then the
driver creates an EBS volume (CreateVolume, in moto) in the AZ of the pod's node, tagged as the
external-provisioner tags it, and a PersistentVolume whose nodeAffinity requires that zone
(`topology.kubernetes.io/zone`, the well-known key the driver uses), and binds the claim. An EBS
volume attaches only to instances of its AZ, so from then on the scheduler places the pod only on
nodes of that zone ("volume node affinity conflict" elsewhere). The twin serves no StorageClass
objects: every claim with a `storageClassName` is this driver's.
"""

from __future__ import annotations

import math
from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore

Obj = dict[str, Any]
PVCS = "v1/persistentvolumeclaims"
PVS = "v1/persistentvolumes"
ZONE_LABEL = "topology.kubernetes.io/zone"
DRIVER = "ebs.csi.aws.com"
STORAGE_CLASS = "gp3"
_GIB = {"Mi": 1 / 1024, "Gi": 1, "Ti": 1024}


def size_in_gib(quantity: str) -> int:
    """An EBS volume's size for a claim's request: whole GiB, rounded up (the driver's rounding)."""
    for suffix, factor in _GIB.items():
        if quantity.endswith(suffix):
            return max(1, math.ceil(int(quantity[: -len(suffix)]) * factor))
    raise ValueError(f"not a storage size the twin takes (Mi, Gi, Ti): {quantity!r}")


def claim_names(pod: Obj) -> list[str]:
    return [
        str(v["persistentVolumeClaim"]["claimName"])
        for v in pod.get("spec", {}).get("volumes") or []
        if v.get("persistentVolumeClaim", {}).get("claimName")
    ]


def volume_zone(pv: Obj) -> str | None:
    """The zone a PersistentVolume's required nodeAffinity pins it to, if any."""
    terms = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required", {}).get("nodeSelectorTerms") or []
    for term in terms:
        for expression in term.get("matchExpressions") or []:
            if expression.get("key") == ZONE_LABEL and expression.get("operator") == "In":
                values = expression.get("values") or []
                if values:
                    return str(values[0])
    return None


class Volumes:
    def __init__(self, store: ObjectStore, ec2: Any, *, cluster_name: str) -> None:
        self.store = store
        self.ec2 = ec2
        self.cluster_name = cluster_name

    def required_zones(self) -> dict[tuple[str, str], str]:
        """(namespace, claim) -> the zone its bound volume requires."""
        zones = {}
        for pv in self.store.peek(PVS):
            claim = (pv.get("spec") or {}).get("claimRef") or {}
            zone = volume_zone(pv)
            if claim and zone:
                zones[(str(claim.get("namespace")), str(claim.get("name")))] = zone
        return zones

    def pod_zone(self, pod: Obj, zones: dict[tuple[str, str], str]) -> str | None:
        namespace = pod["metadata"]["namespace"]
        for claim in claim_names(pod):
            if (namespace, claim) in zones:
                return zones[(namespace, claim)]
        return None

    def provision_for(self, pod: Obj, node: Obj) -> None:
        """The claims of a pod just placed on `node` that wait for their first consumer: provisioned
        in the node's zone and bound."""
        namespace = pod["metadata"]["namespace"]
        zone = str((node["metadata"].get("labels") or {}).get(ZONE_LABEL, ""))
        for name in claim_names(pod):
            claim = self.store.find(PVCS, name, namespace=namespace)
            if claim is None or claim["spec"].get("volumeName") or not claim["spec"].get("storageClassName"):
                continue
            self.provision(claim, zone, node["metadata"]["name"])

    def provision(self, claim: Obj, zone: str, node_name: str | None = None) -> None:
        meta, spec = claim["metadata"], claim["spec"]
        gib = size_in_gib(str(spec["resources"]["requests"]["storage"]))
        size = f"{gib}Gi"  # the capacity the driver provisions and reports, not the request
        pv_name = f"pvc-{meta['uid']}"
        volume = self.ec2.create_volume(
            AvailabilityZone=zone,
            Size=gib,
            VolumeType="gp3",
            TagSpecifications=[
                {
                    "ResourceType": "volume",
                    "Tags": [
                        {"Key": "CSIVolumeName", "Value": pv_name},
                        {"Key": "ebs.csi.aws.com/cluster", "Value": "true"},
                        {"Key": "kubernetes.io/created-for/pv/name", "Value": pv_name},
                        {"Key": "kubernetes.io/created-for/pvc/name", "Value": meta["name"]},
                        {"Key": "kubernetes.io/created-for/pvc/namespace", "Value": meta["namespace"]},
                        {"Key": f"kubernetes.io/cluster/{self.cluster_name}", "Value": "owned"},
                    ],
                }
            ],
        )
        modes = list(spec.get("accessModes") or ["ReadWriteOnce"])
        self.store.create(
            PVS,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {
                    "name": pv_name,
                    "annotations": {"pv.kubernetes.io/provisioned-by": DRIVER},
                    "finalizers": ["kubernetes.io/pv-protection", "external-attacher/ebs-csi-aws-com"],
                },
                "spec": {
                    "accessModes": modes,
                    "capacity": {"storage": size},
                    "claimRef": {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "name": meta["name"],
                        "namespace": meta["namespace"],
                        "uid": meta["uid"],
                    },
                    "csi": {"driver": DRIVER, "fsType": "ext4", "volumeHandle": volume["VolumeId"]},
                    "nodeAffinity": {
                        "required": {
                            "nodeSelectorTerms": [
                                {"matchExpressions": [{"key": ZONE_LABEL, "operator": "In", "values": [zone]}]}
                            ]
                        }
                    },
                    "persistentVolumeReclaimPolicy": "Delete",
                    "storageClassName": spec.get("storageClassName"),
                    "volumeMode": spec.get("volumeMode", "Filesystem"),
                },
            },
        )
        self._set_status(PVS, pv_name, None, {"phase": "Bound"})

        def bind(obj: Obj) -> None:
            annotations = obj["metadata"].setdefault("annotations", {})
            annotations.update(
                {
                    "pv.kubernetes.io/bind-completed": "yes",
                    "pv.kubernetes.io/bound-by-controller": "yes",
                    "volume.beta.kubernetes.io/storage-provisioner": DRIVER,
                    "volume.kubernetes.io/storage-provisioner": DRIVER,
                }
            )
            if node_name:
                annotations["volume.kubernetes.io/selected-node"] = node_name
            obj["spec"]["volumeName"] = pv_name

        self.store.mutate(PVCS, meta["name"], bind, namespace=meta["namespace"])
        self._set_status(
            PVCS,
            meta["name"],
            meta["namespace"],
            {"phase": "Bound", "accessModes": modes, "capacity": {"storage": size}},
        )

    def _set_status(self, key: str, name: str, namespace: str | None, status: Obj) -> None:
        def change(obj: Obj) -> None:
            obj["status"] = status

        try:
            self.store.mutate(key, name, change, namespace=namespace, subresource="status")
        except ApiError as error:
            if error.code != 404:
                raise
