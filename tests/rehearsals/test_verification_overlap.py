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


def test_the_load_balancers_are_built_before_the_old_nodegroup_is_deleted_and_test_pods_stay_off_old_nodes() -> None:
    scenario = parse_scenario({})
    with Twin(scenario) as twin:
        rehearsal = rehearse(scenario, {"clusterName": CLUSTER, "pollSeconds": 1}, twin=twin)
        cluster = _cluster_twin(twin)
        assert cluster.load_balancers is not None and cluster.workloads is not None
        timeline = {key: dict(times) for key, times in cluster.load_balancers.timeline.items() if key[1] == NAMESPACE}
        scheduled = [
            message
            for kind, namespace, _, _, reason, message in cluster.workloads.events.recorded()
            if (kind, namespace, reason) == ("Pod", NAMESPACE, "Scheduled")
        ]
        origin = twin.aws.ledger.started
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    calls = rehearsal.state["calls"]
    [deleted] = [origin + c["at"] for c in calls if c["operation"] == "eks:DeleteNodegroup"]
    # the controller built and published all three while the old nodegroup was still there
    assert sorted(key[2] for key in timeline) == ["podcidr-alb", "podcidr-private-nlb", "podcidr-public-nlb"]
    assert all(times["created"] < times["published"] < deleted for times in timeline.values()), (timeline, deleted)
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
