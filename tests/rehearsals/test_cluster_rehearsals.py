"""Whole executions on the twin (real template, ASL, handlers, cluster twin with its controllers):
the cluster half of the workflow (issue 6, item 11)."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest

from localcloud.rehearse import Rehearsal, rehearse
from localcloud.scenario import parse_scenario
from tests.fixtures.response_shapes import READ_OPERATIONS

LISTED_READS = {operation for operations in READ_OPERATIONS.values() for operation in operations}

pytestmark = pytest.mark.rehearsal

POD_CIDR = ipaddress.ip_network("100.64.0.0/16")
CLUSTER = "eksworkshop"


def _run(scenario: dict[str, Any] | None = None, repeat: int = 1, **execution_input: Any) -> Rehearsal:
    return rehearse(
        parse_scenario(scenario or {}), {"clusterName": CLUSTER, "pollSeconds": 1, **execution_input}, repeat=repeat
    )


TEMPORARY_ACCESS = ("eks:CreateAccessEntry", "eks:AssociateAccessPolicy", "eks:DeleteAccessEntry")
CLUSTER_ROLE = "arn:aws:iam::123456789012:role/ClusterFunctionsRole"


def _mutating(rehearsal: Rehearsal, execution: int) -> list[str]:
    """The mutating calls AWS accepted: one it refused (a subnet not visible yet, retried) changed nothing."""
    calls = rehearsal.state["calls"]
    return [c["operation"] for c in calls if c["execution"] == execution and c["mutating"] and c["result"] == "ok"]


def _lasting(rehearsal: Rehearsal, execution: int) -> list[str]:
    """The mutating calls whose effect outlives the execution: not the access entry it created and revoked."""
    return [op for op in _mutating(rehearsal, execution) if op not in TEMPORARY_ACCESS]


def _access_entries(rehearsal: Rehearsal) -> list[str]:
    return [e["principalArn"] for e in rehearsal.state["clusters"][0]["accessEntries"]]


def _visited(rehearsal: Rehearsal, execution: int = 0) -> list[str]:
    return [visit.name for visit in rehearsal.results[execution].visits]


def _documents_in(value: Any) -> int:
    """How many migration documents (clusterName and podSubnets) a state's data holds."""
    if isinstance(value, list):
        return sum(_documents_in(item) for item in value)
    if not isinstance(value, dict):
        return 0
    return int({"clusterName", "podSubnets"} <= set(value)) + sum(_documents_in(item) for item in value.values())


def _carried_once(result: Any) -> None:
    """Every state's data holds the document at most once (state data is limited to 256 KB)."""
    for event in result.events:
        details = event.get("stateExitedEventDetails") or event.get("stateEnteredEventDetails") or {}
        data = details.get("output") or details.get("input")
        if data:
            assert _documents_in(json.loads(data)) <= 1, (details.get("name"), event["type"])


