"""VerifyPods' checks over a small in-memory Kubernetes API (tests/fixtures/fake_kube.py): pod IPs in
the pod CIDR, node IPs in the node subnets, the replacements' max pods. The twin's tests
(test_cluster_steps_on_twin.py) run the same step against a real API server and controllers."""

from __future__ import annotations

from typing import Any, cast

import pytest
from botocore.exceptions import ClientError

from podcidr.errors import VerificationFailed
from podcidr.models.migration import Migration, NodegroupConfig, NodegroupReplacement, PodCheck, UnmanagedCapacity
from podcidr.steps.verify_pods import MAX_LISTED, verify_pods
from tests.fixtures.fake_kube import FakeKube, node, pod
from tests.fixtures.vpc_topology import Topology, seed_migration

NODE_SUBNETS = {"subnet-1": "192.168.0.0/19", "subnet-2": "192.168.32.0/19", "subnet-3": "192.168.64.0/19"}
NEW_GROUP = "managed-ng-pods"


class SubnetsEc2:
    """DescribeSubnets by id, refusing an unknown id as EC2 does."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def describe_subnets(self, SubnetIds: list[str]) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        self.calls.append(SubnetIds)
        unknown = [s for s in SubnetIds if s not in NODE_SUBNETS]
        if unknown:
            message = f"The subnet ID '{unknown[0]}' does not exist"
            raise ClientError({"Error": {"Code": "InvalidSubnetID.NotFound", "Message": message}}, "DescribeSubnets")
        return {"Subnets": [{"SubnetId": s, "CidrBlock": NODE_SUBNETS[s]} for s in SubnetIds]}


def _migration(*, replaced: bool = True) -> Migration:
    ids = list(NODE_SUBNETS)
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    if replaced:
        config = NodegroupConfig(subnets=ids, node_role="arn:aws:iam::1:role/n", scaling_config={"minSize": 2})
        migration.nodegroups = [NodegroupReplacement(replaced="managed-ng", by=NEW_GROUP, max_pods=44, config=config)]
    return migration


def _kube(*extra_pods: dict[str, Any]) -> FakeKube:
    group = {"eks.amazonaws.com/nodegroup": NEW_GROUP}
    return FakeKube(
        Node=[node("n1", "192.168.1.10", group, pods="44"), node("n2", "192.168.33.10", group, pods="44")],
        Pod=[pod("web-1", "n1", "100.64.0.5"), pod("web-2", "n2", "100.64.64.7"), *extra_pods],
    )


def _verify(kube: FakeKube, migration: Migration | None = None) -> Migration:
    return verify_pods(migration or _migration(), cast(Any, kube), cast(Any, SubnetsEc2()))


def test_every_pod_in_the_pod_cidr_and_every_node_in_the_node_subnets_passes() -> None:
    verified = _verify(_kube())
    assert verified.verification.pods == PodCheck(checked=2, in_pod_cidr=2, outside=[])
    assert verified.warnings == []


def test_host_network_pods_pods_without_an_ip_and_finished_pods_are_not_checked() -> None:
    kube = _kube(
        pod("aws-node-x", "n1", "192.168.1.10", namespace="kube-system", host_network=True),
        pod("starting", "n1", None),
        pod("job-done", "n2", "192.168.33.99", phase="Succeeded"),  # its IP is long released
    )
    kube.objects["Pod"].reverse()  # the skipped ones first: the pods after them are still checked
    assert _verify(kube).verification.pods == PodCheck(checked=2, in_pod_cidr=2, outside=[])


def test_a_pod_outside_a_node_outside_and_a_wrong_max_pods_are_all_named() -> None:
    group = {"eks.amazonaws.com/nodegroup": NEW_GROUP}
    kube = _kube(pod("old-1", "n1", "192.168.1.77", namespace="shop"))
    kube.add("Node", node("n3", "10.0.0.9", {"eks.amazonaws.com/nodegroup": "other"}))
    kube.add("Node", node("n4", "192.168.65.4", group, pods="110"))

    with pytest.raises(VerificationFailed) as raised:
        _verify(kube)

    assert raised.value.cause == (
        "Custom networking is not in effect everywhere: node n3 has InternalIP 10.0.0.9, outside the node subnets "
        "(192.168.0.0/19, 192.168.32.0/19, 192.168.64.0/19); node n4 of managed-ng-pods has max pods 110, expected "
        "44; 1 of 3 pods are outside the pod CIDR 100.64.0.0/16: shop/old-1 (192.168.1.77 on n1)."
    )


def test_past_the_listed_count_the_outside_pods_are_elided() -> None:
    kube = _kube(*(pod(f"old-{n:02}", "n1", f"192.168.1.{n + 100}") for n in range(MAX_LISTED + 1)))
    with pytest.raises(VerificationFailed) as raised:
        _verify(kube)
    cause = raised.value.cause
    assert cause.startswith(f"Custom networking is not in effect everywhere: {MAX_LISTED + 1} of {MAX_LISTED + 3} pods")
    assert "default/old-24 (192.168.1.124 on n1) ..." in cause
    assert "old-25" not in cause


def test_exactly_the_listed_count_is_not_elided() -> None:
    kube = _kube(*(pod(f"old-{n:02}", "n1", f"192.168.1.{n + 100}") for n in range(MAX_LISTED)))
    with pytest.raises(VerificationFailed) as raised:
        _verify(kube)
    assert raised.value.cause.endswith("default/old-24 (192.168.1.124 on n1).")


def test_pods_outside_with_no_nodegroup_replaced_are_a_warning() -> None:
    """Nothing was replaced (no nodegroup in scope): the pods move when their nodes are replaced."""
    kube = _kube(pod("old-1", "n1", "192.168.1.77"))
    verified = _verify(kube, _migration(replaced=False))
    outside = ["default/old-1 (192.168.1.77 on n1)"]
    assert verified.verification.pods == PodCheck(checked=3, in_pod_cidr=2, outside=outside)
    assert verified.warnings == [
        "1 pod(s) are outside 100.64.0.0/16 and no nodegroup was replaced: they move when their nodes are replaced."
    ]


def test_fargate_pods_are_a_warning_and_not_checked() -> None:
    kube = _kube(
        pod("fg-1", "fargate-ip-192-168-2-9", "192.168.2.9", namespace="batch"),
        pod("fg-2", "fargate-ip-192-168-2-9", "192.168.2.10", namespace="batch"),
    )
    kube.objects["Pod"].reverse()  # the Fargate ones first: the pods after them are still checked
    kube.add("Node", node("fargate-ip-192-168-2-9", "10.9.9.9", {"eks.amazonaws.com/compute-type": "fargate"}))
    verified = _verify(kube)
    assert verified.verification.pods == PodCheck(checked=2, in_pod_cidr=2, outside=[])
    assert verified.warnings == [
        "2 pod(s) on Fargate keep node-subnet addresses (custom networking does not apply to Fargate): "
        "batch/fg-2 (192.168.2.10 on fargate-ip-192-168-2-9), batch/fg-1 (192.168.2.9 on fargate-ip-192-168-2-9)"
    ]


def test_two_pods_outside_are_listed_comma_separated() -> None:
    kube = _kube(pod("old-1", "n1", "192.168.1.77"), pod("old-2", "n2", "192.168.33.78"))
    with pytest.raises(VerificationFailed) as raised:
        _verify(kube)
    assert raised.value.cause == (
        "Custom networking is not in effect everywhere: 2 of 4 pods are outside the pod CIDR 100.64.0.0/16: "
        "default/old-1 (192.168.1.77 on n1), default/old-2 (192.168.33.78 on n2)."
    )


def test_unmanaged_capacity_is_left_out_and_its_pods_counted() -> None:
    """Self-managed nodes (by instance ID) and a Fargate profile's namespaces, which Plan left unmigrated
    (ignoreUnmanagedCapacity): their nodes and pods are not checked, their running pods counted afresh."""
    migration = _migration()
    migration.unmanaged_capacity = [
        UnmanagedCapacity(kind="self-managed", name="legacy-asg", pods=7, instance_ids=["i-0aaa"]),
        UnmanagedCapacity(kind="fargate", name="batch-profile", namespaces=["batch"]),
    ]
    kube = _kube()
    legacy = node("a-legacy", "10.0.0.5")  # sorted first: the nodes after it are still checked
    legacy["spec"] = {"providerID": "aws:///ap-southeast-1a/i-0aaa"}
    kube.add("Node", legacy, node("fargate-ip-1", "10.9.9.9", {"eks.amazonaws.com/compute-type": "fargate"}))
    kube.add("Node", node("z-stray", "10.0.0.6"))  # outside the node subnets and not unmanaged: named
    kube.objects["Pod"][:0] = [
        pod("legacy-1", "a-legacy", "10.0.0.50"),
        pod("legacy-2", "a-legacy", "10.0.0.51"),
        pod("job-1", "fargate-ip-1", "10.9.9.9", namespace="batch"),
    ]

    with pytest.raises(VerificationFailed) as raised:
        _verify(kube, migration)

    assert raised.value.cause == (
        "Custom networking is not in effect everywhere: node z-stray has InternalIP 10.0.0.6, outside the node "
        "subnets (192.168.0.0/19, 192.168.32.0/19, 192.168.64.0/19)."
    )
    assert [(c.name, c.pods) for c in migration.unmanaged_capacity] == [("legacy-asg", 2), ("batch-profile", 1)]
    assert migration.verification.pods == PodCheck(checked=2, in_pod_cidr=2, outside=[])
    assert migration.warnings == []


def test_a_node_that_reports_no_max_pods_is_named() -> None:
    kube = _kube()
    kube.add("Node", node("n5", "192.168.2.5", {"eks.amazonaws.com/nodegroup": NEW_GROUP}, pods=None))
    with pytest.raises(VerificationFailed, match=r"node n5 of managed-ng-pods has max pods None, expected 44\."):
        _verify(kube)


def test_a_node_that_reports_no_address_is_named_not_taken_for_inside() -> None:
    kube = _kube()
    unaddressed = node("n6", "192.168.2.6", {"eks.amazonaws.com/nodegroup": NEW_GROUP}, pods="44")
    del unaddressed["status"]["addresses"]  # status.addresses is optional: none until the cloud controller sets them
    kube.add("Node", unaddressed)
    with pytest.raises(VerificationFailed) as raised:
        _verify(kube)
    assert raised.value.cause == (
        "Custom networking is not in effect everywhere: node n6 has InternalIP None, outside the node subnets "
        "(192.168.0.0/19, 192.168.32.0/19, 192.168.64.0/19)."
    )
