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
from podcidr.steps.support import NODEGROUP_LABEL, UNFINISHED_PODS, all_items, count_poll
from podcidr.steps.uncontrolled_pods import MIRROR_ANNOTATION

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

    from podcidr.kube.client import Kube
    from podcidr.steps.replace_nodegroups import NodegroupTask

Obj = dict[str, Any]
AWAITED_KINDS = ("ReplicaSet", "StatefulSet", "ReplicationController")
EVICTED = "evicted"
GONE = "gone"
STARTING = ("initial", "unavailable")
"""Target states of a pod on its way to serving (registering; or not yet in the group: `unavailable`
is what the twin and ELBv2 answer for a target the health checks have not reached)."""
NOT_SERVED = ("unused",)
"""Target states that will not become healthy by waiting (ELBv2: the target's AZ is not enabled)."""
EVICTING_SECONDS = 60
"""Evictions one invocation makes at most for (the function times out after 120 s); the rest next check."""
DRAIN_POLLS = 6 * POLLS_PER_WAIT
"""Checks one drain may make in all (its share of the child execution's 25,000-event history)."""
MAX_RECOVERY_SECONDS = 20 * 60
"""How long evicted workloads may take to be available with healthy targets again (NLB IP targets
take 90 to 180 s to register, AWS-FACTS 8)."""


@dataclass
class ClusterView:
    """What one invocation reads: the old nodes, every unfinished pod, the IP target groups."""

    old_nodes: list[Obj]
    """Every node of the nodegroups this migration replaces (all are cordoned before any is emptied)."""
    own: str
    """The nodegroup this drain empties."""
    pods: list[Obj]
    target_groups: list[TargetGroup]

    @property
    def old_names(self) -> set[str]:
        return {node["metadata"]["name"] for node in self.old_nodes}

    @property
    def own_names(self) -> set[str]:
        return {n["metadata"]["name"] for n in self.old_nodes if _labels(n).get(NODEGROUP_LABEL) == self.own}

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
    replaced = sorted({item.replaced, *task.replaced_nodegroups})
    with kube_faults("read the old nodes and their pods", cluster):
        view = ClusterView(
            old_nodes=all_items(kube.core.list_node, label_selector=f"{NODEGROUP_LABEL} in ({','.join(replaced)})"),
            own=item.replaced,
            pods=all_items(kube.core.list_pod_for_all_namespaces, field_selector=UNFINISHED_PODS),
            target_groups=ip_target_groups(kube, elbv2),
        )
    report.nodes = max(report.nodes, len(view.own_names))
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
            pending = sorted({p["spec"]["nodeName"] for p in view.pods_on(view.own_names)})
            if not pending:
                return True
            state.batch = pending[: item.node_replacement.nodes_at_once]
    finally:
        report.seconds = int(time.time() - (state.started or time.time()))


def _labels(obj: Obj) -> dict[str, str]:
    return dict(obj["metadata"].get("labels") or {})


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
    blocked: dict[str, Blocked] = {}
    deadline = time.monotonic() + EVICTING_SECONDS
    for pod in remaining:
        if pod["metadata"].get("deletionTimestamp"):
            _await(state, view, pod)  # evicted by an attempt whose answer was lost: still awaited
            blocked[_key(pod)] = _terminating(pod)
            continue
        if time.monotonic() > deadline:
            break  # the rest on the next check: the function's timeout is not the drain's
        reason = _last_target_of(pod, view, leaving)
        if reason is None:
            outcome = _evict(kube, pod, cluster)
            if outcome in (EVICTED, GONE):
                leaving.add((pod.get("status") or {}).get("podIP"))
                if outcome == EVICTED:
                    item.changes += 1
                    assert item.drain is not None
                    item.drain.evictions += 1
                    _await(state, view, pod)
                continue
            reason = outcome
        blocked[_key(pod)] = Blocked(reason)
    state.held = {key: state.held.get(key, 0) + 1 for key in blocked}
    _check_timeout(task, blocked)
    return not remaining


