"""The cluster states of statemachine/migration.asl.yaml: order, wait loops, Maps, Retry/Catch,
the verification clean-up on every path, substitutions, and moto's interpreter parsing it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from podcidr.errors import ERROR_NAMES
from tests.statemachine.test_vpc_states import LAMBDA_ERRORS, TEMPLATE, _CfnLoader

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachine" / "migration.asl.yaml"
NODEGROUP_ASL = ROOT / "statemachine" / "nodegroup-replacement.asl.yaml"
CLUSTER_FUNCTIONS = [
    "EnsureClusterAccess",
    "ClusterPreflight",
    "ApplyEniConfigs",
    "ConfigureCni",
    "ReplaceNodegroup",
    "DeployVerificationWorkload",
    "VerifyLoadBalancer",
    "RemoveVerificationWorkloads",
    "VerifyPods",
]


@pytest.fixture(scope="module")
def states() -> dict[str, Any]:
    result: dict[str, Any] = yaml.safe_load(ASL.read_text())["States"]
    return result


@pytest.fixture(scope="module")
def nodegroup_states() -> dict[str, Any]:
    result: dict[str, Any] = yaml.safe_load(NODEGROUP_ASL.read_text())["States"]
    return result


def _retry(task: dict[str, Any]) -> None:
    standard = task["Retry"][0]
    assert standard["ErrorEquals"] == LAMBDA_ERRORS
    assert (standard["IntervalSeconds"], standard["MaxAttempts"], standard["BackoffRate"]) == (2, 6, 2.0)
    assert (standard["MaxDelaySeconds"], standard["JitterStrategy"]) == (60, "FULL")


def _catch(state: dict[str, Any], named: str = "ExplainFailure", other: str = "StepFailed") -> None:
    by_name, anything = state["Catch"]
    assert by_name["ErrorEquals"] == list(ERROR_NAMES) and by_name["Next"] == named
    assert anything["ErrorEquals"] == ["States.ALL"] and anything["Next"] == other


def _path(states: dict[str, Any], start: str, stop: str) -> list[str]:
    """The happy path: Next, or a Choice's first option that neither waits nor ends."""
    path, name = [start], start
    while name != stop:
        state = states[name]
        if state["Type"] == "Choice":
            options = [c["Next"] for c in state["Choices"]] + [state["Default"]]
            name = next(o for o in options if states[o]["Type"] not in ("Wait", "Succeed", "Fail"))
        else:
            name = state["Next"]
        path.append(name)
    return path


def test_the_order_of_design_md(states: dict[str, Any]) -> None:
    assert states["DryRun?"]["Default"] == "EnsureClusterAccess"
    assert _path(states, "EnsureClusterAccess", "MigrationComplete") == [
        "EnsureClusterAccess",
        "ClusterPreflight",
        "ExtendVpcCidr",
        "CidrAssociated?",
        "CreatePodSubnets",
        "RoutePodSubnets",
        "TagLoadBalancerSubnets",
        "ApplyEniConfigs",
        "ConfigureCni",
        "CniConfigured?",
        "LoadBalancersAsked?",
        "DeployVerificationWorkload",
        "ReplaceNodegroups",
        "VerifiedBefore?",
        "VerifyLoadBalancers",
        "RemoveVerificationWorkloads",
        "WorkloadsRemoved?",
        "VerifyPods",
        "RevokeClusterAccess",
        "Report",
        "ReleaseLock",
        "MigrationComplete",
    ]
    assert states["LoadBalancersAsked?"]["Default"] == "ReplaceNodegroups"
    assert [c["Next"] for c in states["VerifiedBefore?"]["Choices"]] == [
        "VerifyLoadBalancers",
        "VerifyPods",
        "VerifyPods",
    ]
    assert states["VerifiedBefore?"]["Choices"][2] == {
        "Variable": "$.migration.verification.loadBalancers[0]",
        "IsPresent": False,
        "Next": "VerifyPods",
    }


def test_the_load_balancers_are_deployed_before_the_nodegroups_are_replaced(states: dict[str, Any]) -> None:
    """Issue #12.3: the test workload and its Services and Ingress exist before ReplaceNodegroups, so the
    controller provisions the load balancers while the old nodes drain; VerifyLoadBalancers checks them after."""
    assert states["CniConfigured?"]["Choices"][0]["Next"] == "LoadBalancersAsked?"
    assert states["LoadBalancersAsked?"]["Choices"][0]["Next"] == "DeployVerificationWorkload"
    assert states["DeployVerificationWorkload"]["Next"] == "ReplaceNodegroups"
    assert states["ReplaceNodegroups"]["Next"] == "VerifiedBefore?"


