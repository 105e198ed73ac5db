"""RemoveVerificationWorkloads: deletes the namespace podcidr-verify (its Services and Ingress, so the
controller deletes the load balancers) unless keepWorkloads; on the success path the state machine
loops until `verification.workloads` is no longer `removing`.

Event: the migration document ($.migration), or {"migration": <it>, "afterFailure": true} on the failure
path (one delete, no waiting). Returns the migration document.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.steps.verify_load_balancers import remove_verification_workloads
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    after_failure = bool(event.get("afterFailure")) and "migration" in event
    migration = Migration.model_validate(event["migration"] if after_failure else event)
    with timed(migration, "RemoveVerificationWorkloads"):
        found = runtime()
        remove_verification_workloads(
            migration, found.connect(migration.cluster_name), wait=not after_failure, elbv2=found.aws.elbv2
        )
    logger.info("verification workloads", extra={"workloads": migration.verification.workloads})
    return migration.to_json()
