"""Request probes, target registration and deregistration delays, the pod readiness gate and the
Eviction API on the cluster twin (#12 item 1), with the twin's clock held (FrozenClock) so that a
loaded machine cannot sleep through a state: every request is judged at a known twin time.

Scenario: localcloud/scenarios/no-request-lost.yaml (shop/web, 3 replicas behind an ALB and an NLB,
PDB minAvailable 2, probe on; targetRegistration 3 s, so the deregistration delay of 300 s is 10 s and
a termination grace period of 30 s is 1 s at the twin's pace)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.localcloud.aws.conftest import FrozenClock
from tests.localcloud.cluster.conftest import ClusterFixture, wait_for

SCENARIO = Path(__file__).resolve().parents[3] / "localcloud" / "scenarios" / "no-request-lost.yaml"
GATE = "target-health.elbv2.k8s.aws/"


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    document = yaml.safe_load(SCENARIO.read_text())
    document["timing"] = {"podReady": 0.2, "targetRegistration": 3.0}
    return twin_factory(document)


_HELD_UNTIL = [0.0]
"""Where the last test left the held clock: the next one starts there, so twin time never goes back."""


@pytest.fixture
def clock(twin: ClusterFixture, monkeypatch: pytest.MonkeyPatch) -> Iterator[FrozenClock]:
    held = FrozenClock(max(twin.aws.clock.now(), _HELD_UNTIL[0]))
    monkeypatch.setattr(twin.aws.clock, "now", held.now)
    _settled(twin)
    yield held
    _HELD_UNTIL[0] = held.time


def _probes(twin: ClusterFixture) -> dict[str, dict[str, Any]]:
    assert twin.cluster.probes is not None
    return {p["loadBalancer"]: p for p in twin.cluster.probes.state()}


def _settled(twin: ClusterFixture) -> None:
    """The controllers have made two passes since the clock was held (one in flight may have read the
    clock before)."""
    seen = twin.cluster.passes
    twin.cluster._wake.set()
    wait_for(lambda: twin.cluster.passes >= seen + 2, what="two passes")


def _advance(twin: ClusterFixture, clock: FrozenClock, seconds: float) -> None:
    """Move the held clock 100 ms at a time, each step once the probes have sent its requests."""
    assert twin.cluster.probes is not None
    for _ in range(round(seconds / 0.1)):
        clock.advance(0.1)
        target = twin.cluster.probes.sent + 1
        twin.cluster._wake.set()
        wait_for(lambda t=target: twin.cluster.probes.sent >= t, what="the probes' requests")  # type: ignore[union-attr]


def _counts(twin: ClusterFixture) -> tuple[int, int]:
    probes = list(_probes(twin).values())
    assert len(probes) == 2 and len({(p["requests"], p["failed"]) for p in probes}) == 1, probes
    return probes[0]["requests"], probes[0]["failed"]


def _targets(twin: ClusterFixture) -> dict[str, dict[str, str]]:
    """Load balancer type -> target -> state, as DescribeTargetHealth says it through the twin's endpoint."""
    elbv2 = twin.admin("elbv2")
    out: dict[str, dict[str, str]] = {}
    for lb in elbv2.describe_load_balancers()["LoadBalancers"]:
        states: dict[str, str] = {}
        for group in elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"]:
            for d in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]:
                states[d["Target"]["Id"]] = d["TargetHealth"]["State"]
        out[lb["Type"]] = states
    return out


def _web_pods(twin: ClusterFixture) -> list[dict[str, Any]]:
    """The workload's pods that are not terminating."""
    pods = twin.cluster.store.list("v1/pods", namespace="shop", label_selector="app=web")
    return [p for p in pods if not p["metadata"].get("deletionTimestamp")]


def test_each_load_balancer_in_front_of_a_probed_workload_gets_a_request_every_100ms_of_twin_time(
    twin: ClusterFixture, clock: FrozenClock
) -> None:
    probes = _probes(twin)
    assert {p["workload"] for p in probes.values()} == {"shop/web"}
    kinds = {lb["name"]: lb["type"] for lb in twin.cluster.load_balancers.state()}  # type: ignore[union-attr]
    assert sorted(kinds[name] for name in probes) == ["application", "network"]
    before = _counts(twin)
    _advance(twin, clock, 1.0)
    assert _counts(twin) == (before[0] + 10, before[1])  # every target healthy: nothing fails
    _settled(twin)
    assert _counts(twin) == (before[0] + 10, before[1])  # the clock is held: no more requests


