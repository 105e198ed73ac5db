"""ExtendVpcCidr: associate the pod CIDR with the VPC (or adopt it) and report its state.

Event: the migration document ($.migration). Returns it with `podCidr` filled in; the state
machine waits and calls again until `podCidr.state` is `associated`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.aws.clients import container_clients
from podcidr.models.migration import Migration
from podcidr.steps.extend_vpc_cidr import extend_vpc_cidr
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = extend_vpc_cidr(container_clients(), Migration.model_validate(event))
    logger.info(
        "pod CIDR",
        extra={
            "cidr": migration.pod_cidr.cidr,
            "associationId": migration.pod_cidr.association_id,
            "state": migration.pod_cidr.state,
            "podCidrCreated": migration.pod_cidr.created,
            "changes": migration.changes,
        },
    )
    return migration.to_json()
