"""The load balancers' IP target groups in front of the cluster's pods, with their targets' health:
what the drain waits on before it evicts a pod, and before it moves to the next nodes.

The AWS Load Balancer Controller keeps one TargetGroupBinding (elbv2.k8s.aws) per target group it
made for a Service or an Ingress backend (AWS-FACTS 8); `spec.serviceRef` names the Service, whose
selector picks the pods. Only IP targets are pods; instance targets are nodes, which kube-proxy
forwards from, and are not followed here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podcidr.steps.support import all_items
from podcidr.steps.target_health import target_states

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

    from podcidr.kube.client import Kube

BINDING_GROUP = "elbv2.k8s.aws"
BINDING_VERSION = "v1beta1"
BINDING_PLURAL = "targetgroupbindings"

Obj = dict[str, Any]


@dataclass
class TargetGroup:
    arn: str
    namespace: str
    service: str
    selector: dict[str, str]
    states: dict[str, str] = field(default_factory=dict)
    """Target ID (a pod IP) -> its health state (healthy, initial, draining, unhealthy, ...)."""

    @property
    def label(self) -> str:
        return f"{self.arn.rsplit(':', 1)[-1]} (Service {self.namespace}/{self.service})"

    def fronts(self, pod: Obj) -> bool:
        meta = pod["metadata"]
        labels = meta.get("labels") or {}
        return (
            meta.get("namespace") == self.namespace
            and bool(self.selector)
            and all(labels.get(key) == value for key, value in self.selector.items())
        )

    def healthy(self, ip: str | None) -> bool:
        return ip is not None and self.states.get(ip) == "healthy"


def ip_target_groups(kube: Kube, elbv2: ElasticLoadBalancingv2Client) -> list[TargetGroup]:
    """Every IP target group the controller binds to a Service, with its targets' health now."""
    from kubernetes.client.exceptions import ApiException

    def list_bindings(**kwargs: Any) -> Any:
        return kube.custom.list_cluster_custom_object(BINDING_GROUP, BINDING_VERSION, BINDING_PLURAL, **kwargs)

    try:
        bindings = all_items(list_bindings)
    except ApiException as error:
        if error.status == 404:
            return []  # no TargetGroupBinding CRD: no AWS Load Balancer Controller, no target groups
        raise
    selectors: dict[tuple[str, str], dict[str, str] | None] = {}
    groups = []
    for binding in bindings:
        spec = binding.get("spec") or {}
        if spec.get("targetType") != "ip" or not spec.get("targetGroupARN"):
            continue
        namespace = binding["metadata"]["namespace"]
        service = (spec.get("serviceRef") or {}).get("name", "")
        key = (namespace, service)
        if key not in selectors:
            selectors[key] = _selector(kube, namespace, service)
        selector = selectors[key]
        if selector is None:
            continue  # the Service is gone: the controller removes the binding next
        states = target_states(elbv2, spec["targetGroupARN"])
        if states is not None:  # None: the group went with its load balancer meanwhile
            groups.append(TargetGroup(spec["targetGroupARN"], namespace, service, selector, dict(states)))
    return groups


def _selector(kube: Kube, namespace: str, name: str) -> dict[str, str] | None:
    from kubernetes.client.exceptions import ApiException

    try:
        service = kube.core.read_namespaced_service(name, namespace)
    except ApiException as error:
        if error.status == 404:
            return None
        raise
    return dict((service.spec.selector if service.spec else None) or {})
