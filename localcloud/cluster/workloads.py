"""Workload controllers: Deployments -> ReplicaSets -> Pods, DaemonSets, the scheduler, the kubelet.

- Deployment: one ReplicaSet per template (`<name>-<pod-template-hash>`), the new one scaled to
  `replicas`, old ones down as new pods become ready; status kept current (replicas, updated, ready,
  available, observedGeneration, Available/Progressing conditions).
- ReplicaSet: pods (ownerReferences, template labels + pod-template-hash) created or deleted to match;
  scale-down deletes pods in the ReplicaSet controller's order (unscheduled, pending, not ready,
  then those doubled up on a node with other pods of the same Deployment, then the newest).
- DaemonSet: one pod per node (bound to it), labelled controller-revision-hash; a template change
  rolls the pods node by node (maxUnavailable at a time); status counters and observedGeneration.
- StatefulSets: localcloud/cluster/statefulsets.py, run from here.
- Scheduler: a pending pod goes to a Ready, schedulable node whose taints it tolerates, whose labels
  match its nodeSelector and required node affinity (node_affinity.py), which runs fewer pods than
  its capacity `pods` (max pods), and which is in the zone its bound volumes require
  (localcloud/cluster/volumes.py; an unbound claim is provisioned in the chosen node's zone): the
  least loaded first; otherwise PodScheduled=False/Unschedulable and a FailedScheduling event, the
  refusals counted per reason as kube-scheduler reports them.
- Kubelet: `pod_ready` seconds after binding, a pod runs: hostNetwork pods on the node's address,
  others on an address from the node's VPC CNI (`Nodes.assign`); without one the pod stays
  ContainerCreating. aws-node is Ready only where the node's network came up. A pod with
  `readinessGates` is Ready only once each gate's condition is True (ReadinessGatesNotReady until
  then: the AWS Load Balancer Controller sets `target-health.elbv2.k8s.aws/...`, AWS-FACTS 8). A
  terminating pod (a graceful deletion: an eviction) keeps running and its address for its grace
  period at the twin's pace (`pace`), then the kubelet removes it (`ObjectStore.finish_termination`).
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import random
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from localcloud.cluster.events import EventRecorder
from localcloud.cluster.node_affinity import affinity_allows
from localcloud.cluster.nodes import NODES, PODS, Nodes
from localcloud.cluster.statefulsets import StatefulSets
from localcloud.cluster.volumes import ZONE_LABEL, Volumes
from localcloud.kube.errors import ApiError
from localcloud.kube.selectors import from_label_selector, labels_match
from localcloud.kube.store import ObjectStore, now_rfc3339

log = logging.getLogger(__name__)

Obj = dict[str, Any]
DEPLOYMENTS = "apps/v1/deployments"
REPLICASETS = "apps/v1/replicasets"
DAEMONSETS = "apps/v1/daemonsets"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def template_hash(template: Obj) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:10])


def _suffix() -> str:
    return "".join(random.choice(_ALPHABET) for _ in range(5))


def _owner(obj: Obj, kind: str, api_version: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _owned_by(obj: Obj, uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


def pod_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def node_ready(node: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in node.get("status", {}).get("conditions") or []
    )


def _live(pod: Obj) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and pod.get("status", {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


_PHASE_RANK = {"Pending": 0, "Unknown": 1, "Running": 2}


def deletion_order(pods: list[Obj], related: list[Obj]) -> list[Obj]:
    """Pods in the order the ReplicaSet controller deletes them (controller.ActivePodsWithRanks):
    unassigned before assigned, Pending before Unknown before Running, not ready before ready, more
    related pods on the same node first, newer first (name as the last tie-break, for determinism)."""
    on_node = Counter(p["spec"].get("nodeName") for p in related if p["spec"].get("nodeName"))

    def key(pod: Obj) -> tuple[bool, int, bool, int, float, str]:
        node = pod["spec"].get("nodeName")
        created = datetime.fromisoformat(pod["metadata"]["creationTimestamp"].replace("Z", "+00:00"))
        return (
            bool(node),
            _PHASE_RANK.get((pod.get("status") or {}).get("phase", "Pending"), 0),
            pod_ready(pod),
            -on_node[node] if node else 0,
            -created.timestamp(),
            pod["metadata"]["name"],
        )

    return sorted(pods, key=key)


def _condition(conditions: list[Obj], kind: str, status: str, reason: str, message: str) -> list[Obj]:
    """Set a condition, keeping its timestamps when nothing about it changed."""
    out = [c for c in conditions if c.get("type") != kind]
    old = next((c for c in conditions if c.get("type") == kind), None)
    if old is not None and old.get("status") == status and old.get("reason") == reason:
        new = {**old, "message": message}
    else:
        stamp = now_rfc3339()
        new = {
            "type": kind,
            "status": status,
            "reason": reason,
            "message": message,
            "lastUpdateTime": stamp,
            "lastTransitionTime": stamp,
        }
    out.append(new)
    return sorted(out, key=lambda c: str(c["type"]))


class Workloads:
    def __init__(
        self,
        store: ObjectStore,
        nodes: Nodes,
        *,
        pod_ready_delay: Callable[[], float],
        volumes: Volumes | None = None,
        pace: Callable[[float], float] = lambda seconds: seconds,
    ) -> None:
        self.store = store
        self.nodes = nodes
        self.pod_ready_delay = pod_ready_delay
        self.volumes = volumes
        self.pace = pace
        """Twin seconds for Kubernetes seconds (a termination grace period)."""
        self.bound_at: dict[str, float] = {}
        self.terminating_since: dict[str, float] = {}
        self.events = EventRecorder(store, "default-scheduler")
        self.statefulsets = StatefulSets(
            store,
            lambda owner, kind, name, labels, adjust: self._create_pod(
                owner, kind, name, extra_labels=labels, adjust=adjust
            ),
            self._delete_pod,
            pod_ready,
            lambda sts: f"{sts['metadata']['name']}-{template_hash(sts['spec']['template'])}",
        )

    def reconcile(self, now: float) -> None:
        for deployment in self.store.list(DEPLOYMENTS):
            self._deployment(deployment)
        for replicaset in self.store.list(REPLICASETS):
            self._replicaset(replicaset)
        self.statefulsets.reconcile()
        nodes = self.store.peek(NODES)
        for daemonset in self.store.list(DAEMONSETS):
            self._daemonset(daemonset, nodes)
        pods = self.store.peek(PODS)  # read-only: changes go through store.mutate
        self.nodes.release({p["metadata"]["uid"] for p in pods if _holds_address(p)})
        self._schedule(pods, nodes, now)
        self._kubelet(now)
        self._terminate(now)
        live = {p["metadata"]["uid"] for p in self.store.peek(PODS)}
        for uid in [u for u in self.bound_at if u not in live]:
            del self.bound_at[uid]
        for uid in [u for u in self.terminating_since if u not in live]:
            del self.terminating_since[uid]
        for replicaset in self.store.list(REPLICASETS):
            self._replicaset_status(replicaset)
        for deployment in self.store.list(DEPLOYMENTS):
            self._deployment_status(deployment)
        self.statefulsets.reconcile_status()
        node_count = len(self.store.peek(NODES))
        for daemonset in self.store.list(DAEMONSETS):
            self._daemonset_status(daemonset, node_count)

    # -- Deployments -----------------------------------------------------------------------------
    def _deployment(self, deployment: Obj) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        if meta.get("deletionTimestamp"):
            return
        ns = meta["namespace"]
        template = spec["template"]
        digest = template_hash(template)
        owned = self.store.list(REPLICASETS, namespace=ns, where=lambda rs: _owned_by(rs, meta["uid"]))
        new = next((rs for rs in owned if rs["metadata"].get("labels", {}).get("pod-template-hash") == digest), None)
        desired = int(spec.get("replicas", 1))
        if new is None:
            revisions = [
                int(rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0")) for rs in owned
            ]
            rs_template = copy.deepcopy(template)
            rs_template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = digest
            selector = copy.deepcopy(spec["selector"])
            selector.setdefault("matchLabels", {})["pod-template-hash"] = digest
            new = self.store.create(
                REPLICASETS,
                {
                    "apiVersion": "apps/v1",
                    "kind": "ReplicaSet",
                    "metadata": {
                        "name": f"{meta['name']}-{digest}",
                        "namespace": ns,
                        "labels": dict(rs_template["metadata"]["labels"]),
                        "annotations": {
                            "deployment.kubernetes.io/desired-replicas": str(desired),
                            "deployment.kubernetes.io/max-replicas": str(desired + 1),
                            "deployment.kubernetes.io/revision": str(max(revisions, default=0) + 1),
                        },
                        "ownerReferences": [_owner(deployment, "Deployment", "apps/v1")],
                    },
                    "spec": {"replicas": desired, "selector": selector, "template": rs_template},
                },
                namespace=ns,
            )
        elif int(new["spec"].get("replicas", 0)) != desired:
            self._scale(new, desired)
        new_ready = int(new.get("status", {}).get("readyReplicas", 0) or 0)
        room = max(0, desired - new_ready)
        for rs in owned:
            if rs["metadata"]["uid"] == new["metadata"]["uid"]:
                continue
            keep = min(int(rs["spec"].get("replicas", 0)), room)
            room -= keep
            if int(rs["spec"].get("replicas", 0)) != keep:
                self._scale(rs, keep)

    def _scale(self, rs: Obj, replicas: int) -> None:
        def change(obj: Obj) -> None:
            obj["spec"]["replicas"] = replicas
            obj["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/desired-replicas"] = str(replicas)

        self.store.mutate(REPLICASETS, rs["metadata"]["name"], change, namespace=rs["metadata"]["namespace"])

    def _deployment_status(self, deployment: Obj) -> None:
        meta, spec = deployment["metadata"], deployment["spec"]
        ns = meta["namespace"]
        digest = template_hash(spec["template"])
        owned = self.store.list(REPLICASETS, namespace=ns, where=lambda rs: _owned_by(rs, meta["uid"]))
        pods = [p for rs in owned for p in self._pods_of(rs)]
        new_pods = [p for p in pods if p["metadata"].get("labels", {}).get("pod-template-hash") == digest]
        ready = sum(1 for p in pods if pod_ready(p))
        desired = int(spec.get("replicas", 1))
        status = dict(deployment.get("status") or {})
        conditions = list(status.get("conditions") or [])
        available_ok = ready >= desired - _max_unavailable(spec, desired)
        conditions = _condition(
            conditions,
            "Available",
            "True" if available_ok else "False",
            "MinimumReplicasAvailable" if available_ok else "MinimumReplicasUnavailable",
            "Deployment has minimum availability."
            if available_ok
            else "Deployment does not have minimum availability.",
        )
        complete = (
            len(new_pods) == desired and sum(1 for p in new_pods if pod_ready(p)) == desired and len(pods) == desired
        )
        new_rs = f"{meta['name']}-{digest}"
        conditions = _condition(
            conditions,
            "Progressing",
            "True",
            "NewReplicaSetAvailable" if complete else "ReplicaSetUpdated",
            f'ReplicaSet "{new_rs}" has successfully progressed.'
            if complete
            else f'ReplicaSet "{new_rs}" is progressing.',
        )
        wanted: Obj = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "updatedReplicas": len(new_pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "conditions": conditions,
        }
        if len(pods) - ready:
            wanted["unavailableReplicas"] = max(0, desired - ready)
        wanted = {k: v for k, v in wanted.items() if v not in (0, None) or k == "observedGeneration"}
        if wanted != status:
            self._write_status(DEPLOYMENTS, deployment, wanted)

    def _write_status(self, ref: str, obj: Obj, status: Obj) -> None:
        def change(current: Obj) -> None:
            current["status"] = status

        try:
            self.store.mutate(
                ref, obj["metadata"]["name"], change, namespace=obj["metadata"].get("namespace"), subresource="status"
            )
        except ApiError as error:
            if error.code != 404:
                raise

    # -- ReplicaSets -----------------------------------------------------------------------------------
    def _pods_of(self, owner: Obj) -> list[Obj]:
        """The owner's live pods, read-only (store.peek): a pass reads them for every ReplicaSet and
        DaemonSet, and copying 2,000 pods each time made a pass take seconds."""
        ns = owner["metadata"]["namespace"]
        uid = owner["metadata"]["uid"]
        return self.store.peek(
            PODS, where=lambda p: p["metadata"].get("namespace") == ns and _owned_by(p, uid) and _live(p)
        )

    def _replicaset(self, rs: Obj) -> None:
        meta = rs["metadata"]
        if meta.get("deletionTimestamp"):
            return
        pods = self._pods_of(rs)
        desired = int(rs["spec"].get("replicas", 0))
        for _ in range(desired - len(pods)):
            self._create_pod(rs, "ReplicaSet", f"{meta['name']}-{_suffix()}")
        if len(pods) > desired:
            for pod in deletion_order(pods, self._related_pods(rs))[: len(pods) - desired]:
                self._delete_pod(pod)

    def _related_pods(self, rs: Obj) -> list[Obj]:
        """The pods of every ReplicaSet of the same owner (Deployment), as the controller ranks by."""
        owners = {ref.get("uid") for ref in rs["metadata"].get("ownerReferences") or []}
        if not owners:
            return self._pods_of(rs)
        siblings = self.store.list(
            REPLICASETS,
            namespace=rs["metadata"]["namespace"],
            where=lambda other: any(_owned_by(other, uid) for uid in owners),
        )
        return [pod for sibling in siblings for pod in self._pods_of(sibling)]

    def _replicaset_status(self, rs: Obj) -> None:
        pods = self._pods_of(rs)
        ready = sum(1 for p in pods if pod_ready(p))
        status: Obj = {
            "replicas": len(pods),
            "fullyLabeledReplicas": len(pods),
            "readyReplicas": ready,
            "availableReplicas": ready,
            "observedGeneration": rs["metadata"].get("generation", 1),
        }
        status = {k: v for k, v in status.items() if v or k in ("replicas", "observedGeneration")}
        if status != (rs.get("status") or {}):
            self._write_status(REPLICASETS, rs, status)

    def _create_pod(
        self,
        owner: Obj,
        kind: str,
        name: str,
        node: str | None = None,
        extra_labels: Obj | None = None,
        adjust: Callable[[Obj], None] | None = None,
    ) -> None:
        template = copy.deepcopy(owner["spec"]["template"])
        meta = template.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), **(extra_labels or {})}
        spec = template["spec"]
        if node is not None:
            spec["nodeName"] = node
            tolerations = spec.setdefault("tolerations", [])
            for key in (
                "node.kubernetes.io/not-ready",
                "node.kubernetes.io/unreachable",
                "node.kubernetes.io/disk-pressure",
                "node.kubernetes.io/memory-pressure",
                "node.kubernetes.io/pid-pressure",
                "node.kubernetes.io/unschedulable",
            ):
                if not any(t.get("key") == key for t in tolerations) and not any(
                    t.get("operator") == "Exists" and not t.get("key") for t in tolerations
                ):
                    tolerations.append(
                        {
                            "key": key,
                            "operator": "Exists",
                            "effect": "NoExecute"
                            if key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")
                            else "NoSchedule",
                        }
                    )
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": owner["metadata"]["namespace"],
                "labels": labels,
                "annotations": dict(meta.get("annotations") or {}),
                "ownerReferences": [_owner(owner, kind, "apps/v1")],
            },
            "spec": spec,
        }
        if not pod["metadata"]["annotations"]:
            del pod["metadata"]["annotations"]
        if adjust is not None:
            adjust(pod)
        try:
            self.store.create(PODS, pod, namespace=owner["metadata"]["namespace"])
        except ApiError as error:
            # a name clash, or the namespace is gone or terminating: the ReplicaSet controller lets
            # a NamespaceTerminating refusal pass (its owner goes with the namespace)
            if error.code not in (409, 404) and not (error.code == 403 and "being terminated" in error.message):
                raise

    def _delete_pod(self, pod: Obj) -> None:
        try:
            self.store.delete(PODS, pod["metadata"]["name"], namespace=pod["metadata"]["namespace"])
        except ApiError as error:
            if error.code != 404:
                raise

    # -- DaemonSets ----------------------------------------------------------------------------------
    def _daemonset(self, ds: Obj, nodes: list[Obj]) -> None:
        meta = ds["metadata"]
        if meta.get("deletionTimestamp"):
            return
        digest = template_hash(ds["spec"]["template"])
        pods = self._pods_of(ds)
        by_node: dict[str, list[Obj]] = {}
        for pod in pods:
            by_node.setdefault(str(pod["spec"].get("nodeName")), []).append(pod)
        node_names = {n["metadata"]["name"] for n in nodes}
        for node in sorted(node_names):
            if node not in by_node:
                self._create_pod(
                    ds,
                    "DaemonSet",
                    f"{meta['name']}-{_suffix()}",
                    node=node,
                    extra_labels={
                        "controller-revision-hash": digest,
                        "pod-template-generation": str(meta.get("generation", 1)),
                    },
                )
        for node, node_pods in by_node.items():
            if node not in node_names:
                for pod in node_pods:
                    self._delete_pod(pod)
        # rollout: replace old pods, at most maxUnavailable at a time
        budget = _max_unavailable_ds(ds, len(node_names))
        unavailable = sum(1 for p in pods if not pod_ready(p)) + (len(node_names) - len(by_node.keys() & node_names))
        for pod in sorted(pods, key=lambda p: str(p["spec"].get("nodeName"))):
            if pod["metadata"].get("labels", {}).get("controller-revision-hash") == digest:
                continue
            if unavailable >= budget and pod_ready(pod):
                break
            self._delete_pod(pod)
            unavailable += 1

    def _daemonset_status(self, ds: Obj, node_count: int) -> None:
        digest = template_hash(ds["spec"]["template"])
        pods = self._pods_of(ds)
        ready = sum(1 for p in pods if pod_ready(p))
        updated = [p for p in pods if p["metadata"].get("labels", {}).get("controller-revision-hash") == digest]
        status: Obj = {
            "currentNumberScheduled": len(pods),
            "desiredNumberScheduled": node_count,
            "numberMisscheduled": 0,
            "numberReady": ready,
            "numberAvailable": ready,
            "updatedNumberScheduled": len(updated),
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if node_count - ready > 0:
            status["numberUnavailable"] = node_count - ready
        status = {
            k: v
            for k, v in status.items()
            if v or k in ("currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady")
        }
        if status != (ds.get("status") or {}):
            self._write_status(DAEMONSETS, ds, status)

    # -- the scheduler ---------------------------------------------------------------------------------
    def _schedule(self, pods: list[Obj], nodes: list[Obj], now: float) -> None:
        load: dict[str, int] = {}
        for pod in pods:
            if pod["spec"].get("nodeName") and _live(pod):
                load[pod["spec"]["nodeName"]] = load.get(pod["spec"]["nodeName"], 0) + 1
        zones = self.volumes.required_zones() if self.volumes is not None else {}
        for pod in pods:
            uid = pod["metadata"]["uid"]
            if pod["spec"].get("nodeName"):
                self.bound_at.setdefault(uid, now)
                continue
            if not _live(pod):
                continue
            zone = self.volumes.pod_zone(pod, zones) if self.volumes is not None else None
            fits = [n for n in nodes if self._fits(pod, n, load, zone)]
            if not fits:
                self._unschedulable(pod, nodes, load, zone)
                continue
            node = min(fits, key=lambda n: (load.get(n["metadata"]["name"], 0), n["metadata"]["name"]))
            name = node["metadata"]["name"]
            load[name] = load.get(name, 0) + 1
            self.bound_at[uid] = now
            if self.volumes is not None:
                self.volumes.provision_for(pod, node)

            def bind(obj: Obj, node_name: str = name) -> None:
                obj["spec"]["nodeName"] = node_name
                conditions = obj.setdefault("status", {}).get("conditions") or []
                obj["status"]["conditions"] = _pod_condition(conditions, "PodScheduled", "True")

            try:
                self.store.mutate(PODS, pod["metadata"]["name"], bind, namespace=pod["metadata"]["namespace"])
            except ApiError as error:
                if error.code != 404:
                    raise
                continue
            where = f"{pod['metadata']['namespace']}/{pod['metadata']['name']}"
            self.events.normal({**pod, "kind": "Pod"}, "Scheduled", f"Successfully assigned {where} to {name}")

    @staticmethod
    def _fits(pod: Obj, node: Obj, load: dict[str, int], zone: str | None = None) -> bool:
        spec = node.get("spec", {})
        if spec.get("unschedulable") or not node_ready(node):
            return False
        tolerations = pod["spec"].get("tolerations") or []
        for taint in spec.get("taints") or []:
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            if not any(_tolerates(t, taint) for t in tolerations):
                return False
        selector = pod["spec"].get("nodeSelector") or {}
        labels = node["metadata"].get("labels") or {}
        if any(labels.get(k) != v for k, v in selector.items()) or not affinity_allows(pod, node):
            return False
        capacity = int(str(node.get("status", {}).get("allocatable", {}).get("pods", "110")))
        if load.get(node["metadata"]["name"], 0) >= capacity:
            return False
        return zone is None or labels.get(ZONE_LABEL) == zone

    def _unschedulable(self, pod: Obj, nodes: list[Obj], load: dict[str, int], zone: str | None = None) -> None:
        message = failed_scheduling_message([_why(pod, n, load, zone) for n in nodes])

        def change(obj: Obj) -> Obj | None:
            conditions = obj.setdefault("status", {}).get("conditions") or []
            current = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
            if current and current.get("status") == "False" and current.get("message") == message:
                return None
            obj["status"]["conditions"] = [c for c in conditions if c.get("type") != "PodScheduled"] + [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": message,
                    "lastProbeTime": None,
                    "lastTransitionTime": now_rfc3339(),
                }
            ]
            return obj

        current = self.store.find(PODS, pod["metadata"]["name"], namespace=pod["metadata"]["namespace"])
        if current is not None and change(copy.deepcopy(current)) is not None:
            self.store.mutate(
                PODS,
                pod["metadata"]["name"],
                lambda o: change(o) or o,
                namespace=pod["metadata"]["namespace"],
                subresource="status",
            )
            self.events.warning({**pod, "kind": "Pod"}, "FailedScheduling", message)

    # -- the kubelet -------------------------------------------------------------------------------------
    def _kubelet(self, now: float) -> None:
        nodes = {n["metadata"]["name"]: n for n in self.store.peek(NODES)}
        for pod in self.store.peek(PODS):  # read-only: _run changes a copy, then the store
            if not _live(pod) or not pod["spec"].get("nodeName"):
                continue
            node = nodes.get(pod["spec"]["nodeName"])
            if node is None:
                continue
            uid = pod["metadata"]["uid"]
            if now - self.bound_at.get(uid, now) < self.pod_ready_delay():
                continue
            host_network = bool(pod["spec"].get("hostNetwork"))
            if not host_network and not node_ready(node):
                continue
            node_ip = next((a["address"] for a in node["status"].get("addresses", []) if a["type"] == "InternalIP"), "")
            ip = pod.get("status", {}).get("podIP")
            if not ip:
                ip = node_ip if host_network else self.nodes.assign(node["metadata"]["name"], uid)
            ready = True
            if _is_aws_node(pod):
                record = self.nodes.records.get(node["metadata"]["name"])
                ready = record is not None and record.network_ready
            self._run(pod, node_ip, ip, ready)

    def _terminate(self, now: float) -> None:
        """Terminating pods go once their grace period (at the twin's pace) has passed."""
        for pod in self.store.peek(PODS, where=lambda p: bool(p["metadata"].get("deletionTimestamp"))):
            meta = pod["metadata"]
            since = self.terminating_since.setdefault(meta["uid"], now)
            grace = float(meta.get("deletionGracePeriodSeconds") or 0)
            if now - since >= self.pace(grace):
                self.store.finish_termination(meta["namespace"], meta["name"])

    def _run(self, pod: Obj, node_ip: str, ip: str | None, ready: bool) -> None:
        def change(obj: Obj) -> Obj | None:
            status = obj.setdefault("status", {})
            conditions = list(status.get("conditions") or [])
            started = status.get("startTime") or now_rfc3339()
            containers = obj["spec"].get("containers") or []
            if ip is None:
                wanted_phase = "Pending"
                waiting = {"waiting": {"reason": "ContainerCreating"}}
                statuses = [
                    {
                        "name": c["name"],
                        "image": c.get("image", ""),
                        "imageID": "",
                        "ready": False,
                        "restartCount": 0,
                        "started": False,
                        "state": waiting,
                    }
                    for c in containers
                ]
            else:
                wanted_phase = "Running"
                statuses = []
                for c in containers:
                    old = next((s for s in status.get("containerStatuses") or [] if s.get("name") == c["name"]), None)
                    running_since = ((old or {}).get("state") or {}).get("running", {}).get("startedAt") or started
                    statuses.append(
                        {
                            "name": c["name"],
                            "image": c.get("image", ""),
                            "imageID": f"{c.get('image', '').split(':', 1)[0]}@sha256:"
                            + hashlib.sha256(c.get("image", "").encode()).hexdigest(),
                            "containerID": "containerd://"
                            + hashlib.sha256((obj["metadata"]["uid"] + c["name"]).encode()).hexdigest(),
                            "ready": ready,
                            "restartCount": 0,
                            "started": True,
                            "state": {"running": {"startedAt": running_since}},
                        }
                    )
            containers_ready = ip is not None and ready
            gates = readiness_gates_not_ready(obj, conditions)
            flags = {
                "PodReadyToStartContainers": ip is not None,
                "Initialized": True,
                "ContainersReady": containers_ready,
                "PodScheduled": True,
            }
            for kind, value in flags.items():
                conditions = _pod_condition(conditions, kind, "True" if value else "False")
            if containers_ready and gates:
                conditions = _pod_condition(
                    conditions, "Ready", "False", reason="ReadinessGatesNotReady", message=", ".join(gates)
                )
            else:
                conditions = _pod_condition(conditions, "Ready", "True" if containers_ready else "False")
            new_status = {
                **status,
                "phase": wanted_phase,
                "conditions": conditions,
                "hostIP": node_ip,
                "hostIPs": [{"ip": node_ip}],
                "startTime": started,
                "containerStatuses": statuses,
            }
            if ip is not None:
                new_status["podIP"] = ip
                new_status["podIPs"] = [{"ip": ip}]
            if new_status == status:
                return None
            obj["status"] = new_status
            return obj

        current = {**pod, "status": dict(pod.get("status") or {})}  # change() replaces status, never edits it
        if change(current) is None:
            return
        try:
            self.store.mutate(
                PODS,
                pod["metadata"]["name"],
                lambda o: change(o) or o,
                namespace=pod["metadata"]["namespace"],
                subresource="status",
            )
        except ApiError as error:
            if error.code != 404:
                raise


def _is_aws_node(pod: Obj) -> bool:
    labels = pod["metadata"].get("labels") or {}
    return bool(pod["metadata"].get("namespace") == "kube-system" and labels.get("k8s-app") == "aws-node")


def readiness_gates_not_ready(pod: Obj, conditions: list[Obj]) -> list[str]:
    """Why the pod's readiness gates keep it unready, as the kubelet words it (empty: all True)."""
    out = []
    for gate in pod.get("spec", {}).get("readinessGates") or []:
        kind = gate.get("conditionType")
        found = next((c for c in conditions if c.get("type") == kind), None)
        if found is None:
            out.append(f'corresponding condition of pod readiness gate "{kind}" does not exist.')
        elif found.get("status") != "True":
            out.append(f'the status of pod readiness gate "{kind}" is not "True", but {found.get("status")}')
    return out


def _holds_address(pod: Obj) -> bool:
    """A pod keeps its address until it is gone (terminating pods still run) or has finished."""
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def _pod_condition(
    conditions: list[Obj], kind: str, status: str, *, reason: str | None = None, message: str | None = None
) -> list[Obj]:
    old = next((c for c in conditions if c.get("type") == kind), None)
    if old is not None and old.get("status") == status and old.get("reason") == reason:
        if old.get("message") == message:
            return conditions
        kept = {k: v for k, v in old.items() if k != "message"}  # same transition, new words
        return [c if c is not old else {**kept, **({"message": message} if message else {})} for c in conditions]
    out = [c for c in conditions if c.get("type") != kind]
    new: Obj = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}
    if reason is not None:
        new["reason"] = reason
    if message is not None:
        new["message"] = message
    out.append(new)
    order = ["PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled"]
    return sorted(out, key=lambda c: order.index(c["type"]) if c["type"] in order else len(order))


