"""Request probes (DESIGN.md scenario key `probe`): for every workload with `probe: true`, a request
goes through each load balancer in front of it (`exposedBy`: the ALB of its Ingress, the NLB of its
`<name>-nlb` Service) every 100 ms of twin time, from the twin's start to its end.

A request succeeds when the load balancer exists and is active (its DNS name published) and one of
its targets is healthy (registered longer ago than `timing.targetRegistration`, reachable, not
draining: a draining target gets no new request) and is served: an IP target by a pod with that
address that is Running on an existing node (a terminating pod serves until its target is
deregistered), an instance target by a Ready node (kube-proxy's forwarding to a pod is not judged).
Otherwise the request fails.

Each pass of the cluster's controllers (after every change, and at least every `interval`) counts the
requests due since the last pass on the twin's clock and judges them against what it sees then, so
a held clock sends none. `--state` reports `probes: [{"loadBalancer", "workload", "requests",
"failed"}]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.cluster.nodes import NODES, PODS
from localcloud.cluster.workloads import node_ready
from localcloud.kube.store import ObjectStore
from localcloud.scenario import WorkloadSpec

if TYPE_CHECKING:
    from localcloud.cluster.loadbalancers import LoadBalancerController, Stack

Obj = dict[str, Any]
PERIOD = 0.1
"""Seconds of twin time between two requests through one load balancer."""


@dataclass
class Probe:
    workload: str
    """namespace/name."""
    kind: str
    """alb or nlb."""
    key: tuple[str, str, str]
    """The controller's key of the object the load balancer is for: (Ingress|Service, namespace, name)."""
    load_balancer: str = ""
    """The load balancer's name, once it exists."""
    requests: int = 0
    failed: int = 0


def probes_for(workloads: list[WorkloadSpec]) -> list[Probe]:
    out = []
    for workload in workloads:
        if not workload.probe:
            continue
        label = f"{workload.namespace}/{workload.name}"
        for kind in workload.exposed_by:
            key = (
                ("Ingress", workload.namespace, workload.name)
                if kind == "alb"
                else ("Service", workload.namespace, f"{workload.name}-nlb")
            )
            out.append(Probe(label, kind, key))
    return out


class Probes:
    def __init__(self, store: ObjectStore, controller: LoadBalancerController | None, probes: list[Probe]) -> None:
        self.store = store
        self.controller = controller
        self.probes = probes
        self.started: float | None = None
        self.sent = 0
        """Requests sent per load balancer so far."""

    def start(self, now: float) -> None:
        self.started = now

    def tick(self, now: float) -> None:
        """Send the requests due by `now` (one per load balancer every PERIOD since `start`)."""
        if not self.probes or self.started is None:
            return
        due = math.floor((now - self.started) / PERIOD + 1e-9) + 1
        count = due - self.sent
        if count <= 0:
            return
        self.sent = due
        for probe in self.probes:
            served = self._served(probe)
            probe.requests += count
            if not served:
                probe.failed += count

    def _served(self, probe: Probe) -> bool:
        stack = self.controller.stacks.get(probe.key) if self.controller is not None else None
        if stack is None:
            return False
        probe.load_balancer = stack.name
        if not stack.published:
            return False
        if stack.target_type == "ip":
            nodes = {n["metadata"]["name"] for n in self.store.peek(NODES)}
            running = {
                pod.get("status", {}).get("podIP")
                for pod in self.store.peek(PODS, where=lambda p: p["metadata"].get("namespace") == stack.key[1])
                if _running(pod, nodes)
            }
            return any(target in running for target in self._healthy(stack))
        ready = {
            (node.get("spec", {}).get("providerID") or "").rsplit("/", 1)[-1]
            for node in self.store.peek(NODES)
            if node_ready(node)
        }
        return any(target in ready for target in self._healthy(stack))

    def _healthy(self, stack: Stack) -> set[str]:
        assert self.controller is not None
        out: set[str] = set()
        for group in list(stack.target_groups.values()):
            out |= self.controller.health.healthy(group)
        return out

    def state(self) -> list[Obj]:
        return [
            {
                "loadBalancer": p.load_balancer or f"{p.kind} of {p.workload} (never created)",
                "workload": p.workload,
                "requests": p.requests,
                "failed": p.failed,
            }
            for p in self.probes
        ]


def _running(pod: Obj, nodes: set[str]) -> bool:
    status = pod.get("status") or {}
    return bool(status.get("podIP")) and status.get("phase") == "Running" and pod["spec"].get("nodeName") in nodes
