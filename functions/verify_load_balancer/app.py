"""VerifyLoadBalancers, one Map iteration per kind (alb, public-nlb, private-nlb): creates the Ingress or
Service, then (one check per invocation) waits for its DNS name and for every replica to be a healthy
ELBv2 target inside the pod CIDR.

Event (the Map's ItemSelector): {"clusterName", "podCidr", "namespace", "pollSeconds", "check": <a LoadBalancerCheck>}.
Returns the same with the check's `status` (provisioning|done), dnsName, healthyTargets, targetIps,
targetsInPodCidr, polls and changes. VerificationFailed names the kind and what was seen.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.steps.runtime import runtime
from podcidr.steps.verify_load_balancers import LoadBalancerTask, verify_load_balancer
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = LoadBalancerTask.model_validate(event)
    run = runtime()
    verify_load_balancer(task, run.connect(task.cluster_name), run.aws.elbv2, run.aws.ec2)
    logger.info("load balancer", extra={"check": task.check.to_json()})
    return task.to_json()
