"""Faults (before: nothing acted; after: acted, response lost) in each protocol's error format,
and the ledger (workflow calls only, mutating flags)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.aws.faults import Faults
from localcloud.aws.protocol import is_mutating
from localcloud.aws.server import LocalAws, TwinSession
from localcloud.scenario import FaultSpec

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _client(session: TwinSession, service: str) -> Any:
    return session.client(service, config=NO_RETRY)


def _fault(aws: LocalAws, operation: str, when: str = "before", error: str = "ThrottlingException") -> None:
    aws.faults.add(FaultSpec.model_validate({"operation": operation, "when": when, "error": error}))


def _subnet_count(aws: LocalAws) -> int:
    ec2 = aws.admin_session().client("ec2")
    return len(ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [aws.built.vpc_id]}])["Subnets"])


def test_fault_before_fails_without_acting(aws: LocalAws, workflow: TwinSession) -> None:
    before = _subnet_count(aws)
    _fault(aws, "ec2:CreateSubnet", "before", "RequestLimitExceeded")
    ec2 = _client(workflow, "ec2")
    with pytest.raises(ClientError) as caught:
        ec2.create_subnet(VpcId=aws.built.vpc_id, CidrBlock="172.31.200.0/24", AvailabilityZone="ap-southeast-1a")
    assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert _subnet_count(aws) == before
    # times: 1 -> the next call goes through
    ec2.create_subnet(VpcId=aws.built.vpc_id, CidrBlock="172.31.200.0/24", AvailabilityZone="ap-southeast-1a")
    assert _subnet_count(aws) == before + 1


def test_fault_after_acts_then_loses_the_response(aws: LocalAws, workflow: TwinSession) -> None:
    before = _subnet_count(aws)
    _fault(aws, "ec2:CreateSubnet", "after", "InternalError")
    with pytest.raises(ClientError) as caught:
        _client(workflow, "ec2").create_subnet(
            VpcId=aws.built.vpc_id, CidrBlock="172.31.201.0/24", AvailabilityZone="ap-southeast-1a"
        )
    assert caught.value.response["Error"]["Code"] == "InternalError"
    assert _subnet_count(aws) == before + 1


def test_faults_skip_admin_calls(aws: LocalAws) -> None:
    _fault(aws, "ec2:DescribeVpcs")
    aws.admin_session().client("ec2").describe_vpcs()
    assert aws.faults.remaining()["ec2:DescribeVpcs"] == 1
    aws.faults.take("ec2:DescribeVpcs")  # consume it so later tests are not affected


@pytest.mark.parametrize(
    ("service", "operation", "call"),
    [
        ("eks", "eks:ListClusters", lambda c: c.list_clusters()),
        ("elbv2", "elasticloadbalancing:DescribeLoadBalancers", lambda c: c.describe_load_balancers()),
        ("sts", "sts:GetCallerIdentity", lambda c: c.get_caller_identity()),
        ("iam", "iam:ListRoles", lambda c: c.list_roles()),
        ("lambda", "lambda:ListFunctions", lambda c: c.list_functions()),
        ("stepfunctions", "states:ListStateMachines", lambda c: c.list_state_machines()),
        ("dynamodb", "dynamodb:ListTables", lambda c: c.list_tables()),
        ("ec2", "ec2:DescribeVpcs", lambda c: c.describe_vpcs()),
    ],
)
def test_error_format_of_each_protocol(
    aws: LocalAws, workflow: TwinSession, service: str, operation: str, call: Any
) -> None:
    _fault(aws, operation, "before", "ThrottlingException")
    with pytest.raises(ClientError) as caught:
        call(_client(workflow, service))
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"
    assert caught.value.operation_name == operation.split(":", 1)[1]
    call(_client(workflow, service))  # once only


def test_ledger_records_workflow_calls_only(aws: LocalAws, workflow: TwinSession) -> None:
    aws.ledger.execution = 7
    ec2 = _client(workflow, "ec2")
    ec2.describe_vpcs()
    vpc = aws.built.vpc_id
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "k", "Value": "v"}])
    with pytest.raises(ClientError):
        ec2.associate_vpc_cidr_block(VpcId=vpc, CidrBlock="192.168.0.0/16")
    _client(workflow, "eks").describe_addon(clusterName="eksworkshop", addonName="vpc-cni")
    aws.admin_session().client("ec2").describe_subnets()  # the twin's own call: not recorded
    calls = [(e.operation, e.mutating, e.result) for e in aws.ledger.entries(7)]
    assert calls == [
        ("ec2:DescribeVpcs", False, "ok"),
        ("ec2:CreateTags", True, "ok"),
        ("ec2:AssociateVpcCidrBlock", True, "InvalidVpc.Range"),
        ("eks:DescribeAddon", False, "ok"),
    ]
    entry = aws.ledger.entries(7)[0]
    assert entry.execution == 7 and entry.service == "ec2"
    assert entry.caller is not None and ":assumed-role/podcidr-step/" in entry.caller
    assert aws.ledger.calls(7)[1]["operation"] == "ec2:CreateTags"
    recorded = aws.ledger.record("kubernetes", "patch DaemonSet", result="ok")
    assert (recorded.operation, recorded.mutating, recorded.execution) == ("kubernetes:patch DaemonSet", True, 7)
    assert [e.operation for e in aws.ledger.mutating_calls(7)] == [
        "ec2:CreateTags",
        "ec2:AssociateVpcCidrBlock",
        "kubernetes:patch DaemonSet",
    ]


def test_rest_operations_with_arns_in_the_path_are_named(aws: LocalAws, workflow: TwinSession) -> None:
    aws.ledger.execution = 8
    eks = _client(workflow, "eks")
    iam = aws.admin_session().client("iam")
    role = iam.create_role(RoleName="ledger-role", Path="/path/to/", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    assert role == "arn:aws:iam::123456789012:role/path/to/ledger-role"  # an ARN with slashes in the path
    eks.create_access_entry(clusterName="eksworkshop", principalArn=role)
    eks.describe_access_entry(clusterName="eksworkshop", principalArn=role)
    eks.delete_access_entry(clusterName="eksworkshop", principalArn=role)
    assert [e.operation for e in aws.ledger.entries(8)] == [
        "eks:CreateAccessEntry",
        "eks:DescribeAccessEntry",
        "eks:DeleteAccessEntry",
    ]


@pytest.mark.parametrize(
    ("operation", "mutating"),
    [
        ("ec2:DescribeSubnets", False),
        ("eks:ListAddons", False),
        ("eks:DescribeAddonConfiguration", False),
        ("sts:GetCallerIdentity", False),
        ("sts:AssumeRole", False),
        ("elasticloadbalancing:DescribeTargetHealth", False),
        ("ec2:CreateSubnet", True),
        ("ec2:AssociateVpcCidrBlock", True),
        ("ec2:CreateTags", True),
        ("eks:UpdateAddon", True),
        ("eks:AssociateAccessPolicy", True),
        ("ec2:ModifySubnetAttribute", True),
        ("lambda:Invoke", True),
        ("kubernetes:get Node", False),
        ("kubernetes:list Pod", False),
        ("kubernetes:watch Pod", False),
        ("kubernetes:create ENIConfig", True),
        ("kubernetes:patch DaemonSet", True),
    ],
)
def test_mutating_is_derived_from_the_operation(operation: str, mutating: bool) -> None:
    assert is_mutating(operation) is mutating


def test_kubernetes_faults_through_python() -> None:
    faults = Faults(
        [
            FaultSpec.model_validate(
                {"operation": "kubernetes:patch DaemonSet", "when": "after", "times": 2, "error": "Conflict"}
            )
        ]
    )
    assert faults.take("kubernetes:get DaemonSet") is None
    first = faults.take("kubernetes:PATCH DaemonSet")
    assert first is not None and not first.before and first.error == "Conflict"
    assert faults.take("kubernetes:patch DaemonSet") is not None
    assert faults.take("kubernetes:patch DaemonSet") is None
