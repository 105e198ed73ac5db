"""PlanFleet: validates a fleet's input and gives one Map item per cluster (FleetStateMachine).

Event: {"fleet": <the fleet input>, "executionName": <the fleet execution's name>}. Returns the plan:
{"items": [{"clusterName", "executionName", "input"}], "concurrency", "haltOnFailure"}. No AWS call.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.steps.fleet import plan_fleet
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    plan = plan_fleet(event.get("fleet"), str(event["executionName"]))
    logger.info("fleet plan", extra={"clusters": [item.cluster_name for item in plan.items]})
    return plan.to_json()
