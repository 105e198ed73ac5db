"""IAM's evaluation logic as the IAM User Guide states it, on the twin's evaluator (no twin needed)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.iam.conditions import condition_holds
from localcloud.iam.evaluator import Request, Resource, evaluate

ROLE = "arn:aws:sts::123456789012:assumed-role/R/s"
SUBNETS = "arn:aws:ec2:ap-southeast-1:123456789012:subnet/*"
SUBNET = Resource("arn:aws:ec2:ap-southeast-1:123456789012:subnet/subnet-1", "subnet")


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(action: str, resource: str = "*", **condition: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return statement


def _tags(**tags: str) -> dict[str, list[str]]:
    return {**{f"aws:RequestTag/{k}": [v] for k, v in tags.items()}, "aws:TagKeys": list(tags)}


def test_action_matching_is_case_insensitive_with_wildcards() -> None:
    policy = _policy(_allow("EC2:describe*"))
    assert evaluate([policy], Request(ROLE, "ec2:DescribeSubnets", (Resource("*"),))).allowed
    assert not evaluate([policy], Request(ROLE, "ec2:CreateSubnet", (Resource("*"),))).allowed


def test_resource_arn_must_match() -> None:
    policy = _policy(_allow("ec2:ModifySubnetAttribute", SUBNETS))
    assert evaluate([policy], Request(ROLE, "ec2:ModifySubnetAttribute", (SUBNET,))).allowed
    vpc = Resource("arn:aws:ec2:ap-southeast-1:123456789012:vpc/vpc-1", "vpc")
    decision = evaluate([policy], Request(ROLE, "ec2:ModifySubnetAttribute", (vpc,)))
    assert not decision.allowed and decision.resource == vpc.arn


def test_explicit_deny_wins_over_an_allow() -> None:
    policy = _policy(_allow("ec2:*"), {"Effect": "Deny", "Action": "ec2:CreateTags", "Resource": "*"})
    decision = evaluate([policy], Request(ROLE, "ec2:CreateTags", (SUBNET,)))
    assert not decision.allowed and decision.explicit_deny


def test_every_resource_of_the_request_must_be_allowed() -> None:
    vpc = Resource("arn:aws:ec2:ap-southeast-1:123456789012:vpc/vpc-1", "vpc")
    policy = _policy(_allow("ec2:CreateSubnet", SUBNETS))
    assert not evaluate([policy], Request(ROLE, "ec2:CreateSubnet", (SUBNET, vpc))).allowed
    both = _policy(_allow("ec2:CreateSubnet", SUBNETS), _allow("ec2:CreateSubnet", vpc.arn))
    assert evaluate([both], Request(ROLE, "ec2:CreateSubnet", (SUBNET, vpc))).allowed


def test_request_tags_and_tag_keys() -> None:
    policy = _policy(
        _allow(
            "ec2:CreateSubnet",
            SUBNETS,
            StringLike={"aws:RequestTag/podcidr:cluster": "?*"},
            **{"ForAllValues:StringEquals": {"aws:TagKeys": ["podcidr:cluster", "Name"]}},
        )
    )
    assert evaluate(
        [policy], Request(ROLE, "ec2:CreateSubnet", (SUBNET,), _tags(**{"podcidr:cluster": "c", "Name": "n"}))
    ).allowed
    assert not evaluate([policy], Request(ROLE, "ec2:CreateSubnet", (SUBNET,), _tags(Name="n"))).allowed
    assert not evaluate(
        [policy], Request(ROLE, "ec2:CreateSubnet", (SUBNET,), _tags(**{"podcidr:cluster": "c", "team": "x"}))
    ).allowed


def test_a_condition_key_the_action_does_not_support_never_matches() -> None:
    # ec2:DescribeSubnets supports no aws:RequestTag key: the key is not in its context.
    policy = _policy(_allow("ec2:DescribeSubnets", "*", StringEquals={"aws:RequestTag/a": "b"}))
    assert not evaluate([policy], Request(ROLE, "ec2:DescribeSubnets", (Resource("*"),), _tags(a="b"))).allowed
    # the same key on an action that supports it matches
    create = _policy(_allow("ec2:CreateSubnet", SUBNETS, StringEquals={"aws:RequestTag/a": "b"}))
    assert evaluate([create], Request(ROLE, "ec2:CreateSubnet", (SUBNET,), _tags(a="b"))).allowed


def test_resource_tags_and_null() -> None:
    policy = _policy(_allow("ec2:ModifySubnetAttribute", SUBNETS, Null={"aws:ResourceTag/podcidr:cluster": "false"}))
    owned = Resource(SUBNET.arn, "subnet", {"aws:ResourceTag/podcidr:cluster": ["c"]})
    assert evaluate([policy], Request(ROLE, "ec2:ModifySubnetAttribute", (owned,))).allowed
    assert not evaluate([policy], Request(ROLE, "ec2:ModifySubnetAttribute", (SUBNET,))).allowed


def test_passed_to_service_and_service_name() -> None:
    role = Resource("arn:aws:iam::123456789012:role/nodes", "role")
    policy = _policy(
        _allow(
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/*",
            StringEquals={"iam:PassedToService": "eks.amazonaws.com"},
        )
    )
    assert evaluate(
        [policy], Request(ROLE, "iam:PassRole", (role,), {"iam:PassedToService": ["eks.amazonaws.com"]})
    ).allowed
    assert not evaluate(
        [policy], Request(ROLE, "iam:PassRole", (role,), {"iam:PassedToService": ["ec2.amazonaws.com"]})
    ).allowed


@pytest.mark.parametrize(
    ("block", "context", "holds"),
    [
        ({"StringNotEquals": {"k:a": "x"}}, {}, True),  # negated operator, key absent: true
        ({"StringEquals": {"k:a": "x"}}, {}, False),
        ({"StringEqualsIfExists": {"k:a": "x"}}, {}, True),
        ({"StringEqualsIfExists": {"k:a": "x"}}, {"k:a": ["y"]}, False),
        ({"ForAllValues:StringEquals": {"k:a": ["x"]}}, {}, True),  # vacuous
        ({"ForAnyValue:StringEquals": {"k:a": ["x"]}}, {}, False),
        ({"ForAnyValue:StringEquals": {"k:a": ["x"]}}, {"k:a": ["y", "x"]}, True),
        ({"StringEquals": {"K:A": "x"}}, {"k:a": ["x"]}, True),  # keys are case-insensitive
        ({"StringEquals": {"k:a": "X"}}, {"k:a": ["x"]}, False),  # values are not
        ({"StringEqualsIgnoreCase": {"k:a": "X"}}, {"k:a": ["x"]}, True),
        ({"StringLike": {"k:a": "pod?-*"}}, {"k:a": ["pods-x"]}, True),
        ({"ArnLike": {"k:a": "arn:aws:iam::*:role/*-node*"}}, {"k:a": ["arn:aws:iam::1:role/eks-nodegroup-x"]}, True),
        ({"Null": {"k:a": "true"}}, {}, True),
        ({"Bool": {"k:a": True}}, {"k:a": ["true"]}, True),
    ],
)
def test_condition_operators(block: dict[str, Any], context: dict[str, list[str]], holds: bool) -> None:
    assert condition_holds(block, context) is holds


ENTRY_ARN = "arn:aws:eks:ap-southeast-1:123456789012:access-entry/c/role/123456789012/R/0000"


@pytest.mark.parametrize("action", ["eks:DeleteAccessEntry", "eks:AssociateAccessPolicy", "eks:TagResource"])
def test_the_resource_types_own_keys_are_in_the_context_of_actions_on_it(action: str) -> None:
    """The reference lists EKS's resource keys (aws:ResourceTag/*, eks:principalArn) with the access-entry
    resource type, not in the actions' rows: IAM still evaluates them on every action that addresses it."""
    policy = _policy(
        _allow(action, "arn:aws:eks:*:*:access-entry/*", StringLike={"aws:ResourceTag/podcidr:execution": "arn:*"})
    )
    owned = Resource(ENTRY_ARN, "access-entry", {"aws:ResourceTag/podcidr:execution": ["arn:aws:states:x"]})
    kept = Resource(ENTRY_ARN, "access-entry", {"aws:ResourceTag/podcidr:execution": ["kept"]})
    assert evaluate([policy], Request(ROLE, action, (owned,))).allowed
    assert not evaluate([policy], Request(ROLE, action, (kept,))).allowed
    assert not evaluate([policy], Request(ROLE, action, (Resource(ENTRY_ARN, "access-entry"),))).allowed


def test_request_keys_stay_with_the_actions_that_list_them() -> None:
    # the subnet resource type lists aws:RequestTag/*, but ModifySubnetAttribute sends no tags
    policy = _policy(_allow("ec2:ModifySubnetAttribute", SUBNETS, StringEquals={"aws:RequestTag/a": "b"}))
    assert not evaluate([policy], Request(ROLE, "ec2:ModifySubnetAttribute", (SUBNET,), _tags(a="b"))).allowed
