"""Redrive is refused by IAM: the stack's managed policy for operators denies states:RedriveExecution
on its executions (a redrive resumes where the execution stopped, without the cluster's lock), as
the twin deploys and evaluates it (no twin needed)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.iam.evaluator import Request, Resource, evaluate
from localcloud.iam.policies import managed_policies, managed_policy
from localcloud.template import Account, Template

ACCOUNT = "123456789012"
REGION = "ap-southeast-1"
STACK = "podcidr"
OPERATOR = f"arn:aws:sts::{ACCOUNT}:assumed-role/Operators/alice"


def _deny_policy() -> dict[str, Any]:
    template = Template.load()
    account = Account(REGION, ACCOUNT)
    arn = template.resolver(account).resolve({"Ref": "MigrationRedriveDenyPolicy"})
    assert arn == f"arn:aws:iam::{ACCOUNT}:policy/{STACK}-MigrationRedriveDenyPolicy"
    output = template.document["Outputs"]["MigrationRedriveDenyPolicyArn"]  # operators find it there
    assert output["Value"] == {"Ref": "MigrationRedriveDenyPolicy"}
    return managed_policies(template, account)[arn]


def _decision(action: str, arn: str, type_: str) -> Any:
    # an administrator who was given the stack's policy too
    policies = [managed_policy("AdministratorAccess"), _deny_policy()]
    return evaluate(policies, Request(OPERATOR, action, (Resource(arn, type_),), {}))


@pytest.mark.parametrize("machine", [f"{STACK}-migration", f"{STACK}-nodegroup-replacement"])
def test_redrive_of_the_stacks_executions_is_explicitly_denied(machine: str) -> None:
    execution = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{machine}:rehearsal-1"
    refused = _decision("states:RedriveExecution", execution, "execution")
    assert (refused.allowed, refused.explicit_deny) == (False, True)
    for action in ("states:DescribeExecution", "states:StopExecution", "states:GetExecutionHistory"):
        assert _decision(action, execution, "execution").allowed, action
    state_machine = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{machine}"
    assert _decision("states:StartExecution", state_machine, "statemachine").allowed


def test_other_state_machines_executions_may_still_be_redriven() -> None:
    elsewhere = f"arn:aws:states:{REGION}:{ACCOUNT}:execution:{STACK}-migration-other:run-1"
    assert _decision("states:RedriveExecution", elsewhere, "execution").allowed
