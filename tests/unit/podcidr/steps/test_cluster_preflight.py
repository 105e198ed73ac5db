"""ClusterPreflight's checks over a small in-memory Kubernetes API (tests/fixtures/fake_kube.py): the
ENIConfig CRD, the AWS Load Balancer Controller, a self-managed aws-node's settings, and what draining the
old nodegroups would lose or be blocked by. The twin's tests run it against a real API server."""

from __future__ import annotations

from typing import Any, cast

import pytest
from kubernetes.client.exceptions import ApiException

from podcidr.errors import ClusterAccessDenied, EniConfigCrdMissing, LoadBalancerControllerMissing, SubnetSizing
from podcidr.kube.client import ENI_CONFIG_CRD
from podcidr.models.migration import Cni, LoadBalancerCheck, Migration, NodegroupConfig, NodegroupReplacement
from podcidr.steps.cluster_preflight import cluster_preflight
from tests.fixtures.fake_kube import FakeKube, node, pod
from tests.fixtures.vpc_topology import Topology, seed_migration

CRD = {"metadata": {"name": ENI_CONFIG_CRD}}
OLD = "eks.amazonaws.com/nodegroup"


def _migration(*, load_balancers: bool = False, nodegroups: tuple[str, ...] = ()) -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    if load_balancers:
        migration.verification.load_balancers = [LoadBalancerCheck(kind="alb")]
    config = NodegroupConfig(subnets=ids, node_role="arn:aws:iam::1:role/n", scaling_config={"minSize": 1})
    migration.nodegroups = [
        NodegroupReplacement(replaced=name, by=f"{name}-pods", max_pods=44, config=config) for name in nodegroups
    ]
    return migration


def _preflight(migration: Migration, kube: FakeKube) -> Migration:
    return cluster_preflight(migration, cast(Any, kube))


def _deployment(
    name: str, namespace: str, available: int | None, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    deployment: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace, "labels": labels or {}}}
    if available is not None:  # a Deployment the controller has not looked at yet has no status
        deployment["status"] = {"availableReplicas": available}
    return deployment


def test_a_cluster_with_the_crd_and_nothing_to_replace_passes_unchanged() -> None:
    migration = _migration()
    before = migration.model_copy(deep=True)
    assert _preflight(migration, FakeKube(CustomResourceDefinition=[CRD])) == before


def test_without_the_eni_config_crd_it_refuses_saying_what_to_install() -> None:
    with pytest.raises(EniConfigCrdMissing) as raised:
        _preflight(_migration(), FakeKube())
    assert raised.value.cause == (
        f"Cluster eksworkshop has no CustomResourceDefinition {ENI_CONFIG_CRD}: custom networking needs the ENIConfig "
        "CRD, which ships with the Amazon VPC CNI (the vpc-cni add-on or its manifest). Install or repair the VPC "
        "CNI, then run podcidr again. Nothing was changed."
    )


def test_a_refused_crd_read_is_access_denied_not_a_missing_crd() -> None:
    kube = FakeKube()

    def forbidden(name: str) -> dict[str, Any]:
        raise ApiException(status=403, reason="Forbidden")

    kube.extensions.read_custom_resource_definition = forbidden  # type: ignore[method-assign]
    with pytest.raises(ClusterAccessDenied):
        _preflight(_migration(), kube)


def test_the_controller_is_found_by_its_name_in_kube_system() -> None:
    controller = _deployment("aws-load-balancer-controller", "kube-system", 2)
    kube = FakeKube(CustomResourceDefinition=[CRD], Deployment=[controller])
    _preflight(_migration(load_balancers=True), kube)


def test_the_controller_is_found_by_its_label_elsewhere() -> None:
    labels = {"app.kubernetes.io/name": "aws-load-balancer-controller"}
    kube = FakeKube(
        CustomResourceDefinition=[CRD],
        Deployment=[
            _deployment("aws-load-balancer-controller", "kube-system", 0),
            _deployment("lbc", "ingress", 1, labels),
        ],
    )
    _preflight(_migration(load_balancers=True), kube)


