"""Request probes through a whole execution (#12 item 1): today's ReplaceNodegroups deletes the old
nodegroup, EKS drains every old node at once, and the PodDisruptionBudget only waits for pods to be
Ready, not for their load-balancer targets to be healthy (3 s here, far slower than a pod's start):
requests through the ALB and the NLB in front of the workload fail meanwhile."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.rehearse import rehearse
from localcloud.scenario import load_scenario

pytestmark = pytest.mark.rehearsal

SCENARIO = Path(__file__).resolve().parents[2] / "localcloud" / "scenarios" / "no-request-lost.yaml"


def test_deleting_the_old_nodegroup_loses_requests_through_both_load_balancers() -> None:
    scenario = load_scenario(SCENARIO)
    rehearsal = rehearse(scenario, {"clusterName": scenario.cluster.name, "pollSeconds": 1})
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    probes = {p["loadBalancer"]: p for p in rehearsal.state["probes"]}
    kinds = {
        lb["name"]: lb["type"]
        for lb in rehearsal.state["cluster"]["loadBalancers"]
        if lb["for"].startswith(("Ingress shop/", "Service shop/"))
    }
    assert sorted(kinds[name] for name in probes) == ["application", "network"]
    for probe in probes.values():
        assert probe["workload"] == "shop/web"
        assert probe["requests"] >= 100  # one every 100 ms of a rehearsal of more than 10 s
        assert 0 < probe["failed"] < probe["requests"], probe
