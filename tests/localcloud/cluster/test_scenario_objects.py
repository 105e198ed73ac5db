"""The cluster objects of the richer scenario keys: a workload's PodDisruptionBudget and the
Services and Ingress in front of it (`exposedBy`), and a self-managed CNI's prefix delegation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import ClusterFixture

from tests.fixtures.workloads import shop_web


def test_pdb_exposed_by_and_self_managed_prefix_delegation(twin_factory: Callable[..., ClusterFixture]) -> None:
    twin = twin_factory(
        {
            "cluster": {
                "vpcCni": {"addon": False, "version": "v1.18.3", "prefixDelegation": True},
                "workloads": [shop_web()],
            }
        }
    )
    store = twin.cluster.store
    pdb = store.get("policy/v1/poddisruptionbudgets", "web", namespace="shop")
    assert pdb["spec"] == {"selector": {"matchLabels": {"app": "web"}}, "minAvailable": 2}
    nlb = store.get("v1/services", "web-nlb", namespace="shop")
    assert nlb["spec"]["type"] == "LoadBalancer" and nlb["spec"]["loadBalancerClass"] == "service.k8s.aws/nlb"
    assert nlb["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-nlb-target-type"] == "ip"
    ingress = store.get("networking.k8s.io/v1/ingresses", "web", namespace="shop")
    assert ingress["spec"]["ingressClassName"] == "alb"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    assert store.get("v1/services", backend, namespace="shop")["spec"]["selector"] == {"app": "web"}
    aws_node = store.get("apps/v1/daemonsets", "aws-node", namespace="kube-system")
    (container,) = [c for c in aws_node["spec"]["template"]["spec"]["containers"] if c["name"] == "aws-node"]
    env: dict[str, Any] = {e["name"]: e.get("value") for e in container["env"]}
    assert env["ENABLE_PREFIX_DELEGATION"] == "true"
    assert container["image"].endswith("amazon-k8s-cni:v1.18.3")
