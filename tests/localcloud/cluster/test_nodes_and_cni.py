"""Nodes, pods and the managed VPC CNI add-on on the seed's cluster, through the real client."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.cluster.conftest import ClusterFixture, wait_for


@pytest.fixture(scope="module")
def seed(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory()


@pytest.fixture(scope="module")
def api(seed: ClusterFixture) -> Any:
    with seed.kube(seed.role("nodes-admin")) as client:
        yield client


def _in(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def test_describe_cluster_points_at_the_emulator_and_refuses_a_role_without_access_entry(seed: ClusterFixture) -> None:
    described = seed.admin("eks").describe_cluster(name=seed.name)["cluster"]
    assert described["endpoint"].startswith("https://127.0.0.1:")
    assert described["certificateAuthority"]["data"]
    with seed.kube(seed.role("no-entry", access=False)) as client, pytest.raises(ApiException) as refused:
        k8s.CoreV1Api(client).list_node()
    assert refused.value.status == 401


def test_nodes_register_with_zone_labels_subnet_addresses_and_max_pods(seed: ClusterFixture, api: Any) -> None:
    nodes = k8s.CoreV1Api(api).list_node().items
    assert len(nodes) == 3
    zones = sorted(n.metadata.labels["topology.kubernetes.io/zone"] for n in nodes)
    assert zones == ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
    cidrs = {s.az: s.cidr for s in seed.scenario.vpc.subnets if not s.public}
    for node in nodes:
        labels = node.metadata.labels
        assert labels["eks.amazonaws.com/nodegroup"] == "managed-ng"
        assert labels["node.kubernetes.io/instance-type"] == "t3.2xlarge"
        assert labels["kubernetes.io/hostname"] == node.metadata.name
        internal = next(a.address for a in node.status.addresses if a.type == "InternalIP")
        assert _in(internal, cidrs[labels["topology.kubernetes.io/zone"]])
        assert node.status.capacity["pods"] == "58"  # t3.2xlarge: 4 ENIs x (15 - 1) + 2
        assert node.status.allocatable["pods"] == "58"
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
        assert node.spec.provider_id.startswith(f"aws:///{labels['topology.kubernetes.io/zone']}/i-")
    # the nodes and their pod addresses hold addresses of their subnets, as ENIs do in EC2
    subnets = seed.admin("ec2").describe_subnets(SubnetIds=[seed.subnet(n) for n in ("node-a", "node-b", "node-c")])
    for subnet in subnets["Subnets"]:
        assert subnet["AvailableIpAddressCount"] < 4091 - 14


def test_pods_run_on_node_subnet_addresses_and_daemonsets_on_node_addresses(seed: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    node_ip = {
        n.metadata.name: next(a.address for a in n.status.addresses if a.type == "InternalIP")
        for n in core.list_node().items
    }
    web = wait_for(
        lambda: [
            p
            for p in core.list_namespaced_pod("default", label_selector="app=web").items
            if p.status.phase == "Running"
        ],
        what="web pods running",
    )
    assert len(web) == 3
    assert len({p.spec.node_name for p in web}) == 3  # spread
    for pod in web:
        assert pod.status.pod_ip != node_ip[pod.spec.node_name]
        assert _in(pod.status.pod_ip, "172.31.0.0/16")
        assert pod.metadata.owner_references[0].kind == "ReplicaSet"
        assert "pod-template-hash" in pod.metadata.labels
    for pod in core.list_namespaced_pod("kube-system", label_selector="k8s-app in (aws-node,kube-proxy)").items:
        assert pod.spec.host_network is True
        assert pod.status.pod_ip == node_ip[pod.spec.node_name]
    deployment = k8s.AppsV1Api(api).read_namespaced_deployment("web", "default")
    assert deployment.status.ready_replicas == 3
    assert deployment.status.available_replicas == 3
    assert deployment.status.observed_generation == deployment.metadata.generation


def test_scaling_a_deployment_adds_pods_and_keeps_its_status_current(seed: ClusterFixture, api: Any) -> None:
    apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
    # creationTimestamp has a one-second grain: the pods added below must be newer than those there
    newest = max(
        p.metadata.creation_timestamp for p in core.list_namespaced_pod("default", label_selector="app=web").items
    )
    wait_for(lambda: datetime.now(UTC) - newest > timedelta(seconds=1.1), what="a newer second")
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 5}})
    status = wait_for(
        lambda: (d := apps.read_namespaced_deployment("web", "default")).status.ready_replicas == 5 and d.status,
        what="5 ready replicas",
    )
    assert status.replicas == 5
    assert status.updated_replicas == 5
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 3}})
    pods = wait_for(
        lambda: len(found := core.list_namespaced_pod("default", label_selector="app=web").items) == 3 and found
    )
    # the ReplicaSet controller deletes the newest of the pods doubled up on a node first: one per node again
    assert len({p.spec.node_name for p in pods}) == 3


def _aws_node_env(apps: k8s.AppsV1Api) -> dict[str, str]:
    ds = apps.read_namespaced_daemon_set("aws-node", "kube-system")
    container = next(c for c in ds.spec.template.spec.containers if c.name == "aws-node")
    return {e.name: e.value for e in container.env if e.value_from is None}


def _rolled_out(apps: k8s.AppsV1Api) -> bool:
    ds = apps.read_namespaced_daemon_set("aws-node", "kube-system")
    status = ds.status
    return bool(
        status.observed_generation == ds.metadata.generation
        and status.updated_number_scheduled == status.desired_number_scheduled
        and status.number_available == status.desired_number_scheduled
    )


def _update_addon(seed: ClusterFixture, resolve: str, env: dict[str, str]) -> None:
    eks = seed.admin("eks")
    update = eks.update_addon(
        clusterName=seed.name,
        addonName="vpc-cni",
        resolveConflicts=resolve,
        configurationValues=json.dumps({"env": env}),
    )["update"]
    wait_for(
        lambda: (
            eks.describe_update(name=seed.name, updateId=update["id"], addonName="vpc-cni")["update"]["status"]
            == "Successful"
        ),
        what="add-on update",
    )


def test_addon_update_preserve_keeps_env_set_by_hand_and_overwrite_drops_it(seed: ClusterFixture, api: Any) -> None:
    apps = k8s.AppsV1Api(api)
    generation = apps.read_namespaced_daemon_set("aws-node", "kube-system").metadata.generation
    # kubectl set env: a strategic merge of the container's env by name
    apps.patch_namespaced_daemon_set(
        "aws-node",
        "kube-system",
        {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": "aws-node", "env": [{"name": "WARM_IP_TARGET", "value": "5"}]}]}
                }
            }
        },
    )
    assert _aws_node_env(apps)["WARM_IP_TARGET"] == "5"
    assert apps.read_namespaced_daemon_set("aws-node", "kube-system").metadata.generation == generation + 1
    wait_for(lambda: _rolled_out(apps), what="aws-node rollout")

    _update_addon(seed, "PRESERVE", {"WARM_ENI_TARGET": "2"})
    env = wait_for(lambda: (e := _aws_node_env(apps)).get("WARM_ENI_TARGET") == "2" and e, what="add-on env applied")
    assert env["WARM_IP_TARGET"] == "5"  # kept

    _update_addon(seed, "OVERWRITE", {"WARM_ENI_TARGET": "2"})
    env = wait_for(lambda: "WARM_IP_TARGET" not in (e := _aws_node_env(apps)) and e, what="hand-set env dropped")
    assert env["WARM_ENI_TARGET"] == "2"
    assert env["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] == "false"
    wait_for(lambda: _rolled_out(apps), what="aws-node rollout after the add-on update")


def _set_env_by_hand(apps: k8s.AppsV1Api, name: str, value: str) -> None:
    """kubectl set env: a strategic merge of the container's env by name (another field manager than EKS)."""
    container = {"name": "aws-node", "env": [{"name": name, "value": value}]}
    apps.patch_namespaced_daemon_set(
        "aws-node", "kube-system", {"spec": {"template": {"spec": {"containers": [container]}}}}
    )


