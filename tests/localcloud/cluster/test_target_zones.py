"""ELBv2 on the twin as on AWS: an IP target in an Availability Zone that its load balancer does not
enable receives no traffic, and DescribeTargetHealth says `unused` (Target.NotInUse) for it
(TargetHealth API reference), never `healthy`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes import client as k8s

from tests.localcloud.cluster.conftest import ClusterFixture, wait_for


def _deployment(name: str, zone: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeSelector": {"topology.kubernetes.io/zone": zone},
                    "containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}],
                },
            },
        },
    }


def _service(name: str, subnet: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "annotations": {
                "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
                "service.beta.kubernetes.io/aws-load-balancer-subnets": subnet,
            },
        },
        "spec": {
            "type": "LoadBalancer",
            "loadBalancerClass": "service.k8s.aws/nlb",
            "selector": {"app": name},
            "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}],
        },
    }


def test_ip_targets_outside_the_load_balancers_zones_are_unused_not_in_use(
    twin_factory: Callable[..., ClusterFixture],
) -> None:
    twin = twin_factory({})
    ec2, elbv2 = twin.admin("ec2"), twin.admin("elbv2")
    zones = {
        name: ec2.describe_subnets(SubnetIds=[twin.subnet(name)])["Subnets"][0]["AvailabilityZone"]
        for name in ("node-a", "node-b")
    }
    assert zones["node-a"] != zones["node-b"]
    twin.cluster.health.delay = lambda: 0.0  # past the first health checks at once
    with twin.kube(twin.role("cluster-admin")) as api:
        core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
        # served: pods in node-a's zone behind an NLB in node-a; not served: pods in node-b's zone behind it
        for name, zone in (("served", zones["node-a"]), ("elsewhere", zones["node-b"])):
            apps.create_namespaced_deployment("default", _deployment(name, zone))
            core.create_namespaced_service("default", _service(name, twin.subnet("node-a")))

        def health(name: str) -> list[dict[str, Any]]:
            stacks = [s for s in twin.cluster.state()["loadBalancers"] if s["for"] == f"Service default/{name}"]
            if not stacks or len(stacks[0]["targets"]) != 2:
                return []
            arn = elbv2.describe_load_balancers(Names=[stacks[0]["name"]])["LoadBalancers"][0]["LoadBalancerArn"]
            (group,) = elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]
            found = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
            return [d["TargetHealth"] for d in found]

        served = wait_for(lambda: health("served"), timeout=30, what="two targets in the enabled zone")
        elsewhere = wait_for(lambda: health("elsewhere"), timeout=30, what="two targets in another zone")
    assert [h["State"] for h in served] == ["healthy", "healthy"], served
    assert [(h["State"], h["Reason"]) for h in elsewhere] == [("unused", "Target.NotInUse")] * 2, elsewhere
    assert "not enabled for the load balancer" in elsewhere[0]["Description"]
