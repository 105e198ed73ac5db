"""VerifyPods (DESIGN.md step 12): every Running non-hostNetwork pod has an IP in the pod CIDR,
every node's InternalIP is in a node subnet, and the replacement nodes' max pods is the
custom-networking value. Anything else is VerificationFailed with the list.

Pods on Fargate nodes are not subject to custom networking (each is its own node in the node
subnets): they are listed in warnings, not failures. Nodes and pods of capacity that Plan left
unmigrated (`unmanagedCapacity`: self-managed, Karpenter, Windows, Fargate) are not checked; their
running pods are counted there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podcidr.aws.clients import transient_faults_retried
from podcidr.errors import VerificationFailed
from podcidr.kube.client import Kube, kube_faults
from podcidr.models.migration import Migration, PodCheck
from podcidr.steps.replace_nodegroups import node_max_pods
from podcidr.steps.support import NODEGROUP_LABEL, all_items, in_any_cidr, in_cidr
from podcidr.steps.unmanaged_nodes import capacity_of_node, capacity_of_pod

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

FARGATE_LABEL = "eks.amazonaws.com/compute-type"
MAX_LISTED = 25


def node_subnet_cidrs(ec2: EC2Client, subnet_ids: list[str]) -> list[str]:
    if not subnet_ids:
        return []
    with transient_faults_retried("ec2:DescribeSubnets"):
        subnets = ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    return [subnet["CidrBlock"] for subnet in subnets]


def _internal_ip(node: dict[str, Any]) -> str | None:
    for address in node.get("status", {}).get("addresses", []):
        if address.get("type") == "InternalIP":
            return str(address.get("address"))
    return None


def verify_pods(migration: Migration, kube: Kube, ec2: EC2Client) -> Migration:
    cluster, pod_cidr = migration.cluster_name, migration.pod_cidr.cidr
    node_cidrs = node_subnet_cidrs(ec2, migration.node_subnet_ids)
    with kube_faults("list Nodes", cluster):
        nodes = {node["metadata"]["name"]: node for node in all_items(kube.core.list_node)}
    with kube_faults("list Pods", cluster):
        pods = all_items(kube.core.list_pod_for_all_namespaces, field_selector="status.phase=Running")

    problems: list[str] = []
    fargate = {
        name for name, node in nodes.items() if node["metadata"].get("labels", {}).get(FARGATE_LABEL) == "fargate"
    }
    unmanaged = migration.unmanaged_capacity
    for item in unmanaged:
        item.pods = 0
    for name, node in sorted(nodes.items()):
        ip = _internal_ip(node)
        if capacity_of_node(node, unmanaged) is not None:
            continue
        if name not in fargate and node_cidrs and not in_any_cidr(ip, node_cidrs):
            problems.append(f"node {name} has InternalIP {ip}, outside the node subnets ({', '.join(node_cidrs)})")

    replacements = {item.by: item.max_pods for item in migration.nodegroups}
    for name, node in sorted(nodes.items()):
        group = node["metadata"].get("labels", {}).get(NODEGROUP_LABEL)
        expected = replacements.get(group) if group else None
        if expected is not None and node_max_pods(node) != expected:
            problems.append(f"node {name} of {group} has max pods {node_max_pods(node)}, expected {expected}")

    check = PodCheck()
    skipped_fargate = []
    for pod in pods:
        spec, status, meta = pod.get("spec", {}), pod.get("status", {}), pod["metadata"]
        if spec.get("hostNetwork") or not status.get("podIP"):
            continue
        label = f"{meta.get('namespace')}/{meta['name']} ({status['podIP']} on {spec.get('nodeName')})"
        owner = capacity_of_pod(pod, nodes, unmanaged)
        if owner is not None:
            owner.pods += 1
            continue
        if spec.get("nodeName") in fargate:
            skipped_fargate.append(label)
            continue
        check.checked += 1
        if in_cidr(status["podIP"], pod_cidr):
            check.in_pod_cidr += 1
        else:
            check.outside.append(label)
    migration.verification.pods = check
    if skipped_fargate:
        migration.warnings.append(
            f"{len(skipped_fargate)} pod(s) on Fargate keep node-subnet addresses (custom networking does not apply "
            f"to Fargate): {', '.join(skipped_fargate[:MAX_LISTED])}"
        )

    if check.outside and not migration.nodegroups:
        migration.warnings.append(
            f"{len(check.outside)} pod(s) are outside {pod_cidr} and no nodegroup was replaced: they move when their "
            "nodes are replaced."
        )
    elif check.outside:
        problems.append(
            f"{len(check.outside)} of {check.checked} pods are outside the pod CIDR {pod_cidr}: "
            + ", ".join(check.outside[:MAX_LISTED])
            + (" ..." if len(check.outside) > MAX_LISTED else "")
        )
    if problems:
        raise VerificationFailed("Custom networking is not in effect everywhere: " + "; ".join(problems) + ".")
    return migration
