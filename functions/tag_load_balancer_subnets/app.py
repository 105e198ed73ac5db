"""TagLoadBalancerSubnets: role tags for the AWS Load Balancer Controller's subnet discovery.

Event: the migration document ($.migration). Returns it with each load-balancer tag's `created`
filled in (nothing to do, and no call, when the plan lists no tags).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.aws.clients import container_clients
from podcidr.models.migration import Migration
from podcidr.steps.tag_load_balancer_subnets import tag_load_balancer_subnets
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = tag_load_balancer_subnets(container_clients(), Migration.model_validate(event))
    logger.info(
        "load-balancer subnet tags",
        extra={
            "tagsCreated": sum(t.created for t in migration.load_balancer_tags),
            "tagsFound": sum(not t.created for t in migration.load_balancer_tags),
            "changes": migration.changes,
        },
    )
    return migration.to_json()