def test_seed_migrates_then_a_rerun_changes_nothing() -> None:
    rehearsal = _run(repeat=2)
    first, second = rehearsal.results
    assert first.succeeded, (first.error, first.cause)
    report, state = first.output, rehearsal.state
    cluster = state["cluster"]

    for name in (
        "EnsureClusterAccess",
        "ClusterPreflight",
        "ApplyEniConfigs",
        "ConfigureCni",
        "ReplaceNodegroups",
        "VerifyLoadBalancers",
        "RemoveVerificationWorkloads",
        "VerifyPods",
        "Report",
    ):
        assert any(visited.startswith(name) for visited in _visited(rehearsal)), name
    app_pods = [p for p in cluster["pods"] if not p["hostNetwork"]]
    assert app_pods and all(ipaddress.ip_address(p["ip"]) in POD_CIDR for p in app_pods)
    assert all(p["ip"].startswith("172.31.") for p in cluster["pods"] if p["hostNetwork"])
    assert {n["nodegroup"] for n in cluster["nodes"]} == {"managed-ng-podcidr"}
    assert all(n["maxPods"] == 44 and n["ready"] and n["ip"].startswith("172.31.") for n in cluster["nodes"])
    assert [ng["name"] for ng in state["clusters"][0]["nodegroups"]] == ["managed-ng-podcidr"]
    assert [check["kind"] for check in report["verification"]["loadBalancers"]] == ["alb", "public-nlb", "private-nlb"]
    assert all(c["healthyTargets"] == 3 and c["targetsInPodCidr"] for c in report["verification"]["loadBalancers"])
    assert all(c["sourceCidrs"] == ["172.31.0.0/16"] for c in report["verification"]["loadBalancers"])  # the VPC's
    assert state["loadBalancers"] == [] and cluster["loadBalancers"] == []  # verified, then removed
    assert report["verification"]["pods"]["outside"] == []
    assert report["cni"]["changed"] is True and len(report["eniConfigs"]) == 3
    assert report["changes"] == len(_lasting(rehearsal, 1))
    assert report["clusterAccess"]["created"] is True and report["clusterAccess"]["revoked"] is True
    reads = {
        c["operation"].split(":", 1)[1] for c in state["calls"] if not c["mutating"] and c["service"] != "kubernetes"
    }
    assert reads <= LISTED_READS, f"reads whose output shapes no test walks: {reads - LISTED_READS}"
    _carried_once(first)
    # each nodegroup is replaced by a child execution: its poll rounds are not in this history
    children = [e for e in first.events if e["type"] == "TaskSucceeded" and "startExecution.sync:2" in str(e)]
    assert len(children) == 1
    assert json.loads(children[0]["taskSucceededEventDetails"]["output"])["Output"]["status"] == "done"
    scheduled = [str(e.get("lambdaFunctionScheduledEventDetails")) for e in first.events]
    assert not any("ReplaceNodegroupFunction" in lambda_task for lambda_task in scheduled)

    assert second.succeeded, (second.error, second.cause)
    assert _lasting(rehearsal, 2) == [] and second.output["changes"] == 0
    assert sorted(_mutating(rehearsal, 2)) == sorted(TEMPORARY_ACCESS)  # access for the run, removed at its end
    assert CLUSTER_ROLE not in _access_entries(rehearsal)


def test_self_managed_cni_is_configured_through_the_daemon_set() -> None:
    rehearsal = _run({"cluster": {"vpcCni": {"addon": False}}}, verify={"loadBalancers": []})
    result = rehearsal.results[0]
    assert result.succeeded, (result.error, result.cause)
    assert result.output["cni"]["via"] == "daemonset" and result.output["cni"]["changed"] is True
    assert rehearsal.state["cluster"]["awsNode"]["env"]["ENI_CONFIG_LABEL_DEF"] == "topology.kubernetes.io/zone"
    assert "kubernetes:patch DaemonSet" in _mutating(rehearsal, 1)
    assert "eks:UpdateAddon" not in _mutating(rehearsal, 1)


def test_config_map_cluster_is_refused_before_any_change() -> None:
    rehearsal = _run({"cluster": {"authenticationMode": "CONFIG_MAP"}})
    result = rehearsal.results[0]
    assert (result.status, result.error) == ("FAILED", "ClusterAccessDenied")
    assert "authenticationMode=API_AND_CONFIG_MAP" in (result.cause or "")
    assert _mutating(rehearsal, 1) == []


def test_missing_load_balancer_controller_fails_before_the_vpc_then_succeeds_without_load_balancers() -> None:
    scenario = {"cluster": {"loadBalancerController": False}}
    refused = _run(scenario)
    result = refused.results[0]
    assert (result.status, result.error) == ("FAILED", "LoadBalancerControllerMissing")
    assert not any(name.startswith("ExtendVpcCidr") for name in _visited(refused))
    assert [op for op in _mutating(refused, 1) if not op.startswith("eks:")] == []  # only the access entry
    assert "eks:DeleteAccessEntry" in _mutating(refused, 1) and CLUSTER_ROLE not in _access_entries(refused)

    accepted = _run(scenario, verify={"loadBalancers": []}, keepClusterAccess=True)
    assert accepted.results[0].succeeded, (accepted.results[0].error, accepted.results[0].cause)
    assert accepted.results[0].output["clusterAccess"]["revoked"] is False
    assert "eks:DeleteAccessEntry" not in _mutating(accepted, 1) and CLUSTER_ROLE in _access_entries(accepted)
    assert accepted.results[0].output["verification"]["loadBalancers"] == []


