"""`make lint`'s IAM lint (localcloud.iam.lint): template.yaml passes; planted defects fail."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from localcloud.iam.lint import lint
from localcloud.template import Account, Template

ACCOUNT = Account(region="us-east-1", account_id="123456789012")


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load()


def _with_statement(template: Template, statement: dict[str, Any]) -> Template:
    document = copy.deepcopy(template.document)
    policies = document["Resources"]["PlanFunction"]["Properties"]["Policies"]
    policies[0]["Statement"].append(statement)
    return Template(path=template.path, document=document)


def test_the_template_passes(template: Template) -> None:
    failures, _ = lint(template, ACCOUNT)
    assert failures == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Effect": "Allow", "Action": "ec2:DescribeSubnetz", "Resource": "*"}, "UNKNOWN_ACTION"),
        (
            {
                "Effect": "Allow",
                "Action": "eks:DescribeCluster",
                "Resource": "arn:aws:eks:us-east-1:123456789012:nodegroup/*",
            },
            "RESOURCE_MISMATCH",
        ),
        (
            {
                "Effect": "Allow",
                "Action": "eks:DescribeCluster",
                "Resource": "*",
                "Condition": {"StringEquals": {"iam:PassedToService": "eks.amazonaws.com"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION",
        ),
    ],
)
def test_planted_defects_fail(template: Template, statement: dict[str, Any], expected: str) -> None:
    failures, _ = lint(_with_statement(template, statement), ACCOUNT)
    assert any(expected in failure for failure in failures), failures