def _tolerates(toleration: Obj, taint: Obj) -> bool:
    if toleration.get("effect") and toleration.get("effect") != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration.get("key") == taint.get("key")
    return bool(toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", ""))


TOO_MANY_PODS = "Too many pods"
NOT_HELPFUL = "Preemption is not helpful for scheduling"
# The PostFilter (DefaultPreemption) since Kubernetes 1.27 reports per node: a refusal evicting pods could
# lift (too many pods) finds no victims among pods of equal priority (the twin's workloads all have
# priority 0); every other refusal here is UnschedulableAndUnresolvable.
_PREEMPTION = {TOO_MANY_PODS: "No preemption victims found for incoming pod"}


def _counted(reasons: Iterable[str]) -> str:
    """kube-scheduler's FitError: each reason with its count of nodes, sorted, ending in a full stop."""
    return ", ".join(sorted(f"{count} {reason}" for reason, count in Counter(reasons).items())) + "."


def failed_scheduling_message(refusals: list[str]) -> str:
    """kube-scheduler's FailedScheduling message for the nodes' refusals, with its preemption attempt's."""
    if not refusals:
        return "0/0 nodes are available: no nodes available to schedule pods."
    preemption = _counted(_PREEMPTION.get(r, NOT_HELPFUL) for r in refusals)
    available = f"0/{len(refusals)} nodes are available:"
    return f"{available} {_counted(refusals)} preemption: {available} {preemption}"


def _why(pod: Obj, node: Obj, load: dict[str, int], zone: str | None = None) -> str:
    """Why kube-scheduler's filters refuse the node (the first that does, in the scheduler's order:
    NodeUnschedulable, then TaintToleration, which refuses a node not ready for its not-ready taint)."""
    spec = node.get("spec", {})
    if spec.get("unschedulable"):
        return "node(s) were unschedulable"
    if not node_ready(node):
        return "node(s) had untolerated taint {node.kubernetes.io/not-ready: }"
    tolerations = pod["spec"].get("tolerations") or []
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in tolerations):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    labels = node["metadata"].get("labels") or {}
    if any(labels.get(k) != v for k, v in (pod["spec"].get("nodeSelector") or {}).items()) or not affinity_allows(
        pod, node
    ):
        return "node(s) didn't match Pod's node affinity/selector"
    capacity = int(str(node.get("status", {}).get("allocatable", {}).get("pods", "110")))
    if load.get(node["metadata"]["name"], 0) >= capacity:
        return TOO_MANY_PODS
    if zone is not None and labels.get(ZONE_LABEL) != zone:
        return "node(s) had volume node affinity conflict"
    return "node(s) didn't match Pod's node affinity/selector"


def _max_unavailable(spec: Obj, desired: int) -> int:
    value = (spec.get("strategy", {}).get("rollingUpdate") or {}).get("maxUnavailable", "25%")
    if isinstance(value, str) and value.endswith("%"):
        return int(desired * int(value[:-1]) / 100)
    return int(value)


def _max_unavailable_ds(ds: Obj, nodes: int) -> int:
    value = (ds["spec"].get("updateStrategy", {}).get("rollingUpdate") or {}).get("maxUnavailable", 1)
    if isinstance(value, str) and value.endswith("%"):
        return max(1, -(-nodes * int(value[:-1]) // 100))
    return max(1, int(value))


def selector_matches(selector: Obj | None, labels: Obj | None) -> bool:
    return labels_match(from_label_selector(selector), labels)
