"""The cluster steps against the cluster twin: the Kubernetes API emulator, reached with the real
`kubernetes` client and a real EKS token (the access entry checked), and the twin's EKS.

These unit tests run without the twin's simulated controllers (nodes of nodegroups, the VPC CNI,
Deployments' pods, the AWS Load Balancer Controller; the rehearsals run them): where a step waits
on a controller, the test plays it through the emulator's store (`with_status`, `mutate`) or the
twin's ELBv2 (admin session), and says so. Every request the steps make goes through HTTPS with their token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.kube.bootstrap import eniconfig_crd
from podcidr.errors import (
    EniConfigCrdMissing,
    LoadBalancerControllerMissing,
    NodegroupReplacementFailed,
    UnsupportedCluster,
    VerificationFailed,
)
from podcidr.kube.client import Kube
from podcidr.models.migration import (
    FixedAddress,
    LoadBalancerCheck,
    NodegroupConfig,
    NodegroupReplacement,
    UnmanagedCapacity,
)
from podcidr.steps import support
from podcidr.steps.apply_eni_configs import apply_eni_configs
from podcidr.steps.cluster_preflight import cluster_preflight
from podcidr.steps.configure_cni import configure_cni
from podcidr.steps.replace_nodegroups import NodegroupTask, replace_nodegroup
from podcidr.steps.verify_load_balancers import (
    LoadBalancerTask,
    deploy_verification_workload,
    remove_verification_workloads,
    verify_load_balancer,
)
from podcidr.steps.verify_pods import verify_pods
from tests.fixtures.twin_aws import CUSTOM_NETWORKING_ENV, TwinCluster, start_twin_cluster

DEPLOYMENTS = "apps/v1/deployments"
NODES = "v1/nodes"
PODS = "v1/pods"
ENI_CONFIGS = "crd.k8s.amazonaws.com/v1alpha1/eniconfigs"


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinCluster]:
    for twin in start_twin_cluster():
        twin.grant_access()
        yield twin


@pytest.fixture
def kube(twin: TwinCluster) -> Kube:
    twin.kube_calls.clear()
    return twin.kube()


def _set_status(twin: TwinCluster, ref: str, name: str, status: dict[str, Any], namespace: str | None = None) -> None:
    """Plays a controller: writes an object's status."""

    def change(obj: dict[str, Any]) -> None:
        obj["status"] = {**obj.get("status", {}), **status}

    twin.store.mutate(ref, name, change, namespace=namespace, subresource="status")


def _lbc_available(twin: TwinCluster, replicas: int) -> None:
    _set_status(twin, DEPLOYMENTS, "aws-load-balancer-controller", {"availableReplicas": replicas}, "kube-system")


def _node(
    name: str, nodegroup: str, ip: str, *, zone: str = "ap-southeast-1a", pods: int = 44, ready: bool = True
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "labels": {"eks.amazonaws.com/nodegroup": nodegroup, "topology.kubernetes.io/zone": zone},
        },
        "status": {
            "capacity": {"pods": str(pods), "cpu": "8"},
            "allocatable": {"pods": str(pods), "cpu": "7910m"},
            "addresses": [{"type": "InternalIP", "address": ip}],
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def _pod(
    name: str,
    node: str,
    ip: str,
    *,
    namespace: str = "default",
    labels: dict[str, str] | None = None,
    host: bool = False,
) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "labels": labels or {"app": "web"}},
        "spec": {"nodeName": node, "hostNetwork": host, "containers": [{"name": "c", "image": "nginx"}]},
        "status": {"phase": "Running", "podIP": ip, "hostIP": ip if host else "172.31.48.10"},
    }


def _nodegroup_item(
    twin: TwinCluster, replaced: str = "managed-ng", by: str = "managed-ng-pods"
) -> NodegroupReplacement:
    subnets = twin.migration().node_subnet_ids
    return NodegroupReplacement(
        replaced=replaced,
        by=by,
        max_pods=44,
        config=NodegroupConfig(
            subnets=subnets,
            node_role=twin.local.built.node_role_arn,
            instance_types=["t3.2xlarge"],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config={"minSize": 3, "maxSize": 6, "desiredSize": 3},
        ),
    )


# --- ClusterPreflight -----------------------------------------------------------------------------


