"""Whole executions on a twin that behaves as AWS does where the product could be wrong (issue #10):
concurrent Lambdas, and pod security groups that keep a load balancer out."""

from __future__ import annotations

import time

import pytest

from localcloud.scenario import parse_scenario
from localcloud.stepfunctions import ProgressEvent
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"


def test_a_cluster_tag_removed_after_plan_fails_verification_naming_why() -> None:
    """The planted defect: the pods get two groups, one tagged kubernetes.io/cluster/<name>, and
    Plan accepts them; then someone removes that tag mid-migration. With two groups and none tagged
    the load balancer controller cannot let the load balancers in, and VerifyLoadBalancers fails
    with VerificationFailed saying so instead of waiting out its 20 minutes (failed before: the
    twin's targets always turned healthy). Plan cannot see a change made after it looked.

    Along the way Step Functions' own calls are throttled once each, and its Retry blocks take them."""
    scenario = parse_scenario(
        {
            "faults": [
                {"operation": "dynamodb:PutItem", "error": "ProvisionedThroughputExceededException"},
                {"operation": "lambda:Invoke", "error": "TooManyRequestsException"},
            ]
        }
    )
    tag = f"kubernetes.io/cluster/{CLUSTER}"
    with Twin(scenario) as twin:
        assert twin.aws.built is not None
        ec2 = twin.aws.admin_session().client("ec2")
        vpc_id = twin.aws.built.vpc_id
        tagged = ec2.create_security_group(GroupName="pods", Description="pods, tagged", VpcId=vpc_id)["GroupId"]
        ec2.create_tags(Resources=[tagged], Tags=[{"Key": tag, "Value": "owned"}])
        plain = ec2.create_security_group(GroupName="pods-extra", Description="no tag", VpcId=vpc_id)["GroupId"]
        execution_input = {"clusterName": CLUSTER, "pollSeconds": 1, "eniConfigSecurityGroupIds": [tagged, plain]}
        result = None
        for item in twin.follow(execution_input):
            if isinstance(item, ProgressEvent):
                if item.kind == "entered" and item.visit is not None and item.visit.name == "ApplyEniConfigs":
                    ec2.delete_tags(Resources=[tagged], Tags=[{"Key": tag}])
            else:
                result = item
        # the Services the verification made are deleted; their load balancers go a moment later
        deadline = time.monotonic() + 60
        while (state := twin.state())["loadBalancers"] and time.monotonic() < deadline:
            time.sleep(0.5)
    assert result is not None
    assert twin.aws.faults.remaining() == {"dynamodb:PutItem": 0, "lambda:Invoke": 0}
    retried = {visit.name: visit.retries for visit in result.visits if visit.retries}
    assert retried.get("TakeLock") == 1 and sum(retried.values()) >= 2, retried
    assert (result.status, result.error) == ("FAILED", "VerificationFailed"), (result.cause, result.outcomes())
    cause = result.cause or ""
    assert f"expect exactly one securityGroup tagged with {tag} for eni" in cause
    assert "can never become healthy" in cause
    assert state["loadBalancers"] == []  # the test load balancers are removed all the same
    assert state["lambdas"]["maxConcurrent"] >= 2  # the Maps ran their iterations together
