"""The cluster part of `--state` (DESIGN.md): aws-node's env, ENIConfigs, nodes, pods, load balancers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localcloud.cluster import cni
from localcloud.cluster.nodes import NODES, PODS
from localcloud.cluster.workloads import node_ready, pod_ready
from localcloud.kube.errors import ApiError

if TYPE_CHECKING:
    from localcloud.cluster.cluster_twin import ClusterTwin


def cluster_state(twin: ClusterTwin) -> dict[str, Any]:
    store = twin.store
    nodes_ctl = twin.nodes
    env = cni.effective_env(store)
    try:
        eniconfigs = [
            {
                "name": e["metadata"]["name"],
                "subnet": (e.get("spec") or {}).get("subnet"),
                "securityGroups": (e.get("spec") or {}).get("securityGroups") or [],
                "labels": e["metadata"].get("labels") or {},
            }
            for e in store.list(cni.ENICONFIGS)
        ]
    except ApiError:
        eniconfigs = []
    nodes = []
    for node in store.list(NODES):
        name = node["metadata"]["name"]
        record = nodes_ctl.records.get(name) if nodes_ctl else None
        labels = node["metadata"].get("labels") or {}
        nodes.append(
            {
                "name": name,
                "nodegroup": labels.get("eks.amazonaws.com/nodegroup"),
                "zone": labels.get("topology.kubernetes.io/zone"),
                "instanceId": record.instance_id if record else None,
                "instanceType": labels.get("node.kubernetes.io/instance-type"),
                "ip": next(
                    (a["address"] for a in node["status"].get("addresses", []) if a["type"] == "InternalIP"), None
                ),
                "subnet": record.subnet.subnet_id if record else None,
                "maxPods": int(str(node["status"].get("capacity", {}).get("pods", "0"))),
                "ready": node_ready(node),
                "unschedulable": bool(node.get("spec", {}).get("unschedulable")),
                "customNetworking": record.custom if record else None,
                "eniConfig": record.eniconfig if record else None,
                "podSubnet": (
                    record.pod_subnet.subnet_id
                    if record and record.pod_subnet
                    else (record.subnet.subnet_id if record and not record.custom else None)
                ),
                "networkError": record.network_error if record else None,
                "enis": 1 + len(record.enis) if record else None,
            }
        )
    pods = [
        {
            "namespace": p["metadata"]["namespace"],
            "name": p["metadata"]["name"],
            "node": p["spec"].get("nodeName"),
            "ip": p.get("status", {}).get("podIP"),
            "hostNetwork": bool(p["spec"].get("hostNetwork")),
            "phase": p.get("status", {}).get("phase"),
            "ready": pod_ready(p),
        }
        for p in store.list(PODS)
    ]
    addon = twin.aws.eks.addon(twin.cluster_name) if twin.aws else None
    return {
        "awsNode": {
            "via": "addon" if addon is not None else "daemonset",
            "env": env,
            "customNetworking": cni.custom_networking(env),
        },
        "eniConfigs": eniconfigs,
        "nodes": nodes,
        "pods": pods,
        "loadBalancers": twin.load_balancers.state() if twin.load_balancers else [],
    }