LOST_RESPONSES = [
    "eks:CreateAccessEntry",
    "eks:AssociateAccessPolicy",
    "kubernetes:create ENIConfig",
    "eks:UpdateAddon",
    "eks:CreateNodegroup",
    "eks:DeleteNodegroup",
    "kubernetes:create Namespace",
    "kubernetes:create Deployment",
    "kubernetes:create Service",
    "kubernetes:create Ingress",
    "kubernetes:delete Namespace",
    "kubernetes:create ConfigMap",
]


def test_a_lost_response_on_each_mutating_cluster_call_converges() -> None:
    faults = [{"operation": op, "when": "after", "times": 1, "error": "InternalError"} for op in LOST_RESPONSES]
    rehearsal = _run({"faults": faults})
    result = rehearsal.results[0]
    assert result.succeeded, (result.error, result.cause)
    calls = rehearsal.state["calls"]
    for operation in LOST_RESPONSES:
        results = [c["result"] for c in calls if c["operation"] == operation]
        # the fault fired (on the first call made, which a concurrent call may be recorded before)
        assert any(r != "ok" for r in results), (operation, results)
    cluster = rehearsal.state["cluster"]
    assert len(cluster["eniConfigs"]) == 3
    assert [ng["name"] for ng in rehearsal.state["clusters"][0]["nodegroups"]] == ["managed-ng-podcidr"]
    app_pods = [p for p in cluster["pods"] if not p["hostNetwork"]]
    assert app_pods and all(ipaddress.ip_address(p["ip"]) in POD_CIDR for p in app_pods)
    assert rehearsal.state["loadBalancers"] == [] and cluster["loadBalancers"] == []


def test_a_richer_account_migrates_whatever_its_default_routes() -> None:
    """Node route tables whose default route goes to a NAT instance, a firewall endpoint, or nowhere;
    a workload behind an NLB with a PodDisruptionBudget; self-managed nodes left alone
    (ignoreUnmanagedCapacity). Each pod subnet gets its AZ's node table (#11.5, #11.6, #10.6)."""
    scenario = {
        "vpc": {
            "routeTables": [
                {"name": "public", "defaultRoute": "internet-gateway", "subnets": ["public-a", "public-b", "public-c"]},
                {"name": "private-a", "defaultRoute": "nat-instance", "subnets": ["node-a"]},
                {"name": "private-b", "defaultRoute": "firewall", "natSubnet": "public-b", "subnets": ["node-b"]},
                {"name": "private-c", "defaultRoute": "none", "subnets": ["node-c"]},
            ]
        },
        "cluster": {
            "workloads": [
                {"namespace": "shop", "name": "web", "replicas": 3, "exposedBy": ["nlb"], "pdb": {"minAvailable": 2}}
            ],
            "selfManagedNodes": [{"name": "legacy", "subnets": ["node-a"], "count": 1}],
        },
    }
    rehearsal = _run(scenario, verify={"loadBalancers": []}, ignoreUnmanagedCapacity=True)
    (result,) = rehearsal.results
    assert result.succeeded, (result.error, result.cause)
    report = result.output
    tables = {t["name"]: t["routeTableId"] for t in rehearsal.state["routeTables"]}
    by_zone = {s["availabilityZone"][-1]: s["routeTableId"] for s in report["podSubnets"]}
    assert by_zone == {"a": tables["private-a"], "b": tables["private-b"], "c": tables["private-c"]}
    assert [(c["kind"], c["name"], c["nodes"]) for c in report["unmanagedCapacity"]] == [
        ("self-managed", "eksworkshop-legacy", 1)
    ]
    shop = [p for p in rehearsal.state["cluster"]["pods"] if p["namespace"] == "shop"]
    assert len(shop) == 3 and all(ipaddress.ip_address(p["ip"]) in POD_CIDR for p in shop)


