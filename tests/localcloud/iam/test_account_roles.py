"""IAM on the twin for roles made in the account (CreateRole, then PutRolePolicy or AttachRolePolicy),
not only the stack's: their calls are checked against their inline and attached policies, as AWS
checks them, and refused with each service's own error."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}


def _allow(*actions: str) -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]}
    )


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin(parse_scenario({}), components=[]) as running:
        yield running


def _assumed(twin: Twin, role_name: str) -> boto3.Session:
    arn = twin.aws.admin_session().client("iam").get_role(RoleName=role_name)["Role"]["Arn"]
    return twin.aws.assumed_session(arn, "tester")


def test_an_inline_policy_allows_what_it_names_and_nothing_else(twin: Twin) -> None:
    iam = twin.aws.admin_session().client("iam")
    iam.create_role(RoleName="reader-inline", AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName="reader-inline", PolicyName="read", PolicyDocument=_allow("ec2:DescribeVpcs"))
    ec2 = _assumed(twin, "reader-inline").client("ec2", endpoint_url=twin.endpoint_url)
    assert ec2.describe_vpcs()["Vpcs"]
    with pytest.raises(ClientError) as refused:
        ec2.describe_subnets()
    assert refused.value.response["Error"]["Code"] == "UnauthorizedOperation"
    assert "ec2:DescribeSubnets" in refused.value.response["Error"]["Message"]
    eks = _assumed(twin, "reader-inline").client("eks", endpoint_url=twin.endpoint_url)
    with pytest.raises(ClientError) as denied:
        eks.describe_cluster(name=twin.scenario.cluster.name)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "eks:DescribeCluster" in denied.value.response["Error"]["Message"]


def test_attached_policies_count_and_a_later_change_applies_at_once(twin: Twin) -> None:
    iam = twin.aws.admin_session().client("iam")
    iam.create_role(RoleName="reader-attached", AssumeRolePolicyDocument=json.dumps(TRUST))
    policy = iam.create_policy(PolicyName="eks-read", PolicyDocument=_allow("eks:DescribeCluster"))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="reader-attached", PolicyArn=policy)
    session = _assumed(twin, "reader-attached")
    eks = session.client("eks", endpoint_url=twin.endpoint_url)
    ec2 = session.client("ec2", endpoint_url=twin.endpoint_url)
    assert eks.describe_cluster(name=twin.scenario.cluster.name)["cluster"]["status"] == "ACTIVE"
    with pytest.raises(ClientError):
        ec2.describe_subnets()
    more = iam.create_policy(PolicyName="ec2-read", PolicyDocument=_allow("ec2:Describe*"))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="reader-attached", PolicyArn=more)
    assert ec2.describe_subnets()["Subnets"]
    deny = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": "ec2:DescribeSubnets", "Resource": "*"}],
    }
    iam.put_role_policy(RoleName="reader-attached", PolicyName="no-subnets", PolicyDocument=json.dumps(deny))
    with pytest.raises(ClientError) as refused:
        ec2.describe_subnets()
    assert "explicit deny" in refused.value.response["Error"]["Message"]
