"""What remains of the test workloads: the Ingress and Services of the test namespace, and the load
balancers the AWS Load Balancer Controller made for them (found by the tags it puts on them:
`elbv2.k8s.aws/cluster` = the cluster, `service.k8s.aws/stack` / `ingress.k8s.aws/stack` =
<namespace>/<name>). Named in full (name, DNS name, ARN) where a clean-up cannot finish."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.kube.client import Kube, kube_faults
from podcidr.steps.support import items

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

STACK_TAGS = ("service.k8s.aws/stack", "ingress.k8s.aws/stack")
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
_DESCRIBE_TAGS_AT_ONCE = 20


def namespace_objects(kube: Kube, cluster: str, namespace: str) -> list[str]:
    """The Ingress and Services left in the namespace."""
    with kube_faults(f"list Ingresses in {namespace}", cluster):
        ingresses = items(kube.networking.list_namespaced_ingress(namespace))
    with kube_faults(f"list Services in {namespace}", cluster):
        services = items(kube.core.list_namespaced_service(namespace))
    objects = [f"Ingress {namespace}/{i['metadata']['name']}" for i in ingresses]
    return objects + [f"Service {namespace}/{s['metadata']['name']}" for s in services]


def controller_load_balancers(elbv2: ElasticLoadBalancingv2Client, cluster: str, namespace: str) -> list[str]:
    """The load balancers the controller made for the namespace's objects: name, DNS name and ARN."""
    candidates: dict[str, dict[str, Any]] = {}
    with transient_faults_retried("elasticloadbalancing:DescribeLoadBalancers"):
        for page in elbv2.get_paginator("describe_load_balancers").paginate():
            for balancer in page["LoadBalancers"]:
                if balancer["LoadBalancerName"].startswith("k8s-"):  # the controller's names
                    candidates[balancer["LoadBalancerArn"]] = dict(balancer)
    found = []
    for arns in _batches(sorted(candidates), _DESCRIBE_TAGS_AT_ONCE):
        for description in _tag_descriptions(elbv2, arns):
            tags = {t["Key"]: t.get("Value", "") for t in description.get("Tags", [])}
            stack = next((tags[k] for k in STACK_TAGS if k in tags), "")
            if tags.get(CLUSTER_TAG) == cluster and stack.startswith(f"{namespace}/"):
                named = candidates[description["ResourceArn"]]
                found.append(
                    f"load balancer {named['LoadBalancerName']} ({named.get('DNSName', '-')}, "
                    f"{named['LoadBalancerArn']}) of {stack}"
                )
    return found


def _tag_descriptions(elbv2: ElasticLoadBalancingv2Client, arns: list[str]) -> list[Any]:
    """The tags of the load balancers that still exist. One deleted meanwhile fails the whole call
    (LoadBalancerNotFound), and the controller's test load balancers sort together: then each is asked
    alone, so a deleted one does not hide the others."""
    try:
        return _describe_tags(elbv2, arns)
    except ClientError as error:
        if error_code(error) != "LoadBalancerNotFound":
            raise
    if len(arns) == 1:
        return []  # deleted meanwhile
    return [description for arn in arns for description in _tag_descriptions(elbv2, [arn])]


def _describe_tags(elbv2: ElasticLoadBalancingv2Client, arns: list[str]) -> list[Any]:
    with transient_faults_retried("elasticloadbalancing:DescribeTags"):
        return list(elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"])


def _batches(values: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]
