"""The test load balancers accept traffic only from the planned source CIDRs (verify.sourceCidrs or
the VPC's blocks), through the AWS Load Balancer Controller's own knobs: the frontend security group
the twin's controller makes (as the real one does) lets exactly those CIDRs in, never 0.0.0.0/0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.cluster.loadbalancers import LoadBalancerController
from podcidr.errors import VerificationFailed
from podcidr.kube.client import Kube
from podcidr.models.input import LoadBalancerKind
from podcidr.models.migration import LoadBalancerCheck
from podcidr.steps.verify_load_balancers import (
    LoadBalancerTask,
    deploy_verification_workload,
    remove_verification_workloads,
    verify_load_balancer,
)
from tests.fixtures.lb_scenarios import NODE_A, NODE_B, PUBLIC_A, PUBLIC_B
from tests.fixtures.twin_aws import TwinCluster, start_twin_cluster

SCENARIO = {
    "vpc": {"subnets": [PUBLIC_A, PUBLIC_B, NODE_A, NODE_B]},
    "cluster": {"subnets": ["node-a", "node-b"]},
}
SOURCES = ["172.31.0.0/16", "203.0.113.0/24"]


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinCluster]:
    for twin in start_twin_cluster(SCENARIO):
        twin.grant_access()
        yield twin


def _task(twin: TwinCluster, kind: LoadBalancerKind, sources: list[str]) -> LoadBalancerTask:
    return LoadBalancerTask(
        cluster_name=twin.cluster,
        pod_cidr="100.64.0.0/16",
        namespace="podcidr-verify",
        poll_seconds=1,
        check=LoadBalancerCheck(kind=kind, source_cidrs=sources),
    )


def _inbound(twin: TwinCluster, kind: str) -> list[tuple[int, str]]:
    """(port, CIDR) of the ingress rules of the security groups of the load balancer built for `kind`."""
    admin = twin.local.admin_session()
    stack = f"podcidr-verify/podcidr-{kind}"
    balancers = admin.client("elbv2").describe_load_balancers()["LoadBalancers"]
    tags = admin.client("elbv2").describe_tags(ResourceArns=[b["LoadBalancerArn"] for b in balancers])
    arn = next(d["ResourceArn"] for d in tags["TagDescriptions"] if any(t["Value"] == stack for t in d.get("Tags", [])))
    groups = next(b["SecurityGroups"] for b in balancers if b["LoadBalancerArn"] == arn)
    described = admin.client("ec2").describe_security_groups(GroupIds=groups)["SecurityGroups"]
    return sorted(
        (rule["FromPort"], block["CidrIp"])
        for group in described
        for rule in group["IpPermissions"]
        for block in rule.get("IpRanges", [])
    )


def test_internet_facing_test_load_balancers_let_in_only_the_source_cidrs(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    kube: Kube = twin.kube()
    migration = deploy_verification_workload(twin.migration(), kube)
    try:
        for kind in ("alb", "public-nlb"):
            verify_load_balancer(_task(twin, kind, SOURCES), kube, twin.clients.elbv2, twin.clients.ec2)
        controller.reconcile(0.0)
        assert _inbound(twin, "alb") == [(80, cidr) for cidr in sorted(SOURCES)]
        assert _inbound(twin, "public-nlb") == [(80, cidr) for cidr in sorted(SOURCES)]
    finally:
        remove_verification_workloads(migration, kube, wait=False)
        controller.reconcile(1.0)


@pytest.mark.parametrize("sources", [[], ["0.0.0.0/0"]])
def test_a_check_without_source_cidrs_builds_nothing_open_to_everyone(twin: TwinCluster, sources: list[str]) -> None:
    kube: Kube = twin.kube()
    migration = deploy_verification_workload(twin.migration(), kube)
    task = _task(twin, "public-nlb", sources)
    try:
        with pytest.raises(VerificationFailed, match="never opens a test load balancer to everyone"):
            verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        assert twin.store.find("v1/services", "podcidr-public-nlb", namespace="podcidr-verify") is None
        assert task.check.changes == 0
    finally:
        remove_verification_workloads(migration, kube, wait=False)
