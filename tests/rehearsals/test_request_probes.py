"""Request probes through a whole execution (#12): with `nodeReplacement.strategy: "delete"` EKS
drains every old node at once, and the PodDisruptionBudget only waits for pods to be Ready, not for
their load-balancer targets to be healthy (3 s here, far slower than a pod's start): requests through
the load balancers in front of the workload fail meanwhile. The default drain loses none."""

from __future__ import annotations

import time
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
    """A probe samples once per pass of the twin's controllers: registration slowed to 10 s keeps the
    window without a healthy target wider than a pass of a loaded machine (it once missed a 3 s one)."""
    default = load_scenario(SCENARIO)
    scenario = default.model_copy(update={"timing": default.timing.model_copy(update={"target_registration": 10})})
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
        assert probe["failed"] < probe["requests"], probe
    # which load balancer loses requests depends on how the deletions and registrations interleave
    assert sum(probe["failed"] for probe in probes.values()) > 0, probes


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


def test_a_pod_that_never_finishes_terminating_blocks_the_drain_by_name() -> None:
    # failed before: the drain skipped terminating pods and waited for them until its 540 checks ran out
    document = yaml.safe_load(SCENARIO.read_text())
    document["cluster"]["workloads"][0].pop("pdb")
    scenario = parse_scenario(document)
    execution_input = {
        "clusterName": scenario.cluster.name,
        "pollSeconds": 1,
        "nodeReplacement": {"podEvictionTimeoutSeconds": 2, "nodesAtOnce": 3},
        "verify": {"loadBalancers": []},
    }
    with Twin(scenario) as twin:
        store = _cluster_store(twin)
        deadline = time.monotonic() + 60
        while not (running := [p for p in store.list("v1/pods", namespace="shop") if p["status"].get("podIP")]):
            assert time.monotonic() < deadline, "the workload's pods never ran"
            time.sleep(0.2)
        name = running[0]["metadata"]["name"]

        def keep(pod: dict[str, Any]) -> None:
            pod["metadata"]["finalizers"] = ["example.com/keep"]
            pod["spec"]["terminationGracePeriodSeconds"] = 1

        store.mutate("v1/pods", name, keep, namespace="shop")
        blocked = rehearse(scenario, execution_input, twin=twin)
        (result,) = blocked.results
        assert (result.status, result.error) == ("FAILED", "DrainBlocked"), (result.error, result.cause)
        cause = result.cause or ""
        assert f"shop/{name}: evicted, still terminating" in cause and "finalizers: example.com/keep" in cause, cause
        assert "kubectl uncordon -l eks.amazonaws.com/nodegroup=managed-ng" in cause
        eks = twin.aws.admin_session().client("eks")
        assert "managed-ng" in eks.list_nodegroups(clusterName=scenario.cluster.name)["nodegroups"]