def test_requests_fail_while_no_target_is_healthy_and_succeed_once_the_new_ones_registered(
    twin: ClusterFixture, clock: FrozenClock
) -> None:
    """Every pod replaced at once (as a force deletion would): the old targets drain, the new ones
    are `initial` for targetRegistration (3 s), and every request meanwhile fails."""
    store = twin.cluster.store
    old = {p["status"]["podIP"] for p in _web_pods(twin)}
    for pod in _web_pods(twin):
        store.delete("v1/pods", pod["metadata"]["name"], namespace="shop")
    wait_for(
        lambda: len(pods := _web_pods(twin)) == 3 and all(p["spec"].get("nodeName") for p in pods),
        what="the replacements scheduled",
    )
    requests, failed = _counts(twin)
    _advance(twin, clock, 0.3)  # the replacements start (podReady 0.2 s) and are registered
    new = {p["status"].get("podIP") for p in _web_pods(twin)}
    assert len(new) == 3 and None not in new and not new & old
    for states in _targets(twin).values():
        assert {t: s for t, s in states.items() if t in old} == dict.fromkeys(old, "draining")
        assert {t: s for t, s in states.items() if t in new} == dict.fromkeys(new, "initial")
    _advance(twin, clock, 2.5)
    now_requests, now_failed = _counts(twin)
    assert now_requests == requests + 28
    assert failed + 27 <= now_failed <= failed + 28  # registered at +0.2 s (or +0.3 s: 0.1 s steps are inexact)
    _advance(twin, clock, 0.7)  # 3 s after registration: healthy
    for states in _targets(twin).values():
        assert {t: s for t, s in states.items() if t in new} == dict.fromkeys(new, "healthy")
    requests, failed = _counts(twin)
    _advance(twin, clock, 1.0)
    assert _counts(twin) == (requests + 10, failed)


def test_a_deregistered_target_drains_for_the_groups_deregistration_delay_at_the_twins_pace(
    twin: ClusterFixture, clock: FrozenClock
) -> None:
    store = twin.cluster.store
    pod = _web_pods(twin)[0]
    ip = pod["status"]["podIP"]
    store.delete("v1/pods", pod["metadata"]["name"], namespace="shop")
    wait_for(lambda: _targets(twin)["network"].get(ip) == "draining", what="draining")  # at the held time
    elbv2 = twin.admin("elbv2")
    nlb = next(lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["Type"] == "network")
    (group,) = elbv2.describe_target_groups(LoadBalancerArn=nlb["LoadBalancerArn"])["TargetGroups"]
    attributes = elbv2.describe_target_group_attributes(TargetGroupArn=group["TargetGroupArn"])["Attributes"]
    assert {a["Key"]: a["Value"] for a in attributes}["deregistration_delay.timeout_seconds"] == "300"
    health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    (draining,) = [d for d in health if d["Target"]["Id"] == ip]
    assert draining["TargetHealth"] == {
        "State": "draining",
        "Reason": "Target.DeregistrationInProgress",
        "Description": "Target deregistration is in progress",
    }
    _advance(twin, clock, 9.8)  # 300 s * 3 s / 90 s = 10 s
    assert _targets(twin)["network"].get(ip) == "draining"
    _advance(twin, clock, 0.4)
    assert ip not in _targets(twin)["network"]


def test_an_eviction_respects_the_pdb_and_terminates_the_pod_gracefully(
    twin: ClusterFixture, clock: FrozenClock, api: k8s.ApiClient
) -> None:
    """The official client's create_namespaced_pod_eviction: 201 and a graceful deletion, then 429
    with the API server's words while the budget (minAvailable 2 of 3) has no disruption left."""
    core = k8s.CoreV1Api(api)
    first, second, _ = sorted(p["metadata"]["name"] for p in _web_pods(twin))
    core.create_namespaced_pod_eviction(
        first, "shop", k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=first, namespace="shop"))
    )
    evicted = core.read_namespaced_pod(first, "shop")
    assert evicted.metadata.deletion_timestamp is not None and evicted.metadata.deletion_grace_period_seconds == 30
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(
            second, "shop", k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=second, namespace="shop"))
        )
    assert refused.value.status == 429
    body = yaml.safe_load(refused.value.body)
    assert body["reason"] == "TooManyRequests"
    assert body["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert body["details"]["causes"] == [
        {"reason": "DisruptionBudget", "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}
    ]
    # replaced at once: the ReplicaSet controller's next pass (it does not wait on the twin's clock)
    wait_for(lambda: len([p for p in _web_pods(twin) if not p["metadata"].get("deletionTimestamp")]) == 3)
    _advance(twin, clock, 0.8)  # the grace period, 30 s, is 1 s at the twin's pace
    assert core.read_namespaced_pod(first, "shop").metadata.deletion_timestamp is not None
    _advance(twin, clock, 0.3)
    assert first not in {p["metadata"]["name"] for p in _web_pods(twin)}
    status = twin.cluster.store.pdb_status("shop", "web")
    assert (status["currentHealthy"], status["desiredHealthy"], status["disruptionsAllowed"]) == (3, 2, 1)
    core.create_namespaced_pod_eviction(
        second, "shop", k8s.V1Eviction(metadata=k8s.V1ObjectMeta(name=second, namespace="shop"))
    )


def test_the_readiness_gate_keeps_a_new_pod_unready_until_its_targets_are_healthy(
    twin: ClusterFixture, clock: FrozenClock, api: k8s.ApiClient
) -> None:
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    core.patch_namespace("shop", {"metadata": {"labels": {"elbv2.k8s.aws/pod-readiness-gate-inject": "enabled"}}})
    before = {p["metadata"]["name"] for p in _web_pods(twin)}
    assert all(not p["spec"].get("readinessGates") for p in _web_pods(twin))  # made before the label: none
    apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 4}})
    wait_for(lambda: len(_web_pods(twin)) == 4, what="a fourth pod")
    (new,) = [p for p in _web_pods(twin) if p["metadata"]["name"] not in before]
    groups = {g["TargetGroupName"] for g in twin.admin("elbv2").describe_target_groups()["TargetGroups"]}
    gates = sorted(g["conditionType"] for g in new["spec"]["readinessGates"])
    assert len(gates) == 2 and all(g.startswith(GATE) and g[len(GATE) :] in groups for g in gates)
    name = new["metadata"]["name"]
    _advance(twin, clock, 0.5)  # running, containers ready, registered: initial
    pod = core.read_namespaced_pod(name, "shop")
    conditions = {c.type: c for c in pod.status.conditions}
    assert conditions["ContainersReady"].status == "True"
    assert conditions["Ready"].status == "False" and conditions["Ready"].reason == "ReadinessGatesNotReady"
    assert {conditions[g].status for g in gates} == {"False"}
    assert {conditions[g].reason for g in gates} == {"Elb.RegistrationInProgress"}
    assert all(states[pod.status.pod_ip] == "initial" for states in _targets(twin).values())
    assert apps.read_namespaced_deployment("web", "shop").status.available_replicas == 3
    _advance(twin, clock, 3.0)

    def conditions_now() -> dict[str, str]:
        return {c.type: c.status for c in core.read_namespaced_pod(name, "shop").status.conditions}

    final = wait_for(lambda: (c := conditions_now())["Ready"] == "True" and c, what="Ready")
    assert {final[g] for g in gates} == {"True"}
    wait_for(lambda: apps.read_namespaced_deployment("web", "shop").status.available_replicas == 4, what="4 available")
    apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 3}})


