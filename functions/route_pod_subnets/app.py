"""RoutePodSubnets: associate each pod subnet with its AZ's node route table.

Event: the migration document ($.migration). Returns it with each pod subnet's
`routeTableAssociationId` filled in.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.aws.clients import container_clients
from podcidr.models.migration import Migration
from podcidr.steps.route_pod_subnets import route_pod_subnets
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = route_pod_subnets(container_clients(), Migration.model_validate(event))
    logger.info(
        "pod subnets routed",
        extra={
            "associations": {s.subnet_id: s.route_table_id for s in migration.pod_subnets},
            "changes": migration.changes,
        },
    )
    return migration.to_json()
