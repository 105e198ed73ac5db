"""ClusterPreflight's volume-zone check through the step (fake_kube): the AZs a pod with a zonal volume can move
to are the replacements' and those of the nodes that stay, never those of the nodes being replaced. The
other checks: test_cluster_preflight.py; the zone rules themselves: test_volume_zones.py."""

from __future__ import annotations

from typing import Any, cast

import pytest

from podcidr.errors import CniConfigConflict, UnsupportedCluster
from podcidr.kube.client import ENI_CONFIG_CRD
from podcidr.models.migration import Cni, Migration, NodegroupConfig, NodegroupReplacement
from podcidr.steps.cluster_preflight import cluster_preflight
from tests.fixtures.fake_kube import FakeKube, aws_node, env_entries, node, pod
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


# --- the managed add-on's settings held by another field manager -----------------------------------------------


def _preflight_with_aws_node(env: dict[str, str], manager: str | None, status: str | None = None) -> Migration:
    migration = _migration()
    migration.nodegroups = []
    migration.cni = Cni(via="addon", env={"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}, status=status)
    daemon_set = aws_node(env_entries(env))
    if manager is not None:
        owned = {'k:{"name":"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"}': {".": {}, "f:name": {}, "f:value": {}}}
        fields = {"f:spec": {"f:template": {"f:spec": {"f:containers": {'k:{"name":"aws-node"}': {"f:env": owned}}}}}}
        daemon_set["metadata"]["managedFields"] = [{"manager": manager, "operation": "Update", "fieldsV1": fields}]
    kube = FakeKube(CustomResourceDefinition=[{"metadata": {"name": ENI_CONFIG_CRD}}], DaemonSet=[daemon_set])
    return cluster_preflight(migration, cast(Any, kube))


def test_a_setting_another_field_manager_holds_on_aws_node_is_refused_before_any_change() -> None:
    with pytest.raises(CniConfigConflict) as refused:
        _preflight_with_aws_node({"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false"}, "kubectl-set")
    assert refused.value.cause.startswith(
        "aws-node runs with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false (set by kubectl-set): another field manager than "
        "EKS owns these values, so the vpc-cni add-on update podcidr makes (resolveConflicts PRESERVE) would keep them."
    )
    assert refused.value.cause.endswith("then run again. Nothing was changed.")


@pytest.mark.parametrize(
    ("env", "manager", "status"),
    [
        ({"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false"}, "eks", None),  # EKS's own value: the update replaces it
        ({"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}, "kubectl-set", None),  # already the value asked for
        ({"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false"}, "kubectl-set", "CONFIGURED"),  # no update will be made
    ],
    ids=["eks-owns-it", "same-value", "add-on-configured-before"],
)
def test_settings_no_update_would_keep_pass(env: dict[str, str], manager: str, status: str | None) -> None:
    assert _preflight_with_aws_node(env, manager, status).cni.env == {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}


def test_without_aws_node_the_add_on_check_is_left_to_configure_cni() -> None:
    migration = _migration()
    migration.nodegroups = []
    migration.cni = Cni(via="addon", env={"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"})
    kube = FakeKube(CustomResourceDefinition=[{"metadata": {"name": ENI_CONFIG_CRD}}])
    assert cluster_preflight(migration, cast(Any, kube)) is migration
