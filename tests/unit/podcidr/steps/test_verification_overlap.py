"""Issue #12.3: DeployVerificationWorkload runs before ReplaceNodegroups. Its pods may run only on the
replacement nodegroups' nodes (never on an old node being drained), and each check's Service or
Ingress is created at once, so the controller provisions the load balancers while the old nodes drain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cluster.loadbalancers import LoadBalancerController
from podcidr.kube.client import Kube
from podcidr.models.migration import (
    FixedAddress,
    LoadBalancerCheck,
    NodegroupConfig,
    NodegroupReplacement,
    Taint,
    Verification,
)
from podcidr.steps.verify_load_balancers import (
    LoadBalancerTask,
    deploy_verification_workload,
    remove_verification_workloads,
    start_load_balancers,
    verify_load_balancer,
)
from tests.fixtures.lb_scenarios import NODE_A, NODE_B, PUBLIC_A, PUBLIC_B
from tests.fixtures.twin_aws import TwinCluster, start_twin_cluster

SCENARIO = {
    "vpc": {"subnets": [PUBLIC_A, PUBLIC_B, NODE_A, NODE_B]},
    "cluster": {"subnets": ["node-a", "node-b"]},
}
DEPLOYMENTS = "apps/v1/deployments"
NAMESPACE = "podcidr-verify"


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinCluster]:
    for twin in start_twin_cluster(SCENARIO):
        twin.grant_access()
        yield twin


@pytest.fixture
def kube(twin: TwinCluster, controller: LoadBalancerController) -> Iterator[Kube]:
    """The test namespace is gone after each test (the controller lets its load balancers go)."""
    kube: Kube = twin.kube()
    yield kube
    removed = twin.migration()
    deadline = time.monotonic() + 30
    while remove_verification_workloads(removed, kube).verification.workloads == "removing":
        assert time.monotonic() < deadline, "the test namespace is still terminating"
        controller.reconcile(time.monotonic())
        time.sleep(0.3)


def _replacement(old: str, taints: list[Taint] | None = None) -> NodegroupReplacement:
    config = NodegroupConfig(
        subnets=["subnet-a"], node_role="arn:aws:iam::123456789012:role/node", scaling_config={"desiredSize": 1}
    )
    config.taints = taints or []
    return NodegroupReplacement(replaced=old, by=f"{old}-podcidr", config=config)


def _pod_spec(twin: TwinCluster) -> Any:
    return twin.store.get(DEPLOYMENTS, NAMESPACE, namespace=NAMESPACE)["spec"]["template"]["spec"]


def _only_on(*nodegroups: str) -> dict[str, Any]:
    term = {"matchExpressions": [{"key": "eks.amazonaws.com/nodegroup", "operator": "In", "values": list(nodegroups)}]}
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [term]}}}


def test_the_verification_pods_run_only_on_the_replacements_tolerating_their_taints(
    twin: TwinCluster, kube: Kube
) -> None:
    """EKS spells a nodegroup taint's effect NO_SCHEDULE (as Plan copies it); the pods tolerate it as the
    node carries it (NoSchedule), so a tainted replacement runs them too."""
    gpu = _replacement("gpu", [Taint(key="gpu", value="true", effect="NO_SCHEDULE")])
    batch = _replacement(
        "batch", [Taint(key="dedicated", effect="NO_EXECUTE"), Taint(key="spot", effect="PREFER_NO_SCHEDULE")]
    )
    migration = twin.migration(nodegroups=[_replacement("managed-ng"), gpu, batch])
    deploy_verification_workload(migration, kube)
    pod_spec = _pod_spec(twin)
    assert pod_spec["affinity"] == _only_on("batch-podcidr", "gpu-podcidr", "managed-ng-podcidr")
    assert pod_spec["tolerations"] == [
        {"key": "gpu", "effect": "NoSchedule", "operator": "Equal", "value": "true"},
        {"key": "dedicated", "effect": "NoExecute", "operator": "Exists"},
        {"key": "spot", "effect": "PreferNoSchedule", "operator": "Exists"},
    ]


def test_when_every_replacement_is_tainted_the_pods_still_run_only_there(twin: TwinCluster, kube: Kube) -> None:
    only = _replacement("gpu", [Taint(key="gpu", effect="NO_EXECUTE")])
    deploy_verification_workload(twin.migration(nodegroups=[only]), kube)
    assert _pod_spec(twin)["affinity"] == _only_on("gpu-podcidr")
    assert _pod_spec(twin)["tolerations"] == [{"key": "gpu", "effect": "NoExecute", "operator": "Exists"}]


def test_without_a_replaced_nodegroup_the_verification_pods_are_not_constrained(twin: TwinCluster, kube: Kube) -> None:
    deploy_verification_workload(twin.migration(nodegroups=[]), kube)
    assert "affinity" not in _pod_spec(twin) and "tolerations" not in _pod_spec(twin)


def test_an_adopted_deployment_is_placed_as_this_execution_places_it(twin: TwinCluster, kube: Kube) -> None:
    """A Deployment kept by an earlier run (keepWorkloads) or made by an earlier attempt is adopted
    (409 on create): its pods must still run only on this execution's replacements."""
    deploy_verification_workload(twin.migration(nodegroups=[_replacement("old-ng")]), kube)
    tainted = _replacement("managed-ng", [Taint(key="gpu", value="true", effect="NO_SCHEDULE")])
    migration = twin.migration(nodegroups=[tainted])
    deploy_verification_workload(migration, kube)
    assert _pod_spec(twin)["affinity"] == _only_on("managed-ng-podcidr")
    assert _pod_spec(twin)["tolerations"] == [
        {"key": "gpu", "effect": "NoSchedule", "operator": "Equal", "value": "true"}
    ]
    assert migration.changes == 1  # the patch (the namespace was its own already)
    again = twin.migration(nodegroups=[tainted])
    deploy_verification_workload(again, kube)
    assert again.changes == 0  # placed already: nothing to patch
    unconstrained = twin.migration(nodegroups=[])
    deploy_verification_workload(unconstrained, kube)
    assert "affinity" not in _pod_spec(twin) and "tolerations" not in _pod_spec(twin)
    assert unconstrained.changes == 1


