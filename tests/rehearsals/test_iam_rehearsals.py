"""IAM enforced on whole rehearsals: a planted defect in template.yaml's policies fails the step
that needs it with the AWS error, as a real deployment would."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from localcloud.rehearse import rehearse
from localcloud.scenario import parse_scenario
from localcloud.template import Template

pytestmark = pytest.mark.rehearsal


def _without_statement(template: Template, resource: str, sid: str) -> Template:
    document: dict[str, Any] = copy.deepcopy(template.document)
    policies = document["Resources"][resource]["Properties"]["Policies"]
    for policy in policies:
        if isinstance(policy, dict) and "Statement" in policy:
            policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid]
    return Template(path=template.path, document=document)


def test_a_removed_iam_statement_fails_the_rehearsal_with_the_aws_error() -> None:
    planted = _without_statement(Template.load(), "ExtendVpcCidrFunction", "AssociatePodCidr")
    rehearsal = rehearse(parse_scenario({}), {"clusterName": "eksworkshop", "pollSeconds": 1}, template=planted)
    result = rehearsal.results[0]
    assert result.status == "FAILED"
    assert "UnauthorizedOperation" in (result.cause or "") and "ec2:AssociateVpcCidrBlock" in (result.cause or "")
    refused = [c for c in rehearsal.state["calls"] if c["result"] == "UnauthorizedOperation"]
    assert [c["operation"] for c in refused][:1] == ["ec2:AssociateVpcCidrBlock"]