def test_no_available_controller_is_refused_naming_what_was_seen() -> None:
    labels = {"app.kubernetes.io/name": "aws-load-balancer-controller"}
    kube = FakeKube(
        CustomResourceDefinition=[CRD],
        Deployment=[
            _deployment("lbc", "ingress", None, labels),
            _deployment("lbc-2", "ingress", 0, labels),
            _deployment("web", "shop", 3),
        ],
    )
    with pytest.raises(LoadBalancerControllerMissing) as raised:
        _preflight(_migration(load_balancers=True), kube)
    assert raised.value.cause == (
        "Load-balancer verification is asked, but no AWS Load Balancer Controller is available in cluster eksworkshop "
        "(Deployment kube-system/aws-load-balancer-controller or one labelled "
        "app.kubernetes.io/name=aws-load-balancer-controller; seen: ingress/lbc (not available), ingress/lbc-2 (not "
        "available)). Install the "
        "controller (https://kubernetes-sigs.github.io/aws-load-balancer-controller/), or run with "
        '"verify": {"loadBalancers": []}. Nothing was changed.'
    )


def test_no_controller_at_all_says_none_was_seen() -> None:
    with pytest.raises(LoadBalancerControllerMissing, match=r"seen: none\)"):
        _preflight(_migration(load_balancers=True), FakeKube(CustomResourceDefinition=[CRD]))


def test_without_load_balancer_checks_no_controller_is_needed() -> None:
    _preflight(_migration(), FakeKube(CustomResourceDefinition=[CRD]))


def _aws_node(image: str, env: dict[str, str]) -> dict[str, Any]:
    containers = [
        {"name": "aws-vpc-cni-init", "image": "602401143452.dkr.ecr.us-west-2.amazonaws.com/cni-init:v9.9.9"},
        {"name": "aws-node", "image": image, "env": [{"name": k, "value": v} for k, v in env.items()]},
    ]
    return {
        "metadata": {"name": "aws-node", "namespace": "kube-system"},
        "spec": {"template": {"spec": {"containers": containers}}},
    }


def _self_managed(migration: Migration) -> Migration:
    migration.cni = Cni(via="daemonset", env={})
    return migration


def test_a_self_managed_cni_s_version_is_read_from_the_aws_node_image() -> None:
    image = "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.18.3"
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[_aws_node(image, {})])
    migration = _preflight(_self_managed(_migration()), kube)
    assert migration.cni.version == "v1.18.3"
    assert migration.warnings == []


def test_a_registry_with_a_port_is_not_taken_for_the_tag() -> None:
    image = "registry.local:5000/eks/amazon-k8s-cni:v1.19.0"
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[_aws_node(image, {})])
    assert _preflight(_self_managed(_migration()), kube).cni.version == "v1.19.0"


def test_an_aws_node_container_without_env_is_read() -> None:
    daemon_set = _aws_node("amazon-k8s-cni:v1.18.3", {})
    del daemon_set["spec"]["template"]["spec"]["containers"][1]["env"]
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[daemon_set])
    migration = _preflight(_self_managed(_migration()), kube)
    assert migration.cni.version == "v1.18.3" and migration.warnings == []


def test_an_image_without_a_tag_leaves_the_version_unknown() -> None:
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[_aws_node("registry.local:5000/amazon-k8s-cni", {})])
    assert _preflight(_self_managed(_migration()), kube).cni.version is None


def test_an_eni_config_annotation_is_one_warning() -> None:
    env = {"ENI_CONFIG_ANNOTATION_DEF": "k8s.amazonaws.com/eniConfig"}
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[_aws_node("amazon-k8s-cni:v1.18.3", env)])
    migration = _preflight(_self_managed(_migration()), kube)
    _preflight(migration, kube)  # a retry: the warning is not repeated
    assert migration.warnings == [
        "aws-node sets ENI_CONFIG_ANNOTATION_DEF=k8s.amazonaws.com/eniConfig: nodes annotated with it pick their "
        "ENIConfig by that annotation, not by their zone label."
    ]


def test_prefix_delegation_on_a_self_managed_cni_takes_the_prefix_max_pods() -> None:
    migration = _self_managed(_migration(nodegroups=("managed-ng",)))
    migration.nodegroups[0].max_pods_prefix_delegation = 110
    aws_node = _aws_node("amazon-k8s-cni:v1.18.3", {"ENABLE_PREFIX_DELEGATION": "True"})
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[aws_node])
    assert _preflight(migration, kube).nodegroups[0].max_pods == 110


def test_prefix_delegation_off_keeps_the_max_pods() -> None:
    migration = _self_managed(_migration(nodegroups=("managed-ng",)))
    migration.nodegroups[0].max_pods_prefix_delegation = 110
    env = {"ENABLE_PREFIX_DELEGATION": "false", "ENI_CONFIG_ANNOTATION_DEF": ""}
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[_aws_node("amazon-k8s-cni:v1.18.3", env)])
    migration = _preflight(migration, kube)
    assert migration.nodegroups[0].max_pods == 44
    assert migration.warnings == []


