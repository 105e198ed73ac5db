"""ReplaceNodegroups' drain (DESIGN.md step 10, `nodeReplacement.strategy: "drain"`): empty the old
nodes a few at a time, losing no request through a load balancer.

Each invocation looks at the cluster afresh and moves the drain one step along; the state machine
waits between invocations (no sleeping Lambda), and a retry or a re-run resumes from what it finds:
  1. cordon every old node (spec.unschedulable), so evicted pods start on the new nodes;
  2. take the next `nodesAtOnce` old nodes that still hold pods (the batch) and evict their pods
     through the Eviction API, so PodDisruptionBudgets are honoured (429: refused, tried again);
     a pod is not evicted while it is the last healthy target of a target group that another pod is
     about to join (its replacement is registering): the load balancer would have no target;
  3. once the batch is empty, wait until the workloads evicted from it are available again and
     every pod of theirs on the new nodes is a healthy target of each target group in front of them;
  4. then the next batch; when no old node holds a pod, the old nodegroup can be deleted.
Pods refused (or held) past `podEvictionTimeoutSeconds` fail the drain with DrainBlocked: the old
nodes stay cordoned and nothing is deleted. DaemonSet pods and static (mirror) pods are not evicted,
as `kubectl drain --ignore-daemonsets` does; EKS deletes them with the nodes.
Nothing of the user's is labelled or annotated: cordoning touches only the old nodes, which go.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podcidr.errors import DrainBlocked, NodegroupReplacementFailed
from podcidr.models.migration import DrainReport, DrainState, WorkloadRef
from podcidr.steps.drain_targets import TargetGroup, ip_target_groups
from podcidr.steps.polling import POLLS_PER_WAIT, wait_ceiling
from podcidr.steps.support import all_items, count_poll

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

    from podcidr.kube.client import Kube
    from podcidr.steps.replace_nodegroups import NodegroupTask

Obj = dict[str, Any]
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
UNFINISHED_PODS = "status.phase!=Succeeded,status.phase!=Failed"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
AWAITED_KINDS = ("ReplicaSet", "StatefulSet", "ReplicationController")
DRAIN_POLLS = 6 * POLLS_PER_WAIT
"""Checks one drain may make in all (its share of the child execution's 25,000-event history)."""
MAX_RECOVERY_SECONDS = 20 * 60
"""How long evicted workloads may take to be available with healthy targets again (NLB IP targets
take 90 to 180 s to register, AWS-FACTS 8)."""


@dataclass
class ClusterView:
    """What one invocation reads: the old nodes, every unfinished pod, the IP target groups."""

    old_nodes: list[Obj]
    pods: list[Obj]
    target_groups: list[TargetGroup]

    @property
    def old_names(self) -> set[str]:
        return {node["metadata"]["name"] for node in self.old_nodes}

    def pods_on(self, nodes: set[str]) -> list[Obj]:
        return [p for p in self.pods if (p.get("spec") or {}).get("nodeName") in nodes and _evictable(p)]

    def fronting(self, pod: Obj) -> list[TargetGroup]:
        return [group for group in self.target_groups if group.fronts(pod)]


def drain(task: NodegroupTask, kube: Kube, elbv2: ElasticLoadBalancingv2Client, cluster: str) -> bool:
    """One step of the drain; True once no old node holds a pod that must move."""
    from podcidr.kube.client import kube_faults

    item = task.nodegroup
    state = item.draining = item.draining or DrainState(started=time.time())
    report = item.drain = item.drain or DrainReport(strategy="drain")
    count_poll(item.polls, "drain", DRAIN_POLLS, lambda checks: _too_long(task, checks))
    with kube_faults("read the old nodes and their pods", cluster):
        view = ClusterView(
            old_nodes=all_items(kube.core.list_node, label_selector=f"{NODEGROUP_LABEL}={item.replaced}"),
            pods=all_items(kube.core.list_pod_for_all_namespaces, field_selector=UNFINISHED_PODS),
            target_groups=ip_target_groups(kube, elbv2),
        )
    report.nodes = max(report.nodes, len(view.old_nodes))
    _cordon(task, kube, view, cluster)
    try:
        while True:
            if state.batch:
                if not _empty_batch(task, kube, view, cluster):
                    return False
                if not _recovered(task, kube, view, cluster):
                    return False
                state.batch, state.awaited = [], []
                item.polls.pop("recover", None)
            pending = sorted({p["spec"]["nodeName"] for p in view.pods_on(view.old_names)})
            if not pending:
                return True
            state.batch = pending[: item.node_replacement.nodes_at_once]
    finally:
        report.seconds = int(time.time() - (state.started or time.time()))


def _evictable(pod: Obj) -> bool:
    meta = pod["metadata"]
    if MIRROR_ANNOTATION in (meta.get("annotations") or {}):
        return False
    owner = _controller(pod)
    return not (owner and owner.get("kind") == "DaemonSet")


def _controller(obj: Obj) -> Obj | None:
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


def _key(pod: Obj) -> str:
    return f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"


def _cordon(task: NodegroupTask, kube: Kube, view: ClusterView, cluster: str) -> None:
    from kubernetes.client.exceptions import ApiException

    from podcidr.kube.client import kube_faults

    for node in view.old_nodes:
        if (node.get("spec") or {}).get("unschedulable"):
            continue
        name = node["metadata"]["name"]
        with kube_faults(f"cordon Node {name}", cluster):
            try:
                kube.core.patch_node(name, {"spec": {"unschedulable": True}})
            except ApiException as error:
                if error.status != 404:  # gone meanwhile (EKS replaced an unhealthy node)
                    raise
                continue
        task.nodegroup.changes += 1


def _empty_batch(task: NodegroupTask, kube: Kube, view: ClusterView, cluster: str) -> bool:
    """Evict what may go now; True when the batch's nodes hold no pod (terminating ones included)."""
    item, state = task.nodegroup, task.nodegroup.draining
    assert state is not None
    remaining = view.pods_on(set(state.batch))
    leaving = {p["status"].get("podIP") for p in view.pods if p["metadata"].get("deletionTimestamp")}
    blocked: dict[str, str] = {}
    for pod in remaining:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        reason = _last_target_of(pod, view, leaving)
        if reason is None:
            outcome = _evict(kube, pod, cluster)
            if outcome is None:
                leaving.add((pod.get("status") or {}).get("podIP"))
                item.changes += 1
                assert item.drain is not None
                item.drain.evictions += 1
                _await(state, pod)
                continue
            reason = outcome
        blocked[_key(pod)] = reason
    state.held = {key: state.held.get(key, 0) + 1 for key in blocked}
    _check_timeout(task, blocked)
    return not remaining


def _last_target_of(pod: Obj, view: ClusterView, leaving: set[str | None]) -> str | None:
    """Why evicting `pod` now would leave a target group with no healthy target while another pod is
    about to become one; None when it may go."""
    ip = (pod.get("status") or {}).get("podIP")
    for group in view.fronting(pod):
        if not group.healthy(ip):
            continue
        others = [p for p in view.pods if p is not pod and group.fronts(p)]
        if any(group.healthy(p["status"].get("podIP")) and p["status"].get("podIP") not in leaving for p in others):
            continue
        coming = [p for p in others if not p["metadata"].get("deletionTimestamp")]
        if coming:
            return (
                f"it is the last healthy target of target group {group.label}; waiting for "
                f"{', '.join(sorted(_key(p) for p in coming))} to become healthy there"
            )
    return None


def _evict(kube: Kube, pod: Obj, cluster: str) -> str | None:
    """None when evicted (or gone already); the budget's refusal otherwise."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    from podcidr.kube.client import kube_faults

    meta = pod["metadata"]
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"]))
    with kube_faults(f"evict Pod {_key(pod)}", cluster):
        try:
            kube.core.create_namespaced_pod_eviction(meta["name"], meta["namespace"], body)
        except ApiException as error:
            if error.status == 404:
                return None
            if error.status == 429 and _budget_refusal(error):
                return _refusal(error)
            raise
    return None


def _budget_refusal(error: Any) -> bool:
    """A PodDisruptionBudget's 429 (not the API server's own rate limiting, which is retried)."""
    try:
        details = json.loads(error.body).get("details") or {}
    except (TypeError, ValueError, AttributeError):
        return False
    return any(cause.get("reason") == "DisruptionBudget" for cause in details.get("causes") or [])


def _refusal(error: Any) -> str:
    from podcidr.kube.client import message_of

    causes = (json.loads(error.body).get("details") or {}).get("causes") or []
    return "; ".join(str(cause.get("message")) for cause in causes) or message_of(error)


def _await(state: DrainState, pod: Obj) -> None:
    owner = _controller(pod)
    if owner is None or owner.get("kind") not in AWAITED_KINDS:
        return  # nothing recreates it (ClusterPreflight listed it)
    ref = WorkloadRef(kind=owner["kind"], namespace=pod["metadata"]["namespace"], name=owner["name"])
    if ref not in state.awaited:
        state.awaited.append(ref)


def _check_timeout(task: NodegroupTask, blocked: dict[str, str]) -> None:
    item, state = task.nodegroup, task.nodegroup.draining
    assert state is not None
    limit = item.node_replacement.pod_eviction_timeout_seconds
    over = {key: why for key, why in blocked.items() if (state.held[key] - 1) * task.poll_seconds >= limit}
    if not over:
        return
    listed = "; ".join(f"{key}: {why}" for key, why in sorted(over.items()))
    raise DrainBlocked(
        f"Draining nodegroup {item.replaced} is blocked: evictions were refused for "
        f"{limit} s (podEvictionTimeoutSeconds). {listed}. The old nodes stay cordoned and nothing was "
        f"deleted; {item.by} is ready. Let the budgets allow a disruption (e.g. scale the workload up, or "
        "relax minAvailable/maxUnavailable), then run podcidr again: the drain resumes."
    )


def _recovered(task: NodegroupTask, kube: Kube, view: ClusterView, cluster: str) -> bool:
    """The batch's evicted workloads are available again, with their pods on new nodes healthy targets."""
    from podcidr.kube.client import kube_faults

    item, state = task.nodegroup, task.nodegroup.draining
    assert state is not None
    waiting = []
    for ref in state.awaited:
        with kube_faults(f"read {ref}", cluster):
            why = _short_of_replicas(kube, ref) or _not_recovered(ref, view)
        if why is not None:
            waiting.append(why)
    if not waiting:
        return True
    count_poll(
        item.polls,
        "recover",
        wait_ceiling(MAX_RECOVERY_SECONDS, task.poll_seconds),
        lambda checks: NodegroupReplacementFailed(
            f"After {checks} checks, workloads evicted from {', '.join(state.batch)} (nodegroup {item.replaced}) "
            f"are not back: {'; '.join(waiting)}. The old nodes stay cordoned and nothing was deleted; look at "
            "the pods' events and the target groups' health, then run podcidr again: the drain resumes."
        ),
    )
    return False


