"""VerifyLoadBalancers fails at once, with the AWS Load Balancer Controller's own message, when the
controller refuses to build a test load balancer (DESIGN.md step 11), instead of polling for its
20 minutes. The twin's simulated controller refuses as the real one does."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cluster.loadbalancers import LoadBalancerController
from podcidr.errors import VerificationFailed
from podcidr.kube.client import Kube
from podcidr.models.migration import FixedAddress, LoadBalancerCheck
from podcidr.steps.verify_load_balancers import (
    LoadBalancerTask,
    deploy_verification_workload,
    remove_verification_workloads,
    verify_load_balancer,
)
from tests.fixtures.twin_aws import TwinCluster, start_twin_cluster

INTERNAL = "kubernetes.io/role/internal-elb"


def _subnet(name: str, az: str, cidr: str) -> dict[str, Any]:
    return {"name": name, "az": f"ap-southeast-1{az}", "cidr": cidr, "public": False, "tags": {INTERNAL: "1"}}


SCENARIO = {
    "vpc": {
        "subnets": [
            _subnet("node-a", "a", "172.31.48.0/20"),
            _subnet("node-b", "b", "172.31.64.0/20"),
            _subnet("node-a2", "a", "172.31.96.0/20"),
        ]
    },
    "cluster": {"subnets": ["node-a", "node-b", "node-a2"]},
}


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinCluster]:
    for twin in start_twin_cluster(SCENARIO):
        twin.grant_access()
        yield twin


def _task(twin: TwinCluster, fixed: list[FixedAddress]) -> LoadBalancerTask:
    return LoadBalancerTask(
        cluster_name=twin.cluster,
        pod_cidr="100.64.0.0/16",
        namespace="podcidr-verify",
        poll_seconds=1,
        check=LoadBalancerCheck(kind="private-nlb", fixed_addresses=fixed, source_cidrs=["172.31.0.0/16"]),
    )


def test_two_node_subnets_in_one_zone_fail_at_once_with_the_controllers_message(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    kube: Kube = twin.kube()
    migration = deploy_verification_workload(twin.migration(), kube)
    fixed = [
        FixedAddress(subnet_id=s, ip=f"172.31.{c}.254")
        for s, c in zip(migration.node_subnet_ids, (48, 64, 96), strict=True)
    ]
    task = _task(twin, fixed)
    try:
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        assert task.check.status == "provisioning"
        controller.reconcile(0.0)
        with pytest.raises(VerificationFailed) as raised:
            verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        cause = raised.value.cause
        assert "FailedBuildModel" in cause and "multiple subnets in same Availability Zone" in cause
        assert task.check.polls.get("wait", 0) <= 2  # at once, not after the 20 minutes of polls
        assert not twin.local.admin_session().client("elbv2").describe_load_balancers()["LoadBalancers"]
    finally:
        remove_verification_workloads(twin.migration(), kube, wait=False)
        controller.reconcile(1.0)


def test_a_fixed_address_taken_before_the_controller_builds_fails_at_once_with_its_message(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    kube: Kube = twin.kube()
    ec2 = twin.local.admin_session().client("ec2")
    subnets = twin.local.built.subnet_ids
    migration = deploy_verification_workload(twin.migration(), kube)
    fixed = [
        FixedAddress(subnet_id=subnets["node-a"], ip="172.31.48.200"),
        FixedAddress(subnet_id=subnets["node-b"], ip="172.31.64.200"),
    ]
    task = _task(twin, fixed)
    try:
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        interface = ec2.create_network_interface(SubnetId=subnets["node-b"], PrivateIpAddress="172.31.64.200")
        controller.reconcile(0.0)
        with pytest.raises(VerificationFailed) as raised:
            verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        cause = raised.value.cause
        assert "FailedDeployModel" in cause and "172.31.64.200" in cause and "already in use" in cause
    finally:
        remove_verification_workloads(migration, kube, wait=False)
        controller.reconcile(1.0)
        ec2.delete_network_interface(NetworkInterfaceId=interface["NetworkInterface"]["NetworkInterfaceId"])


def test_a_planned_address_taken_since_plan_is_replaced_by_a_free_one_at_creation(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    kube: Kube = twin.kube()
    ec2 = twin.local.admin_session().client("ec2")
    subnets = twin.local.built.subnet_ids
    ec2.create_network_interface(SubnetId=subnets["node-a"], PrivateIpAddress="172.31.48.210")
    migration = deploy_verification_workload(twin.migration(), kube)
    planned = [
        FixedAddress(subnet_id=subnets["node-a"], ip="172.31.48.210"),
        FixedAddress(subnet_id=subnets["node-b"], ip="172.31.64.210"),
    ]
    task = _task(twin, planned)
    try:
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
        service = twin.store.get("v1/services", "podcidr-private-nlb", namespace="podcidr-verify")
        annotated = service["metadata"]["annotations"][
            "service.beta.kubernetes.io/aws-load-balancer-private-ipv4-addresses"
        ]
        assert annotated == "172.31.63.254, 172.31.64.210"  # the highest free one; the free one kept
        assert [a.ip for a in task.check.fixed_addresses] == ["172.31.63.254", "172.31.64.210"]
        again = _task(twin, planned)  # a retry whose first response was lost: the Service's addresses
        verify_load_balancer(again, kube, twin.clients.elbv2, twin.clients.ec2)
        assert again.check.fixed_addresses == task.check.fixed_addresses and again.check.changes == 0
        controller.reconcile(0.0)
        verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)  # no refusal
        assert twin.local.admin_session().client("elbv2").describe_load_balancers()["LoadBalancers"]
    finally:
        remove_verification_workloads(migration, kube, wait=False)
        controller.reconcile(1.0)