@dataclass(frozen=True)
class Blocked:
    reason: str
    grace: int = 0
    """Seconds it may take on top of podEvictionTimeoutSeconds (a terminating pod's grace period)."""


def _terminating(pod: Obj) -> Blocked:
    meta = pod["metadata"]
    finalizers = meta.get("finalizers") or []
    detail = f"; finalizers: {', '.join(finalizers)}" if finalizers else ""
    grace = int(
        meta.get("deletionGracePeriodSeconds") or (pod.get("spec") or {}).get("terminationGracePeriodSeconds") or 30
    )
    return Blocked(f"evicted, still terminating (since {meta.get('deletionTimestamp')}{detail})", grace)


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
        coming = [
            p
            for p in others
            if not p["metadata"].get("deletionTimestamp")
            and (p.get("spec") or {}).get("nodeName") not in view.old_names
            and group.states.get(p["status"].get("podIP") or "", "initial") in STARTING
        ]
        if coming:
            return (
                f"it is the last healthy target of target group {group.label}; waiting for "
                f"{', '.join(sorted(_key(p) for p in coming))} to become healthy there"
            )
    return None


def _evict(kube: Kube, pod: Obj, cluster: str) -> str:
    """EVICTED, GONE (deleted meanwhile), or why the eviction was refused (tried again next check)."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    from podcidr.kube.client import kube_faults, message_of

    meta = pod["metadata"]
    body = k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=meta["name"], namespace=meta["namespace"]))
    with kube_faults(f"evict Pod {_key(pod)}", cluster):
        try:
            kube.core.create_namespaced_pod_eviction(meta["name"], meta["namespace"], body)
        except ApiException as error:
            if error.status == 404:
                return GONE
            causes = _budget_causes(error) if error.status == 429 else None
            if causes is not None:
                return "; ".join(causes) or message_of(error)
            if error.status in (403, 409, 500) and _eviction_refusal(error):
                # 500: the pod is under more than one budget; 403: a budget whose status forbids it;
                # 409: a budget updated meanwhile (the API server's own retries ran out)
                return f"the eviction was refused ({error.status}): {message_of(error)}"
            raise
    return EVICTED


def _budget_causes(error: Any) -> list[str] | None:
    """The budgets' words of a PodDisruptionBudget's 429; None for the API server's own rate limiting
    (retried as a transient fault)."""
    try:
        causes = (json.loads(error.body).get("details") or {}).get("causes") or []
    except (TypeError, ValueError, AttributeError):
        return None
    budgets = [cause for cause in causes if cause.get("reason") == "DisruptionBudget"]
    return [str(cause.get("message")) for cause in budgets] if budgets else None


def _eviction_refusal(error: Any) -> bool:
    """An answer of the eviction subresource about budgets (not an authorization or server fault)."""
    from podcidr.kube.client import message_of

    message = message_of(error).lower()
    return (
        "disruption budget" in message
        or "disruptionbudget" in message
        or (getattr(error, "status", None) == 409 and "poddisruptionbudget" in message)
    )


def _await(state: DrainState, view: ClusterView, pod: Obj) -> None:
    """Remember the pod's workload, and how many of its pods were Ready beforehand: the next nodes
    wait until as many are back (not more: a replica that was failing before is not awaited)."""
    owner = _controller(pod)
    if owner is None or owner.get("kind") not in AWAITED_KINDS:
        return  # nothing recreates it (ClusterPreflight listed it)
    namespace = pod["metadata"]["namespace"]
    if any(r.kind == owner["kind"] and r.namespace == namespace and r.name == owner["name"] for r in state.awaited):
        return
    ready = sum(1 for p in view.pods if _owned_by(p, owner["kind"], namespace, owner["name"]) and _ready(p))
    state.awaited.append(WorkloadRef(kind=owner["kind"], namespace=namespace, name=owner["name"], ready_before=ready))


def _owned_by(pod: Obj, kind: str, namespace: str, name: str) -> bool:
    owner = _controller(pod)
    return (
        pod["metadata"].get("namespace") == namespace
        and owner is not None
        and owner.get("kind") == kind
        and owner.get("name") == name
    )


def _check_timeout(task: NodegroupTask, blocked: dict[str, Blocked]) -> None:
    item, state = task.nodegroup, task.nodegroup.draining
    assert state is not None
    limit = item.node_replacement.pod_eviction_timeout_seconds
    over = {key: why for key, why in blocked.items() if (state.held[key] - 1) * task.poll_seconds >= limit + why.grace}
    if not over:
        return
    listed = "; ".join(f"{key}: {why.reason}" for key, why in sorted(over.items()))
    raise DrainBlocked(
        f"Draining nodegroup {item.replaced} is blocked: these pods could not leave its nodes within "
        f"{limit} s (podEvictionTimeoutSeconds): {listed}. The old nodes stay cordoned and nothing was "
        f"deleted; {item.by} is ready. Let the budgets allow a disruption (e.g. scale the workload up, or "
        "relax minAvailable/maxUnavailable), or see why a pod does not terminate, then run podcidr again: the "
        f"drain resumes. To give up instead: kubectl uncordon -l {NODEGROUP_LABEL}={item.replaced}."
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
    wanted = min(workload.spec.replicas if workload.spec.replicas is not None else 1, ref.ready_before)
    available = (workload.status.available_replicas if workload.status else None) or 0
    if available < wanted:
        return f"{ref} has {available} replicas available, {wanted} before the eviction"
    return None


def _not_recovered(ref: WorkloadRef, view: ClusterView) -> str | None:
    moved = [
        p
        for p in view.pods
        if _owned_by(p, ref.kind, ref.namespace, ref.name)
        and not p["metadata"].get("deletionTimestamp")
        and (p.get("spec") or {}).get("nodeName") not in view.old_names
        and _ready(p)
    ]
    if ref.ready_before and not moved:
        return f"{ref} has no Ready pod on the new nodes yet"
    for group in {id(g): g for p in moved for g in view.fronting(p)}.values():
        mine = [p for p in moved if group.fronts(p)]
        if any(group.healthy(p["status"].get("podIP")) for p in mine):
            continue
        if all(group.states.get(p["status"].get("podIP") or "") in NOT_SERVED for p in mine):
            continue  # e.g. `unused`: the load balancer has no subnet in the pods' AZ; nothing to wait for
        states = ", ".join(
            sorted(f"{_key(p)} ({group.states.get(p['status'].get('podIP'), 'not registered')})" for p in mine)
        )
        return f"{ref}: no healthy target on the new nodes in target group {group.label} yet: {states}"
    return None


def _ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def _too_long(task: NodegroupTask, checks: int) -> NodegroupReplacementFailed | DrainBlocked:
    """Past the drain's budget of checks: DrainBlocked if pods were still refused or held (the budget can
    run out before podEvictionTimeoutSeconds at a small pollSeconds), NodegroupReplacementFailed otherwise."""
    item = task.nodegroup
    held = sorted((item.draining.held if item.draining else {}).items())
    if held:
        listed = ", ".join(f"{key} ({polls} checks)" for key, polls in held)
        return DrainBlocked(
            f"Draining nodegroup {item.replaced} is blocked: after {checks} checks, the most one execution's "
            f"history holds, these pods still could not leave its nodes: {listed}. The old nodes stay cordoned and "
            f"nothing was deleted; {item.by} is ready. See the pods' budgets and events, then run podcidr again: "
            f"the drain resumes. To give up instead: kubectl uncordon -l {NODEGROUP_LABEL}={item.replaced}."
        )
    return NodegroupReplacementFailed(
        f"Draining nodegroup {item.replaced} took more than {checks} checks, the most one execution's history "
        f"holds. The old nodes stay cordoned and nothing was deleted; run podcidr again to resume the drain "
        "(a larger pollSeconds or nodeReplacement.nodesAtOnce makes fewer checks)."
    )
