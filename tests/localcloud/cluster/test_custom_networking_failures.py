"""What goes wrong with custom networking, each test on the cluster the `pod_subnets` fixture
switches (ENIConfigs for every zone, then the CNI env, rolled out): amazon-vpc-cni-k8s #2683 (a
zone without an ENIConfig), EKS giving up on nodes that never join, and draining past a budget."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.aws.conftest import FrozenClock
from tests.localcloud.cluster.conftest import ClusterFixture, wait_for
from tests.localcloud.cluster.custom_networking import (
    DRAIN_TIMEOUT,
    SCENARIO,
    create_eniconfig,
    create_nodegroup,
    create_pod_subnets,
    describe_nodegroup,
    ready_nodes,
    set_custom_networking_env,
    wait_for_aws_node_rollout,
)


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory(SCENARIO, drain_timeout=DRAIN_TIMEOUT)


@pytest.fixture(scope="module")
def pod_subnets(twin: ClusterFixture, api: Any) -> dict[str, str]:
    """The pod subnets, their ENIConfigs, and custom networking switched on in aws-node."""
    subnets = create_pod_subnets(twin)
    custom, apps = k8s.CustomObjectsApi(api), k8s.AppsV1Api(api)
    for zone, subnet in subnets.items():
        create_eniconfig(custom, zone, subnet)
    set_custom_networking_env(apps)
    wait_for_aws_node_rollout(apps, nodes=3)
    return subnets


@contextmanager
def _held_clock(twin: ClusterFixture) -> Iterator[Callable[[float], None]]:
    """The twin's time (AWS's timed states and the controllers') stands still, so nothing times out
    while the test looks; `advance(seconds)` moves it on and returns after two controller passes at
    the new time."""
    clock = FrozenClock(twin.aws.clock.now())
    passes = [0]
    reconcile = twin.cluster.reconcile

    def counted() -> None:
        reconcile()
        passes[0] += 1

    def advance(seconds: float) -> None:
        clock.advance(seconds)
        seen = passes[0]
        wait_for(lambda: passes[0] >= seen + 2, what="two controller passes")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(twin.aws.clock, "now", clock.now)
        patch.setattr(twin.cluster, "reconcile", counted)
        yield advance


def _delete_eniconfig(custom: k8s.CustomObjectsApi, zone: str) -> None:
    try:
        custom.delete_cluster_custom_object("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", zone)
    except ApiException as error:
        assert error.status == 404


def test_custom_networking_without_an_eniconfig_for_the_zone_leaves_the_node_not_ready(
    twin: ClusterFixture, api: Any, pod_subnets: dict[str, str]
) -> None:
    """amazon-vpc-cni-k8s #2683: aws-node fails on a node whose AZ has no ENIConfig."""
    core, apps, custom = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.CustomObjectsApi(api)
    env = {
        e.name: e.value
        for e in next(
            c
            for c in apps.read_namespaced_daemon_set("aws-node", "kube-system").spec.template.spec.containers
            if c.name == "aws-node"
        ).env
        if e.value
    }
    assert env["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] == "true"
    zone = "ap-southeast-1c"
    _delete_eniconfig(custom, zone)
    create_nodegroup(twin, "zone-c", ["node-c"], size=1)
    node = wait_for(
        lambda: core.list_node(label_selector="eks.amazonaws.com/nodegroup=zone-c").items, what="zone-c node registered"
    )[0]
    assert node.metadata.labels["topology.kubernetes.io/zone"] == zone
    wait_for(lambda: not ready_nodes(core, "zone-c") and twin.aws.eks.nodegroups(twin.name), what="settled")
    eks = twin.admin("eks")
    with _held_clock(twin) as advance:
        advance(twin.scenario.timing.node_ready + 0.5)  # past timing.nodeReady, short of timing.nodeJoin
        node = core.read_node(node.metadata.name)
        ready = next(c for c in node.status.conditions if c.type == "Ready")
        assert ready.status == "False"
        assert "ENIConfig" in ready.message
        assert any(t.key == "node.kubernetes.io/not-ready" for t in node.spec.taints)
        aws_node = next(
            p
            for p in core.list_namespaced_pod("kube-system", label_selector="k8s-app=aws-node").items
            if p.spec.node_name == node.metadata.name
        )
        assert not any(c.type == "Ready" and c.status == "True" for c in aws_node.status.conditions)
        # past timing.nodegroupCreate: not joined yet
        assert describe_nodegroup(eks, twin, "zone-c")["status"] == "CREATING"
        # the ENIConfig appears (within timing.nodeJoin): aws-node attaches its ENI, the node becomes Ready
        create_eniconfig(custom, zone, pod_subnets[zone])
        wait_for(lambda: ready_nodes(core, "zone-c"), what="zone-c node Ready once its ENIConfig exists")

        def active() -> bool:
            advance(0.2)  # EKS marks the nodegroup ACTIVE a moment after its node joined
            return bool(describe_nodegroup(eks, twin, "zone-c")["status"] == "ACTIVE")

        wait_for(active, what="zone-c ACTIVE once its node joined")


def test_nodegroup_whose_nodes_never_join_fails_with_node_creation_failure(
    twin: ClusterFixture, api: Any, pod_subnets: dict[str, str]
) -> None:
    """EKS gives up on a nodegroup whose instances do not join in time (here: #2683, no ENIConfig for
    their zone): CREATE_FAILED with a NodeCreationFailure health issue naming them; they stay."""
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    eks, ec2 = twin.admin("eks"), twin.admin("ec2")
    zone = "ap-southeast-1c"
    _delete_eniconfig(custom, zone)
    create_nodegroup(twin, "never-joins", ["node-c"], size=2)
    selector = "eks.amazonaws.com/nodegroup=never-joins"
    nodes = wait_for(lambda: len(found := core.list_node(label_selector=selector).items) == 2 and found, what="nodes")
    assert describe_nodegroup(eks, twin, "never-joins")["status"] == "CREATING"
    failed = wait_for(
        lambda: (ng := describe_nodegroup(eks, twin, "never-joins"))["status"] == "CREATE_FAILED" and ng,
        what="CREATE_FAILED after timing.nodeJoin",
    )
    instances = sorted(n.spec.provider_id.rpartition("/")[2] for n in nodes)
    assert failed["health"]["issues"] == [
        {
            "code": "NodeCreationFailure",
            "message": "Instances failed to join the kubernetes cluster",
            "resourceIds": instances,
        }
    ]
    # the instances stay, their nodes NotReady
    reservations = ec2.describe_instances(InstanceIds=instances)["Reservations"]
    assert {i["State"]["Name"] for r in reservations for i in r["Instances"]} == {"running"}
    assert len(core.list_node(label_selector=selector).items) == 2 and not ready_nodes(core, "never-joins")
    # a failed nodegroup can only be deleted: its instances are terminated
    eks.delete_nodegroup(clusterName=twin.name, nodegroupName="never-joins")
    wait_for(lambda: "never-joins" not in eks.list_nodegroups(clusterName=twin.name)["nodegroups"], what="gone")
    assert not core.list_node(label_selector=selector).items
    reservations = ec2.describe_instances(InstanceIds=instances)["Reservations"]
    assert {i["State"]["Name"] for r in reservations for i in r["Instances"]} == {"terminated"}
    create_eniconfig(custom, zone, pod_subnets[zone])


def test_draining_honours_a_pod_disruption_budget(twin: ClusterFixture, api: Any, pod_subnets: dict[str, str]) -> None:
    core, apps, policy = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.PolicyV1Api(api)
    create_nodegroup(twin, "drained", ["node-a", "node-b"], size=2)
    wait_for(lambda: len(ready_nodes(core, "drained")) == 2, what="drained nodes Ready")
    on_drained = {"eks.amazonaws.com/nodegroup": "drained"}
    apps.create_namespaced_deployment(
        "default",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "budgeted"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "budgeted"}},
                "template": {
                    "metadata": {"labels": {"app": "budgeted"}},
                    "spec": {"nodeSelector": on_drained, "containers": [{"name": "app", "image": "nginx"}]},
                },
            },
        },
    )

    def running() -> int:
        pods = core.list_namespaced_pod("default", label_selector="app=budgeted").items
        return sum(p.status.phase == "Running" for p in pods)

    wait_for(lambda: running() == 2, what="2 budgeted pods running")
    policy.create_namespaced_pod_disruption_budget(
        "default",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "budgeted"},
            "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": "budgeted"}}},
        },
    )
    eks = twin.admin("eks")
    with _held_clock(twin) as advance:
        eks.delete_nodegroup(clusterName=twin.name, nodegroupName="drained")
        advance(twin.scenario.timing.nodegroup_delete + 0.5)  # past timing.nodegroupDelete, short of DRAIN_TIMEOUT
        nodes = core.list_node(label_selector="eks.amazonaws.com/nodegroup=drained").items
        assert nodes and all(n.spec.unschedulable for n in nodes)  # cordoned, not removed: the budget blocks
        assert running() == 2
        assert "drained" in eks.list_nodegroups(clusterName=twin.name)["nodegroups"]
    # EKS forces termination of nodes it could not drain in time (5 minutes on AWS)
    wait_for(
        lambda: not core.list_node(label_selector="eks.amazonaws.com/nodegroup=drained").items,
        timeout=15,
        what="nodes forced out after the drain timeout",
    )
    wait_for(lambda: "drained" not in eks.list_nodegroups(clusterName=twin.name)["nodegroups"], what="nodegroup gone")
    assert running() == 0  # nowhere left that matches their node selector
