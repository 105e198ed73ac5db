"""Issue #12.3 on the twin: the test load balancers are built while the old nodes drain (their
Services and Ingress exist before ReplaceNodegroups), the test pods never run on an old node, and a
nodegroup replacement that fails after the deploy leaves no test namespace nor load balancer."""

from __future__ import annotations

import time

import pytest

from localcloud.cluster.cluster_twin import ClusterTwin
from localcloud.rehearse import rehearse
from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"
NAMESPACE = "podcidr-verify"


def _cluster_twin(twin: Twin) -> ClusterTwin:
    return next(c for c in twin.components if isinstance(c, ClusterTwin))


def _test_pods_scheduled(twin: Twin, since: int = 0) -> list[str]:
    """The scheduler's messages for the test pods ("Successfully assigned <pod> to <node>"), from the
    `since`-th event recorded."""
    cluster = _cluster_twin(twin)
    assert cluster.workloads is not None
    return [
        message
        for kind, namespace, _, _, reason, message in cluster.workloads.events.recorded()[since:]
        if (kind, namespace, reason) == ("Pod", NAMESPACE, "Scheduled")
    ]


def test_the_load_balancers_are_built_before_the_old_nodegroup_is_deleted_and_test_pods_stay_off_old_nodes() -> None:
    scenario = parse_scenario({})
    with Twin(scenario) as twin:
        rehearsal = rehearse(scenario, {"clusterName": CLUSTER, "pollSeconds": 1}, twin=twin)
        cluster = _cluster_twin(twin)
        assert cluster.load_balancers is not None and cluster.workloads is not None
        timeline = {key: dict(times) for key, times in cluster.load_balancers.timeline.items() if key[1] == NAMESPACE}
        scheduled = _test_pods_scheduled(twin)
        origin = twin.aws.ledger.started
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    calls = rehearsal.state["calls"]
    [deleted] = [origin + c["at"] for c in calls if c["operation"] == "eks:DeleteNodegroup"]
    # the controller built and published the ALB and public NLB while the old nodegroup was still there;
    # the private NLB (fixed addresses in the node subnets new nodes start in) only once it was replaced
    assert sorted(key[2] for key in timeline) == ["podcidr-alb", "podcidr-private-nlb", "podcidr-public-nlb"]
    overlapped = {key[2]: times for key, times in timeline.items() if key[2] != "podcidr-private-nlb"}
    assert all(times["created"] < times["published"] < deleted for times in overlapped.values()), (timeline, deleted)
    [private] = [times for key, times in timeline.items() if key[2] == "podcidr-private-nlb"]
    assert deleted < private["created"] < private["published"], (timeline, deleted)
    assert all(times["deleted"] > deleted for times in timeline.values())  # removed after the verification
    # every test pod was scheduled once, on a replacement node (the old nodes are gone, the new ones remain)
    new_nodes = {node["name"] for node in rehearsal.state["cluster"]["nodes"]}
    assert {node["nodegroup"] for node in rehearsal.state["cluster"]["nodes"]} == {"managed-ng-podcidr"}
    assert len(scheduled) == 3, scheduled
    assert all(message.rsplit(" to ", 1)[1] in new_nodes for message in scheduled), (scheduled, new_nodes)
    order = [visit.name for visit in result.visits if not visit.path]
    assert (
        order.index("DeployVerificationWorkload")
        < order.index("ReplaceNodegroups")
        < order.index("VerifyLoadBalancers")
    )
    assert rehearsal.state["loadBalancers"] == [] and rehearsal.state["cluster"]["loadBalancers"] == []


