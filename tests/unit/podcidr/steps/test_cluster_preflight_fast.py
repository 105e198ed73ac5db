"""ClusterPreflight's volume-zone check through the step (fake_kube): the AZs a pod with a zonal volume can move
to are the replacements' and those of the nodes that stay, never those of the nodes being replaced. The
other checks: test_cluster_preflight.py; the zone rules themselves: test_volume_zones.py."""

from __future__ import annotations

from typing import Any, cast

import pytest

from podcidr.errors import UnsupportedCluster
from podcidr.kube.client import ENI_CONFIG_CRD
from podcidr.models.migration import Migration, NodegroupConfig, NodegroupReplacement
from podcidr.steps.cluster_preflight import cluster_preflight
from tests.fixtures.fake_kube import FakeKube, node, pod
from tests.fixtures.vpc_topology import Topology, seed_migration

NODEGROUP = "eks.amazonaws.com/nodegroup"
ZONE = "topology.kubernetes.io/zone"
A, B, C = "ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"


def _migration() -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    config = NodegroupConfig(
        subnets=["subnet-1"],
        node_role="arn:aws:iam::111122223333:role/nodes",
        scaling_config={"minSize": 1, "maxSize": 3, "desiredSize": 2},
    )
    migration.nodegroups = [
        NodegroupReplacement(replaced="web", by="web-podcidr", config=config, availability_zones=[A])
    ]
    return migration


def _volume(name: str, zone: str) -> dict[str, Any]:
    expression = {"key": ZONE, "operator": "In", "values": [zone]}
    affinity = {"required": {"nodeSelectorTerms": [{"matchExpressions": [expression]}]}}
    return {"metadata": {"name": name}, "spec": {"capacity": {"storage": "10Gi"}, "nodeAffinity": affinity}}


def _db_pod(name: str, claim: str) -> dict[str, Any]:
    found = pod(name, "old-b", "192.168.2.20", namespace="shop", labels={"app": "db"})
    found["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return found


def _cluster(volume_zone: str) -> FakeKube:
    """Node old-b of nodegroup web (being replaced) in B; nodes that stay in C, and one without a zone label or
    any label at all; a pod on old-b whose volume is bound to `volume_zone`."""
    bare = {"metadata": {"name": "bare"}, "status": {}}
    return FakeKube(
        CustomResourceDefinition=[{"metadata": {"name": ENI_CONFIG_CRD}}],
        Node=[
            node("old-b", "192.168.2.1", {NODEGROUP: "web", ZONE: B}),
            node("kept-c", "192.168.3.1", {NODEGROUP: "batch", ZONE: C}),
            node("kept-unzoned", "192.168.3.2", {NODEGROUP: "batch"}),
            bare,
        ],
        Pod=[_db_pod("db-0", "data-db-0")],
        PersistentVolume=[_volume("pv-db-0", volume_zone)],
        PersistentVolumeClaim=[
            {"metadata": {"name": "data-db-0", "namespace": "shop"}, "spec": {"volumeName": "pv-db-0"}}
        ],
    )


def test_a_volume_in_the_zone_of_a_node_that_stays_can_move_there() -> None:
    migration = cluster_preflight(_migration(), cast(Any, _cluster(C)))
    assert migration.warnings == []


def test_a_volume_in_the_zone_of_the_replaced_nodes_only_is_refused_naming_the_zones_covered() -> None:
    with pytest.raises(UnsupportedCluster) as raised:
        cluster_preflight(_migration(), cast(Any, _cluster(B)))
    assert raised.value.cause == (
        f"Pods with volumes bound to an availability zone could not move: shop/db-0 (on web) in {B}, but no "
        f"replacement nodegroup has a node subnet there (they cover {A}, {C}). An EBS volume attaches only in its "
        "own AZ. Give the nodegroup a node subnet in that AZ (or move the workload), then run podcidr again. "
        "Nothing was changed."
    )
