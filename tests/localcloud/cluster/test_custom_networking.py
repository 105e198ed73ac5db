"""Custom networking on a self-managed VPC CNI, through the real client and a real EKS token:
the issue's "Done when" as one test, then #2683 and draining past a PodDisruptionBudget."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.cluster.conftest import ClusterFixture, wait_for

POD_CIDR = "100.64.0.0/16"
ZONES = ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    # nodeJoin and the drain timeout leave several seconds between the states the tests look at
    # and their deadlines, so a loaded machine does not see a later state than the test expects.
    return twin_factory(
        {"vpc": {"secondaryCidrs": [POD_CIDR]}, "cluster": {"vpcCni": {"addon": False}}, "timing": {"nodeJoin": 4.0}},
        drain_timeout=5.0,
    )


@pytest.fixture(scope="module")
def api(twin: ClusterFixture) -> Any:
    with twin.kube(twin.role("podcidr-functions")) as client:
        yield client


@pytest.fixture(scope="module")
def pod_subnets(twin: ClusterFixture) -> dict[str, str]:
    ec2 = twin.admin("ec2")
    assert twin.aws.built is not None
    out = {}
    for i, zone in enumerate(ZONES):
        out[zone] = ec2.create_subnet(
            VpcId=twin.aws.built.vpc_id, CidrBlock=f"100.64.{i * 32}.0/19", AvailabilityZone=zone
        )["Subnet"]["SubnetId"]
    return out


def _in(ip: str | None, cidr: str) -> bool:
    return ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)


def _eniconfig(custom: k8s.CustomObjectsApi, zone: str, subnet: str) -> None:
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


def _create_nodegroup(twin: ClusterFixture, name: str, subnets: list[str], size: int = 3) -> None:
    assert twin.aws.built is not None
    twin.admin("eks").create_nodegroup(
        clusterName=twin.name,
        nodegroupName=name,
        nodeRole=twin.aws.built.node_role_arn,
        subnets=[twin.subnet(s) for s in subnets],
        instanceTypes=["t3.2xlarge"],
        scalingConfig={"minSize": size, "desiredSize": size, "maxSize": size + 1},
    )


def _ready_nodes(core: k8s.CoreV1Api, nodegroup: str) -> list[Any]:
    return [
        n
        for n in core.list_node(label_selector=f"eks.amazonaws.com/nodegroup={nodegroup}").items
        if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions)
    ]


def _nodegroup(eks: Any, twin: ClusterFixture, name: str) -> dict[str, Any]:
    return dict(eks.describe_nodegroup(clusterName=twin.name, nodegroupName=name)["nodegroup"])


def _web(core: k8s.CoreV1Api) -> list[Any]:
    return core.list_namespaced_pod("default", label_selector="app=web").items


def test_done_when(twin: ClusterFixture, api: Any, pod_subnets: dict[str, str]) -> None:
    core, apps, custom = k8s.CoreV1Api(api), k8s.AppsV1Api(api), k8s.CustomObjectsApi(api)

    # refused without an access entry
    with twin.kube(twin.role("stranger", access=False)) as stranger, pytest.raises(ApiException) as refused:
        k8s.CoreV1Api(stranger).list_namespaced_pod("default")
    assert refused.value.status == 401

    # ENIConfigs first, then the CNI env (the DaemonSet: a self-managed CNI)
    for zone, subnet in pod_subnets.items():
        _eniconfig(custom, zone, subnet)
    apps.patch_namespaced_daemon_set(
        "aws-node",
        "kube-system",
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "aws-node",
                                "env": [
                                    {"name": "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "value": "true"},
                                    {"name": "ENI_CONFIG_LABEL_DEF", "value": "topology.kubernetes.io/zone"},
                                ],
                            }
                        ]
                    }
                }
            }
        },
    )
    wait_for(
        lambda: (
            (ds := apps.read_namespaced_daemon_set("aws-node", "kube-system")).status.observed_generation
            == ds.metadata.generation
            and ds.status.updated_number_scheduled == 3
            and ds.status.number_available == 3
        ),
        what="aws-node rolled out",
    )

    # nodes registered before the switch keep giving node-subnet addresses
    old_nodes = {n.metadata.name for n in core.list_node().items}
    apps.patch_namespaced_deployment_scale("web", "default", {"spec": {"replicas": 6}})
    wait_for(lambda: sum(p.status.phase == "Running" for p in _web(core)) == 6, what="6 web pods")
    for pod in _web(core):
        assert pod.spec.node_name in old_nodes
        assert _in(pod.status.pod_ip, "172.31.0.0/16"), pod.status.pod_ip

    # a nodegroup created after the switch: its nodes register with custom-networking max pods
    _create_nodegroup(twin, "pods-ng", ["node-a", "node-b", "node-c"])
    new_nodes = wait_for(lambda: len(ready := _ready_nodes(core, "pods-ng")) == 3 and ready, what="new nodes Ready")
    for node in new_nodes:
        assert node.status.capacity["pods"] == "44"  # (4 - 1) x (15 - 1) + 2
        zone = node.metadata.labels["topology.kubernetes.io/zone"]
        assert node.metadata.labels["vpc.amazonaws.com/eniConfig"] == zone
        assert _in(next(a.address for a in node.status.addresses if a.type == "InternalIP"), "172.31.0.0/16")

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
            len(pods := [p for p in _web(core) if p.status.phase == "Running" and p.spec.node_name in new_names]) == 6
            and pods
        ),
        what="web moved",
    )
    for pod in moved:
        assert _in(pod.status.pod_ip, POD_CIDR), pod.status.pod_ip
        zone = next(
            n.metadata.labels["topology.kubernetes.io/zone"] for n in new_nodes if n.metadata.name == pod.spec.node_name
        )
        subnet = twin.admin("ec2").describe_subnets(SubnetIds=[pod_subnets[zone]])["Subnets"][0]
        assert _in(pod.status.pod_ip, subnet["CidrBlock"])
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
    assert all(_in(ip, POD_CIDR) for ip in targets)
    # the fixed addresses are the load balancer's: held by its interfaces in EC2
    for subnet, address in fixed.items():
        enis = ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet]}])["NetworkInterfaces"]
        assert any(e["PrivateIpAddress"] == address and e["Description"].startswith("ELB net/") for e in enis)
    state = twin.cluster.state()
    assert state["awsNode"]["customNetworking"] is True
    assert {e["name"] for e in state["eniConfigs"]} == set(ZONES)
    assert [lb_state["fixedAddresses"] for lb_state in state["loadBalancers"]] == [fixed]


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
    try:
        custom.delete_cluster_custom_object("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", zone)
    except ApiException as error:
        assert error.status == 404
    _create_nodegroup(twin, "zone-c", ["node-c"], size=1)
    node = wait_for(
        lambda: core.list_node(label_selector="eks.amazonaws.com/nodegroup=zone-c").items, what="zone-c node registered"
    )[0]
    assert node.metadata.labels["topology.kubernetes.io/zone"] == zone
    wait_for(lambda: not _ready_nodes(core, "zone-c") and twin.aws.eks.nodegroups(twin.name), what="settled")
    import time

    time.sleep(0.6)  # well past timing.nodeReady
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
    eks = twin.admin("eks")
    assert _nodegroup(eks, twin, "zone-c")["status"] == "CREATING"  # past timing.nodegroupCreate: not joined yet
    # the ENIConfig appears (within timing.nodeJoin): aws-node attaches its ENI, the node becomes Ready
    _eniconfig(custom, zone, pod_subnets[zone])
    wait_for(lambda: _ready_nodes(core, "zone-c"), what="zone-c node Ready once its ENIConfig exists")
    wait_for(lambda: _nodegroup(eks, twin, "zone-c")["status"] == "ACTIVE", what="zone-c ACTIVE once its node joined")


def test_nodegroup_whose_nodes_never_join_fails_with_node_creation_failure(
    twin: ClusterFixture, api: Any, pod_subnets: dict[str, str]
) -> None:
    """EKS gives up on a nodegroup whose instances do not join in time (here: #2683, no ENIConfig for
    their zone): CREATE_FAILED with a NodeCreationFailure health issue naming them; they stay."""
    core, custom = k8s.CoreV1Api(api), k8s.CustomObjectsApi(api)
    eks, ec2 = twin.admin("eks"), twin.admin("ec2")
    zone = "ap-southeast-1c"
    custom.delete_cluster_custom_object("crd.k8s.amazonaws.com", "v1alpha1", "eniconfigs", zone)
    _create_nodegroup(twin, "never-joins", ["node-c"], size=2)
    selector = "eks.amazonaws.com/nodegroup=never-joins"
    nodes = wait_for(lambda: len(found := core.list_node(label_selector=selector).items) == 2 and found, what="nodes")
    assert _nodegroup(eks, twin, "never-joins")["status"] == "CREATING"
    failed = wait_for(
        lambda: (ng := _nodegroup(eks, twin, "never-joins"))["status"] == "CREATE_FAILED" and ng,
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
    assert len(core.list_node(label_selector=selector).items) == 2 and not _ready_nodes(core, "never-joins")
    # a failed nodegroup can only be deleted: its instances are terminated
    eks.delete_nodegroup(clusterName=twin.name, nodegroupName="never-joins")
    wait_for(lambda: "never-joins" not in eks.list_nodegroups(clusterName=twin.name)["nodegroups"], what="gone")
    assert not core.list_node(label_selector=selector).items
    reservations = ec2.describe_instances(InstanceIds=instances)["Reservations"]
    assert {i["State"]["Name"] for r in reservations for i in r["Instances"]} == {"terminated"}
    _eniconfig(custom, zone, pod_subnets[zone])


def test_draining_honours_a_pod_disruption_budget(twin: ClusterFixture, api: Any) -> None:
    core, policy = k8s.CoreV1Api(api), k8s.PolicyV1Api(api)
    policy.create_namespaced_pod_disruption_budget(
        "default",
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": "web"},
            "spec": {"minAvailable": 6, "selector": {"matchLabels": {"app": "web"}}},
        },
    )
    eks = twin.admin("eks")
    eks.delete_nodegroup(clusterName=twin.name, nodegroupName="pods-ng")
    import time

    time.sleep(1.5)  # past timing.nodegroupDelete, short of the drain timeout (5 s in this module)
    nodes = core.list_node(label_selector="eks.amazonaws.com/nodegroup=pods-ng").items
    assert nodes and all(n.spec.unschedulable for n in nodes)  # cordoned, not removed: the budget blocks
    assert sum(p.status.phase == "Running" for p in _web(core)) == 6
    assert "pods-ng" in eks.list_nodegroups(clusterName=twin.name)["nodegroups"]
    # EKS forces termination of nodes it could not drain in time (5 minutes on AWS)
    wait_for(
        lambda: not core.list_node(label_selector="eks.amazonaws.com/nodegroup=pods-ng").items,
        timeout=15,
        what="nodes forced out after the drain timeout",
    )
    wait_for(lambda: "pods-ng" not in eks.list_nodegroups(clusterName=twin.name)["nodegroups"], what="nodegroup gone")
