"""A StatefulSet's volumes as the snapshot writes them: sizes in the scenario's units, EBS claims
with the AZ of each ordinal's volume (the one tagged with its PersistentVolume), EFS claims (no AZ) not at all."""

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
        self.requests: list[dict[str, Any]] = []

    def get_paginator(self, operation: str) -> Any:
        assert operation == "describe_volumes"
        return Obj(paginate=self._paginate)

    def _paginate(self, **request: Any) -> list[dict[str, Any]]:
        """Filters as EC2 applies them: tag:KEY matches volumes whose KEY tag has one of the values."""
        self.requests.append(request)
        (only,) = request["Filters"]
        assert only["Name"].startswith("tag:") and len(only["Values"]) <= 200
        key = only["Name"][len("tag:") :]
        tagged = [v for v in self.volumes if any(t["Key"] == key and t["Value"] in only["Values"] for t in v["Tags"])]
        return [{"Volumes": tagged}]


def _volume(claim: str, zone: str, pv: str | None = None, state: str = "in-use") -> dict[str, Any]:
    tags = [
        {"Key": "kubernetes.io/created-for/pvc/name", "Value": claim},
        {"Key": "kubernetes.io/created-for/pvc/namespace", "Value": "data"},
        {"Key": "kubernetes.io/created-for/pv/name", "Value": pv or f"pvc-{claim}"},
    ]
    return {"AvailabilityZone": zone, "State": state, "Tags": tags}


def _claim(name: str, provisioner: str | None, phase: str = "Bound", pv: str | None = None) -> Any:
    annotations = {"volume.kubernetes.io/storage-provisioner": provisioner} if provisioner else {}
    volume_name = (pv or f"pvc-{name}") if phase == "Bound" else None
    return Obj(
        metadata=Obj(namespace="data", name=name, annotations=annotations),
        spec=Obj(volume_name=volume_name),
        status=Obj(phase=phase),
    )


def _statefulset(replicas: int, start: int | None = None) -> Any:
    template = Obj(metadata=Obj(name="data"), spec=Obj(resources=Obj(requests={"storage": "20Gi"})))
    ordinals = Obj(start=start) if start is not None else None
    return Obj(
        metadata=Obj(namespace="data", name="db"),
        spec=Obj(replicas=replicas, volume_claim_templates=[template], ordinals=ordinals),
    )


def _volumes(claims: list[Any], volumes: list[dict[str, Any]], *statefulsets: Any) -> ZonalVolumes:
    kube = Obj(core=Obj(list_persistent_volume_claim_for_all_namespaces=lambda: Obj(items=claims)))
    return ZonalVolumes(kube, _Ec2(volumes), statefulsets or [_statefulset(3)])


def test_ebs_volumes_give_each_ordinals_zone_up_to_the_last_claim() -> None:
    volumes = _volumes(
        [_claim(f"data-db-{i}", "ebs.csi.aws.com") for i in range(2)],
        [_volume("data-db-0", "ap-southeast-1b"), _volume("data-db-1", "ap-southeast-1a")],
    )
    assert volumes.volume_claim(_statefulset(3)) == {"size": "20Gi", "zones": ["ap-southeast-1b", "ap-southeast-1a"]}


def test_the_volume_is_the_one_tagged_with_the_claims_persistent_volume_not_any_with_its_claim_name() -> None:
    """Another cluster's claim of the same name, or a Retain volume of a deleted claim, carries the same pvc tags."""
    other = _volume("data-db-0", "ap-southeast-1a", pv="pvc-other-cluster")
    retained = _volume("data-db-0", "ap-southeast-1c", pv="pvc-deleted-claim")
    mine = _volume("data-db-0", "ap-southeast-1b", pv="pvc-mine")
    for listed in ([other, mine, retained], [mine, retained, other]):
        volumes = _volumes([_claim("data-db-0", "ebs.csi.aws.com", pv="pvc-mine")], listed, _statefulset(1))
        assert volumes.volume_claim(_statefulset(1)) == {"size": "20Gi", "zones": ["ap-southeast-1b"]}


def test_a_volume_being_deleted_is_not_the_claims() -> None:
    volumes = _volumes(
        [_claim("data-db-0", "ebs.csi.aws.com")], [_volume("data-db-0", "ap-southeast-1a", state="deleting")]
    )
    with pytest.raises(SnapshotError, match=r"claim data/data-db-0 .*pvc-data-db-0.*no EBS volume"):
        volumes.volume_claim(_statefulset(3))