def test_preflight_needs_an_available_load_balancer_controller_only_when_asked(twin: TwinCluster, kube: Kube) -> None:
    _lbc_available(twin, 0)
    with pytest.raises(LoadBalancerControllerMissing) as raised:
        cluster_preflight(twin.migration(), kube)
    assert "aws-load-balancer-controller" in raised.value.cause and '"loadBalancers": []' in raised.value.cause

    without = twin.migration()
    without.verification.load_balancers = []
    cluster_preflight(without, kube)  # not asked: not needed

    _lbc_available(twin, 2)
    cluster_preflight(twin.migration(), kube)
    assert twin.kube_mutating() == []


def test_preflight_fails_without_the_eni_config_crd(twin: TwinCluster, kube: Kube) -> None:
    crd = eniconfig_crd()
    twin.store.delete("apiextensions.k8s.io/v1/customresourcedefinitions", crd["metadata"]["name"])
    try:
        with pytest.raises(EniConfigCrdMissing) as raised:
            cluster_preflight(twin.migration(), kube)
    finally:
        twin.store.create("apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    assert "eniconfigs.crd.k8s.amazonaws.com" in raised.value.cause


def test_preflight_reports_budgets_that_block_draining_the_old_nodegroup(twin: TwinCluster, kube: Kube) -> None:
    _lbc_available(twin, 2)
    twin.store.create(NODES, _node("ip-172-31-48-5", "managed-ng", "172.31.48.5"), with_status=True)
    twin.store.create(
        PODS,
        _pod("web-1", "ip-172-31-48-5", "172.31.48.77", labels={"app": "strict"}),
        namespace="default",
        with_status=True,
    )
    twin.store.create(
        "policy/v1/poddisruptionbudgets",
        {
            "metadata": {"name": "strict", "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "strict"}}},
        },
        namespace="default",
    )
    _set_status(twin, "policy/v1/poddisruptionbudgets", "strict", twin.store.pdb_status("default", "strict"), "default")
    try:
        migration = twin.migration(nodegroups=[_nodegroup_item(twin)])
        cluster_preflight(migration, kube)
    finally:
        twin.store.delete("policy/v1/poddisruptionbudgets", "strict", namespace="default")
        twin.store.delete(PODS, "web-1", namespace="default")
        twin.store.delete(NODES, "ip-172-31-48-5")
    blocking = [w for w in migration.warnings if "PodDisruptionBudget default/strict" in w]
    assert len(blocking) == 1 and "managed-ng" in blocking[0]
    assert not any("coredns" in w for w in migration.warnings)  # its pods are on no node of managed-ng


def test_preflight_lists_pods_that_no_controller_would_recreate(twin: TwinCluster, kube: Kube) -> None:
    _lbc_available(twin, 2)
    twin.store.create(NODES, _node("ip-172-31-48-6", "managed-ng", "172.31.48.6"), with_status=True)
    twin.store.create(NODES, _node("ip-172-31-48-7", "other-ng", "172.31.48.7"), with_status=True)
    bare = _pod("scratch", "ip-172-31-48-6", "172.31.48.78")
    owned = _pod("web-2", "ip-172-31-48-6", "172.31.48.79")
    owned["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d9", "uid": "u-1", "controller": True}
    ]
    mirror = _pod("etcd-static", "ip-172-31-48-6", "172.31.48.6", namespace="kube-system", host=True)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    elsewhere = _pod("scratch-2", "ip-172-31-48-7", "172.31.48.80")
    finished = _pod("job-done", "ip-172-31-48-6", "172.31.48.81")
    finished["status"]["phase"] = "Succeeded"
    pods = [bare, owned, mirror, elsewhere, finished]
    for pod in pods:
        twin.store.create(PODS, pod, namespace=pod["metadata"]["namespace"], with_status=True)
    try:
        migration = twin.migration(nodegroups=[_nodegroup_item(twin)])
        cluster_preflight(migration, kube)
    finally:
        for pod in pods:
            twin.store.delete(PODS, pod["metadata"]["name"], namespace=pod["metadata"]["namespace"])
        twin.store.delete(NODES, "ip-172-31-48-6")
        twin.store.delete(NODES, "ip-172-31-48-7")
    uncontrolled = [w for w in migration.warnings if "no controller" in w]
    assert len(uncontrolled) == 1
    assert "default/scratch " in uncontrolled[0] and "managed-ng" in uncontrolled[0]
    for other in ("web-2", "etcd-static", "scratch-2", "job-done"):
        assert other not in uncontrolled[0]
    assert twin.kube_mutating() == []


def _zonal_volume_objects(zone: str) -> list[tuple[str, dict[str, Any], str | None]]:
    """A StatefulSet pod on an old node whose claim is bound to an EBS volume in `zone`."""
    pod = _pod("db-0", "ip-172-31-48-8", "172.31.48.82", labels={"app": "db"})
    pod["metadata"]["ownerReferences"] = [
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db", "uid": "u-db", "controller": True}
    ]
    pod["spec"]["volumes"] = [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-0"}}]
    claim = {
        "metadata": {"name": "data-db-0", "namespace": "default"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "volumeName": "pv-db-0",
        },
    }
    affinity = {"key": "topology.kubernetes.io/zone", "operator": "In", "values": [zone]}
    volume = {
        "metadata": {"name": "pv-db-0"},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-0123456789abcdef0"},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [affinity]}]}},
        },
    }
    node = _node("ip-172-31-48-8", "managed-ng", "172.31.48.8", zone=zone)
    return [
        (NODES, node, None),
        (PODS, pod, "default"),
        ("v1/persistentvolumeclaims", claim, "default"),
        ("v1/persistentvolumes", volume, None),
    ]


@pytest.mark.parametrize(
    ("replacement_zones", "desired", "outcome"),
    [
        (["ap-southeast-1a", "ap-southeast-1b"], 2, "fine"),
        (["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"], 2, "warned"),
        (["ap-southeast-1b", "ap-southeast-1c"], 3, "refused"),
    ],
)
def test_preflight_checks_that_pods_with_zonal_volumes_can_move_to_their_zone(
    twin: TwinCluster, kube: Kube, replacement_zones: list[str], desired: int, outcome: str
) -> None:
    _lbc_available(twin, 2)
    objects = _zonal_volume_objects("ap-southeast-1a")
    for ref, obj, namespace in objects:
        twin.store.create(ref, obj, namespace=namespace, with_status=True)
    item = _nodegroup_item(twin)
    item.availability_zones = replacement_zones
    item.config.scaling_config["desiredSize"] = desired
    migration = twin.migration(nodegroups=[item])
    try:
        if outcome == "refused":
            with pytest.raises(UnsupportedCluster) as refused:
                cluster_preflight(migration, kube)
        else:
            cluster_preflight(migration, kube)
    finally:
        for ref, obj, namespace in reversed(objects):
            twin.store.delete(ref, obj["metadata"]["name"], namespace=namespace)
    warned = [w for w in migration.warnings if "default/db-0" in w]
    if outcome == "refused":
        assert "default/db-0 (on managed-ng) in ap-southeast-1a" in refused.value.cause
        assert "ap-southeast-1b, ap-southeast-1c" in refused.value.cause
    elif outcome == "warned":
        assert len(warned) == 1 and "starts 2 node(s) over 3 AZs" in warned[0] and "ap-southeast-1a" in warned[0]
    else:
        assert warned == []
    assert twin.kube_mutating() == []


# --- ApplyEniConfigs ------------------------------------------------------------------------------


def test_eni_configs_created_then_adopted_then_corrected(twin: TwinCluster, kube: Kube) -> None:
    migration = apply_eni_configs(twin.migration(), kube)
    azs = [c.name for c in migration.eni_configs]
    assert migration.changes == len(azs) == 3 and all(c.created for c in migration.eni_configs)
    for config in migration.eni_configs:
        stored = twin.store.get(ENI_CONFIGS, config.name)
        assert stored["spec"] == {"subnet": config.subnet, "securityGroups": config.security_groups}
        assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "podcidr"
    assert [c.subnet for c in migration.eni_configs] == ["subnet-pod0", "subnet-pod1", "subnet-pod2"]

    twin.kube_calls.clear()
    again = apply_eni_configs(twin.migration(), kube)
    assert again.changes == 0 and not any(c.created for c in again.eni_configs)
    assert twin.kube_mutating() == []

    # someone else's ENIConfig for the first AZ, pointing elsewhere: corrected (merge patch) and reported
    twin.store.delete(ENI_CONFIGS, azs[0])
    twin.store.create(
        ENI_CONFIGS,
        {
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
            "kind": "ENIConfig",
            "metadata": {"name": azs[0]},
            "spec": {"subnet": "subnet-other"},
        },
    )
    twin.kube_calls.clear()
    fixed = apply_eni_configs(twin.migration(), kube)
    assert fixed.changes == 1 and [c.created for c in fixed.eni_configs] == [True, False, False]
    assert twin.store.get(ENI_CONFIGS, azs[0])["spec"]["subnet"] == "subnet-pod0"
    assert any("subnet-other" in w for w in fixed.warnings)
    assert twin.kube_mutating() == ["kubernetes:patch ENIConfig"]


# --- ConfigureCni, self-managed -------------------------------------------------------------------


def _aws_node_env(twin: TwinCluster) -> dict[str, Any]:
    daemon_set = twin.store.get("apps/v1/daemonsets", "aws-node", namespace="kube-system")
    container = next(c for c in daemon_set["spec"]["template"]["spec"]["containers"] if c["name"] == "aws-node")
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_self_managed_cni_env_patched_then_rollout_waited_for(twin: TwinCluster, kube: Kube) -> None:
    before = _aws_node_env(twin)
    migration = twin.migration()
    migration.cni.via = "daemonset"

    def no_eks() -> Any:
        raise AssertionError("the DaemonSet path makes no EKS call")

    migration = configure_cni(migration, no_eks, lambda: kube)  # type: ignore[arg-type]
    assert migration.cni.status == "RollingOut" and migration.cni.changed and migration.changes == 1
    after = _aws_node_env(twin)
    assert after == {**before, **CUSTOM_NETWORKING_ENV}  # strategic merge by name: the others kept
    assert twin.kube_mutating() == ["kubernetes:patch DaemonSet"]

    migration = configure_cni(migration, no_eks, lambda: kube)  # type: ignore[arg-type]
    assert migration.cni.status == "RollingOut" and migration.polls["ConfigureCni"] == 1

    generation = twin.store.get("apps/v1/daemonsets", "aws-node", namespace="kube-system")["metadata"]["generation"]
    _set_status(
        twin,
        "apps/v1/daemonsets",
        "aws-node",
        {
            "observedGeneration": generation,
            "desiredNumberScheduled": 3,
            "updatedNumberScheduled": 3,
            "numberAvailable": 3,
        },
        "kube-system",
    )
    migration = configure_cni(migration, no_eks, lambda: kube)  # type: ignore[arg-type]
    assert migration.cni.status == "Successful" and migration.changes == 1

    twin.kube_calls.clear()
    rerun = twin.migration()
    rerun.cni.via = "daemonset"
    rerun = configure_cni(rerun, no_eks, lambda: kube)  # type: ignore[arg-type]
    assert rerun.cni.status == "Successful" and rerun.cni.changed is False and twin.kube_mutating() == []


# --- ReplaceNodegroups ----------------------------------------------------------------------------


def _loop(
    step: Callable[[], Any], done: Callable[[], bool], on_wait: Callable[[], None] = lambda: None, limit: float = 30
) -> None:
    deadline = time.monotonic() + limit
    while True:
        step()
        if done():
            return
        assert time.monotonic() < deadline, "wait loop did not finish"
        on_wait()
        time.sleep(0.3)


def test_nodegroup_replaced_when_its_nodes_are_ready_then_old_deleted(twin: TwinCluster) -> None:
    twin.local.ledger.clear()
    task = NodegroupTask(cluster_name=twin.cluster, poll_seconds=1, nodegroup=_nodegroup_item(twin))
    registered: list[str] = []

    def register_nodes() -> None:  # plays the nodegroup's nodes (no node controller in these unit tests)
        status = twin.clients.eks.describe_nodegroup(clusterName=twin.cluster, nodegroupName="managed-ng-pods")
        if status["nodegroup"]["status"] == "ACTIVE" and not registered:
            for i in range(3):
                name = f"ip-172-31-{48 + 16 * i}-9"
                twin.store.create(NODES, _node(name, "managed-ng-pods", f"172.31.{48 + 16 * i}.9"), with_status=True)
                registered.append(name)

    _loop(
        lambda: replace_nodegroup(task, twin.clients.eks, twin.kube, elbv2=twin.clients.elbv2),
        lambda: task.nodegroup.status == "done",
        register_nodes,
    )
    created = twin.clients.eks.describe_nodegroup(clusterName=twin.cluster, nodegroupName="managed-ng-pods")[
        "nodegroup"
    ]
    assert created["subnets"] == task.nodegroup.config.subnets
    assert created["tags"]["podcidr:cluster"] == twin.cluster
    assert created["scalingConfig"]["desiredSize"] == 3
    assert "managed-ng" not in twin.clients.eks.list_nodegroups(clusterName=twin.cluster)["nodegroups"]
    assert task.nodegroup.created and task.nodegroup.changes == 2
    assert [e.operation for e in twin.local.ledger.mutating_calls()] == ["eks:CreateNodegroup", "eks:DeleteNodegroup"]
    assert task.nodegroup.polls["create"] >= 1 and task.nodegroup.polls["delete"] >= 1

    # a re-run adopts: nothing created, nothing deleted
    twin.local.ledger.clear()
    rerun = NodegroupTask(cluster_name=twin.cluster, poll_seconds=1, nodegroup=_nodegroup_item(twin))
    _loop(
        lambda: replace_nodegroup(rerun, twin.clients.eks, twin.kube, elbv2=twin.clients.elbv2),
        lambda: rerun.nodegroup.status == "done",
    )
    assert rerun.nodegroup.created is False and rerun.nodegroup.changes == 0
    assert twin.local.ledger.mutating_calls() == []


def _one_node_nodegroup(twin: TwinCluster, name: str) -> None:
    """The nodegroup a replacement starts from, created by an admin as the cluster's owner did."""
    twin.local.admin_session().client("eks").create_nodegroup(
        clusterName=twin.cluster,
        nodegroupName=name,
        subnets=twin.migration().node_subnet_ids,
        nodeRole=twin.local.built.node_role_arn,
        scalingConfig={"minSize": 1, "maxSize": 1, "desiredSize": 1},
    )


def test_wrong_max_pods_fails_before_the_old_nodegroup_is_touched(twin: TwinCluster) -> None:
    _one_node_nodegroup(twin, "old-ng")
    item = _nodegroup_item(twin, replaced="old-ng", by="old-ng-pods")
    item.config.scaling_config = {"minSize": 1, "maxSize": 1, "desiredSize": 1}
    task = NodegroupTask(cluster_name=twin.cluster, poll_seconds=1, nodegroup=item)

    def register() -> None:
        ng = twin.clients.eks.describe_nodegroup(clusterName=twin.cluster, nodegroupName="old-ng-pods")["nodegroup"]
        if ng["status"] == "ACTIVE" and twin.store.find(NODES, "ip-default-maxpods") is None:
            twin.store.create(
                NODES, _node("ip-default-maxpods", "old-ng-pods", "172.31.48.30", pods=58), with_status=True
            )

    with pytest.raises(NodegroupReplacementFailed) as raised:
        _loop(lambda: replace_nodegroup(task, twin.clients.eks, twin.kube), lambda: False, register)
    assert "58" in raised.value.cause and "44" in raised.value.cause and "old-ng is untouched" in raised.value.cause
    assert (
        twin.clients.eks.describe_nodegroup(clusterName=twin.cluster, nodegroupName="old-ng")["nodegroup"]["status"]
        == "ACTIVE"
    )


def test_replacement_whose_nodes_never_join_fails_with_the_health_issue_and_old_untouched(twin: TwinCluster) -> None:
    _one_node_nodegroup(twin, "stuck-ng")
    twin.local.eks.settle_nodegroups()
    twin.local.ledger.clear()
    item = _nodegroup_item(twin, replaced="stuck-ng", by="stuck-ng-pods")
    item.config.scaling_config = {"minSize": 1, "maxSize": 1, "desiredSize": 1}
    task = NodegroupTask(cluster_name=twin.cluster, poll_seconds=1, nodegroup=item)

    def never_join() -> None:
        """Plays the cluster twin (localcloud/cluster: not run here): the replacement's node registers
        but stays NotReady, and EKS gives up on it (the twin's own test: test_custom_networking)."""
        if twin.store.find(NODES, "ip-never-joins") is None:
            twin.store.create(
                NODES, _node("ip-never-joins", "stuck-ng-pods", "172.31.48.31", ready=False), with_status=True
            )
            assert twin.local.eks.nodegroup_failed_to_join(twin.cluster, "stuck-ng-pods", ["i-0never0joins"])

    try:
        with pytest.raises(NodegroupReplacementFailed) as raised:
            _loop(lambda: replace_nodegroup(task, twin.clients.eks, twin.kube), lambda: False, never_join)
    finally:
        twin.store.delete(NODES, "ip-never-joins")
    assert raised.value.cause == (
        "Nodegroup stuck-ng-pods (replacing stuck-ng) is CREATE_FAILED: NodeCreationFailure: Instances failed to "
        "join the kubernetes cluster (i-0never0joins). stuck-ng is untouched."
    )
    assert task.nodegroup.status == "creating" and task.nodegroup.created
    assert [e.operation for e in twin.local.ledger.mutating_calls()] == ["eks:CreateNodegroup"]  # no DeleteNodegroup
    old = twin.clients.eks.describe_nodegroup(clusterName=twin.cluster, nodegroupName="stuck-ng")["nodegroup"]
    assert old["status"] == "ACTIVE"


# --- VerifyPods -----------------------------------------------------------------------------------


def test_verify_pods_lists_every_pod_outside_the_pod_cidr(
    twin: TwinCluster, kube: Kube, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(support, "PAGE_SIZE", 1)  # every pod and node in a page of its own: nothing lost between pages
    twin.store.create(NODES, _node("ip-verify", "managed-ng-pods", "172.31.64.40"), with_status=True)
    twin.store.create(PODS, _pod("good", "ip-verify", "100.64.1.10"), namespace="default", with_status=True)
    twin.store.create(
        PODS,
        _pod("aws-node-x", "ip-verify", "172.31.64.40", namespace="kube-system", host=True),
        namespace="kube-system",
        with_status=True,
    )
    migration = twin.migration(nodegroups=[_nodegroup_item(twin)])
    try:
        verified = verify_pods(migration, kube, twin.clients.ec2)
        assert verified.verification.pods is not None and verified.verification.pods.outside == []
        assert verified.verification.pods.in_pod_cidr == verified.verification.pods.checked >= 1

        twin.store.create(PODS, _pod("stale", "ip-verify", "172.31.64.99"), namespace="default", with_status=True)
        with pytest.raises(VerificationFailed) as raised:
            verify_pods(twin.migration(nodegroups=[_nodegroup_item(twin)]), kube, twin.clients.ec2)
        assert "default/stale (172.31.64.99 on ip-verify)" in raised.value.cause
        assert "aws-node-x" not in raised.value.cause  # hostNetwork pods keep node addresses
    finally:
        for name, ns in (("good", "default"), ("stale", "default"), ("aws-node-x", "kube-system")):
            if twin.store.find(PODS, name, namespace=ns):
                twin.store.delete(PODS, name, namespace=ns)
    assert twin.kube_mutating() == []


# --- VerifyLoadBalancers --------------------------------------------------------------------------


def test_verification_workload_deployed_once_and_removed(twin: TwinCluster, kube: Kube) -> None:
    migration = deploy_verification_workload(twin.migration(), kube)
    assert migration.changes == 2 and migration.verification.workloads == "deployed"
    deployment = twin.store.get(DEPLOYMENTS, "podcidr-verify", namespace="podcidr-verify")
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == migration.verification.image
    assert (
        twin.store.get("v1/namespaces", "podcidr-verify")["metadata"]["labels"]["app.kubernetes.io/managed-by"]
        == "podcidr"
    )
    assert deploy_verification_workload(twin.migration(), kube).changes == 0  # adopted

    removed = remove_verification_workloads(twin.migration(), kube)
    _loop(lambda: remove_verification_workloads(removed, kube), lambda: removed.verification.workloads != "removing")
    assert removed.verification.workloads == "removed" and removed.changes == 1
    assert twin.store.find("v1/namespaces", "podcidr-verify") is None


def _publish(twin: TwinCluster, task: LoadBalancerTask, target_ips: list[str]) -> None:
    """Plays the AWS Load Balancer Controller: an NLB in the twin's ELBv2 with ip targets, and its
    DNS name in the Service's status."""
    elbv2 = twin.local.admin_session().client("elbv2")
    built = twin.local.built
    subnets = [built.subnet_ids[name] for name in twin.local.scenario.cluster.subnets]
    lb = elbv2.create_load_balancer(
        Name=f"k8s-verify-{task.check.kind}", Subnets=subnets, Type="network", Scheme="internal"
    )["LoadBalancers"][0]
    group = elbv2.create_target_group(
        Name=f"k8s-tg-{task.check.kind}", Protocol="TCP", Port=80, VpcId=built.vpc_id, TargetType="ip"
    )["TargetGroups"][0]
    elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )
    elbv2.register_targets(
        TargetGroupArn=group["TargetGroupArn"], Targets=[{"Id": ip, "Port": 80} for ip in target_ips]
    )
    name = f"podcidr-{task.check.kind}"
    _set_status(twin, "v1/services", name, {"loadBalancer": {"ingress": [{"hostname": lb["DNSName"]}]}}, task.namespace)


def test_private_nlb_with_fixed_addresses_verified_and_a_stray_target_named(twin: TwinCluster, kube: Kube) -> None:
    migration = deploy_verification_workload(twin.migration(), kube)
    fixed = [FixedAddress(subnet_id=s, ip=f"172.31.{48 + 16 * i}.254") for i, s in enumerate(migration.node_subnet_ids)]
    task = LoadBalancerTask(
        cluster_name=twin.cluster,
        pod_cidr="100.64.0.0/16",
        namespace="podcidr-verify",
        poll_seconds=1,
        check=LoadBalancerCheck(kind="private-nlb", fixed_addresses=fixed),
    )
    try:
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        assert task.check.status == "provisioning" and task.check.changes == 1
        service = twin.store.get("v1/services", "podcidr-private-nlb", namespace="podcidr-verify")
        annotations = service["metadata"]["annotations"]
        assert service["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-scheme"] == "internal"
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses"] == ", ".join(
            a.ip for a in fixed
        )
        assert annotations["service.beta.kubernetes.io/aws-load-balancer-subnets"] == ", ".join(
            migration.node_subnet_ids
        )

        _publish(twin, task, ["100.64.1.10", "100.64.65.10", "100.64.129.10"])
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        assert task.check.dns_name and task.check.targets_in_pod_cidr is True
        assert task.check.target_ips == ["100.64.1.10", "100.64.129.10", "100.64.65.10"]
        assert (task.check.status, task.check.healthy_targets) == ("done", 3)

        stray = LoadBalancerTask(
            cluster_name=twin.cluster,
            pod_cidr="100.64.0.0/16",
            namespace="podcidr-verify",
            poll_seconds=1,
            check=LoadBalancerCheck(kind="public-nlb"),
        )
        verify_load_balancer(stray, kube, twin.clients.elbv2, twin.clients.ec2)
        _publish(twin, stray, ["100.64.1.11", "172.31.48.77"])
        with pytest.raises(VerificationFailed) as raised:
            verify_load_balancer(stray, kube, twin.clients.elbv2, twin.clients.ec2)
        assert "public-nlb" in raised.value.cause and "172.31.48.77" in raised.value.cause
    finally:
        remove_verification_workloads(twin.migration(), kube, wait=False)