def _short_of_replicas(kube: Kube, ref: WorkloadRef) -> str | None:
    """Why the workload's controller does not count all its replicas available; None when it does
    (or when it is gone: nothing to wait for)."""
    from kubernetes.client.exceptions import ApiException

    readers: dict[str, Callable[..., Any]] = {
        "ReplicaSet": kube.apps.read_namespaced_replica_set,
        "StatefulSet": kube.apps.read_namespaced_stateful_set,
        "ReplicationController": kube.core.read_namespaced_replication_controller,
    }
    try:
        workload = readers[ref.kind](ref.name, ref.namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    wanted = workload.spec.replicas if workload.spec.replicas is not None else 1
    available = (workload.status.available_replicas if workload.status else None) or 0
    if available < wanted:
        return f"{ref} has {available} of {wanted} replicas available"
    return None


def _not_recovered(ref: WorkloadRef, view: ClusterView) -> str | None:
    pods = [
        p
        for p in view.pods
        if p["metadata"].get("namespace") == ref.namespace
        and (owner := _controller(p)) is not None
        and owner.get("kind") == ref.kind
        and owner.get("name") == ref.name
        and not p["metadata"].get("deletionTimestamp")
    ]
    moved = [p for p in pods if (p.get("spec") or {}).get("nodeName") not in view.old_names]
    if not moved:
        return f"{ref} has no pod on the new nodes yet"
    unready = [_key(p) for p in moved if not _ready(p)]
    if unready:
        return f"{ref}: {', '.join(sorted(unready))} not Ready"
    for group in {id(g): g for p in moved for g in view.fronting(p)}.values():
        unhealthy = [
            f"{_key(p)} ({group.states.get(p['status'].get('podIP'), 'not registered')})"
            for p in moved
            if group.fronts(p) and not group.healthy(p["status"].get("podIP"))
        ]
        if unhealthy:
            return f"{ref}: not yet healthy in target group {group.label}: {', '.join(sorted(unhealthy))}"
    return None


def _ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _too_long(task: NodegroupTask, checks: int) -> NodegroupReplacementFailed:
    item = task.nodegroup
    return NodegroupReplacementFailed(
        f"Draining nodegroup {item.replaced} took more than {checks} checks, the most one execution's history "
        f"holds. The old nodes stay cordoned and nothing was deleted; run podcidr again to resume the drain "
        "(a larger pollSeconds or nodeReplacement.nodesAtOnce makes fewer checks)."
    )
