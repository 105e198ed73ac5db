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
from podcidr.models.migration import LoadBalancerCheck, NodegroupConfig, NodegroupReplacement, Taint, Verification
from podcidr.steps.verify_load_balancers import (
    deploy_verification_workload,
    remove_verification_workloads,
    start_load_balancers,
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
def controller(twin: TwinCluster) -> LoadBalancerController:
    return twin.load_balancer_controller()


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


def _affinity(twin: TwinCluster) -> Any:
    deployment = twin.store.get(DEPLOYMENTS, NAMESPACE, namespace=NAMESPACE)
    return deployment["spec"]["template"]["spec"].get("affinity")


def test_the_verification_pods_may_run_only_on_the_replacement_nodegroups(twin: TwinCluster, kube: Kube) -> None:
    dedicated = _replacement("gpu", [Taint(key="gpu", value="true", effect="NoSchedule")])
    migration = twin.migration(nodegroups=[_replacement("managed-ng"), _replacement("spot"), dedicated])
    deploy_verification_workload(migration, kube)
    assert _affinity(twin) == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "eks.amazonaws.com/nodegroup",
                                "operator": "In",
                                "values": ["managed-ng-podcidr", "spot-podcidr"],  # not the tainted one
                            }
                        ]
                    }
                ]
            }
        }
    }


@pytest.mark.parametrize(
    "nodegroups",
    [[], [_replacement("gpu", [Taint(key="gpu", effect="NoExecute")])]],
    ids=["no nodegroup replaced", "only replacements the pods cannot run on"],
)
def test_without_a_replacement_to_run_on_the_verification_pods_stay_schedulable(
    twin: TwinCluster, kube: Kube, nodegroups: list[NodegroupReplacement]
) -> None:
    deploy_verification_workload(twin.migration(nodegroups=nodegroups), kube)
    assert _affinity(twin) is None


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
