"""Plan: validates the input, discovers the cluster and its VPC, and plans every change (read-only).

Event: {"input": <the execution input as given>, "polls": <checks made while the cluster was CREATING>}.
Returns the plan outcome ($.plan): {"status", "polls", "pollSeconds", "migration"}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.aws.clients import container_clients
from podcidr.steps.plan import plan
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    aws = container_clients()
    outcome = plan(event, aws.ec2, aws.eks, aws.ec2.meta.region_name)
    logger.info("plan outcome", extra={"status": outcome.status, "polls": outcome.polls})
    return outcome.to_json()
