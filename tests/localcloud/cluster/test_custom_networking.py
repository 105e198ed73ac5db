"""Custom networking on a self-managed VPC CNI, through the real client and a real EKS token:
the issue's "Done when" as one test, on a twin of its own (test_custom_networking_failures.py has
what goes wrong)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.cluster.conftest import ClusterFixture, wait_for
from tests.localcloud.cluster.custom_networking import (
    DRAIN_TIMEOUT,
    POD_CIDR,
    SCENARIO,
    ZONES,
    create_eniconfig,
    create_nodegroup,
    create_pod_subnets,
    in_cidr,
    ready_nodes,
    set_custom_networking_env,
    wait_for_aws_node_rollout,
    web_pods,
)


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory(SCENARIO, drain_timeout=DRAIN_TIMEOUT)


@pytest.fixture(scope="module")
def pod_subnets(twin: ClusterFixture) -> dict[str, str]:
    return create_pod_subnets(twin)


def test_done_when(twin: ClusterFixture, api: Any, pod_subnets: dict[str, str]) -> None:
    core, apps, custom = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.CustomObjectsApi(api)

    # refused without an access entry
    with twin.kube(twin.role("stranger", access=False)) as stranger, pytest.raises(ApiException) as refused:
        k8s.CoreV1Api(stranger).list_namespaced_pod("default")
    assert refused.value.status == 401

    # ENIConfigs first, then the CNI env (the DaemonSet: a self-managed CNI)
    for zone, subnet in pod_subnets.items():
        create_eniconfig(custom, zone, subnet)
    set_custom_networking_env(apps)
    wait_for_aws_node_rollout(apps, nodes=3)

    # nodes registered before the switch keep giving node-subnet addresses
    old_nodes = {n.metadata.name for n in core.list_node().items}
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 6}})
    wait_for(lambda: sum(p.status.phase == "Running" for p in web_pods(core)) == 6, what="6 web pods")
    for pod in web_pods(core):
        assert pod.spec.node_name in old_nodes
        assert in_cidr(pod.status.pod_ip, "172.31.0.0/16"), pod.status.pod_ip

    # a nodegroup created after the switch: its nodes register with custom-networking max pods
    create_nodegroup(twin, "pods-ng", ["node-a", "node-b", "node-c"])
    new_nodes = wait_for(lambda: len(ready := ready_nodes(core, "pods-ng")) == 3 and ready, what="new nodes Ready")
    for node in new_nodes:
        assert node.status.capacity["pods"] == "44"  # (4 - 1) x (15 - 1) + 2
        zone = node.metadata.labels["topology.kubernetes.io/zone"]
        assert node.metadata.labels["vpc.amazonaws.com/eniConfig"] == zone
        assert in_cidr(next(a.address for a in node.status.addresses if a.type == "InternalIP"), "172.31.0.0/16")

    # delete the old nodegroup: its nodes are drained, the pods move to the new nodes, on pod-subnet IPs
    eks = twin.admin("eks")
    eks.delete_nodegroup(clusterName=twin.name, nodegroupName="managed-ng")
    wait_for(
        lambda: not core.list_node(label_selector="eks.amazonaws.com/nodegroup=managed-ng").items,
        timeout=20,
        what="old nodes gone",
    )
    new_names = {n.metadata.name for n in new_nodes}
    moved = wait_for(
        lambda: (
            len(pods := [p for p in web_pods(core) if p.status.phase == "Running" and p.spec.node_name in new_names])
            == 6
            and pods
        ),
        what="web moved",
    )
    for pod in moved:
        assert in_cidr(pod.status.pod_ip, POD_CIDR), pod.status.pod_ip
        zone = next(
            n.metadata.labels["topology.kubernetes.io/zone"] for n in new_nodes if n.metadata.name == pod.spec.node_name
        )
        subnet = twin.admin("ec2").describe_subnets(SubnetIds=[pod_subnets[zone]])["Subnets"][0]
        assert in_cidr(pod.status.pod_ip, subnet["CidrBlock"])
    wait_for(
        lambda: "managed-ng" not in eks.list_nodegroups(clusterName=twin.name)["nodegroups"],
        what="old nodegroup gone from EKS",
    )

    # expose the Deployment through an internal NLB with fixed IPs
    ec2 = twin.admin("ec2")
    fixed = {}
    for name in ("node-a", "node-b", "node-c"):
        subnet = ec2.describe_subnets(SubnetIds=[twin.subnet(name)])["Subnets"][0]
        fixed[subnet["SubnetId"]] = str(ipaddress.ip_network(subnet["CidrBlock"]).broadcast_address - 1)
    prefix = "service.beta.kubernetes.io/aws-load-balancer-"
    core.create_namespaced_service(
        "default",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": "web-private",
                "annotations": {
                    prefix + "scheme": "internal",
                    prefix + "nlb-target-type": "ip",
                    prefix + "subnets": ", ".join(fixed),
                    prefix + "private-ipv4-addresses": ", ".join(fixed.values()),
                },
            },
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerClass": "service.k8s.aws/nlb",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}],
            },
        },
    )
    hostname = wait_for(
        lambda: (
            (
                (core.read_namespaced_service("web-private", "default").status.load_balancer.ingress or [None])[0]
                or k8s.V1LoadBalancerIngress()
            ).hostname
        ),
        what="hostname published",
    )
    elbv2 = twin.admin("elbv2")
    lb = next(b for b in elbv2.describe_load_balancers()["LoadBalancers"] if b["DNSName"] == hostname)
    assert lb["Scheme"] == "internal" and lb["Type"] == "network"
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(fixed)
    groups = elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]
    assert [g["TargetType"] for g in groups] == ["ip"]

    def healthy() -> list[str]:
        health = elbv2.describe_target_health(TargetGroupArn=groups[0]["TargetGroupArn"])["TargetHealthDescriptions"]
        return [d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] == "healthy"]

    targets = wait_for(lambda: len(ids := healthy()) == 6 and ids, what="6 healthy targets")
    assert all(in_cidr(ip, POD_CIDR) for ip in targets)
    # the fixed addresses are the load balancer's: held by its interfaces in EC2
    for subnet, address in fixed.items():
        enis = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["NetworkInterfaces"]
        assert any(e["PrivateIpAddress"] == address and e["Description"].startswith("ELB net/") for e in enis)
    state = twin.cluster.state()
    assert state["awsNode"]["customNetworking"] is True
    assert {e["name"] for e in state["eniConfigs"]} == set(ZONES)
    assert [lb_state["fixedAddresses"] for lb_state in state["loadBalancers"]] == [fixed]