def test_prefix_delegation_with_pod_subnets_too_small_is_subnet_sizing() -> None:
    migration = _self_managed(_migration(nodegroups=("managed-ng",)))
    migration.nodegroups[0].pod_subnet_addresses_prefix_delegation = 1_000_000
    aws_node = _aws_node("amazon-k8s-cni:v1.18.3", {"ENABLE_PREFIX_DELEGATION": "true"})
    kube = FakeKube(CustomResourceDefinition=[CRD], DaemonSet=[aws_node])
    with pytest.raises(SubnetSizing):
        _preflight(migration, kube)


def _budget(name: str, namespace: str, selector: dict[str, Any] | None, allowed: int | None) -> dict[str, Any]:
    budget: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace}, "spec": {}}
    if selector is not None:
        budget["spec"]["selector"] = selector
    if allowed is not None:
        budget["status"] = {"disruptionsAllowed": allowed}
    return budget


def _cluster_to_drain(*budgets: dict[str, Any]) -> FakeKube:
    return FakeKube(
        CustomResourceDefinition=[CRD],
        Node=[
            node("old-a", "192.168.1.1", {OLD: "managed-ng"}),
            node("old-b", "192.168.1.2", {OLD: "spot-ng"}),
            node("kept", "192.168.1.3", {OLD: "other-ng"}),
        ],
        Pod=[
            pod("sidecar", "old-a", "192.168.1.19", namespace="shop"),  # no labels at all
            pod("db-0", "old-a", "192.168.1.20", namespace="shop", labels={"app": "db"}),
            pod("db-1", "old-b", "192.168.1.21", namespace="shop", labels={"app": "db"}),
            pod("db-2", "kept", "192.168.1.22", namespace="shop", labels={"app": "db"}),
            pod("cache-0", "kept", "192.168.1.23", namespace="shop", labels={"app": "cache"}),
            pod("debug", "old-b", "192.168.1.24", namespace="ops", owner=None),
            pod("debug-kept", "kept", "192.168.1.25", namespace="ops", owner=None),
            pod("report", "old-a", "192.168.1.26", namespace="ops", owner=None, phase="Succeeded"),
        ],
        PodDisruptionBudget=list(budgets),
    )


def test_draining_warnings_name_uncontrolled_pods_and_blocking_budgets_on_the_old_nodegroups_only() -> None:
    kube = _cluster_to_drain(
        _budget("null-selector", "shop", None, 0),  # policy/v1: selects no pod (and the others are still read)
        _budget("db", "shop", {"matchLabels": {"app": "db"}}, 0),
        _budget("db-ok", "shop", {"matchLabels": {"app": "db"}}, 1),  # allows a disruption: no warning
        _budget("cache", "shop", {"matchLabels": {"app": "cache"}}, 0),  # its pods are on a kept node
        _budget("elsewhere", "ops", {"matchLabels": {"app": "db"}}, 0),  # another namespace's pods
        _budget("new", "shop", {}, None),  # no status yet: not known to block
    )
    migration = _migration(nodegroups=("managed-ng", "spot-ng"))
    migration = _preflight(migration, kube)
    _preflight(migration, kube)  # a retry: no warning twice
    assert migration.warnings == [
        "1 pod(s) on nodegroup(s) spot-ng have no controller: ops/debug (on spot-ng). Replacing the nodegroup deletes "
        "them and nothing recreates them. Run them under a Deployment, StatefulSet or Job (or recreate them yourself "
        "after the migration).",
        "PodDisruptionBudget shop/db allows 0 disruptions and covers pods on nodegroup(s) managed-ng, spot-ng: "
        "the drain retries their evictions for podEvictionTimeoutSeconds, then stops with DrainBlocked (old nodes "
        "cordoned, nothing deleted) unless the budget allows one meanwhile. Scale the workload up or relax the budget.",
    ]


def test_with_the_delete_strategy_a_blocking_budget_blocks_the_deletion() -> None:
    kube = _cluster_to_drain(_budget("db", "shop", {"matchLabels": {"app": "db"}}, 0))
    migration = _migration(nodegroups=("managed-ng",))
    migration.nodegroups[0].node_replacement.strategy = "delete"
    assert _preflight(migration, kube).warnings == [
        "PodDisruptionBudget shop/db allows 0 disruptions and covers pods on nodegroup(s) managed-ng: deleting the "
        "old nodegroup drains its nodes, and pods that cannot be evicted within 15 minutes block the deletion. "
        "Scale the workload up or relax the budget."
    ]


