"""Who may reach a load balancer the AWS Load Balancer Controller builds: its managed frontend
security group lets the source ranges in on the listener ports (`alb.ingress.kubernetes.io/inbound-cidrs`
on an Ingress, `spec.loadBalancerSourceRanges` or the `service.beta.kubernetes.io/load-balancer-source-ranges`
annotation on a Service), 0.0.0.0/0 when none is given; a malformed range is refused as the API
server (Service) or the controller (Ingress) refuses it; the group goes with the load balancer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.fixtures.lb_scenarios import NODE_A, NODE_B, PUBLIC_A, PUBLIC_B
from tests.localcloud.cluster.conftest import ClusterFixture, wait_for

SVC = "service.beta.kubernetes.io/aws-load-balancer-"
ALB = "alb.ingress.kubernetes.io/"


SCENARIO = {
    "vpc": {"subnets": [PUBLIC_A, PUBLIC_B, NODE_A, NODE_B]},
    "cluster": {"subnets": ["node-a", "node-b"]},
    "timing": {"loadBalancer": 0.5},
}


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory(SCENARIO)


def _nlb(core: k8s.CoreV1Api, name: str, annotations: dict[str, str], **spec: Any) -> None:
    core.create_namespaced_service(
        "default",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": name,
                "annotations": {SVC + "nlb-target-type": "ip", SVC + "scheme": "internet-facing", **annotations},
            },
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerClass": "service.k8s.aws/nlb",
                "selector": {"app": "web"},
                "ports": [{"port": 8080, "targetPort": 80, "protocol": "TCP"}],
                **spec,
            },
        },
    )


def _alb(networking: k8s.NetworkingV1Api, name: str, annotations: dict[str, str]) -> None:
    backend = {"service": {"name": "web", "port": {"number": 80}}}
    networking.create_namespaced_ingress(
        "default",
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": name,
                "annotations": {ALB + "scheme": "internet-facing", ALB + "target-type": "ip", **annotations},
            },
            "spec": {
                "ingressClassName": "alb",
                "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]}}],
            },
        },
    )


@pytest.fixture(scope="module")
def web(twin: ClusterFixture, api: Any) -> None:
    k8s.CoreV1Api(api).create_namespaced_service(
        "default",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
        },
    )


def _load_balancer(twin: ClusterFixture, read: Callable[[], Any]) -> dict[str, Any]:
    def hostname() -> str | None:
        ingress = read().status.load_balancer.ingress
        return ingress[0].hostname if ingress else None

    dns = wait_for(hostname, what="a published load balancer")
    return next(b for b in twin.admin("elbv2").describe_load_balancers()["LoadBalancers"] if b["DNSName"] == dns)


def _inbound(twin: ClusterFixture, load_balancer: dict[str, Any]) -> list[tuple[int, int, str]]:
    """(from port, to port, CIDR) of every ingress rule of the load balancer's security groups."""
    groups = twin.admin("ec2").describe_security_groups(GroupIds=load_balancer["SecurityGroups"])["SecurityGroups"]
    return sorted(
        (rule["FromPort"], rule["ToPort"], block["CidrIp"])
        for group in groups
        for rule in group["IpPermissions"]
        for block in rule.get("IpRanges", [])
    )


def _groups_named(twin: ClusterFixture, prefix: str) -> list[str]:
    groups = twin.admin("ec2").describe_security_groups()["SecurityGroups"]
    return [g["GroupId"] for g in groups if g["GroupName"].startswith(prefix)]


def test_without_source_ranges_the_frontend_group_is_open_to_everyone(
    twin: ClusterFixture, api: Any, web: None
) -> None:
    core, networking = k8s.CoreV1Api(api), k8s.NetworkingV1Api(api)
    _nlb(core, "open-nlb", {})
    _alb(networking, "open-alb", {})
    nlb = _load_balancer(twin, lambda: core.read_namespaced_service("open-nlb", "default"))
    alb = _load_balancer(twin, lambda: networking.read_namespaced_ingress("open-alb", "default"))
    assert _inbound(twin, nlb) == [(8080, 8080, "0.0.0.0/0")]
    assert _inbound(twin, alb) == [(80, 80, "0.0.0.0/0")]
    core.delete_namespaced_service("open-nlb", "default")
    networking.delete_namespaced_ingress("open-alb", "default")
    wait_for(lambda: not _groups_named(twin, "k8s-default-open"), what="the frontend groups deleted")


