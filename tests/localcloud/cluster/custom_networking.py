"""What the custom-networking tests share: their scenario, and the kubectl-like steps they take."""

from __future__ import annotations

import ipaddress
from typing import Any

from kubernetes import client as k8s

from tests.localcloud.cluster.conftest import ClusterFixture, wait_for

POD_CIDR = "100.64.0.0/16"
ZONES = ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")
SCENARIO: dict[str, Any] = {
    "vpc": {"secondaryCidrs": [POD_CIDR]},
    "cluster": {"vpcCni": {"addon": False}},
    # nodeJoin and the drain timeout (DRAIN_TIMEOUT) leave several seconds between the states the
    # tests look at and their deadlines, so a loaded machine does not see a later state than expected.
    "timing": {"nodeJoin": 4.0},
}
DRAIN_TIMEOUT = 5.0
CUSTOM_NETWORKING_ENV = [
    {"name": "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "value": "true"},
    {"name": "ENI_CONFIG_LABEL_DEF", "value": "topology.kubernetes.io/zone"},
]


def create_pod_subnets(twin: ClusterFixture) -> dict[str, str]:
    ec2 = twin.admin("ec2")
    assert twin.aws.built is not None
    out = {}
    for i, zone in enumerate(ZONES):
        out[zone] = ec2.create_subnet(
            VpcId=twin.aws.built.vpc_id, CidrBlock=f"100.64.{i * 32}.0/19", AvailabilityZone=zone
        )["Subnet"]["SubnetId"]
    return out


def in_cidr(ip: str | None, cidr: str) -> bool:
    return ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def create_eniconfig(custom: k8s.CustomObjectsApi, zone: str, subnet: str) -> None:
    custom.create_cluster_custom_object(
        "crd.k8s.amazonaws.com",
        "v1alpha1",
        "eniconfigs",
        {
            "apiVersion": "crd.k8s.amazonaws.com/v1alpha1",
            "kind": "ENIConfig",
            "metadata": {"name": zone},
            "spec": {"subnet": subnet, "securityGroups": []},
        },
    )


def create_nodegroup(twin: ClusterFixture, name: str, subnets: list[str], size: int = 3) -> None:
    assert twin.aws.built is not None
    twin.admin("eks").create_nodegroup(
        clusterName=twin.name,
        nodegroupName=name,
        nodeRole=twin.aws.built.node_role_arn,
        subnets=[twin.subnet(s) for s in subnets],
        instanceTypes=["t3.2xlarge"],
        scalingConfig={"minSize": size, "desiredSize": size, "maxSize": size + 1},
    )


def ready_nodes(core: k8s.CoreV1Api, nodegroup: str) -> list[Any]:
    return [
        n
        for n in core.list_node(label_selector=f"eks.amazonaws.com/nodegroup={nodegroup}").items
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
    ]


def describe_nodegroup(eks: Any, twin: ClusterFixture, name: str) -> dict[str, Any]:
    return dict(eks.describe_nodegroup(clusterName=twin.name, nodegroupName=name)["nodegroup"])


def web_pods(core: k8s.CoreV1Api) -> list[Any]:
    return core.list_namespaced_pod("default", label_selector="app=web").items


def set_custom_networking_env(apps: k8s.AppsV1Api) -> None:
    """`kubectl set env daemonset aws-node`: a strategic merge of the container's env by name."""
    apps.patch_namespaced_daemon_set(
        "aws-node",
        "kube-system",
        {"spec": {"template": {"spec": {"containers": [{"name": "aws-node", "env": CUSTOM_NETWORKING_ENV}]}}}},
    )


def wait_for_aws_node_rollout(apps: k8s.AppsV1Api, nodes: int) -> None:
    wait_for(
        lambda: (
            (ds := apps.read_namespaced_daemon_set("aws-node", "kube-system")).status.observed_generation
            == ds.metadata.generation
            and ds.status.updated_number_scheduled == nodes
            and ds.status.number_available == nodes
        ),
        what="aws-node rolled out",
    )