def test_an_empty_selector_budget_covers_every_pod_of_its_namespace() -> None:
    kube = _cluster_to_drain(_budget("all", "ops", {}, 0))
    migration = _preflight(_migration(nodegroups=("managed-ng",)), kube)
    assert migration.warnings == []  # managed-ng's only unfinished pod is in shop
    migration = _preflight(_migration(nodegroups=("spot-ng",)), kube)
    assert migration.warnings[1].startswith(
        "PodDisruptionBudget ops/all allows 0 disruptions and covers pods on nodegroup(s) spot-ng:"
    )


def test_every_uncontrolled_pod_on_the_old_nodegroups_is_named_but_not_mirror_pods() -> None:
    kube = _cluster_to_drain()
    mirror = pod("kube-proxy-old-a", "old-a", "192.168.1.1", namespace="kube-system", owner=None)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}  # the kubelet recreates it
    kube.add("Pod", mirror, pod("scratch", "old-a", "192.168.1.30", namespace="ops", owner=None))
    migration = _preflight(_migration(nodegroups=("managed-ng", "spot-ng")), kube)
    assert migration.warnings == [
        "2 pod(s) on nodegroup(s) managed-ng, spot-ng have no controller: ops/scratch (on managed-ng), ops/debug "
        "(on spot-ng). Replacing the nodegroup deletes them and nothing recreates them. Run them under a "
        "Deployment, StatefulSet or Job (or recreate them yourself after the migration)."
    ]


def test_old_nodegroups_without_nodes_give_no_warning() -> None:
    kube = _cluster_to_drain(_budget("db", "shop", {"matchLabels": {"app": "db"}}, 0))
    assert _preflight(_migration(nodegroups=("gone-ng",)), kube).warnings == []


ZONE = "topology.kubernetes.io/zone"


def _zonal_pod(name: str, node_name: str, claim: str) -> dict[str, Any]:
    found = pod(name, node_name, "192.168.1.40", namespace="shop", labels={"app": name})
    found["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}]
    return found


def _cluster_with_volumes(kept_zone: str) -> FakeKube:
    """managed-ng's node in us-west-2a and spot-ng's in us-west-2d hold pods whose EBS volumes are bound to
    their node's AZ; the node that stays is in `kept_zone`. A refused zone: test_cluster_preflight_fast.py."""

    def volume(name: str, zone: str) -> dict[str, Any]:
        affinity = {
            "required": {
                "nodeSelectorTerms": [{"matchExpressions": [{"key": ZONE, "operator": "In", "values": [zone]}]}]
            }
        }
        return {"metadata": {"name": name}, "spec": {"nodeAffinity": affinity}}

    return FakeKube(
        CustomResourceDefinition=[CRD],
        Node=[
            node("old-a", "192.168.1.1", {OLD: "managed-ng", ZONE: "us-west-2a"}),
            node("old-d", "192.168.1.2", {OLD: "spot-ng", ZONE: "us-west-2d"}),
            node("kept", "192.168.1.3", {OLD: "other-ng", ZONE: kept_zone}),
        ],
        Pod=[_zonal_pod("db-0", "old-a", "data-db-0"), _zonal_pod("queue-0", "old-d", "data-queue-0")],
        PersistentVolume=[volume("pv-db-0", "us-west-2a"), volume("pv-queue-0", "us-west-2d")],
        PersistentVolumeClaim=[
            {"metadata": {"name": "data-db-0", "namespace": "shop"}, "spec": {"volumeName": "pv-db-0"}},
            {"metadata": {"name": "data-queue-0", "namespace": "shop"}, "spec": {"volumeName": "pv-queue-0"}},
        ],
    )


def _zonal_migration() -> Migration:
    migration = _migration(nodegroups=("managed-ng", "spot-ng"))
    migration.nodegroups[0].availability_zones = ["us-west-2a", "us-west-2b"]
    migration.nodegroups[1].availability_zones = ["us-west-2a"]
    for item in migration.nodegroups:
        item.config.scaling_config["desiredSize"] = 1  # fewer than managed-ng's AZs: a warning for its pods
    return migration


def test_a_zonal_volume_in_a_zone_only_a_staying_node_covers_passes_with_the_replacements_warning() -> None:
    migration = _preflight(_zonal_migration(), _cluster_with_volumes(kept_zone="us-west-2d"))
    assert migration.warnings == [
        "Nodegroup managed-ng-pods (replacing managed-ng) starts 1 node(s) over 2 AZs, and EC2 Auto Scaling chooses "
        "the AZs: shop/db-0 need a node in us-west-2a for their volumes. If none starts there they stay Pending and "
        "the drain stops before deleting anything; a desiredSize of at least 2 avoids it."
    ]
