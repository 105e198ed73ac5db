"""The calls Step Functions makes with each state machine's role, and EventBridge with each rule
target's role, checked statically against the roles SAM deploys (localcloud.iam.state_machines).
Each planted defect is one a rehearsal cannot see: moto's interpreter calls with a fixed identity."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.iam import state_machines
from localcloud.iam.lint import fits
from localcloud.iam.policies import role_policies
from localcloud.iam.state_machines import UncheckableTask, check, main, sam_deployed, state_machine_needs
from localcloud.template import Account, Template

ACCOUNT = Account(region="eu-west-1", account_id="123456789012")


@functools.cache
def _real() -> Template:
    return Template.load()


def _planted(change: Callable[[dict[str, Any]], None]) -> Template:
    real = _real()
    document = copy.deepcopy(real.document)
    change(document)
    return Template(path=real.path, document=document)


def _props(document: dict[str, Any], logical_id: str) -> dict[str, Any]:
    props: dict[str, Any] = document["Resources"][logical_id]["Properties"]
    return props


def _inline(document: dict[str, Any], logical_id: str) -> list[dict[str, Any]]:
    (inline,) = [p for p in _props(document, logical_id)["Policies"] if isinstance(p, dict) and "Statement" in p]
    return inline["Statement"]  # type: ignore[no-any-return]


def _without_sid(logical_id: str, sid: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        statements = _inline(document, logical_id)
        statements[:] = [s for s in statements if s.get("Sid") != sid]

    return change


def _denials(template: Template) -> list[str]:
    return [str(d) for d in check(template, ACCOUNT)]


def test_the_template_gives_every_state_machine_and_rule_target_what_aws_checks() -> None:
    assert _denials(_real()) == []


def test_every_task_is_checked_those_inside_maps_and_on_failure_paths_included() -> None:
    needs = {(n.where, n.request.action) for n in state_machine_needs(_real(), ACCOUNT)}
    assert ("MigrationStateMachine/VerifyLoadBalancer", "lambda:InvokeFunction") in needs  # in a Map
    assert ("MigrationStateMachine/ReleaseLockOnFailure", "dynamodb:DeleteItem") in needs  # a Catch's path
    assert ("NewClusterStateMachine/KeepUndelivered", "sqs:SendMessage") in needs
    assert ("ExecutionEndedStateMachine/FindLockOfExecution", "dynamodb:Scan") in needs  # aws-sdk integration
    assert ("MigrationStateMachine/DescribeLockHolder", "states:DescribeExecution") in needs
    assert ("MigrationStateMachine Tracing", "xray:PutTraceSegments") in needs
    sync = {action for where, action in needs if where == "MigrationStateMachine/ReplaceNodegroup"}
    assert sync == {
        "states:StartExecution",
        "states:DescribeExecution",
        "states:StopExecution",
        "events:PutTargets",
        "events:PutRule",
        "events:DescribeRule",
    }


def test_every_checked_resource_has_the_arn_format_the_reference_gives_its_action() -> None:
    for need in state_machine_needs(_real(), ACCOUNT):
        for resource in need.request.resources:
            assert fits(need.request.action, resource.arn), (need.where, need.request.action, resource.arn)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            _without_sid("MigrationStateMachine", "ChildExecutionEvents"),
            "MigrationStateMachine/ReplaceNodegroup: MigrationStateMachineRole may not events:PutTargets on "
            "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule",
            id="startExecution.sync:2 without its managed rule",
        ),
        pytest.param(
            _without_sid("MigrationStateMachine", "FollowNodegroupReplacements"),
            "MigrationStateMachine/ReplaceNodegroup: MigrationStateMachineRole may not states:DescribeExecution on "
            "arn:aws:states:eu-west-1:123456789012:execution:podcidr-nodegroup-replacement:any-execution",
            id="startExecution.sync:2 without following the child",
        ),
        pytest.param(
            _without_sid("MigrationStateMachine", "CheckLockHolder"),
            "MigrationStateMachine/DescribeLockHolder: MigrationStateMachineRole may not states:DescribeExecution on "
            "arn:aws:states:eu-west-1:123456789012:execution:podcidr-migration:any-execution",
            id="aws-sdk describeExecution of the lock holder",
        ),
        pytest.param(
            lambda d: _props(d, "MigrationStateMachine")["Policies"].remove(
                {"LambdaInvokePolicy": {"FunctionName": {"Ref": "VerifyLoadBalancerFunction"}}}
            ),
            "MigrationStateMachine/VerifyLoadBalancer: MigrationStateMachineRole may not lambda:InvokeFunction on "
            "arn:aws:lambda:eu-west-1:123456789012:function:VerifyLoadBalancerFunction",
            id="a Map iteration's function without LambdaInvokePolicy",
        ),
        pytest.param(
            lambda d: _inline(d, "ExecutionEndedStateMachine")[0].update(Action=["dynamodb:DeleteItem"]),
            "ExecutionEndedStateMachine/FindLockOfExecution: ExecutionEndedStateMachineRole may not dynamodb:Scan",
            id="aws-sdk scan without dynamodb:Scan",
        ),
        pytest.param(
            _without_sid("NewClusterStateMachine", "KeepUndelivered"),
            "NewClusterStateMachine/KeepUndelivered: NewClusterStateMachineRole may not sqs:SendMessage on "
            "arn:aws:sqs:eu-west-1:123456789012:TriggerDeadLetterQueue",
            id="a Catch's dead-letter send",
        ),
        pytest.param(
            lambda d: next(
                s for s in _inline(d, "ExecutionEndedStateMachine") if s.get("Sid") == "CountFailedMigrations"
            )["Condition"]["StringEquals"].update({"cloudwatch:namespace": "Other"}),
            "ExecutionEndedStateMachine/CountFailedMigration: ExecutionEndedStateMachineRole may not "
            "cloudwatch:PutMetricData on *",
            id="a condition on the metric namespace",
        ),
        pytest.param(
            _without_sid("MigrationStateMachine", "DeliverLogs"),
            "MigrationStateMachine Logging: MigrationStateMachineRole may not logs:CreateLogDelivery on *",
            id="Logging without log delivery",
        ),
        pytest.param(
            lambda d: _props(d, "TriggerDeadLetterQueuePolicy")["PolicyDocument"]["Statement"][0]["Condition"][
                "ArnEquals"
            ]["aws:SourceArn"].pop(0),
            "rule NewClusterStateMachineNewCluster -> podcidr-new-cluster dead letters: "
            "TriggerDeadLetterQueue may not sqs:SendMessage",
            id="a rule's dead letters refused by the queue policy",
        ),
    ],
)
def test_a_removed_statement_is_named(change: Callable[[dict[str, Any]], None], expected: str) -> None:
    denials = _denials(_planted(change))
    assert any(d.startswith(expected) for d in denials), denials


def _rule_with_own_role(document: dict[str, Any]) -> None:
    resources = document["Resources"]
    resources["ManualRuleRole"] = {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            },
            "Policies": [
                {
                    "PolicyName": "start",
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "states:StartExecution",
                                "Resource": {"Ref": "NodegroupReplacementStateMachine"},
                            }
                        ],
                    },
                }
            ],
        },
    }
    resources["ManualRule"] = {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {"source": ["podcidr"]},
            "Targets": [
                {
                    "Id": "migration",
                    "Arn": {"Ref": "MigrationStateMachine"},
                    "RoleArn": {"Fn::GetAtt": ["ManualRuleRole", "Arn"]},
                }
            ],
        },
    }


def test_a_rule_target_role_without_start_execution_on_its_target_is_named() -> None:
    denials = _denials(_planted(_rule_with_own_role))
    assert denials == [
        "rule ManualRule -> podcidr-migration: ManualRuleRole may not states:StartExecution on "
        "arn:aws:states:eu-west-1:123456789012:stateMachine:podcidr-migration (no statement allows it)"
    ]


def test_a_resource_given_by_a_path_without_a_witness_fails_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state_machines, "WITNESSES", {})
    with pytest.raises(UncheckableTask, match="DescribeLockHolder: ExecutionArn is given by a path"):
        check(_real(), ACCOUNT)


def test_a_task_on_another_table_than_the_policy_names_is_denied() -> None:
    def change(document: dict[str, Any]) -> None:
        _props(document, "MigrationStateMachine")["DefinitionSubstitutions"]["LockTableName"] = "OtherTable"

    denials = _denials(_planted(change))
    assert (
        "MigrationStateMachine/TakeLock: MigrationStateMachineRole may not dynamodb:PutItem on "
        "arn:aws:dynamodb:eu-west-1:123456789012:table/OtherTable (no statement allows it)"
    ) in denials


def test_the_command_passes_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(_real().path)]) == 0
    assert "0 denial(s)" in capsys.readouterr().out


def _grants(documents: list[dict[str, Any]]) -> set[tuple[str, str, str, str]]:
    grants = set()
    for document in documents:
        statements = document["Statement"]
        for statement in statements if isinstance(statements, list) else [statements]:
            actions, resources = statement["Action"], statement["Resource"]
            condition = json.dumps(statement.get("Condition"), sort_keys=True)
            for action in actions if isinstance(actions, list) else [actions]:
                for resource in resources if isinstance(resources, list) else [resources]:
                    grants.add((statement["Effect"], action, resource, condition))
    return grants


def test_the_enforcers_roles_are_those_sam_deploys() -> None:
    """The enforcer expands SAM's policy templates itself (localcloud.iam.policies); samtranslator's
    whole translation must give every role the same grants (X-Ray for a traced state machine
    included), and adds only the rule targets' roles."""
    mine = role_policies(_real(), ACCOUNT)
    deployed = role_policies(sam_deployed(_real(), ACCOUNT), ACCOUNT)
    assert sorted(set(deployed) - set(mine)) == [
        f"arn:aws:iam::{ACCOUNT.account_id}:role/{name}"
        for name in (
            "ExecutionEndedStateMachineExecutionEndedRole",
            "MigrationStateMachineMigrationRequestedRole",
            "NewClusterStateMachineNewClusterRole",
        )
    ]
    for role, documents in mine.items():
        assert _grants(documents) == _grants(deployed[role]), role
