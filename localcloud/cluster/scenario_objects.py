"""The Kubernetes objects a scenario's richer keys put in the cluster at start, as their owners
would have made them:

- `workloads[].pdb`: a PodDisruptionBudget (policy/v1) selecting the workload's pods;
- `workloads[].exposedBy`: an ALB Ingress and/or an internal NLB Service (IP targets) in front of
  the workload, which the twin's load-balancer controller turns into ELBv2 load balancers;
- `vpcCni.prefixDelegation` on a self-managed CNI: ENABLE_PREFIX_DELEGATION=true in aws-node's env
  (the add-on's comes from its configurationValues).
"""

from __future__ import annotations

from typing import Any

from localcloud.kube.store import ObjectStore
from localcloud.scenario import ClusterSpec, WorkloadSpec

Obj = dict[str, Any]
PORT = 80
ALB = "alb.ingress.kubernetes.io/"
NLB = "service.beta.kubernetes.io/aws-load-balancer-"


def _create(store: ObjectStore, key: str, obj: Obj) -> None:
    meta = obj["metadata"]
    if store.find(key, meta["name"], namespace=meta.get("namespace")) is None:
        store.create(key, obj, namespace=meta.get("namespace"))


def pdb(workload: WorkloadSpec) -> Obj | None:
    if workload.pdb is None:
        return None
    spec: Obj = {"selector": {"matchLabels": {"app": workload.name}}}
    if workload.pdb.min_available is not None:
        spec["minAvailable"] = workload.pdb.min_available
    else:
        spec["maxUnavailable"] = workload.pdb.max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": workload.name, "namespace": workload.namespace},
        "spec": spec,
    }


def exposing(workload: WorkloadSpec) -> list[tuple[str, Obj]]:
    """(store key, object) of the Services and Ingress in front of the workload."""
    ns, name = workload.namespace, workload.name
    ports = [{"name": "http", "port": PORT, "targetPort": PORT, "protocol": "TCP"}]
    out: list[tuple[str, Obj]] = []
    if "alb" in workload.exposed_by:
        backend = f"{name}-alb"
        out.append(
            (
                "v1/services",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": backend, "namespace": ns},
                    "spec": {"type": "ClusterIP", "selector": {"app": name}, "ports": ports},
                },
            )
        )
        path = {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": backend, "port": {"number": PORT}}}}
        out.append(
            (
                "networking.k8s.io/v1/ingresses",
                {
                    "apiVersion": "networking.k8s.io/v1",
                    "kind": "Ingress",
                    "metadata": {
                        "name": name,
                        "namespace": ns,
                        "annotations": {ALB + "scheme": "internal", ALB + "target-type": "ip"},
                    },
                    "spec": {"ingressClassName": "alb", "rules": [{"http": {"paths": [path]}}]},
                },
            )
        )
    if "nlb" in workload.exposed_by:
        out.append(
            (
                "v1/services",
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": f"{name}-nlb",
                        "namespace": ns,
                        "annotations": {NLB + "scheme": "internal", NLB + "nlb-target-type": "ip"},
                    },
                    "spec": {
                        "type": "LoadBalancer",
                        "loadBalancerClass": "service.k8s.aws/nlb",
                        "selector": {"app": name},
                        "ports": ports,
                    },
                },
            )
        )
    return out


def self_managed_prefix_delegation(store: ObjectStore) -> None:
    def change(ds: Obj) -> None:
        for container in ds["spec"]["template"]["spec"]["containers"]:
            if container.get("name") == "aws-node":
                env = [e for e in container.get("env") or [] if e.get("name") != "ENABLE_PREFIX_DELEGATION"]
                container["env"] = [*env, {"name": "ENABLE_PREFIX_DELEGATION", "value": "true"}]

    store.mutate("apps/v1/daemonsets", "aws-node", change, namespace="kube-system")


def create_scenario_objects(store: ObjectStore, cluster: ClusterSpec) -> None:
    if cluster.vpc_cni.prefix_delegation and not cluster.vpc_cni.addon:
        self_managed_prefix_delegation(store)
    for workload in cluster.workloads:
        budget = pdb(workload)
        if budget is not None:
            _create(store, "policy/v1/poddisruptionbudgets", budget)
        for key, obj in exposing(workload):
            _create(store, key, obj)