def test_test_pods_tolerate_a_tainted_replacement_and_run_only_there() -> None:
    """Only a tainted nodegroup is replaced (EKS spells its taint NO_SCHEDULE; the controller's and
    CoreDNS's pods run on an untainted one, kept): the test pods tolerate the replacement's taint and
    run on its nodes, never on the untainted nodegroup's; without the toleration they would stay
    Pending until VerifyLoadBalancers gives up."""
    taint = {"key": "dedicated", "value": "verify", "effect": "NO_SCHEDULE"}
    nodegroups = [{"name": "system"}, {"name": "tainted", "taints": [taint]}]
    scenario = parse_scenario({"cluster": {"nodegroups": nodegroups, "workloads": []}})
    with Twin(scenario) as twin:
        rehearsal = rehearse(scenario, {"clusterName": CLUSTER, "pollSeconds": 1, "nodegroups": ["tainted"]}, twin=twin)
        scheduled = _test_pods_scheduled(twin)
    (result,) = rehearsal.results
    outcomes = {visit.name: visit.outcome for visit in result.visits if not visit.path}
    assert outcomes["VerifyLoadBalancers"] == "succeeded", (result.error, result.cause)
    # VerifyPods then finds the system nodegroup's pods (not replaced) outside the pod CIDR, as it must
    assert result.error == "VerificationFailed" and "outside the pod CIDR" in (result.cause or ""), result.cause
    nodes = rehearsal.state["cluster"]["nodes"]
    assert {node["nodegroup"] for node in nodes} == {"system", "tainted-podcidr"}
    replacements = {node["name"] for node in nodes if node["nodegroup"] == "tainted-podcidr"}
    assert len(scheduled) == 3 and all(m.rsplit(" to ", 1)[1] in replacements for m in scheduled), scheduled


def test_a_nodegroup_failure_after_the_deploy_removes_the_test_namespace_and_keeps_its_error() -> None:
    """The replacement nodegroup never becomes ACTIVE (CREATE_FAILED): the migration fails with the
    child's NodegroupReplacementFailed and its cause, and the test namespace and load balancers that
    DeployVerificationWorkload made before are gone."""
    refused = {
        "operation": "eks:CreateNodegroup",
        "times": 10,
        "error": "InvalidParameterException",
        "message": "Subnets are not in the cluster's VPC.",
    }
    scenario = parse_scenario({"faults": [refused]})
    with Twin(scenario) as twin:
        rehearsal = rehearse(scenario, {"clusterName": CLUSTER, "pollSeconds": 1}, twin=twin)
        cluster = _cluster_twin(twin)
        assert cluster.load_balancers is not None
        built = {key[2] for key in cluster.load_balancers.timeline if key[1] == NAMESPACE}
        deadline = time.monotonic() + 60  # the failure path deletes it without waiting: the controllers finish
        while (left := twin.state()["loadBalancers"]) or cluster.store.find("v1/namespaces", NAMESPACE) is not None:
            assert time.monotonic() < deadline, ("the test namespace or its load balancers are left", left)
            time.sleep(0.5)
    (result,) = rehearsal.results
    assert (result.status, result.error) == ("FAILED", "NodegroupReplacementFailed"), result.cause
    assert (result.cause or "").startswith("EKS refused to create nodegroup managed-ng-podcidr")
    outcomes = {visit.name: visit.outcome for visit in result.visits if not visit.path}
    assert outcomes["DeployVerificationWorkload"] == "succeeded"
    assert outcomes["RemoveVerificationWorkloadsAfterNodegroupFailure"] == "succeeded"
    assert built  # the load balancers had been asked for
    assert "kubernetes:delete Namespace" in [c["operation"] for c in rehearsal.state["calls"]]