def test_verify_pods_leaves_unmanaged_capacity_out_and_counts_its_pods(twin: TwinCluster, kube: Kube) -> None:
    """With ignoreUnmanagedCapacity, a self-managed node keeps node-subnet pod addresses (#11.6): VerifyPods
    does not fail on them, and the report counts them under unmanagedCapacity."""
    legacy = _node("ip-legacy", "", "172.31.64.41")
    legacy["metadata"]["labels"].pop("eks.amazonaws.com/nodegroup")
    legacy["spec"] = {"providerID": "aws:///ap-southeast-1a/i-0legacy000000001"}
    twin.store.create(NODES, legacy, with_status=True)
    twin.store.create(PODS, _pod("on-legacy", "ip-legacy", "172.31.64.77"), namespace="default", with_status=True)
    capacity = UnmanagedCapacity(kind="self-managed", name="legacy", nodes=1, instance_ids=["i-0legacy000000001"])
    try:
        with pytest.raises(VerificationFailed, match="on-legacy"):
            verify_pods(twin.migration(nodegroups=[_nodegroup_item(twin)]), kube, twin.clients.ec2)
        verified = verify_pods(
            twin.migration(nodegroups=[_nodegroup_item(twin)], unmanaged_capacity=[capacity]), kube, twin.clients.ec2
        )
        assert verified.unmanaged_capacity[0].pods == 1
        assert verified.verification.pods is not None and verified.verification.pods.outside == []
    finally:
        twin.store.delete(PODS, "on-legacy", namespace="default")
        twin.store.delete(NODES, "ip-legacy")
