"""A target group's targets and their health states, as DescribeTargetHealth gives them: what
VerifyLoadBalancers checks and what the drain waits on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried

if TYPE_CHECKING:
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client


def target_states(elbv2: ElasticLoadBalancingv2Client, target_group_arn: str) -> list[tuple[str, str]] | None:
    """(target ID, health state) of each target; None when the group is gone (deleted with its load
    balancer meanwhile)."""
    try:
        with transient_faults_retried("elasticloadbalancing:DescribeTargetHealth"):
            found = elbv2.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
    except ClientError as error:
        if error_code(error) == "TargetGroupNotFound":
            return None
        raise
    return [(d["Target"]["Id"], d.get("TargetHealth", {}).get("State", "unknown")) for d in found]