def test_source_ranges_are_the_only_sources_let_in(twin: ClusterFixture, api: Any, web: None) -> None:
    core, networking = k8s.CoreV1Api(api), k8s.NetworkingV1Api(api)
    _nlb(core, "ranged-nlb", {}, loadBalancerSourceRanges=["172.31.0.0/16", "10.1.0.0/16"])
    _nlb(core, "annotated-nlb", {"service.beta.kubernetes.io/load-balancer-source-ranges": "192.168.0.0/24"})
    _alb(networking, "ranged-alb", {ALB + "inbound-cidrs": "172.31.0.0/16, 10.1.0.0/16"})
    ranged = _load_balancer(twin, lambda: core.read_namespaced_service("ranged-nlb", "default"))
    annotated = _load_balancer(twin, lambda: core.read_namespaced_service("annotated-nlb", "default"))
    alb = _load_balancer(twin, lambda: networking.read_namespaced_ingress("ranged-alb", "default"))
    assert _inbound(twin, ranged) == [(8080, 8080, "10.1.0.0/16"), (8080, 8080, "172.31.0.0/16")]
    assert _inbound(twin, annotated) == [(8080, 8080, "192.168.0.0/24")]
    assert _inbound(twin, alb) == [(80, 80, "10.1.0.0/16"), (80, 80, "172.31.0.0/16")]
    for name in ("ranged-nlb", "annotated-nlb"):
        core.delete_namespaced_service(name, "default")
    networking.delete_namespaced_ingress("ranged-alb", "default")


def test_a_malformed_inbound_cidr_fails_the_model_and_builds_nothing(twin: ClusterFixture, api: Any, web: None) -> None:
    core, networking = k8s.CoreV1Api(api), k8s.NetworkingV1Api(api)
    _alb(networking, "bad-alb", {ALB + "inbound-cidrs": "172.31.0.0/16,10.1.0/33"})
    events = wait_for(
        lambda: core.list_namespaced_event("default", field_selector="involvedObject.name=bad-alb").items,
        what="a FailedBuildModel event",
    )
    assert (events[0].type, events[0].reason) == ("Warning", "FailedBuildModel")
    assert (
        "invalid inbound-cidrs settings on Ingress: default/bad-alb: invalid CIDR address: 10.1.0/33"
        in events[0].message
    )
    names = [b["LoadBalancerName"] for b in twin.admin("elbv2").describe_load_balancers()["LoadBalancers"]]
    assert not [name for name in names if name.startswith("k8s-default-badalb")]
    assert not _groups_named(twin, "k8s-default-badalb")
    networking.delete_namespaced_ingress("bad-alb", "default")


@pytest.mark.parametrize(
    ("annotations", "spec", "field"),
    [
        ({}, {"loadBalancerSourceRanges": ["10.0.0.0/8", "not-a-cidr"]}, "spec.LoadBalancerSourceRanges[1]"),
        (
            {"service.beta.kubernetes.io/load-balancer-source-ranges": "10.0.0.0/8,10.0.0.300/32"},
            {},
            "metadata.annotations[service.beta.kubernetes.io/load-balancer-source-ranges]",
        ),
    ],
)
def test_the_api_server_refuses_a_malformed_source_range(
    api: Any, annotations: dict[str, str], spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(ApiException) as refused:
        _nlb(k8s.CoreV1Api(api), "bad-nlb", annotations, **spec)
    assert refused.value.status == 422
    assert f"{field}: Invalid value" in refused.value.body and "must be a valid CIDR value" in refused.value.body