def test_addon_update_preserve_keeps_a_hand_set_value_of_a_key_its_configuration_sets(
    seed: ClusterFixture, api: Any
) -> None:
    """EKS applies an add-on's configuration by server-side apply: under PRESERVE a field another manager changed
    keeps that manager's value, and the update still ends Successful (AWS-FACTS 2). A key nobody changed by hand
    takes the configuration's value; OVERWRITE takes it whatever was set."""
    apps = k8s.AppsV1Api(api)
    _set_env_by_hand(apps, "WARM_ENI_TARGET", "3")
    configuration = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "WARM_ENI_TARGET": "2", "WARM_IP_TARGET": "4"}

    _update_addon(seed, "PRESERVE", configuration)
    env = wait_for(lambda: (e := _aws_node_env(apps)).get("WARM_IP_TARGET") == "4" and e, what="add-on env applied")
    assert env["WARM_ENI_TARGET"] == "3"  # changed by hand: kept
    assert env["AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"] == "true"  # nobody changed it: the configuration's

    _update_addon(seed, "OVERWRITE", configuration)
    env = wait_for(lambda: (e := _aws_node_env(apps)).get("WARM_ENI_TARGET") == "2" and e, what="add-on env forced")
    assert env["WARM_IP_TARGET"] == "4"


def test_kubernetes_calls_are_in_the_ledger(seed: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    core.list_namespaced_pod("default")
    core.create_namespaced_config_map("default", {"metadata": {"name": "ledgered"}, "data": {"k": "v"}})
    core.patch_namespaced_config_map("ledgered", "default", {"data": {"k": "w"}})
    operations = {(e.service, e.operation, e.mutating) for e in seed.aws.ledger.entries()}
    assert ("kubernetes", "kubernetes:list Pod", False) in operations
    assert ("kubernetes", "kubernetes:create ConfigMap", True) in operations
    assert ("kubernetes", "kubernetes:patch ConfigMap", True) in operations


def test_the_addresses_ec2_holds_read_in_process_are_those_its_api_describes(seed: ClusterFixture) -> None:
    """The twin chooses free addresses from moto's backend (fast at 60 nodes); it must see what a
    client of the EC2 API sees: every interface's addresses and every instance's, in each subnet."""
    from localcloud.aws import ec2_addresses
    from localcloud.cluster.network import Ec2Network

    ec2 = seed.admin("ec2")
    described = Ec2Network(ec2, seed.name)
    backend = ec2_addresses.backend(seed.aws.account_id, seed.aws.region)
    for name in ("node-a", "node-b", "node-c"):
        subnet = seed.subnet(name)
        expected = described.in_use(subnet) | described._instance_addresses(subnet)
        assert len(expected) > 3  # the node, its ENIs' addresses for pods
        assert ec2_addresses.addresses_taken(backend, subnet) == expected
