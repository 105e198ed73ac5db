"""PodDisruptionBudgets as the disruption controller counts them and the eviction subresource
applies them (kubernetes pkg/controller/disruption/disruption.go, pkg/registry/core/pod/storage/eviction.go).

- expectedPods: an integer minAvailable counts the pods the selector matches (terminating ones
  included); maxUnavailable and a percentage minAvailable count the scale of the pods' controllers
  (Deployment above a ReplicaSet, StatefulSet, ReplicationController), each controller once.
- desiredHealthy: minAvailable (a percentage of expectedPods, rounded up), or expectedPods minus
  maxUnavailable (a percentage rounded up), never below 0.
- currentHealthy: pods not being deleted, Running with Ready=True.
- An eviction of a pod that is Pending, Succeeded, Failed or already terminating ignores budgets; a
  pod matched by more than one budget cannot be evicted (500); a pod that is not Ready is evicted
  without using the budget while currentHealthy >= desiredHealthy > 0; otherwise the eviction needs
  disruptionsAllowed = currentHealthy - desiredHealthy > 0, else 429 TooManyRequests.
- A budget whose selector is empty matches no pod for an eviction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.selectors import from_label_selector, labels_match

Obj = dict[str, Any]
Lookup = Callable[[str, str, str], Obj | None]
"""(kind, namespace, name) -> the controller object, or None."""

_SCALED_KINDS = {"ReplicaSet", "StatefulSet", "ReplicationController", "Deployment"}


@dataclass(frozen=True)
class Budget:
    current_healthy: int
    desired_healthy: int
    expected_pods: int

    @property
    def disruptions_allowed(self) -> int:
        return max(0, self.current_healthy - self.desired_healthy)


def pod_healthy(pod: Obj) -> bool:
    status = pod.get("status") or {}
    return status.get("phase") == "Running" and any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or []
    )


def selects(pdb: Obj, pod: Obj, *, for_eviction: bool = False) -> bool:
    if pdb["metadata"].get("namespace") != pod["metadata"].get("namespace"):
        return False
    raw = (pdb.get("spec") or {}).get("selector")
    if for_eviction and not ((raw or {}).get("matchLabels") or (raw or {}).get("matchExpressions")):
        return False  # "a PDB with a nil or empty selector ... should match nothing" (eviction.go)
    return labels_match(from_label_selector(raw), pod["metadata"].get("labels"))


def scaled_value(value: Any, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent(value, total, roundUp=true)."""
    if isinstance(value, str) and value.endswith("%"):
        return -(-total * int(value[:-1]) // 100)
    return int(value)


def budget(pdb: Obj, pods: list[Obj], lookup: Lookup) -> Budget:
    """The numbers the disruption controller writes in the budget's status; `pods` are the namespace's."""
    spec = pdb.get("spec") or {}
    matched = [p for p in pods if selects(pdb, p)]
    healthy = sum(1 for p in matched if not p["metadata"].get("deletionTimestamp") and pod_healthy(p))
    if "maxUnavailable" in spec and spec["maxUnavailable"] is not None:
        expected = _expected_scale(matched, lookup)
        desired = max(0, expected - scaled_value(spec["maxUnavailable"], expected))
    elif isinstance(spec.get("minAvailable"), str):
        expected = _expected_scale(matched, lookup)
        desired = scaled_value(spec["minAvailable"], expected)
    elif spec.get("minAvailable") is not None:
        expected = len(matched)
        desired = int(spec["minAvailable"])
    else:
        expected = len(matched)
        desired = expected
    return Budget(healthy, desired, expected)


def _expected_scale(pods: list[Obj], lookup: Lookup) -> int:
    """SUM of the scale of the pods' controllers, each once (getExpectedScale); pods without a controller
    of a scaled kind (unmanaged pods) are not counted."""
    seen: dict[str, int] = {}
    for pod in pods:
        controller = _controller(pod["metadata"])
        if controller is None or controller.get("kind") not in _SCALED_KINDS:
            continue
        found = lookup(controller["kind"], pod["metadata"]["namespace"], controller["name"])
        if found is None:
            continue
        owner = _controller(found["metadata"]) if controller["kind"] == "ReplicaSet" else None
        if owner is not None and owner.get("kind") == "Deployment":
            deployment = lookup("Deployment", pod["metadata"]["namespace"], owner["name"])
            if deployment is not None:
                found = deployment
        uid = found["metadata"]["uid"]
        if uid not in seen:
            seen[uid] = int((found.get("spec") or {}).get("replicas", 1))
    return sum(seen.values())


def _controller(meta: Obj) -> Obj | None:
    return next((ref for ref in meta.get("ownerReferences") or [] if ref.get("controller")), None)


def check_eviction(pod: Obj, pdbs: list[Obj], pods: list[Obj], lookup: Lookup) -> None:
    """Returns when the eviction may delete `pod`; raises the API server's error when it may not."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Pending", "Succeeded", "Failed") or pod["metadata"].get("deletionTimestamp"):
        return
    matching = [p for p in pdbs if selects(p, pod, for_eviction=True)]
    if len(matching) > 1:
        raise ApiError(
            500, "", "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
        )
    if not matching:
        return
    pdb = matching[0]
    numbers = budget(pdb, pods, lookup)
    if not pod_healthy(pod) and numbers.current_healthy >= numbers.desired_healthy and numbers.desired_healthy > 0:
        return
    if numbers.current_healthy - numbers.desired_healthy <= 0:
        raise ApiError(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
            details={
                "causes": [
                    {
                        "reason": "DisruptionBudget",
                        "message": f"The disruption budget {pdb['metadata']['name']} needs "
                        f"{numbers.desired_healthy} healthy pods and has {numbers.current_healthy} currently",
                    }
                ]
            },
        )
