"""The EBS CSI driver's volumes as it provisions them: whole GiB, the capacity the claim and the
PersistentVolume report (not the request), tagged with the PersistentVolume's name."""

from __future__ import annotations

from typing import Any

from localcloud.cluster.volumes import PVCS, PVS, Volumes
from localcloud.kube.store import ObjectStore


class _Ec2:
    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create_volume(self, **request: Any) -> dict[str, Any]:
        self.created.append(request)
        return {"VolumeId": f"vol-{len(self.created)}"}


def test_a_500mi_claim_gets_a_1gi_volume_and_both_report_1gi() -> None:
    store, ec2 = ObjectStore(), _Ec2()
    store.create("v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})
    store.create(
        PVCS,
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": "data-db-0", "namespace": "default"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "gp3",
                "resources": {"requests": {"storage": "500Mi"}},
            },
        },
    )
    claim = store.get(PVCS, "data-db-0", namespace="default")
    Volumes(store, ec2, cluster_name="c").provision(claim, "ap-southeast-1a")
    [request] = ec2.created
    assert request["Size"] == 1
    claim = store.get(PVCS, "data-db-0", namespace="default")
    pv = store.get(PVS, claim["spec"]["volumeName"])
    assert claim["status"]["capacity"] == {"storage": "1Gi"} and pv["spec"]["capacity"] == {"storage": "1Gi"}
    assert claim["spec"]["resources"]["requests"]["storage"] == "500Mi"
    tags = {t["Key"]: t["Value"] for t in request["TagSpecifications"][0]["Tags"]}
    assert tags["kubernetes.io/created-for/pv/name"] == pv["metadata"]["name"]
