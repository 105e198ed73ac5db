"""TargetGroupBindings as the AWS Load Balancer Controller keeps them (its chart's CRD
elbv2.k8s.aws_targetgroupbindings; docs/guide/targetgroupbinding): for every target group it makes
for a Service or an Ingress backend, one namespaced TargetGroupBinding named as the target group,
whose `spec.serviceRef` names the Service and port and `spec.targetGroupARN` the group, labelled with
the stack (`service.k8s.aws/stack-*` or `ingress.k8s.aws/stack-*`). Deleted with the stack.

Tools that must know which target groups front a workload (podcidr's drain) read these objects.
"""

from __future__ import annotations

from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.load_balancer_crds import GROUP
from localcloud.kube.store import ObjectStore

Obj = dict[str, Any]
BINDINGS = f"{GROUP}/v1beta1/targetgroupbindings"
FINALIZER = "elbv2.k8s.aws/resources"


def bind(
    store: ObjectStore,
    *,
    owner_kind: str,
    owner_namespace: str,
    owner_name: str,
    name: str,
    service: str,
    port: int,
    target_group_arn: str,
    target_type: str,
) -> None:
    """Create the binding of one target group (left alone if it exists)."""
    stack = "service.k8s.aws" if owner_kind == "Service" else "ingress.k8s.aws"
    binding = {
        "apiVersion": f"{GROUP}/v1beta1",
        "kind": "TargetGroupBinding",
        "metadata": {
            "name": name,
            "namespace": owner_namespace,
            "labels": {f"{stack}/stack-name": owner_name, f"{stack}/stack-namespace": owner_namespace},
            "finalizers": [FINALIZER],
        },
        "spec": {
            "serviceRef": {"name": service, "port": port},
            "targetGroupARN": target_group_arn,
            "targetType": target_type,
            "ipAddressType": "ipv4",
        },
    }
    if store.find(BINDINGS, name, namespace=owner_namespace) is None:
        store.create(BINDINGS, binding, namespace=owner_namespace)


def unbind(store: ObjectStore, namespace: str, name: str) -> None:
    """Remove a binding: its finalizer first (the controller's), then the object."""

    def drop_finalizer(current: Obj) -> None:
        current["metadata"].pop("finalizers", None)

    try:
        store.mutate(BINDINGS, name, drop_finalizer, namespace=namespace)
        store.delete(BINDINGS, name, namespace=namespace)
    except ApiError as error:
        if error.code != 404:
            raise
