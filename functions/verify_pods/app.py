"""VerifyPods: every Running non-hostNetwork pod on an IP in the pod CIDR, every node in a node subnet,
the replacement nodes' max pods as planned; VerificationFailed with the list otherwise.

Event: the migration document ($.migration). Returns it with `verification.pods` ({checked, inPodCidr, outside}).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.steps.verify_pods import verify_pods
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = Migration.model_validate(event)
    run = runtime()
    with timed(migration, "VerifyPods"):
        verify_pods(migration, run.connect(migration.cluster_name), run.aws.ec2)
    logger.info("pods", extra={"pods": migration.verification.pods and migration.verification.pods.to_json()})
    return migration.to_json()
