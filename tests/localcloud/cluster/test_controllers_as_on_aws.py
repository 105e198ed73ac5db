"""The cluster twin's controllers as AWS runs them (issue #10.5, #10.7): a VPC CNI rollout restarts
aws-node on every node, IP targets behind several security groups on the pod's ENI need exactly one
of them cluster-tagged,
access entries take a moment to apply, and only the workflow's principals are counted and faulted."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import boto3
import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from localcloud.scenario import FaultSpec
from tests.localcloud.cluster.conftest import ADMIN_POLICY, ClusterFixture, wait_for
from tests.localcloud.cluster.custom_networking import (
    SCENARIO,
    create_nodegroup,
    create_pod_subnets,
    ready_nodes,
    set_custom_networking_env,
)

ENICONFIGS = ("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs")


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory(SCENARIO)


def _ready(node: Any) -> Any:
    return next(c for c in node.status.conditions if c.type == "Ready")


def _untagged_group(twin: ClusterFixture, name: str) -> str:
    assert twin.aws.built is not None
    ec2 = twin.admin("ec2")
    return str(ec2.create_security_group(GroupName=name, Description="pods", VpcId=twin.aws.built.vpc_id)["GroupId"])


def test_nodes_carry_the_one_cluster_tagged_security_group_eks_makes(twin: ClusterFixture) -> None:
    """As a real cluster: the cluster security group eks-cluster-sg-<name>-<number>, tagged
    kubernetes.io/cluster/<name>=owned, is the only group on the primary ENI of a managed node
    without a launch template (so IP targets there satisfy the load balancer controller)."""
    assert twin.aws.built is not None
    ec2 = twin.admin("ec2")
    group = ec2.describe_security_groups(GroupIds=[twin.aws.built.cluster_security_group_id])["SecurityGroups"][0]
    assert re.fullmatch(rf"eks-cluster-sg-{twin.name}-\d{{10}}", group["GroupName"])
    assert {"Key": f"kubernetes.io/cluster/{twin.name}", "Value": "owned"} in group["Tags"]
    primaries = [
        eni
        for eni in ec2.describe_network_interfaces()["NetworkInterfaces"]
        if (eni.get("Attachment") or {}).get("DeviceIndex") == 0
    ]
    assert primaries and all([g["GroupId"] for g in eni["Groups"]] == [group["GroupId"]] for eni in primaries)


def test_a_cni_rollout_before_the_eniconfigs_breaks_existing_nodes_too(twin: ClusterFixture, api: Any) -> None:
    """AWS-FACTS 2, amazon-vpc-cni-k8s #2683: switching custom networking on restarts aws-node on
    every node; without an ENIConfig for its AZ it fails there and the node goes NotReady, saying
    why. Once the ENIConfigs exist, aws-node comes up and the nodes are Ready again."""
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    existing = ready_nodes(core, "managed-ng")
    assert len(existing) == 3

    set_custom_networking_env(k8s.AppsV1Api(api))
    broken = wait_for(lambda: not ready_nodes(core, "managed-ng") and core.list_node().items, what="nodes NotReady")
    assert {n.metadata.name for n in broken} >= {n.metadata.name for n in existing}
    for node in broken:
        ready = _ready(node)
        assert ready.status == "False"
        assert "Failed to attach any ENIs for custom networking" in ready.message
        assert node.metadata.labels["topology.kubernetes.io/zone"] in ready.message

    groups = [_untagged_group(twin, "pods-without-cluster-tag"), _untagged_group(twin, "pods-extra")]
    for zone, subnet in create_pod_subnets(twin).items():
        custom.create_cluster_custom_object(
            *ENICONFIGS,
            {
                "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
                "kind": "ENIConfig",
                "metadata": {"name": zone},
                "spec": {"subnet": subnet, "securityGroups": groups},
            },
        )
    wait_for(lambda: len(ready_nodes(core, "managed-ng")) == 3, what="nodes Ready again")


def test_ip_targets_behind_eniconfig_groups_without_the_cluster_tag_never_become_healthy(
    twin: ClusterFixture, api: Any
) -> None:
    """AWS-FACTS 8: new nodes put pods on ENIs with the ENIConfig's two groups; none is tagged
    kubernetes.io/cluster/<name>, so the controller adds no rule, says why in an event, and the
    targets stay unhealthy. (A lone group would do: the controller takes it whatever its tags.)"""
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    create_nodegroup(twin, "fresh", ["node-a", "node-b", "node-c"])
    wait_for(lambda: len(ready_nodes(core, "fresh")) == 3, timeout=30, what="fresh nodes Ready")
    labels = {"app": "behind-nlb"}
    apps.create_namespaced_deployment(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "behind-nlb"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": {"eks.amazonaws.com/nodegroup": "fresh"},
                        "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}],
                    },
                },
            },
        },
    )
    core.create_namespaced_service(
        "default",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "behind-nlb",
                "annotations": {
                    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                    "service.beta.kubernetes.io/aws-load-balancer-subnets": ",".join(
                        twin.subnet(name) for name in ("node-a", "node-b", "node-c")
                    ),
                },
            },
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerClass": "service.k8s.aws/nlb",
                "selector": labels,
                "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}],
            },
        },
    )
    twin.cluster.health.delay = lambda: 0.0  # past the first health checks at once

    def targets() -> list[dict[str, Any]]:
        stacks = [s for s in twin.cluster.state()["loadBalancers"] if s["for"] == "Service default/behind-nlb"]
        return stacks[0]["targets"] if stacks else []

    found = wait_for(lambda: len(t := targets()) == 2 and t, timeout=30, what="two targets registered")
    assert {t["health"] for t in found} == {"unhealthy"}
    events = wait_for(
        lambda: [
            e
            for e in core.list_namespaced_event("default", field_selector="involvedObject.name=behind-nlb").items
            if e.reason == "FailedNetworkReconcile"
        ],
        what="the controller's event",
    )
    assert events[0].type == "Warning"
    assert f"expect exactly one securityGroup tagged with kubernetes.io/cluster/{twin.name} for eni" in (
        events[0].message
    )
    elbv2 = twin.admin("elbv2")
    group = elbv2.describe_target_groups()["TargetGroups"]
    health = [
        d["TargetHealth"]
        for g in group
        for d in elbv2.describe_target_health(TargetGroupArn=g["TargetGroupArn"])["TargetHealthDescriptions"]
        if d["Target"]["Id"] in {t["id"] for t in found}
    ]
    assert health and all(h["State"] == "unhealthy" and h["Reason"] == "Target.FailedHealthChecks" for h in health)


def test_an_access_entry_applies_after_a_short_delay(twin: ClusterFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS-FACTS 7: 401 until the entry applies; then the calls go through."""
    monkeypatch.setattr(twin.scenario.timing, "access_entry", 5.0)
    session = twin.role("late-entry")
    made = twin.aws.eks.access_entry(twin.name, "arn:aws:iam::123456789012:role/late-entry")
    assert made is not None
    monkeypatch.setattr(twin.cluster, "wall_clock", lambda: made.created_at + timedelta(seconds=4))
    with twin.kube(session) as client, pytest.raises(ApiException) as refused:
        k8s.CoreV1Api(client).list_namespace()
    assert refused.value.status == 401
    monkeypatch.setattr(twin.cluster, "wall_clock", lambda: made.created_at + timedelta(seconds=10))
    with twin.kube(session) as client:
        assert k8s.CoreV1Api(client).list_namespace().items