def test_a_custom_ami_nodegroup_is_replaced_from_a_launch_template_version_with_the_right_max_pods() -> None:
    """A launch template with a custom AMI whose user data sets max pods 58 (t3.2xlarge without custom
    networking): the replacement runs a new version of it that sets 44, and its nodes have 44 (#11.7).
    A re-run adopts that version and changes nothing."""
    scenario = {
        "cluster": {
            "nodegroups": [
                {
                    "name": "managed-ng",
                    "launchTemplate": {"securityGroups": ["nodes-extra"], "customAmi": True, "maxPods": 58},
                }
            ]
        },
        "vpc": {"securityGroups": [{"name": "nodes-extra"}]},
    }
    rehearsal = _run(scenario, repeat=2, verify={"loadBalancers": []})
    first, second = rehearsal.results
    assert first.succeeded, (first.error, first.cause)
    nodes = rehearsal.state["cluster"]["nodes"]
    assert nodes and all(n["nodegroup"] == "managed-ng-podcidr" and n["maxPods"] == 44 for n in nodes)
    assert "ec2:CreateLaunchTemplateVersion" in _mutating(rehearsal, 1)
    assert not any("max pods" in w for w in first.output.get("warnings", []))
    assert second.succeeded and _lasting(rehearsal, 2) == []


def test_a_private_only_endpoint_fails_at_plan_with_its_own_error_and_no_change() -> None:
    """The functions are not in the cluster's VPC (the stack's default): the execution ends in
    MigrationFailed with ClusterEndpointUnreachable from Plan, having changed nothing (#11.3)."""
    rehearsal = _run({"cluster": {"endpoint": {"publicAccess": False, "privateAccess": True}}})
    (result,) = rehearsal.results
    assert result.status == "FAILED" and result.error == "ClusterEndpointUnreachable", (result.error, result.cause)
    assert "ClusterFunctionsSubnetIds" in (result.cause or "")
    assert _mutating(rehearsal, 1) == []
    assert "EnsureClusterAccess" not in _visited(rehearsal)


def test_an_access_entry_the_failure_path_cannot_remove_is_named_in_the_cause() -> None:
    """#12 item 4: a clean-up that cannot finish names what it left behind (here in the execution's
    Cause, which the notification carries)."""
    denied = {"operation": "eks:DeleteAccessEntry", "when": "before", "times": 50, "error": "AccessDeniedException"}
    refused = _run({"cluster": {"loadBalancerController": False}, "faults": [denied]})
    result = refused.results[0]
    assert (result.status, result.error) == ("FAILED", "LoadBalancerControllerMissing")
    assert CLUSTER_ROLE in _access_entries(refused)
    cause = result.cause or ""
    assert "AWS Load Balancer Controller" in cause.split(" Left behind: ")[0]
    assert f"Left behind: the access entry of {CLUSTER_ROLE} on cluster {CLUSTER} could not be removed" in cause
    assert f"aws eks delete-access-entry --cluster-name {CLUSTER} --principal-arn {CLUSTER_ROLE}" in cause
    assert "the clean-up after the execution tries again" in cause


def test_a_test_namespace_the_failure_path_cannot_remove_is_named_in_the_cause() -> None:
    """#12 item 4: DeployVerificationWorkload fails (the Ingress is refused) and the way to failure cannot delete
    the test namespace either: the Cause says so, with the commands to finish by hand (WorkloadsLeftBehind?)."""
    refused = [
        {"operation": operation, "when": "before", "times": 50, "error": "Forbidden"}
        for operation in ("kubernetes:create Ingress", "kubernetes:delete Namespace")
    ]
    rehearsal = _run({"faults": refused})
    result = rehearsal.results[0]
    assert result.status == "FAILED", (result.error, result.cause)
    visited = _visited(rehearsal)
    assert {"RemoveVerificationWorkloadsAfterFailure", "NameWorkloadsLeftBehind"} <= set(visited)
    assert "NameAccessLeftBehind" not in visited
    cause = result.cause or ""
    first, left = cause.split(" Left behind: ")
    assert "Ingress" in first
    assert left.startswith(
        "the test namespace podcidr-verify and the load balancers of its Services and Ingress could not be removed ("
    )
    assert "kubectl delete namespace podcidr-verify while the AWS Load Balancer Controller runs" in left
    assert f"delete any load balancer left with the tag elbv2.k8s.aws/cluster={CLUSTER}" in left
    assert "a tag service.k8s.aws/stack or ingress.k8s.aws/stack starting with podcidr-verify/" in left
    deletes = [c["result"] for c in rehearsal.state["calls"] if c["operation"] == "kubernetes:delete Namespace"]
    assert deletes and "ok" not in deletes
