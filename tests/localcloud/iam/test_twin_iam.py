"""IAM on the twin: calls made with the stack roles' credentials are checked against the policies
template.yaml gives those roles, and refused with each service's own error."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

ACCOUNT = "123456789012"


def _role(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin(parse_scenario({}), components=[]) as running:
        yield running


def _code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _free_subnet_cidr(twin: Twin, third_octet: int) -> str:
    return f"172.31.{third_octet}.0/24"


def test_ec2_refuses_with_unauthorized_operation_and_an_encoded_message(twin: Twin) -> None:
    ec2 = twin.aws.workflow_session(_role("CreatePodSubnetFunctionRole")).client("ec2")
    vpc_id = twin.aws.built.vpc_id
    with pytest.raises(ClientError) as refused:  # no podcidr:cluster tag: CreateOwnedSubnetsOnly does not match
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=_free_subnet_cidr(twin, 200), AvailabilityZone="ap-southeast-1a")
    assert _code(refused) == "UnauthorizedOperation"
    message = refused.value.response["Error"]["Message"]
    assert "ec2:CreateSubnet" in message and f"arn:aws:ec2:ap-southeast-1:{ACCOUNT}:subnet/*" in message
    encoded = message.rsplit("Encoded authorization failure message: ", 1)[1]
    decoded = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    assert decoded["allowed"] is False and decoded["context"]["action"] == "ec2:CreateSubnet"


def test_ec2_tag_keys_outside_the_allowed_set_are_refused(twin: Twin) -> None:
    ec2 = twin.aws.workflow_session(_role("CreatePodSubnetFunctionRole")).client("ec2")
    tags = [{"Key": "podcidr:cluster", "Value": "eksworkshop"}, {"Key": "team", "Value": "x"}]
    with pytest.raises(ClientError) as refused:
        ec2.create_subnet(
            VpcId=twin.aws.built.vpc_id,
            CidrBlock=_free_subnet_cidr(twin, 201),
            AvailabilityZone="ap-southeast-1a",
            TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}],
        )
    assert _code(refused) == "UnauthorizedOperation"
    allowed = ec2.create_subnet(
        VpcId=twin.aws.built.vpc_id,
        CidrBlock=_free_subnet_cidr(twin, 202),
        AvailabilityZone="ap-southeast-1a",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [*tags[:1], {"Key": "Name", "Value": "n"}]}],
    )
    assert allowed["Subnet"]["SubnetId"].startswith("subnet-")


def test_eks_refuses_with_access_denied_exception(twin: Twin) -> None:
    eks = twin.aws.workflow_session(_role("ExtendVpcCidrFunctionRole")).client("eks")
    with pytest.raises(ClientError) as refused:
        eks.describe_cluster(name="eksworkshop")
    assert _code(refused) == "AccessDeniedException"
    assert f"eks:DescribeCluster on resource: arn:aws:eks:ap-southeast-1:{ACCOUNT}:cluster/eksworkshop" in str(
        refused.value
    )
    assert any(e["result"] == "AccessDeniedException" for e in twin.aws.ledger.calls())


def test_query_services_refuse_with_access_denied(twin: Twin) -> None:
    elbv2 = twin.aws.workflow_session(_role("PlanFunctionRole")).client("elbv2")
    with pytest.raises(ClientError) as refused:
        elbv2.describe_load_balancers()
    assert _code(refused) == "AccessDenied"


def test_a_condition_on_resource_tags_is_checked_against_the_resource(twin: Twin) -> None:
    ec2 = twin.aws.workflow_session(_role("CreatePodSubnetFunctionRole")).client("ec2")
    node_subnet = next(iter(twin.aws.built.subnet_ids.values()))  # not podcidr's
    with pytest.raises(ClientError) as refused:
        ec2.modify_subnet_attribute(SubnetId=node_subnet, MapPublicIpOnLaunch={"Value": False})
    assert _code(refused) == "UnauthorizedOperation"


def test_the_api_role_may_start_only_the_migration_state_machine(twin: Twin) -> None:
    sfn = twin.aws.workflow_session(_role("MigrationsApiRole")).client("stepfunctions")
    other = f"arn:aws:states:ap-southeast-1:{ACCOUNT}:stateMachine:podcidr-execution-ended"
    with pytest.raises(ClientError) as refused:
        sfn.start_execution(stateMachineArn=other, input="{}")
    assert _code(refused) == "AccessDeniedException" and "states:StartExecution" in str(refused.value)
    with pytest.raises(ClientError) as not_granted:
        sfn.describe_execution(executionArn=f"arn:aws:states:ap-southeast-1:{ACCOUNT}:execution:podcidr-migration:x")
    assert _code(not_granted) == "AccessDeniedException"


def test_an_access_entry_is_retagged_only_with_the_owner_tag_the_policy_requires(twin: Twin) -> None:
    """eks:TagResource on an access entry: the twin keeps the tags and IAM checks aws:RequestTag as AWS does
    (ClusterFunctionsRole's RetagAnExecutionsAccessEntry wants podcidr:cluster in every TagResource)."""
    admin = twin.aws.admin_session().client("eks")
    principal = _role("ClusterFunctionsRole")
    run = f"arn:aws:states:ap-southeast-1:{ACCOUNT}:execution:podcidr-migration:run-"
    entry = admin.create_access_entry(
        clusterName="eksworkshop",
        principalArn=principal,
        tags={"podcidr:cluster": "eksworkshop", "podcidr:execution": run + "1"},
    )["accessEntry"]
    try:
        eks = twin.aws.workflow_session(principal).client("eks")
        with pytest.raises(ClientError) as refused:
            eks.tag_resource(resourceArn=entry["accessEntryArn"], tags={"podcidr:execution": run + "2"})
        assert _code(refused) == "AccessDeniedException"
        assert "eks:TagResource" in str(refused.value)
        eks.tag_resource(
            resourceArn=entry["accessEntryArn"], tags={"podcidr:cluster": "eksworkshop", "podcidr:execution": run + "2"}
        )
        found = admin.describe_access_entry(clusterName="eksworkshop", principalArn=principal)["accessEntry"]
        assert found["tags"] == {"podcidr:cluster": "eksworkshop", "podcidr:execution": run + "2"}
        assert admin.list_tags_for_resource(resourceArn=entry["accessEntryArn"])["tags"] == found["tags"]
    finally:
        admin.delete_access_entry(clusterName="eksworkshop", principalArn=principal)