def test_a_re_run_after_the_replacement_keeps_the_test_pods_on_the_replacement_nodes() -> None:
    """The first run replaces the tainted nodegroup, verifies the public NLB and fails in VerifyPods
    (the kept untainted nodegroup's pods are outside the pod CIDR), keeping its test workload. The
    re-run verifies every load balancer kind with no nodegroup left to replace: its test pods (the
    kept Deployment, adopted) must still run on the replacement podcidr made, tolerating its taint,
    not on the untainted nodegroup (targets outside the pod CIDR) nor Pending."""
    taint = {"key": "dedicated", "value": "verify", "effect": "NO_SCHEDULE"}
    nodegroups = [{"name": "system"}, {"name": "tainted", "taints": [taint]}]
    scenario = parse_scenario({"cluster": {"nodegroups": nodegroups, "workloads": []}})
    keep = {"keepWorkloads": True}
    with Twin(scenario) as twin:
        first = rehearse(
            scenario,
            {
                "clusterName": CLUSTER,
                "pollSeconds": 1,
                "nodegroups": ["tainted"],
                "verify": {**keep, "loadBalancers": ["public-nlb"]},
            },
            twin=twin,
        )
        cluster = _cluster_twin(twin)
        assert cluster.workloads is not None
        before = len(cluster.workloads.events.recorded())
        rerun = rehearse(
            scenario,
            {"clusterName": CLUSTER, "pollSeconds": 1, "nodegroups": ["tainted-podcidr"], "verify": keep},
            twin=twin,
        )
        scheduled = _test_pods_scheduled(twin, since=before)
        deployment = cluster.store.find("apps/v1/deployments", "podcidr-verify", namespace=NAMESPACE)
    (failed,) = first.results
    assert failed.error == "VerificationFailed" and "outside the pod CIDR" in (failed.cause or ""), failed.cause
    (result,) = rerun.results
    outcomes = {visit.name: visit.outcome for visit in result.visits if not visit.path}
    assert outcomes["VerifyLoadBalancers"] == "succeeded", (result.error, result.cause)
    nodes = rerun.state["cluster"]["nodes"]
    replacements = {node["name"] for node in nodes if node["nodegroup"] == "tainted-podcidr"}
    assert replacements and all(m.rsplit(" to ", 1)[1] in replacements for m in scheduled), scheduled
    assert deployment is not None
    pod_spec = deployment["spec"]["template"]["spec"]
    [term] = pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "eks.amazonaws.com/nodegroup", "operator": "In", "values": ["tainted-podcidr"]} in term[
        "matchExpressions"
    ]
    assert pod_spec["tolerations"] == [
        {"key": "dedicated", "effect": "NoSchedule", "operator": "Equal", "value": "verify"}
    ]


def test_test_pods_run_only_in_the_zones_every_test_load_balancer_serves() -> None:
    """Public subnets in two AZs, nodes in three: the internet-facing ALB and NLB enable only those two
    AZs, and a test pod in the third would be an `unused` target (Target.NotInUse), never healthy, so
    VerifyLoadBalancers would wait out its ceiling. The test pods run only in the two AZs served."""
    nodes = ["node-a", "node-b", "node-c"]
    scenario = parse_scenario(
        {
            "vpc": {
                "subnets": [
                    {"name": "public-a", "az": "ap-southeast-1a", "cidr": "172.31.0.0/20", "public": True},
                    {"name": "public-b", "az": "ap-southeast-1b", "cidr": "172.31.16.0/20", "public": True},
                    {"name": "node-a", "az": "ap-southeast-1a", "cidr": "172.31.48.0/20"},
                    {"name": "node-b", "az": "ap-southeast-1b", "cidr": "172.31.64.0/20"},
                    {"name": "node-c", "az": "ap-southeast-1c", "cidr": "172.31.80.0/20"},
                ],
                "natGateways": [{"subnet": "public-a"}],
            },
            "cluster": {"subnets": nodes, "nodegroups": [{"name": "managed-ng", "subnets": nodes}], "workloads": []},
        }
    )
    with Twin(scenario) as twin:
        rehearsal = rehearse(scenario, {"clusterName": CLUSTER, "pollSeconds": 1}, twin=twin)
        scheduled = _test_pods_scheduled(twin)
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    zone_of = {node["name"]: node["zone"] for node in rehearsal.state["cluster"]["nodes"]}
    assert set(zone_of.values()) == {"ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"}, zone_of
    assert len(scheduled) == 3, scheduled
    zones = {zone_of[message.rsplit(" to ", 1)[1]] for message in scheduled}
    assert zones <= {"ap-southeast-1a", "ap-southeast-1b"}, (scheduled, zone_of)