def _outside_user(twin: ClusterFixture) -> boto3.Session:
    """An IAM user with an access entry (someone's kubectl), not a role the workflow assumes."""
    iam = twin.admin("iam")
    arn = iam.create_user(UserName="operator")["User"]["Arn"]
    keys = iam.create_access_key(UserName="operator")["AccessKey"]
    eks = twin.admin("eks")
    eks.create_access_entry(clusterName=twin.name, principalArn=arn, type="STANDARD")
    eks.associate_access_policy(
        clusterName=twin.name, principalArn=arn, policyArn=ADMIN_POLICY, accessScope={"type": "cluster"}
    )
    return boto3.Session(
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        region_name=twin.scenario.region,
    )


def test_outside_clients_are_neither_counted_nor_faulted(twin: ClusterFixture, api: Any) -> None:
    """#10.7: a kubectl of someone else's does not change a rehearsal; the workflow's role still is."""
    fault = FaultSpec(operation="kubernetes:create ConfigMap", when="before", times=1, error="InternalError")
    twin.aws.faults.add(fault)
    before = len(twin.aws.ledger.entries())
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-outside"}, "data": {"a": "b"}}
    with twin.kube(_outside_user(twin)) as client:
        k8s.CoreV1Api(client).create_namespaced_config_map("default", body)
        k8s.CoreV1Api(client).read_namespaced_config_map("from-outside", "default")
    assert [e.operation for e in twin.aws.ledger.entries()[before:] if e.service == "kubernetes"] == []

    body = {**body, "metadata": {"name": "from-the-workflow"}}
    with pytest.raises(ApiException) as faulted:
        k8s.CoreV1Api(api).create_namespaced_config_map("default", body)
    assert faulted.value.status == 500
    calls = [(e.operation, e.result) for e in twin.aws.ledger.entries()[before:] if e.service == "kubernetes"]
    assert calls == [("kubernetes:create ConfigMap", "InternalError")]
    assert twin.aws.faults.remaining()["kubernetes:create ConfigMap"] == 0


def test_a_replicaset_whose_namespace_is_terminating_creates_no_pod_and_its_pass_goes_on(twin: ClusterFixture) -> None:
    """As the ReplicaSet controller: a NamespaceTerminating refusal is not an error (failed before: the
    403 ended the controller pass, in the large rehearsal when the verification namespace went)."""
    store, workloads = twin.cluster.store, twin.cluster.workloads
    assert store is not None and workloads is not None
    store.create("v1/namespaces", {"metadata": {"name": "leaving"}})
    held = {
        "metadata": {"name": "held", "namespace": "leaving", "finalizers": ["test.podcidr/hold"]},
        "spec": {"containers": [{"name": "c", "image": "x:1"}]},
    }
    store.create("v1/pods", held, namespace="leaving")
    store.delete("v1/namespaces", "leaving")
    assert store.get("v1/namespaces", "leaving")["metadata"].get("deletionTimestamp")  # Terminating
    owner = {
        "metadata": {"name": "web-1", "namespace": "leaving", "uid": "u-1", "labels": {"app": "web"}},
        "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": held["spec"]}},
    }
    workloads._create_pod(owner, "ReplicaSet", "web-1-abcde")
    assert store.find("v1/pods", "web-1-abcde", namespace="leaving") is None
    store.mutate("v1/pods", "held", lambda pod: pod["metadata"].update(finalizers=[]), namespace="leaving")
