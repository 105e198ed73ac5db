"""Pods whose volumes are bound to an AZ, and whether the replacements can take them (ClusterPreflight),
over fake_kube. The same on the twin, with the EBS CSI driver's volumes: tests/localcloud/cluster."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.errors import UnsupportedCluster
from podcidr.models.migration import NodegroupConfig, NodegroupReplacement
from podcidr.steps.volume_zones import check_volume_zones, zonal_pods, zone_of
from tests.fixtures.fake_kube import FakeKube, pod


def _volume(name: str, *terms: list[dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = {"capacity": {"storage": "10Gi"}}
    if terms:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": t} for t in terms]}}
    return {"metadata": {"name": name}, "spec": spec}


def _zone(key: str, *zones: str, operator: str = "In") -> dict[str, Any]:
    return {"key": key, "operator": operator, "values": list(zones)}


def _claim(name: str, volume: str | None, namespace: str = "shop") -> dict[str, Any]:
    spec = {"volumeName": volume} if volume else {}
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _with_claims(name: str, node_name: str, *claims: str, namespace: str = "shop") -> dict[str, Any]:
    found = pod(name, node_name, "10.0.0.9", namespace=namespace)
    found["spec"]["volumes"] = [{"name": "config", "configMap": {"name": "x"}}] + [
        {"name": f"data-{c}", "persistentVolumeClaim": {"claimName": c}} for c in claims
    ]
    return found


def test_a_volume_s_zone_is_its_single_required_zone_under_any_of_the_three_labels() -> None:
    assert zone_of(_volume("a", [_zone("topology.kubernetes.io/zone", "us-west-2a")])) == "us-west-2a"
    assert zone_of(_volume("b", [_zone("topology.ebs.csi.aws.com/zone", "us-west-2b")])) == "us-west-2b"
    assert zone_of(_volume("c", [_zone("failure-domain.beta.kubernetes.io/zone", "us-west-2c")])) == "us-west-2c"
    same_twice = _volume(
        "d",
        [_zone("topology.kubernetes.io/zone", "us-west-2a")],
        [_zone("topology.ebs.csi.aws.com/zone", "us-west-2a")],
    )
    assert zone_of(same_twice) == "us-west-2a"


def test_a_volume_without_a_single_zone_has_none() -> None:
    assert zone_of(_volume("a")) is None
    assert zone_of({"metadata": {"name": "no-spec"}}) is None
    assert zone_of(_volume("b", [_zone("topology.kubernetes.io/zone", "us-west-2a", "us-west-2b")])) is None
    assert (
        zone_of(
            _volume(
                "c",
                [_zone("topology.kubernetes.io/zone", "us-west-2a")],
                [_zone("topology.kubernetes.io/zone", "us-west-2b")],
            )
        )
        is None
    )
    assert zone_of(_volume("d", [_zone("topology.kubernetes.io/zone", "us-west-2a", operator="NotIn")])) is None
    assert zone_of(_volume("e", [_zone("kubernetes.io/hostname", "ip-10-0-0-1")])) is None
    assert zone_of(_volume("f", [{"key": "topology.kubernetes.io/zone", "operator": "In"}])) is None
    assert zone_of(_volume("g", [])) is None


def test_zonal_pods_are_grouped_by_old_nodegroup_and_zone_by_their_first_zonal_claim() -> None:
    kube = FakeKube(
        PersistentVolume=[
            _volume("pv-a", [_zone("topology.kubernetes.io/zone", "us-west-2a")]),
            _volume("pv-b", [_zone("topology.kubernetes.io/zone", "us-west-2b")]),
            _volume("pv-any"),
        ],
        PersistentVolumeClaim=[
            _claim("db-a", "pv-a"),
            _claim("db-b", "pv-b"),
            _claim("cache", "pv-any"),
            _claim("pending", None),
            _claim("db-a", "pv-b", namespace="other"),
        ],
    )
    pods = [
        _with_claims("db-0", "old-1", "cache", "db-a", "db-b"),  # its first zonal claim decides
        _with_claims("db-1", "old-2", "db-b"),
        _with_claims("web-0", "old-1", "cache"),
        _with_claims("queued", "old-1", "pending", "missing"),
        _with_claims("elsewhere", "other-1", "db-a"),  # not on a replaced nodegroup's node
        _with_claims("db-2", "old-1", "db-a", namespace="other"),
        pod("plain", "old-1", "10.0.0.8"),
    ]
    found = zonal_pods(kube, pods, {"old-1": "ng-1", "old-2": "ng-2"})  # type: ignore[arg-type]
    assert found == {
        ("ng-1", "us-west-2a"): ["shop/db-0"],
        ("ng-2", "us-west-2b"): ["shop/db-1"],
        ("ng-1", "us-west-2b"): ["other/db-2"],
    }


def test_no_pod_with_a_claim_reads_no_volume() -> None:
    kube = FakeKube()  # listing volumes would find none; the point is not to ask
    calls: list[str] = []
    kube.core.list_persistent_volume = lambda **_: calls.append("pv")  # type: ignore[method-assign]
    assert zonal_pods(kube, [pod("web", "old-1", "10.0.0.8")], {"old-1": "ng-1"}) == {}  # type: ignore[arg-type]
    assert calls == []


def _replacement(old: str, zones: list[str], desired: int) -> NodegroupReplacement:
    config = NodegroupConfig(
        subnets=["subnet-1"],
        node_role="arn:aws:iam::111122223333:role/nodes",
        scaling_config={"minSize": 1, "maxSize": 5, "desiredSize": desired},
    )
    return NodegroupReplacement(replaced=old, by=f"{old}-podcidr", config=config, availability_zones=zones)


def test_a_zone_no_replacement_nor_staying_node_covers_is_refused_naming_the_pods() -> None:
    nodegroups = [_replacement("ng-1", ["us-west-2a"], 2), _replacement("ng-2", ["us-west-2b"], 2)]
    zonal = {
        ("ng-1", "us-west-2c"): ["shop/db-1", "shop/db-0"],
        ("ng-2", "us-west-2d"): ["shop/cache-0"],
        ("ng-2", "us-west-2e"): ["shop/kept-0"],
        ("ng-1", "us-west-2a"): ["shop/ok-0"],
    }
    with pytest.raises(UnsupportedCluster) as raised:
        check_volume_zones(nodegroups, zonal, {"us-west-2e"})
    assert raised.value.cause == (
        "Pods with volumes bound to an availability zone could not move: shop/db-0, shop/db-1 (on ng-1) in us-west-2c; "
        "shop/cache-0 (on ng-2) in us-west-2d, but no replacement nodegroup has a node subnet there (they cover "
        "us-west-2a, us-west-2b, us-west-2e). An EBS volume attaches only in its own AZ. Give the nodegroup a node "
        "subnet in that AZ (or move the workload), then run podcidr again. Nothing was changed."
    )
    with pytest.raises(UnsupportedCluster, match=r"\(they cover no AZ\)"):
        check_volume_zones([], {("ng-1", "us-west-2a"): ["shop/db-0"]}, set())


def test_fewer_nodes_than_zones_is_a_warning_per_zonal_group() -> None:
    nodegroups = [
        _replacement("ng-1", ["us-west-2a", "us-west-2b", "us-west-2c"], 2),
        _replacement("ng-2", ["us-west-2b"], 1),
    ]
    zonal = {
        ("ng-1", "us-west-2b"): ["shop/db-1", "shop/db-0"],
        ("ng-2", "us-west-2b"): ["shop/cache-0"],
        ("gone", "us-west-2a"): ["shop/x-0"],
    }
    assert check_volume_zones(nodegroups, zonal, set()) == [
        "Nodegroup ng-1-podcidr (replacing ng-1) starts 2 node(s) over 3 AZs, and EC2 Auto Scaling chooses the AZs: "
        "shop/db-0, shop/db-1 need a node in us-west-2b for their volumes. If none starts there they stay Pending and "
        "the drain stops before deleting anything; a desiredSize of at least 3 avoids it."
    ]
    assert (
        check_volume_zones(
            [_replacement("ng-1", ["us-west-2a", "us-west-2b"], 2)], {("ng-1", "us-west-2a"): ["shop/db-0"]}, set()
        )
        == []
    )
    no_desired = _replacement("ng-1", ["us-west-2a"], 1)
    no_desired.config.scaling_config.pop("desiredSize")
    assert check_volume_zones([no_desired], {("ng-1", "us-west-2a"): ["shop/db-0"]}, set())[0].startswith(
        "Nodegroup ng-1-podcidr (replacing ng-1) starts 0 node(s) over 1 AZs"
    )