def test_a_failed_nodegroup_replacement_removes_the_verification_workloads_keeping_its_error(
    states: dict[str, Any],
) -> None:
    """Every way ReplaceNodegroups fails (a named child failure, a stopped child, the Map's own fault)
    passes through the removal of the test namespace, which keeps $.failure and never fails it."""
    assert {c["Next"] for c in states["ReplaceNodegroups"]["Catch"]} == {
        "ReadNodegroupFailure",
        "ReplaceNodegroupsFailed",
    }
    for name in ("ExplainNodegroupFailure", "NodegroupReplacementStopped", "ReplaceNodegroupsFailed"):
        assert states[name]["ResultPath"] == "$.failure", name
        assert states[name]["Next"] == "VerificationWorkloadsDeployed?", name
    route = states["VerificationWorkloadsDeployed?"]
    [deployed] = route["Choices"]
    assert deployed["Next"] == "RemoveVerificationWorkloadsAfterNodegroupFailure"
    assert {"Variable": "$.migration.verification.workloads", "StringEquals": "deployed"} in deployed["And"]
    assert route["Default"] == "AccessToRevoke?"
    cleanup = states["RemoveVerificationWorkloadsAfterNodegroupFailure"]
    assert cleanup["Resource"] == "${RemoveVerificationWorkloadsFunctionArn}"
    assert cleanup["Parameters"] == {"migration.$": "$.migration", "afterFailure": True}
    assert cleanup["ResultPath"] is None
    assert cleanup["Next"] == "AccessToRevoke?"
    assert [(c["Next"], c["ResultPath"]) for c in cleanup["Catch"]] == [("AccessToRevoke?", "$.cleanupError")]


@pytest.mark.parametrize(
    "name", ["EnsureClusterAccess", "ClusterPreflight", "ApplyEniConfigs", "ConfigureCni", "VerifyPods"]
)
def test_tasks_read_and_fill_the_document(states: dict[str, Any], name: str) -> None:
    task = states[name]
    if name == "EnsureClusterAccess":  # and this execution's ARN, which it tags on the entry it creates
        assert task["Parameters"] == {"migration.$": "$.migration", "executionArn.$": "$$.Execution.Id"}
    else:
        assert task["InputPath"] == "$.migration"
    assert task["Type"] == "Task" and task["ResultPath"] == "$.migration"
    assert task["Resource"] == f"${{{name}FunctionArn}}"
    _retry(task)
    _catch(task)


def test_preflight_outlasts_a_fresh_access_entry(states: dict[str, Any]) -> None:
    _, access = states["ClusterPreflight"]["Retry"]
    assert access["ErrorEquals"] == ["ClusterAccessDenied"] and access["MaxAttempts"] >= 3


def test_the_cni_wait_loop(states: dict[str, Any]) -> None:
    [done] = states["CniConfigured?"]["Choices"]
    assert done == {"Variable": "$.migration.cni.status", "StringEquals": "Successful", "Next": "LoadBalancersAsked?"}
    assert states["CniConfigured?"]["Default"] == "WaitForCniUpdate"
    assert states["WaitForCniUpdate"] == {**states["WaitForCniUpdate"], "SecondsPath": "$.migration.pollSeconds"}
    assert states["WaitForCniUpdate"]["Next"] == "ConfigureCni"


@pytest.mark.parametrize(
    ("map_name", "items", "task", "item_key", "done"),
    [
        ("VerifyLoadBalancers", "$.migration.verification.loadBalancers", "VerifyLoadBalancer", "check", "done"),
    ],
)
def test_maps_loop_per_item_until_done(
    states: dict[str, Any], map_name: str, items: str, task: str, item_key: str, done: str
) -> None:
    state = states[map_name]
    assert state["Type"] == "Map" and state["ItemsPath"] == items and state["ResultPath"] == items
    assert state["ItemSelector"][f"{item_key}.$"] == "$$.Map.Item.Value"
    assert state["ItemSelector"]["pollSeconds.$"] == "$.migration.pollSeconds"
    inner = state["ItemProcessor"]["States"]
    assert state["ItemProcessor"]["StartAt"] == task
    _retry(inner[task])
    choice = inner[inner[task]["Next"]]
    [finished] = choice["Choices"]
    assert finished["Variable"] == f"$.{item_key}.status" and finished["StringEquals"] == done
    assert inner[choice["Default"]]["Type"] == "Wait" and inner[choice["Default"]]["Next"] == task
    assert inner[finished["Next"]] == {"Type": "Pass", "OutputPath": f"$.{item_key}", "End": True}