def test_the_load_balancers_are_asked_for_with_the_workload_and_provisioned_meanwhile(
    twin: TwinCluster, kube: Kube, controller: LoadBalancerController
) -> None:
    checks = [LoadBalancerCheck(kind=kind, source_cidrs=["172.31.0.0/16"]) for kind in ("alb", "public-nlb")]
    verification = Verification(image="public.ecr.aws/nginx/nginx:1.27-alpine-slim", load_balancers=checks)
    migration = twin.migration(verification=verification, nodegroups=[_replacement("managed-ng")])
    start_load_balancers(deploy_verification_workload(migration, kube), kube, twin.clients.ec2)
    assert [(c.kind, c.status, c.changes) for c in migration.verification.load_balancers] == [
        ("alb", "provisioning", 2),  # its Service and Ingress
        ("public-nlb", "provisioning", 1),
    ]
    assert twin.store.find("networking.k8s.io/v1/ingresses", "podcidr-alb", namespace=NAMESPACE) is not None
    controller.reconcile(0.0)
    admin = twin.local.admin_session().client("elbv2")
    assert len(admin.describe_load_balancers()["LoadBalancers"]) == 2  # built although no pod runs yet
    # a retried invocation adopts what is there
    again = twin.migration(verification=verification.model_copy(deep=True), nodegroups=[_replacement("managed-ng")])
    again.verification.load_balancers = [c.model_copy(update={"status": None, "changes": 0}) for c in checks]
    start_load_balancers(deploy_verification_workload(again, kube), kube, twin.clients.ec2)
    assert again.changes == 0 and sum(c.changes for c in again.verification.load_balancers) == 0


def test_a_rerun_with_a_nodegroup_still_to_replace_verifies_the_load_balancers_again(
    twin: TwinCluster, kube: Kube
) -> None:
    """The record of a passed verification is not enough when nodes are still to be replaced: the new
    nodes' pods have not been through the load balancers yet."""
    kube.core.create_namespaced_config_map(
        "kube-system",
        {
            "metadata": {"name": "podcidr-verification"},
            "data": {"podCidr": "100.64.0.0/16", "loadBalancers": "alb,private-nlb,public-nlb"},
        },
    )
    try:
        done = deploy_verification_workload(twin.migration(), kube)
        assert done.verification.workloads == "verified-before"
        pending = deploy_verification_workload(twin.migration(nodegroups=[_replacement("managed-ng")]), kube)
        assert pending.verification.workloads == "deployed"
    finally:
        kube.core.delete_namespaced_config_map("podcidr-verification", "kube-system")


def test_the_private_nlb_is_created_only_after_the_replacement_with_addresses_free_then(
    twin: TwinCluster, kube: Kube, controller: LoadBalancerController
) -> None:
    """Its fixed addresses are in the node subnets, where ReplaceNodegroups starts new nodes: an address
    chosen before could be taken by a new node's ENI before the controller creates the NLB."""
    migration = twin.migration(nodegroups=[_replacement("managed-ng")])
    subnets = twin.local.built.subnet_ids
    planned = [FixedAddress(subnet_id=subnets["node-a"], ip="172.31.48.220")]
    private = next(c for c in migration.verification.load_balancers if c.kind == "private-nlb")
    private.fixed_addresses = planned
    start_load_balancers(deploy_verification_workload(migration, kube), kube, twin.clients.ec2)
    assert [(c.kind, c.status) for c in migration.verification.load_balancers] == [
        ("alb", "provisioning"),
        ("public-nlb", "provisioning"),
        ("private-nlb", None),  # VerifyLoadBalancer creates it, after ReplaceNodegroups
    ]
    assert twin.store.find("v1/services", "podcidr-private-nlb", namespace=NAMESPACE) is None
    ec2 = twin.local.admin_session().client("ec2")
    node_eni = ec2.create_network_interface(SubnetId=subnets["node-a"], PrivateIpAddress="172.31.48.220")
    try:
        task = LoadBalancerTask(
            cluster_name=migration.cluster_name,
            pod_cidr=migration.pod_cidr.cidr,
            namespace=NAMESPACE,
            poll_seconds=1,
            check=private,
        )
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        assert task.check.status == "provisioning" and task.check.changes == 1
        assert [a.ip for a in task.check.fixed_addresses] != ["172.31.48.220"]  # taken meanwhile: another
        service = twin.store.get("v1/services", "podcidr-private-nlb", namespace=NAMESPACE)
        annotations = service["metadata"]["annotations"]
        assert "172.31.48.220" not in annotations["service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses"]
    finally:
        ec2.delete_network_interface(NetworkInterfaceId=node_eni["NetworkInterface"]["NetworkInterfaceId"])
