"""Whole executions on a twin that behaves as AWS does where the product could be wrong (issue #10):
concurrent Lambdas, and pod security groups that keep a load balancer out."""

from __future__ import annotations

import pytest

from localcloud.rehearse import rehearse
from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"


def test_eniconfig_groups_without_the_cluster_tag_fail_verification_naming_why() -> None:
    """The planted defect: ENIConfigs whose group carries no kubernetes.io/cluster/<name> tag. The
    pods' ENIs get that group, the load balancer controller cannot let the load balancers in, and
    VerifyLoadBalancers fails with VerificationFailed saying so, instead of waiting out its
    20 minutes (failed before: the twin's targets always turned healthy).

    Along the way Step Functions' own calls are throttled once each, and its Retry blocks take them."""
    scenario = parse_scenario(
        {
            "faults": [
                {"operation": "dynamodb:PutItem", "error": "ProvisionedThroughputExceededException"},
                {"operation": "lambda:Invoke", "error": "TooManyRequestsException"},
            ]
        }
    )
    with Twin(scenario) as twin:
        assert twin.aws.built is not None
        group = (
            twin.aws.admin_session()
            .client("ec2")
            .create_security_group(GroupName="pods", Description="no cluster tag", VpcId=twin.aws.built.vpc_id)[
                "GroupId"
            ]
        )
        rehearsal = rehearse(
            scenario,
            {"clusterName": CLUSTER, "pollSeconds": 1, "eniConfigSecurityGroupIds": [group]},
            twin=twin,
        )
    result = rehearsal.results[0]
    assert twin.aws.faults.remaining() == {"dynamodb:PutItem": 0, "lambda:Invoke": 0}
    retried = {visit.name: visit.retries for visit in result.visits if visit.retries}
    assert retried.get("TakeLock") == 1 and sum(retried.values()) >= 2, retried
    assert (result.status, result.error) == ("FAILED", "VerificationFailed"), (result.cause, result.outcomes())
    cause = result.cause or ""
    assert f"expect exactly one securityGroup tagged with kubernetes.io/cluster/{CLUSTER} for eni" in cause
    assert "can never become healthy" in cause
    assert rehearsal.state["loadBalancers"] == []  # the test load balancers are removed all the same
    assert rehearsal.state["lambdas"]["maxConcurrent"] >= 2  # the Maps ran their iterations together
