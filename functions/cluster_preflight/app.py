"""ClusterPreflight (read-only): the ENIConfig CRD, the AWS Load Balancer Controller when load-balancer
verification is asked, PodDisruptionBudgets that would block draining (warnings), a self-managed CNI's version.

Event: the migration document ($.migration). Returns it with `warnings` and `cni.version` filled in.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.cluster_preflight import cluster_preflight
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = Migration.model_validate(event)
    with timed(migration, "ClusterPreflight"):
        cluster_preflight(migration, runtime().connect(migration.cluster_name))
    logger.info("preflight passed", extra={"warnings": migration.warnings})
    return migration.to_json()