def test_volumes_are_asked_for_by_at_most_200_persistent_volume_names_at_a_time() -> None:
    claims = [_claim(f"data-db-{i}", "ebs.csi.aws.com") for i in range(450)]
    ec2 = _Ec2([_volume(f"data-db-{i}", "ap-southeast-1a") for i in range(450)])
    kube = Obj(core=Obj(list_persistent_volume_claim_for_all_namespaces=lambda: Obj(items=claims)))
    volumes = ZonalVolumes(kube, ec2, [_statefulset(450)])
    assert [len(r["Filters"][0]["Values"]) for r in ec2.requests] == [200, 200, 50]
    assert volumes.volume_claim(_statefulset(450))["zones"] == ["ap-southeast-1a"] * 450


def test_ordinals_start_names_the_claims() -> None:
    statefulset = _statefulset(2, start=5)
    volumes = _volumes(
        [_claim(f"data-db-{i}", "ebs.csi.aws.com") for i in (5, 6)],
        [_volume("data-db-5", "ap-southeast-1c"), _volume("data-db-6", "ap-southeast-1a")],
        statefulset,
    )
    assert volumes.volume_claim(statefulset) == {"size": "20Gi", "zones": ["ap-southeast-1c", "ap-southeast-1a"]}


def test_a_gap_in_the_ordinals_the_scenario_cannot_write_is_refused_not_cut_short() -> None:
    """podManagementPolicy Parallel: ordinal 2 may have its claim before ordinal 1."""
    volumes = _volumes(
        [_claim(f"data-db-{i}", "ebs.csi.aws.com") for i in (0, 2)],
        [_volume("data-db-0", "ap-southeast-1b"), _volume("data-db-2", "ap-southeast-1a")],
    )
    with pytest.raises(SnapshotError, match=r"no claim data-db-1.*Parallel.*nothing was written"):
        volumes.volume_claim(_statefulset(3))


def test_a_claim_not_bound_yet_is_refused_naming_it() -> None:
    volumes = _volumes(
        [_claim("data-db-0", "ebs.csi.aws.com"), _claim("data-db-1", "ebs.csi.aws.com", phase="Pending")],
        [_volume("data-db-0", "ap-southeast-1b")],
    )
    with pytest.raises(SnapshotError, match=r"claim data/data-db-1 is Pending.*wait until it is Bound"):
        volumes.volume_claim(_statefulset(2))


def test_a_bound_ebs_claim_without_its_volume_is_refused_naming_it() -> None:
    volumes = _volumes([_claim("data-db-0", "ebs.csi.aws.com")], [])
    with pytest.raises(SnapshotError, match=r"claim data/data-db-0 is bound to PersistentVolume pvc-data-db-0"):
        volumes.volume_claim(_statefulset(1))


def test_a_claim_of_an_unknown_provisioner_is_refused_naming_it() -> None:
    volumes = _volumes([_claim("data-db-0", "fsx.csi.aws.com")], [])
    with pytest.raises(SnapshotError, match=r"claim data/data-db-0 is provisioned by 'fsx.csi.aws.com'"):
        volumes.volume_claim(_statefulset(1))


def test_a_hand_made_volume_without_provisioner_is_not_taken_as_ebs() -> None:
    volumes = _volumes([_claim("data-db-0", None, pv="efs-data")], [])
    with pytest.raises(SnapshotError, match=r"claim data/data-db-0 names no provisioner.*efs-data.*by hand"):
        volumes.volume_claim(_statefulset(1))


def test_a_static_ebs_volume_without_provisioner_but_tagged_with_its_pv_is_ebs() -> None:
    volumes = _volumes([_claim("data-db-0", None)], [_volume("data-db-0", "ap-southeast-1c")])
    assert volumes.volume_claim(_statefulset(1)) == {"size": "20Gi", "zones": ["ap-southeast-1c"]}


def test_claims_not_yet_provisioned_are_taken_as_ebs_without_zones() -> None:
    assert _volumes([], []).volume_claim(_statefulset(2)) == {"size": "20Gi"}


def test_efs_claims_bind_no_zone_and_are_not_written() -> None:
    volumes = _volumes([_claim(f"data-db-{i}", "efs.csi.aws.com") for i in range(2)], [])
    assert volumes.volume_claim(_statefulset(2)) is None
