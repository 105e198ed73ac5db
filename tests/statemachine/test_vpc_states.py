"""The VPC states of statemachine/migration.asl.yaml: order, the wait loop, the Map, Retry/Catch, substitutions."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ASL = ROOT / "statemachine" / "migration.asl.yaml"
TEMPLATE = ROOT / "template.yaml"
LAMBDA_ERRORS = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "TransientAwsError",
]


class _CfnLoader(yaml.SafeLoader):
    """Reads template.yaml's short-form intrinsic functions (!Ref, !Sub, ...) as plain values."""


_CfnLoader.add_multi_constructor(
    "!", lambda loader, suffix, node: loader.construct_scalar(node) if isinstance(node, yaml.ScalarNode) else None
)


@pytest.fixture(scope="module")
def states() -> dict[str, Any]:
    definition: dict[str, Any] = yaml.safe_load(ASL.read_text())
    result: dict[str, Any] = definition["States"]
    return result


def _standard_retry(task: dict[str, Any]) -> None:
    [retry] = task["Retry"]
    assert retry["ErrorEquals"] == LAMBDA_ERRORS
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (2, 6, 2.0)
    assert (retry["MaxDelaySeconds"], retry["JitterStrategy"]) == (60, "FULL")


def _standard_catch(state: dict[str, Any]) -> None:
    named, anything = state["Catch"]
    assert "CidrOverlap" in named["ErrorEquals"] and named["Next"] == "ExplainFailure"
    assert anything == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "StepFailed"}


def test_the_vpc_steps_follow_the_plan_in_order(states: dict[str, Any]) -> None:
    assert states["DryRun?"]["Default"] == "EnsureClusterAccess"  # the cluster checks come first
    assert states["ClusterPreflight"]["Next"] == "ExtendVpcCidr"
    assert states["ExtendVpcCidr"]["Next"] == "CidrAssociated?"
    assert states["CreatePodSubnets"]["Next"] == "RoutePodSubnets"
    assert states["RoutePodSubnets"]["Next"] == "TagLoadBalancerSubnets"
    assert states["TagLoadBalancerSubnets"]["Next"] == "ApplyEniConfigs"  # then the cluster steps
    assert states["Report"]["Next"] == "ReleaseLock"  # the lock goes before the success
    assert states["ReleaseLock"]["Next"] == "MigrationComplete"
    assert "PlanComplete" not in states


def test_the_cidr_wait_loop(states: dict[str, Any]) -> None:
    choice = states["CidrAssociated?"]
    [when] = choice["Choices"]
    assert when == {"Variable": "$.migration.podCidr.state", "StringEquals": "associated", "Next": "CreatePodSubnets"}
    assert choice["Default"] == "WaitForCidrAssociation"
    wait = states["WaitForCidrAssociation"]
    assert wait["SecondsPath"] == "$.migration.pollSeconds" and wait["Next"] == "ExtendVpcCidr"


@pytest.mark.parametrize("name", ["ExtendVpcCidr", "RoutePodSubnets", "TagLoadBalancerSubnets", "Report"])
def test_tasks_read_and_fill_the_document(states: dict[str, Any], name: str) -> None:
    task = states[name]
    assert task["Type"] == "Task" and task["InputPath"] == "$.migration"
    assert task["ResultPath"] == ("$.report" if name == "Report" else "$.migration")
    _standard_retry(task)
    _standard_catch(task)


def test_report_output_is_the_execution_output(states: dict[str, Any]) -> None:
    assert states["Report"]["ResultPath"] == "$.report"
    assert states["MigrationComplete"]["Type"] == "Succeed"
    assert states["MigrationComplete"]["OutputPath"] == "$.report"


def test_the_pod_subnet_map(states: dict[str, Any]) -> None:
    map_state = states["CreatePodSubnets"]
    assert map_state["Type"] == "Map"
    assert map_state["ItemsPath"] == "$.migration.podSubnets"
    assert map_state["ResultPath"] == "$.migration.podSubnets"
    assert map_state["MaxConcurrency"] == 3
    assert map_state["ItemSelector"] == {
        "clusterName.$": "$.migration.clusterName",
        "vpcId.$": "$.migration.vpcId",
        "subnet.$": "$$.Map.Item.Value",
    }
    _standard_catch(map_state)
    processor = map_state["ItemProcessor"]
    task = processor["States"][processor["StartAt"]]
    assert task["Resource"] == "${CreatePodSubnetFunctionArn}" and task["End"] is True
    _standard_retry(task)


def test_every_substitution_is_defined_by_the_template() -> None:
    used = set(re.findall(r"\$\{(\w+)\}", ASL.read_text()))
    template = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)
    machine = template["Resources"]["MigrationStateMachine"]["Properties"]
    assert used <= set(machine["DefinitionSubstitutions"])
    for name in ("ExtendVpcCidr", "CreatePodSubnet", "RoutePodSubnets", "TagLoadBalancerSubnets", "Report"):
        assert f"{name}FunctionArn" in used
        assert {"LambdaInvokePolicy": {"FunctionName": f"{name}Function"}} in machine["Policies"]
        assert f"{name}FunctionLogGroup" in template["Resources"]
