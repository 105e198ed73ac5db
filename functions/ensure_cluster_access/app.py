"""EnsureClusterAccess: an access entry with AmazonEKSClusterAdminPolicy for the role podcidr's cluster
functions share (the caller's), adopted if present; ClusterAccessDenied on CONFIG_MAP-only clusters.

Event: {"migration": <the migration document>, "executionArn": <this execution's ARN>} (the ARN is tagged
on an entry it creates, for ExecutionEnded's clean-up), or the document alone. Returns the document with
`clusterAccess` and `changes`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.ensure_cluster_access import ensure_cluster_access
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    wrapped = "migration" in event and "executionArn" in event
    migration = Migration.model_validate(event["migration"] if wrapped else event)
    execution_arn = str(event["executionArn"]) if wrapped else None
    migration.execution_arn = execution_arn or migration.execution_arn
    aws = runtime().aws
    with timed(migration, "EnsureClusterAccess"):
        ensure_cluster_access(migration, aws.eks, aws.sts, execution_arn)
    logger.info("cluster access", extra={"access": migration.cluster_access and migration.cluster_access.to_json()})
    return migration.to_json()