def test_a_deleted_load_balancer_no_longer_holds_the_pods_it_gated(
    twin: ClusterFixture, clock: FrozenClock, api: k8s.ApiClient
) -> None:
    """The controller marks a gate True when its TargetGroupBinding goes (updatePodAsHealthyForDeletedTGB).
    Runs last: it deletes the NLB."""
    core, apps = k8s.CoreV1Api(api), k8s.AppsV1Api(api)
    before = {p["metadata"]["name"] for p in _web_pods(twin)}
    apps.patch_namespaced_deployment_scale("web", "shop", {"spec": {"replicas": 4}})
    wait_for(lambda: len(_web_pods(twin)) == 4, what="a fourth pod")
    (new,) = [p for p in _web_pods(twin) if p["metadata"]["name"] not in before]
    name = new["metadata"]["name"]
    _advance(twin, clock, 0.5)
    elbv2 = twin.admin("elbv2")
    (nlb,) = [lb for lb in elbv2.describe_load_balancers()["LoadBalancers"] if lb["Type"] == "network"]
    (group,) = elbv2.describe_target_groups(LoadBalancerArn=nlb["LoadBalancerArn"])["TargetGroups"]
    nlb_gate = GATE + group["TargetGroupName"]
    assert nlb_gate in {g["conditionType"] for g in new["spec"]["readinessGates"]}
    core.delete_namespaced_service("web-nlb", "shop")

    def gates() -> dict[str, str]:
        pod = core.read_namespaced_pod(name, "shop")
        return {c.type: c.status for c in pod.status.conditions if c.type.startswith(GATE)}

    final = wait_for(lambda: (g := gates()).get(nlb_gate) == "True" and g, what="the NLB's gate True")
    assert sorted(final.values()) == ["False", "True"]  # the ALB's target is still registering
    assert {c.type: c.status for c in core.read_namespaced_pod(name, "shop").status.conditions}["Ready"] == "False"


def test_draining_targets_are_listed_even_when_moto_lists_none() -> None:
    from botocore.parsers import QueryParser
    from botocore.session import get_session

    from localcloud.cluster.loadbalancers import _with_draining

    empty = (
        '<DescribeTargetHealthResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/">'
        "<DescribeTargetHealthResult><TargetHealthDescriptions/></DescribeTargetHealthResult>"
        "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeTargetHealthResponse>"
    )
    body = _with_draining(empty, {"10.0.0.5": 80})
    shape = get_session().get_service_model("elbv2").operation_model("DescribeTargetHealth").output_shape
    parsed = QueryParser().parse({"body": body.encode(), "headers": {}, "status_code": 200}, shape)
    assert parsed["TargetHealthDescriptions"] == [
        {
            "Target": {"Id": "10.0.0.5", "Port": 80},
            "HealthCheckPort": "80",
            "TargetHealth": {
                "State": "draining",
                "Reason": "Target.DeregistrationInProgress",
                "Description": "Target deregistration is in progress",
            },
        }
    ]
