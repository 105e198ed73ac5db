"""ReplaceNodegroups (DESIGN.md step 10), one Map iteration per planned nodegroup.

Each invocation moves one replacement along and reports `nodegroup.status`; the child execution's
loop (WaitForNodegroup, WaitForDrain) calls again until it is `done`:
  pending       -> create the replacement (or adopt it if it exists)            -> creating
  creating      -> wait ACTIVE and every node Ready, check max pods             -> draining (drain)
                                                          or delete the old one -> deleting-old (delete)
  draining      -> empty the old nodes a few at a time (podcidr.steps.drain),
                   then delete the old nodegroup                                -> deleting-old
  deleting-old  -> wait until the old nodegroup is gone                         -> done
Only nodes that register after ConfigureCni use custom networking (AWS-FACTS section 2), which is why
the old nodegroup is replaced rather than updated.
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from pydantic import Field

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.aws.tags import creatable_tags
from podcidr.errors import NodegroupReplacementFailed
from podcidr.models.base import Contract
from podcidr.models.migration import DrainReport, DrainState, NodegroupReplacement
from podcidr.steps.drain import drain
from podcidr.steps.launch_template_version import ensure_version
from podcidr.steps.polling import wait_ceiling
from podcidr.steps.support import NODEGROUP_LABEL, all_items, count_poll

if TYPE_CHECKING:
    from collections.abc import Callable

    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

    from podcidr.kube.client import Kube

OWNER_TAG = "podcidr:cluster"
PENDING = "pending"
CREATING = "creating"
DRAINING = "draining"
DELETING_OLD = "deleting-old"
DONE = "done"
MAX_CREATE_SECONDS = 45 * 60
MAX_DELETE_SECONDS = 45 * 60
"""EKS drains for up to 15 minutes per batch of nodes; a large nodegroup takes a while."""


class NodegroupTask(Contract):
    """One iteration of the ReplaceNodegroups Map: what the handler reads and returns."""

    cluster_name: str
    poll_seconds: int
    nodegroup: NodegroupReplacement
    replaced_nodegroups: list[str] = Field(default_factory=list)
    """Every nodegroup this migration replaces: the drain cordons all their nodes before emptying any,
    so that no evicted pod lands on another old node."""


def replace_nodegroup(
    task: NodegroupTask,
    eks: EKSClient,
    kube: Callable[[], Kube],
    ec2: EC2Client | None = None,
    elbv2: ElasticLoadBalancingv2Client | None = None,
) -> NodegroupTask:
    """`ec2` is needed when Plan wrote a launch template version (a custom AMI's max pods), `elbv2` by
    the drain (the target groups' health)."""
    item = task.nodegroup
    status = item.status or PENDING
    if status == PENDING:
        _create_or_adopt(task, eks, ec2)
        status = CREATING
        item.status = CREATING
    if status == CREATING:
        if not _replacement_ready(task, eks, kube()):
            return task
        if item.node_replacement.strategy == "delete":
            item.status = DELETING_OLD
            _delete_at_once(task, eks, kube())
            return task
        status = item.status = DRAINING
    if status == DRAINING:
        if elbv2 is None:
            raise RuntimeError("the drain needs the ELBv2 client")
        if not drain(task, kube(), elbv2, task.cluster_name):
            return task
        item.status = DELETING_OLD
        _delete_old(task, eks)
        return task
    if status == DELETING_OLD:
        _wait_old_gone(task, eks)
    return task


def _delete_at_once(task: NodegroupTask, eks: EKSClient, kube: Kube) -> None:
    """strategy "delete": EKS drains every old node together (AWS-FACTS 6); the report counts them."""
    from podcidr.kube.client import kube_faults

    item = task.nodegroup
    with kube_faults("list Nodes", task.cluster_name):
        nodes = all_items(kube.core.list_node, label_selector=f"{NODEGROUP_LABEL}={item.replaced}")
    item.drain = DrainReport(strategy="delete", nodes=len(nodes))
    item.draining = DrainState(started=time.time())
    _delete_old(task, eks)


def _ceiling(task: NodegroupTask, seconds: int) -> int:
    return wait_ceiling(seconds, task.poll_seconds)


def _describe(eks: EKSClient, cluster: str, name: str) -> dict[str, Any] | None:
    try:
        with transient_faults_retried("eks:DescribeNodegroup"):
            return dict(eks.describe_nodegroup(clusterName=cluster, nodegroupName=name)["nodegroup"])
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return None
        raise


def _issues(nodegroup: dict[str, Any]) -> str:
    issues = nodegroup.get("health", {}).get("issues", [])
    return (
        "; ".join(
            f"{issue.get('code')}: {issue.get('message')} ({', '.join(issue.get('resourceIds', []))})".replace(
                " ()", ""
            )
            for issue in issues
        )
        or "EKS reported no health issue"
    )


def create_request(task: NodegroupTask) -> dict[str, Any]:
    """CreateNodegroup's parameters: the old nodegroup's configuration, node subnets only, tagged ours."""
    item, config = task.nodegroup, task.nodegroup.config
    request: dict[str, Any] = {
        "clusterName": task.cluster_name,
        "nodegroupName": item.by,
        "scalingConfig": dict(config.scaling_config),
        "subnets": list(config.subnets),
        "nodeRole": config.node_role,
        "labels": dict(config.labels),
        "tags": {**creatable_tags(config.tags), OWNER_TAG: task.cluster_name},
        "clientRequestToken": hashlib.sha256(f"podcidr/{task.cluster_name}/{item.by}".encode()).hexdigest()[:64],
    }
    if config.taints:
        request["taints"] = [taint.model_dump(exclude_none=True) for taint in config.taints]
    optional: dict[str, Any] = {
        "instanceTypes": config.instance_types or None,
        "amiType": config.ami_type,
        "capacityType": config.capacity_type,
        "releaseVersion": config.release_version,
        "version": config.version,
        "updateConfig": config.update_config,
        "nodeRepairConfig": config.node_repair_config,
        "launchTemplate": config.launch_template,
    }
    if not config.launch_template:  # EKS refuses diskSize and remoteAccess next to a launch template
        optional["diskSize"] = config.disk_size
        optional["remoteAccess"] = config.remote_access
    request.update({key: value for key, value in optional.items() if value is not None})
    return request


def _create_or_adopt(task: NodegroupTask, eks: EKSClient, ec2: EC2Client | None) -> None:
    item = task.nodegroup
    if _describe(eks, task.cluster_name, item.by) is not None:
        return  # adopted: created by an earlier attempt or execution
    if item.launch_template_user_data:
        if ec2 is None:
            raise RuntimeError("a planned launch template version needs the EC2 client")
        item.changes += ensure_version(task, ec2)
    try:
        with transient_faults_retried("eks:CreateNodegroup"):
            eks.create_nodegroup(**create_request(task))
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceInUseException":
            return  # created meanwhile: adopt it
        message = error.response.get("Error", {}).get("Message", "")
        if code in ("InvalidParameterException", "InvalidRequestException", "ResourceLimitExceededException"):
            raise NodegroupReplacementFailed(
                f"EKS refused to create nodegroup {item.by} to replace {item.replaced} ({code}: {message}). "
                f"{item.replaced} is untouched."
            ) from error
        raise
    item.created = True
    item.changes += 1


def _replacement_ready(task: NodegroupTask, eks: EKSClient, kube: Kube) -> bool:
    item = task.nodegroup
    count_poll(
        item.polls,
        "create",
        _ceiling(task, MAX_CREATE_SECONDS),
        lambda checks: NodegroupReplacementFailed(
            f"Nodegroup {item.by} (replacing {item.replaced}) was not ACTIVE with all nodes Ready after {checks} "
            f"checks. {item.replaced} is untouched; look at the nodegroup's health and the nodes' conditions."
        ),
    )
    nodegroup = _describe(eks, task.cluster_name, item.by)
    if nodegroup is None:
        raise NodegroupReplacementFailed(
            f"Nodegroup {item.by} (replacing {item.replaced}) disappeared while being created. {item.replaced} is "
            "untouched; run podcidr again."
        )
    status = nodegroup.get("status")
    if status in ("CREATE_FAILED", "DEGRADED", "DELETING", "DELETE_FAILED"):
        raise NodegroupReplacementFailed(
            f"Nodegroup {item.by} (replacing {item.replaced}) is {status}: {_issues(nodegroup)}. "
            f"{item.replaced} is untouched."
        )
    if status != "ACTIVE":
        return False
    desired = int(nodegroup.get("scalingConfig", {}).get("desiredSize", 0))
    from podcidr.kube.client import kube_faults  # the Kubernetes client only once nodes are awaited

    with kube_faults("list Nodes", task.cluster_name):
        nodes = all_items(kube.core.list_node, label_selector=f"{NODEGROUP_LABEL}={item.by}")
    ready = [node for node in nodes if _is_ready(node)]
    if len(ready) < desired:
        return False
    _check_max_pods(item, ready)
    return True


def _is_ready(node: dict[str, Any]) -> bool:
    conditions = node.get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def node_max_pods(node: dict[str, Any]) -> int | None:
    status = node.get("status", {})
    value = status.get("capacity", {}).get("pods") or status.get("allocatable", {}).get("pods")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _check_max_pods(item: NodegroupReplacement, nodes: list[dict[str, Any]]) -> None:
    if item.max_pods is None:
        return
    wrong = sorted(
        f"{node['metadata']['name']} ({node_max_pods(node)})" for node in nodes if node_max_pods(node) != item.max_pods
    )
    if not wrong:
        return
    detail = (
        f"Nodes of {item.by} report max pods other than the custom-networking value {item.max_pods}: "
        f"{', '.join(wrong)}."
    )
    if item.config.launch_template:
        # A launch template may carry a custom AMI: max pods is then the user's setting (AWS-FACTS section 2).
        warning = detail + " Its launch template sets max pods (e.g. nodeadm maxPodsExpression); check it."
        if warning not in item.warnings:
            item.warnings.append(warning)
        return
    raise NodegroupReplacementFailed(
        detail + f" EKS computes max pods itself for nodegroups without a custom AMI, so the CNI was probably not "
        f"configured when {item.by} was created. {item.replaced} is untouched; delete {item.by} and run again."
    )


def _delete_old(task: NodegroupTask, eks: EKSClient) -> None:
    item = task.nodegroup
    old = _describe(eks, task.cluster_name, item.replaced)
    if old is None:
        item.status = DONE  # gone already (a re-run, or deleted by hand): nothing to delete
        return
    if old.get("status") == "DELETING":
        return
    try:
        with transient_faults_retried("eks:DeleteNodegroup"):
            eks.delete_nodegroup(clusterName=task.cluster_name, nodegroupName=item.replaced)
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            item.status = DONE
            return
        if code == "ResourceInUseException":
            return  # already deleting (a lost response of an earlier attempt)
        raise
    item.changes += 1


def _wait_old_gone(task: NodegroupTask, eks: EKSClient) -> None:
    item = task.nodegroup
    count_poll(
        item.polls,
        "delete",
        _ceiling(task, MAX_DELETE_SECONDS),
        lambda checks: NodegroupReplacementFailed(
            f"Nodegroup {item.replaced} was still there after {checks} checks; its replacement {item.by} is ready. "
            "Pods that cannot be evicted (PodDisruptionBudgets) block the drain; see the nodegroup's health."
        ),
    )
    old = _describe(eks, task.cluster_name, item.replaced)
    if old is None:
        item.status = DONE
        if item.drain and item.drain.strategy == "delete" and item.draining and item.draining.started:
            item.drain.seconds = int(time.time() - item.draining.started)
        return
    status = old.get("status")
    if status == "DELETE_FAILED":
        raise NodegroupReplacementFailed(
            f"Deleting nodegroup {item.replaced} failed: {_issues(old)}. Its replacement {item.by} is ready; "
            f"delete {item.replaced} by hand or run podcidr again."
        )
    if status != "DELETING":
        _delete_old(task, eks)  # the delete request failed before it acted
