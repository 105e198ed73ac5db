"""RevokeClusterAccess: removes the access entry EnsureClusterAccess created, unless kept
(keepClusterAccess) or found there before; on the way to Report and on the way to failure.

Event: the migration document ($.migration). Returns it with `clusterAccess.revoked`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.revoke_cluster_access import revoke_cluster_access
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = Migration.model_validate(event)
    with timed(migration, "RevokeClusterAccess"):
        revoke_cluster_access(migration, runtime().aws.eks)
    logger.info("cluster access", extra={"access": migration.cluster_access and migration.cluster_access.to_json()})
    return migration.to_json()
