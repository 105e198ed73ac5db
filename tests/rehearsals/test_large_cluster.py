"""A large cluster (#11.8): 60 nodes in 4 nodegroups and 2,000 pods migrate in one execution, the
Kubernetes lists read page by page."""

from __future__ import annotations

import ipaddress

import pytest

from localcloud.bench import LARGE_SCENARIO
from localcloud.rehearse import rehearse
from localcloud.scenario import load_scenario
from podcidr.steps.support import PAGE_SIZE

pytestmark = pytest.mark.rehearsal

POD_CIDR = ipaddress.ip_network("100.64.0.0/16")


def test_sixty_nodes_and_two_thousand_pods_migrate() -> None:
    scenario = load_scenario(LARGE_SCENARIO)
    rehearsal = rehearse(scenario, {"clusterName": scenario.cluster.name, "pollSeconds": 3})
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    cluster = rehearsal.state["cluster"]
    nodes = cluster["nodes"]
    assert len(nodes) == 60 and all(n["ready"] for n in nodes)
    assert {n["nodegroup"] for n in nodes} == {f"{g.name}-podcidr" for g in scenario.cluster.nodegroups}
    app_pods = [p for p in cluster["pods"] if not p["hostNetwork"]]
    assert len([p for p in app_pods if p["namespace"] != "kube-system"]) >= 2000
    assert all(ipaddress.ip_address(p["ip"]) in POD_CIDR for p in app_pods)
    pods = result.output["verification"]["pods"]
    assert pods["outside"] == [] and pods["checked"] > 2 * PAGE_SIZE
    pod_lists = [c for c in rehearsal.state["calls"] if c["operation"] == "kubernetes:list Pod"]
    assert len(pod_lists) > pods["checked"] // PAGE_SIZE  # every page a request of its own
