"""Request probes through a whole execution (#12 item 1): today's ReplaceNodegroups deletes the old
nodegroup, EKS drains every old node at once, and the PodDisruptionBudget only waits for pods to be
Ready, not for their load-balancer targets to be healthy (3 s here, far slower than a pod's start):
requests through the ALB and the NLB in front of the workload fail meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from localcloud.cluster import ClusterTwin
from localcloud.kube.store import ObjectStore
from localcloud.rehearse import rehearse
from localcloud.scenario import load_scenario, parse_scenario
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

SCENARIO = Path(__file__).resolve().parents[2] / "localcloud" / "scenarios" / "no-request-lost.yaml"


def test_deleting_the_old_nodegroup_loses_requests_through_both_load_balancers() -> None:
    scenario = load_scenario(SCENARIO)
    rehearsal = rehearse(
        scenario, {"clusterName": scenario.cluster.name, "pollSeconds": 1, "nodeReplacement": {"strategy": "delete"}}
    )
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


def test_the_default_drain_loses_no_request_and_reports_the_drain() -> None:
    """Every old node at once (nodesAtOnce 3): the budget alone would let the last old replica go while
    the new ones' targets are still registering; the drain keeps it until one is healthy."""
    scenario = load_scenario(SCENARIO)
    rehearsal = rehearse(
        scenario, {"clusterName": scenario.cluster.name, "pollSeconds": 1, "nodeReplacement": {"nodesAtOnce": 3}}
    )
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    probes = rehearsal.state["probes"]
    assert len(probes) == 2
    for probe in probes:
        assert probe["requests"] >= 100
        assert probe["failed"] == 0, probe
    (nodegroup,) = result.output["nodegroups"]
    drain = nodegroup["drain"]
    assert drain["strategy"] == "drain"
    old_nodes = scenario.cluster.nodegroups[0].desired_size
    assert drain["nodes"] == old_nodes
    assert drain["evictions"] >= 3  # the three replicas of shop/web, and coredns
    assert drain["seconds"] > 0
    assert "draining" not in nodegroup


def _cluster_store(twin: Twin) -> ObjectStore:
    return next(c for c in twin.components if isinstance(c, ClusterTwin)).store


def test_a_budget_that_never_allows_an_eviction_blocks_the_drain_and_a_rerun_resumes() -> None:
    document = yaml.safe_load(SCENARIO.read_text())
    document["cluster"]["workloads"][0]["pdb"] = {"maxUnavailable": 0}
    scenario = parse_scenario(document)
    execution_input = {
        "clusterName": scenario.cluster.name,
        "pollSeconds": 1,
        "nodeReplacement": {"podEvictionTimeoutSeconds": 3},
    }
    with Twin(scenario) as twin:
        blocked = rehearse(scenario, execution_input, twin=twin)
        (result,) = blocked.results
        assert (result.status, result.error) == ("FAILED", "DrainBlocked"), (result.error, result.cause)
        cause = result.cause or ""
        assert "shop/web-" in cause and "The disruption budget web needs 3 healthy pods" in cause, cause
        eks = twin.aws.admin_session().client("eks")
        groups = eks.list_nodegroups(clusterName=scenario.cluster.name)["nodegroups"]
        assert sorted(groups) == ["managed-ng", "managed-ng-podcidr"]
        assert (
            eks.describe_nodegroup(clusterName=scenario.cluster.name, nodegroupName="managed-ng")["nodegroup"]["status"]
            == "ACTIVE"
        )
        old = [n for n in blocked.state["cluster"]["nodes"] if n["nodegroup"] == "managed-ng"]
        assert len(old) == 3 and all(n["unschedulable"] for n in old), old
        assert all(p["failed"] == 0 for p in blocked.state["probes"])

        def relax(pdb: dict[str, Any]) -> None:
            pdb["spec"]["maxUnavailable"] = 1

        _cluster_store(twin).mutate("policy/v1/poddisruptionbudgets", "web", relax, namespace="shop")
        resumed = rehearse(scenario, execution_input, twin=twin)
        (result,) = resumed.results
        assert result.succeeded, (result.error, result.cause)
        assert eks.list_nodegroups(clusterName=scenario.cluster.name)["nodegroups"] == ["managed-ng-podcidr"]
        (nodegroup,) = result.output["nodegroups"]
        assert nodegroup["drain"]["evictions"] >= 3
