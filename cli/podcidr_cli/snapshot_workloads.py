"""The snapshot's workloads: the Deployments and StatefulSets outside the system namespaces with their
replicas, the PodDisruptionBudget that covers each, and the load balancers in front of it (`exposedBy`): an ALB
Ingress (class `alb`) whose backend Service selects its pods, a Service of type LoadBalancer the
AWS Load Balancer Controller makes an NLB of (`loadBalancerClass: service.k8s.aws/nlb`, or the
`aws-load-balancer-type` annotation `external`/`nlb`/`nlb-ip`).

A budget given in percent is written as the count it comes to for the workload's replicas,
rounded up as the disruption controller rounds it (the scenario takes counts only).

A StatefulSet's volumes (snapshot_volumes) are written as `volumeClaim` when they are bound to an AZ.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from podcidr_cli.snapshot_common import Names
from podcidr_cli.snapshot_volumes import ZonalVolumes

PUBLIC_DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:1.27-alpine-slim"
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
NLB_CLASS = "service.k8s.aws/nlb"
NLB_TYPE_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-type"
NLB_TYPES = frozenset({"external", "nlb", "nlb-ip"})
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def selects(selector: Any, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions) matches `labels`; an empty one matches nothing here."""
    if selector is None:
        return False
    match = dict(selector.match_labels or {})
    expressions = list(selector.match_expressions or [])
    if not match and not expressions:
        return False
    if any(labels.get(k) != v for k, v in match.items()):
        return False
    for expression in expressions:
        present, value, values = expression.key in labels, labels.get(expression.key), expression.values or []
        allowed = {
            "In": present and value in values,
            "NotIn": not present or value not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(expression.operator, False)
        if not allowed:
            return False
    return True


def _service_selects(service: Any, labels: dict[str, str]) -> bool:
    selector = dict(service.spec.selector or {})
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _is_nlb(service: Any) -> bool:
    annotations = service.metadata.annotations or {}
    return service.spec.type == "LoadBalancer" and (
        service.spec.load_balancer_class == NLB_CLASS or annotations.get(NLB_TYPE_ANNOTATION) in NLB_TYPES
    )


def _is_alb(ingress: Any) -> bool:
    annotations = ingress.metadata.annotations or {}
    return (ingress.spec.ingress_class_name or annotations.get(INGRESS_CLASS_ANNOTATION)) == "alb"


def _backend_services(ingress: Any) -> set[str]:
    backends = [ingress.spec.default_backend] if ingress.spec.default_backend else []
    for rule in ingress.spec.rules or []:
        backends += [path.backend for path in (rule.http.paths if rule.http else [])]
    return {b.service.name for b in backends if b is not None and b.service is not None}


def _budget(value: Any, replicas: int) -> int:
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * replicas / 100)
    return int(value)


class Workloads:
    """Reads the cluster's Deployments, PDBs, Services and Ingresses once; `entries` writes them."""

    def __init__(self, kube: Any, deployments: Iterable[Any], ec2: Any) -> None:
        self.deployments = list(deployments)
        self.statefulsets = kube.apps.list_stateful_set_for_all_namespaces().items
        self.volumes = ZonalVolumes(kube, ec2, self.statefulsets) if self.statefulsets else None
        self.budgets = kube.policy.list_pod_disruption_budget_for_all_namespaces().items
        self.services = kube.core.list_service_for_all_namespaces().items
        self.ingresses = kube.networking.list_ingress_for_all_namespaces().items

    def entries(self, names: Names) -> list[dict[str, Any]]:
        written = []
        workloads = [*self.deployments, *self.statefulsets]
        statefulsets = {id(s) for s in self.statefulsets}
        for d in sorted(workloads, key=lambda d: (d.metadata.namespace, d.metadata.name)):
            namespace = d.metadata.namespace
            if namespace in SYSTEM_NAMESPACES:
                continue
            containers = d.spec.template.spec.containers or []
            image = containers[0].image if containers and containers[0].image else PUBLIC_DEFAULT_IMAGE
            replicas = d.spec.replicas if d.spec.replicas is not None else 1
            entry: dict[str, Any] = {
                "namespace": namespace if namespace == "default" else names.name("namespace", namespace),
                "name": names.name("workload", f"{namespace}/{d.metadata.name}")
                if names.anonymize
                else d.metadata.name,
                "replicas": replicas,
                "image": PUBLIC_DEFAULT_IMAGE if names.anonymize else image,
            }
            if id(d) in statefulsets:
                entry = {"namespace": entry["namespace"], "name": entry["name"], "kind": "StatefulSet", **entry}
                claim = self.volumes.volume_claim(d) if self.volumes is not None else None
                if claim is not None:
                    entry["volumeClaim"] = claim
            labels = dict(d.spec.template.metadata.labels or {})
            exposed = self._exposed_by(namespace, labels)
            if exposed:
                entry["exposedBy"] = exposed
            budget = self._pdb(namespace, labels, replicas)
            if budget is not None:
                entry["pdb"] = budget
            written.append(entry)
        return written

    def _exposed_by(self, namespace: str, labels: dict[str, str]) -> list[str]:
        mine = [s for s in self.services if s.metadata.namespace == namespace and _service_selects(s, labels)]
        names = {s.metadata.name for s in mine}
        exposed = []
        if any(
            i.metadata.namespace == namespace and _is_alb(i) and _backend_services(i) & names for i in self.ingresses
        ):
            exposed.append("alb")
        if any(_is_nlb(s) for s in mine):
            exposed.append("nlb")
        return exposed

    def _pdb(self, namespace: str, labels: dict[str, str], replicas: int) -> dict[str, int] | None:
        for budget in sorted(self.budgets, key=lambda b: b.metadata.name):
            if budget.metadata.namespace != namespace or not selects(budget.spec.selector, labels):
                continue
            if budget.spec.min_available is not None:
                return {"minAvailable": _budget(budget.spec.min_available, replicas)}
            if budget.spec.max_unavailable is not None:
                return {"maxUnavailable": _budget(budget.spec.max_unavailable, replicas)}
        return None
