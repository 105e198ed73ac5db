"""A StatefulSet's volumes as the snapshot writes them: sizes in the scenario's units, EBS claims
with the AZ of each ordinal's volume up to the first one without, EFS claims (no AZ) not at all."""

from __future__ import annotations

from types import SimpleNamespace as Obj
from typing import Any

import pytest

from podcidr_cli.snapshot_common import SnapshotError
from podcidr_cli.snapshot_volumes import ZonalVolumes, scenario_size


@pytest.mark.parametrize(
    ("quantity", "written"),
    [("10Gi", "10Gi"), ("500Mi", "500Mi"), ("1.5Gi", "2Gi"), ("10G", "10Gi"), ("100M", "96Mi"), ("2Ti", "2048Gi")],
)
def test_sizes_are_written_in_the_scenarios_units_rounded_up(quantity: str, written: str) -> None:
    assert scenario_size(quantity, "here") == written


def test_a_size_the_scenario_cannot_write_is_refused_naming_the_template() -> None:
    with pytest.raises(SnapshotError, match=r"StatefulSet data/db.*'1e3'.*nothing was written"):
        scenario_size("1e3", "StatefulSet data/db's volumeClaimTemplate 'data'")


class _Ec2:
    def __init__(self, volumes: list[dict[str, Any]]) -> None:
        self.volumes = volumes

    def get_paginator(self, operation: str) -> Any:
        assert operation == "describe_volumes"
        return Obj(paginate=lambda **request: [{"Volumes": self.volumes}])


def _volume(claim: str, zone: str) -> dict[str, Any]:
    tags = [
        {"Key": "kubernetes.io/created-for/pvc/name", "Value": claim},
        {"Key": "kubernetes.io/created-for/pvc/namespace", "Value": "data"},
    ]
    return {"AvailabilityZone": zone, "Tags": tags}


def _claim(name: str, provisioner: str) -> Any:
    annotations = {"volume.kubernetes.io/storage-provisioner": provisioner}
    return Obj(metadata=Obj(namespace="data", name=name, annotations=annotations))


def _statefulset(replicas: int) -> Any:
    template = Obj(metadata=Obj(name="data"), spec=Obj(resources=Obj(requests={"storage": "20Gi"})))
    return Obj(
        metadata=Obj(namespace="data", name="db"), spec=Obj(replicas=replicas, volume_claim_templates=[template])
    )


def _volumes(claims: list[Any], volumes: list[dict[str, Any]]) -> ZonalVolumes:
    kube = Obj(core=Obj(list_persistent_volume_claim_for_all_namespaces=lambda: Obj(items=claims)))
    return ZonalVolumes(kube, _Ec2(volumes))


def test_ebs_volumes_give_each_ordinals_zone_up_to_the_first_without_one() -> None:
    volumes = _volumes(
        [_claim(f"data-db-{i}", "ebs.csi.aws.com") for i in range(3)],
        [_volume("data-db-0", "ap-southeast-1b"), _volume("data-db-2", "ap-southeast-1a")],
    )
    assert volumes.volume_claim(_statefulset(3)) == {"size": "20Gi", "zones": ["ap-southeast-1b"]}


def test_claims_not_yet_provisioned_are_taken_as_ebs_without_zones() -> None:
    assert _volumes([], []).volume_claim(_statefulset(2)) == {"size": "20Gi"}


def test_efs_claims_bind_no_zone_and_are_not_written() -> None:
    volumes = _volumes([_claim(f"data-db-{i}", "efs.csi.aws.com") for i in range(2)], [])
    assert volumes.volume_claim(_statefulset(2)) is None