def test_nodegroups_are_replaced_with_bounded_concurrency_each_in_a_child_execution(states: dict[str, Any]) -> None:
    state = states["ReplaceNodegroups"]
    assert state["MaxConcurrency"] == 2
    assert state["ItemsPath"] == state["ResultPath"] == "$.migration.nodegroups"
    assert state["ItemSelector"]["nodegroup.$"] == "$$.Map.Item.Value"
    assert state["ItemSelector"]["pollSeconds.$"] == "$.migration.pollSeconds"
    [child] = state["ItemProcessor"]["States"].values()
    assert child["Resource"] == "arn:aws:states:::states:startExecution.sync:2"
    assert child["Parameters"]["StateMachineArn"] == "${NodegroupReplacementStateMachineArn}"
    assert child["Parameters"]["Input"]["AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$"] == "$$.Execution.Id"
    assert "$$.Execution.Id" in child["Parameters"]["Name.$"]  # a retried start finds the same child
    assert child["OutputPath"] == "$.Output" and child["End"] is True
    assert all(e.startswith("StepFunctions.") for e in child["Retry"][0]["ErrorEquals"])
    failed, anything = state["Catch"]
    assert failed["ErrorEquals"] == ["States.TaskFailed"] and failed["Next"] == "ReadNodegroupFailure"
    assert anything["ErrorEquals"] == ["States.ALL"] and anything["Next"] == "ReplaceNodegroupsFailed"
    # the child's Error and Cause become the migration's failure
    assert states["ReadNodegroupFailure"]["Next"] == "NodegroupFailureNamed?"
    named = states["NodegroupFailureNamed?"]
    assert named["Choices"][0]["Next"] == "ExplainNodegroupFailure"
    assert named["Default"] == "NodegroupReplacementStopped"
    for name in ("ExplainNodegroupFailure", "NodegroupReplacementStopped"):
        # the test workloads removed, then the access entry revoked on the way
        assert states[name]["ResultPath"] == "$.failure" and states[name]["Next"] == "VerificationWorkloadsDeployed?"


def test_the_nodegroup_replacement_child_loops_until_done(nodegroup_states: dict[str, Any]) -> None:
    task = nodegroup_states["ReplaceNodegroup"]
    assert task["Resource"] == "${ReplaceNodegroupFunctionArn}"
    _retry(task)
    _catch(task)
    choice = nodegroup_states[task["Next"]]
    [finished, draining] = choice["Choices"]
    assert finished == {"Variable": "$.nodegroup.status", "StringEquals": "done", "Next": "NodegroupDone"}
    assert draining == {"Variable": "$.nodegroup.status", "StringEquals": "draining", "Next": "WaitForDrain"}
    for wait in (nodegroup_states[choice["Default"]], nodegroup_states["WaitForDrain"]):
        assert wait["Type"] == "Wait" and wait["SecondsPath"] == "$.pollSeconds" and wait["Next"] == "ReplaceNodegroup"
    assert nodegroup_states["NodegroupDone"] == {**nodegroup_states["NodegroupDone"], "OutputPath": "$.nodegroup"}
    for name in ("ExplainFailure", "StepFailed"):
        assert nodegroup_states[name]["Next"] == "NodegroupReplacementFailed"
    assert nodegroup_states["NodegroupReplacementFailed"]["ErrorPath"] == "$.failure.error"


def test_verification_workloads_are_removed_on_every_path(states: dict[str, Any]) -> None:
    for name in ("DeployVerificationWorkload", "VerifyLoadBalancers"):
        targets = {c["Next"] for c in states[name]["Catch"]}
        assert targets == {"RemoveVerificationWorkloadsAfterFailure"}, name
        assert all(c["ResultPath"] == "$.error" for c in states[name]["Catch"])
    cleanup = states["RemoveVerificationWorkloadsAfterFailure"]
    assert cleanup["Parameters"] == {"migration.$": "$.migration", "afterFailure": True}
    assert cleanup["ResultPath"] is None  # keeps $.error for the failure, and no second document
    assert cleanup["Next"] == "FailedDuringVerification?"
    assert [c["Next"] for c in cleanup["Catch"]] == ["FailedDuringVerification?"]
    assert cleanup["Catch"][0]["ResultPath"] == "$.cleanupError"
    route = states["FailedDuringVerification?"]
    [named] = route["Choices"]
    assert sorted(c["StringEquals"] for c in named["Or"]) == sorted(ERROR_NAMES)
    assert named["Next"] == "ExplainFailure" and route["Default"] == "StepFailed"
    # the success path waits until the namespace is gone
    assert states["WorkloadsRemoved?"]["Choices"][0]["Next"] == "WaitForWorkloadsRemoval"
    assert states["WaitForWorkloadsRemoval"]["Next"] == "RemoveVerificationWorkloads"


def test_template_defines_every_cluster_function() -> None:
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    resources = template["Resources"]
    for name in CLUSTER_FUNCTIONS:
        in_child = name == "ReplaceNodegroup"
        machine = resources["NodegroupReplacementStateMachine" if in_child else "MigrationStateMachine"]["Properties"]
        used = set(re.findall(r"\$\{(\w+)\}", (NODEGROUP_ASL if in_child else ASL).read_text()))
        assert f"{name}FunctionArn" in used and f"{name}FunctionArn" in machine["DefinitionSubstitutions"]
        assert {"LambdaInvokePolicy": {"FunctionName": f"{name}Function"}} in machine["Policies"]
        assert f"{name}FunctionLogGroup" in resources
        assert resources[f"{name}Function"]["Properties"]["Role"] == "ClusterFunctionsRole.Arn"
