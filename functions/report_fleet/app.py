"""ReportFleet: the FleetStateMachine's output, each cluster's outcome (no AWS call).

Event: {"results": [<each Map iteration's result>]}. Returns {"clusters": [{"clusterName",
"outcome": "succeeded|failed|notStarted", "executionArn", "error", "cause"}], "succeeded", "failed",
"notStarted"}.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.steps.fleet import report_fleet
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = report_fleet(list(event["results"]))
    logger.info("fleet report", extra={"succeeded": report.succeeded, "failed": report.failed})
    return report.to_json()
