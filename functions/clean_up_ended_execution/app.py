"""CleanUpEndedExecution: for ExecutionEnded, after a migration that was stopped or timed out, removes the
test namespace podcidr-verify and so its load balancers (unless keepWorkloads), reports what remains on
each round of ExecutionEnded's wait loop, then revokes the access entry that execution created.

Event: {"executionArn", "status", "input" (the execution's input), "stopDate" (epoch ms, 0 if not
given), "lock" (the cluster's lock item, read before the first round), "cleanup" (the previous call's
answer, or {} at first), "machineStartedAt" (when the ExecutionEnded execution started)}. Returns the
cleanup document (marking at first, removing until removed, kept, nothing or left-behind; a message
naming what remains; markUntil, the lock's mark for the next round).
"""

from __future__ import annotations

import json
import os
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.steps.ended_execution_cleanup import EndedExecution, clean_up_ended_execution
from podcidr.steps.ensure_cluster_access import principal_arn
from podcidr.steps.late_calls import calls_in_flight, history_client
from podcidr.steps.runtime import runtime
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


def _default_input() -> dict[str, Any]:
    try:
        found = json.loads(os.environ.get("DEFAULT_INPUT") or "{}")
    except json.JSONDecodeError:
        return {}  # the stack refuses such a parameter (DefaultInputCheck)
    return found if isinstance(found, dict) else {}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    ended = EndedExecution.model_validate(event)
    found = runtime()
    aws = found.aws
    cleanup = clean_up_ended_execution(
        ended,
        default_input=_default_input(),
        connect=found.connect,
        elbv2=aws.elbv2,
        eks=aws.eks,
        principal=lambda: principal_arn(
            aws.sts.get_caller_identity()["Arn"], os.environ.get("CLUSTER_ROLE_ARN") or None
        ),
        calls_in_flight=lambda: calls_in_flight(history_client(), ended.execution_arn),
    )
    logger.info("clean-up after an ended execution", extra={"cleanup": cleanup.to_json()})
    return cleanup.to_json()
