"""The test load balancers accept traffic only from the planned source CIDRs (verify.sourceCidrs or
the VPC's blocks), through the AWS Load Balancer Controller's own knobs: the frontend security group
the twin's controller makes (as the real one does) lets exactly those CIDRs in, never 0.0.0.0/0."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cluster.loadbalancers import LoadBalancerController, TargetHealth
from localcloud.cluster.network import Ec2Network
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
from tests.fixtures.twin_aws import TwinCluster, start_twin_cluster

ELB, INTERNAL = "kubernetes.io/role/elb", "kubernetes.io/role/internal-elb"


def _subnet(name: str, az: str, cidr: str, tags: dict[str, str], public: bool = False) -> dict[str, Any]:
    return {"name": name, "az": f"ap-southeast-1{az}", "cidr": cidr, "public": public, "tags": tags}


SCENARIO = {
    "vpc": {
        "subnets": [
            _subnet("public-a", "a", "172.31.0.0/20", {ELB: "1"}, public=True),
            _subnet("public-b", "b", "172.31.16.0/20", {ELB: "1"}, public=True),
            _subnet("node-a", "a", "172.31.48.0/20", {INTERNAL: "1"}),
            _subnet("node-b", "b", "172.31.64.0/20", {INTERNAL: "1"}),
        ]
    },
    "cluster": {"subnets": ["node-a", "node-b"]},
}
SOURCES = ["172.31.0.0/16", "203.0.113.0/24"]


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinCluster]:
    for twin in start_twin_cluster(SCENARIO):
        twin.grant_access()
        yield twin


@pytest.fixture
def controller(twin: TwinCluster) -> LoadBalancerController:
    session = twin.local.admin_session()
    return LoadBalancerController(
        twin.store,
        Ec2Network(session.client("ec2"), twin.cluster),
        session.client("elbv2"),
        TargetHealth(),
        cluster_name=twin.cluster,
        vpc_id=twin.local.built.vpc_id,
        delay=lambda: 0.0,
    )


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
