"""The AWS Load Balancer Controller's pod readiness gate (AWS-FACTS 8; the controller's docs,
deploy/pod_readiness_gate):

- its mutating webhook: a pod created in a namespace labelled
  `elbv2.k8s.aws/pod-readiness-gate-inject=enabled` gets one readiness gate
  `target-health.elbv2.k8s.aws/<TargetGroupBinding name>` for each IP target group whose Service
  selects it (the twin names a binding as its target group); pods created before, or elsewhere, get
  none;
- its condition: the controller registers a gated pod as soon as its containers are ready (it is not
  Ready before its target is healthy), and sets the condition True once the target is healthy, False
  with ELBv2's reason meanwhile; the kubelet keeps the pod unready until then
  (`workloads.readiness_gates_not_ready`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.resources import ResourceType
from localcloud.kube.store import ObjectStore, now_rfc3339

Obj = dict[str, Any]
PODS = "v1/pods"
INJECT_LABEL = "elbv2.k8s.aws/pod-readiness-gate-inject"
GATE_PREFIX = "target-health.elbv2.k8s.aws/"


@dataclass(frozen=True)
class Binding:
    """A TargetGroupBinding: the target group `name` of Service `namespace/service`."""

    namespace: str
    service: str
    name: str
    target_type: str


def gate(binding_name: str) -> str:
    return GATE_PREFIX + binding_name


def gated(pod: Obj, binding_name: str) -> bool:
    wanted = gate(binding_name)
    return any(g.get("conditionType") == wanted for g in pod.get("spec", {}).get("readinessGates") or [])


def containers_ready(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "ContainersReady" and c.get("status") == "True" for c in status.get("conditions") or []
    )


class ReadinessGateWebhook:
    """An admission hook of the store (`ObjectStore.admission`): runs on every Pod create."""

    def __init__(self, store: ObjectStore, bindings: Callable[[], list[Binding]]) -> None:
        self.store = store
        self.bindings = bindings

    def __call__(self, resource: ResourceType, pod: Obj) -> None:
        if resource.key != PODS:
            return
        namespace = pod["metadata"].get("namespace", "")
        found = self.store.find("v1/namespaces", namespace)
        if found is None or (found["metadata"].get("labels") or {}).get(INJECT_LABEL) != "enabled":
            return
        labels = pod["metadata"].get("labels") or {}
        gates = pod.setdefault("spec", {}).get("readinessGates") or []
        for binding in self.bindings():
            if binding.namespace != namespace or binding.target_type != "ip":
                continue
            service = self.store.find("v1/services", binding.service, namespace=namespace)
            selector = (service or {}).get("spec", {}).get("selector") or {}
            if not selector or any(labels.get(k) != v for k, v in selector.items()):
                continue
            if not any(g.get("conditionType") == gate(binding.name) for g in gates):
                gates.append({"conditionType": gate(binding.name)})
        if gates:
            pod["spec"]["readinessGates"] = gates


def set_condition(store: ObjectStore, pod: Obj, binding_name: str, state: str, reason: str, message: str) -> None:
    """The pod's target-health condition for one binding (status True only for a healthy target)."""
    kind = gate(binding_name)
    status = "True" if state == "healthy" else "False"

    def change(obj: Obj) -> Obj | None:
        conditions = list((obj.get("status") or {}).get("conditions") or [])
        old = next((c for c in conditions if c.get("type") == kind), None)
        if old is not None and old.get("status") == status and old.get("reason", "") == reason:
            return None
        new: Obj = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now_rfc3339()}
        if reason:
            new["reason"] = reason
        if message:
            new["message"] = message
        obj.setdefault("status", {})["conditions"] = [c for c in conditions if c.get("type") != kind] + [new]
        return obj

    if change({**pod, "status": dict(pod.get("status") or {})}) is None:
        return
    try:
        store.mutate(
            PODS,
            pod["metadata"]["name"],
            lambda o: change(o) or o,
            namespace=pod["metadata"]["namespace"],
            subresource="status",
        )
    except ApiError as error:
        if error.code != 404:
            raise
