"""ApplyEniConfigs over a small in-memory Kubernetes API (tests/fixtures/fake_kube.py): created when
missing, adopted when identical, merge-patched when different (with a warning when not podcidr's), and
a missing CRD said as such. The twin's tests run it against a real API server."""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes.client.exceptions import ApiException

from podcidr.errors import EniConfigCrdMissing
from podcidr.kube.client import ENI_CONFIG_CRD
from podcidr.models.migration import EniConfig, Migration
from podcidr.steps.apply_eni_configs import apply_eni_configs, eni_config_body
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.vpc_topology import AZS, Topology, seed_migration

CRD = {"metadata": {"name": ENI_CONFIG_CRD}, "spec": {"versions": [{"name": "v1alpha1", "served": True}]}}
KIND = ENI_CONFIG_CRD
OURS = {"app.kubernetes.io/managed-by": "podcidr"}


def _migration() -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    for number, subnet in enumerate(migration.pod_subnets):
        subnet.subnet_id = f"subnet-pod{number}"
    migration.eni_configs = [EniConfig(name=az, availability_zone=az, security_groups=["sg-2", "sg-1"]) for az in AZS]
    return migration


def _eni_config(name: str, subnet: str, groups: list[str], labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
        "kind": "ENIConfig",
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"subnet": subnet, "securityGroups": groups},
    }


def _apply(kube: FakeKube, migration: Migration | None = None) -> Migration:
    return apply_eni_configs(migration or _migration(), cast(Any, kube))


def test_one_eni_config_per_az_is_created_pointing_at_its_pod_subnet() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD])
    migration = _apply(kube)
    assert [c.subnet for c in migration.eni_configs] == ["subnet-pod0", "subnet-pod1", "subnet-pod2"]
    assert [c.created for c in migration.eni_configs] == [True, True, True]
    assert migration.changes == 3
    assert kube.objects[KIND] == [_eni_config(az, f"subnet-pod{n}", ["sg-2", "sg-1"], OURS) for n, az in enumerate(AZS)]


def test_a_rerun_adopts_them_with_no_change() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD])
    _apply(kube)
    kube.custom.requests.clear()
    migration = _apply(kube)
    assert kube.custom.requests == [f"get {az}" for az in AZS]  # reads only, no create refused as existing
    assert migration.changes == 0 and [c.created for c in migration.eni_configs] == [False, False, False]


def test_the_same_groups_in_another_order_are_the_same_eni_config() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD], **{KIND: [_eni_config(AZS[0], "subnet-pod0", ["sg-1", "sg-2"])]})
    migration = _apply(kube)
    assert [c.created for c in migration.eni_configs] == [False, True, True]
    assert migration.warnings == []


def test_a_different_one_of_someone_else_is_patched_ours_with_a_warning() -> None:
    theirs = _eni_config(AZS[1], "subnet-old", ["sg-9"], {"team": "net"})
    kube = FakeKube(CustomResourceDefinition=[CRD], **{KIND: [theirs]})
    migration = _apply(kube)
    assert kube.custom.mutating == [f"create {AZS[0]}", f"patch {AZS[1]}", f"create {AZS[2]}"]
    patched = kube.objects[KIND][0]
    assert patched["spec"] == {"subnet": "subnet-pod1", "securityGroups": ["sg-2", "sg-1"]}
    assert patched["metadata"]["labels"] == {"team": "net", **OURS}
    assert migration.changes == 3
    assert migration.warnings == [
        f"ENIConfig {AZS[1]} existed and was not podcidr's (subnet subnet-old, security groups ['sg-9']); podcidr "
        "set subnet subnet-pod1 and security groups ['sg-2', 'sg-1']."
    ]


def test_a_different_one_of_ours_is_patched_without_a_warning() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD], **{KIND: [_eni_config(AZS[0], "subnet-pod0", ["sg-2"], OURS)]})
    migration = _apply(kube)
    assert kube.objects[KIND][0]["spec"]["securityGroups"] == ["sg-2", "sg-1"]
    assert migration.changes == 3 and migration.warnings == []


def test_a_subnet_already_set_is_kept() -> None:
    migration = _migration()
    migration.eni_configs[0].subnet = "subnet-given"
    kube = FakeKube(CustomResourceDefinition=[CRD])
    _apply(kube, migration)
    assert kube.objects[KIND][0]["spec"]["subnet"] == "subnet-given"


def test_an_az_without_a_pod_subnet_is_refused() -> None:
    migration = _migration()
    migration.pod_subnets[2].subnet_id = None
    with pytest.raises(EniConfigCrdMissing, match=f"No pod subnet is known for {AZS[2]}"):
        _apply(FakeKube(CustomResourceDefinition=[CRD]), migration)


def test_without_the_crd_it_says_the_vpc_cni_needs_repair() -> None:
    with pytest.raises(EniConfigCrdMissing) as raised:
        _apply(FakeKube())
    assert raised.value.cause == (
        "Cluster eksworkshop does not serve crd.k8s.amazonaws.com/v1alpha1 ENIConfigs (404): the VPC CNI's ENIConfig "
        "CRD is missing. Reinstall or repair the VPC CNI, then run podcidr again."
    )


def test_one_created_meanwhile_is_compared_not_created_twice() -> None:
    """Create answers 409 (another run made it between the read and the create): it is read again."""
    kube = FakeKube(CustomResourceDefinition=[CRD])
    create = kube.custom.create_cluster_custom_object

    def racing(group: str, version: str, plural: str, body: dict[str, Any]) -> Any:
        kube.objects.setdefault(KIND, []).append(_eni_config(body["metadata"]["name"], "subnet-x", ["sg-1"], OURS))
        return create(group, version, plural, body)

    kube.custom.create_cluster_custom_object = racing  # type: ignore[method-assign]
    migration = _apply(kube)
    assert [c["spec"]["subnet"] for c in kube.objects[KIND]] == ["subnet-pod0", "subnet-pod1", "subnet-pod2"]
    assert kube.custom.mutating == [f"patch {az}" for az in AZS]
    assert migration.changes == 3


def test_one_gone_again_after_a_conflicting_create_is_said_as_a_missing_crd() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD])

    def conflict(group: str, version: str, plural: str, body: dict[str, Any]) -> Any:
        raise ApiException(status=409, reason="AlreadyExists")

    kube.custom.create_cluster_custom_object = conflict  # type: ignore[method-assign]
    with pytest.raises(
        EniConfigCrdMissing, match=r"^Cluster eksworkshop does not serve crd\.k8s\.amazonaws\.com/v1alpha1"
    ):
        _apply(kube)


def test_a_create_that_fails_otherwise_is_raised() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD])

    def invalid(group: str, version: str, plural: str, body: dict[str, Any]) -> Any:
        raise ApiException(status=422, reason="Unprocessable Entity")

    kube.custom.create_cluster_custom_object = invalid  # type: ignore[method-assign]
    with pytest.raises(ApiException, match="422"):
        _apply(kube)


def test_the_body_is_an_eni_config_labelled_ours() -> None:
    config = EniConfig(name="az-1", availability_zone="az-1", subnet="subnet-1", security_groups=["sg-1"])
    assert eni_config_body(config) == _eni_config("az-1", "subnet-1", ["sg-1"], OURS)
