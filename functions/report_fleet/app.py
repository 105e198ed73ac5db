"""ReportFleet: the FleetStateMachine's output, each cluster's outcome.

Event: {"results": [<each Map iteration's result>]}. Returns {"clusters": [{"clusterName",
"outcome": "succeeded|failed|notStarted", "executionArn", "error", "cause"}], "succeeded", "failed",
"notStarted"}. A migration that ended otherwise than SUCCEEDED is read with DescribeExecution (its error
and cause); no other AWS call.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.steps.fleet import report_fleet
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


class MigrationReader:
    """DescribeExecution of the failed migrations, with one client made at the first of them: botocore
    only once a migration failed (a fleet that succeeded reports without it), never a client per cluster."""

    def __init__(self) -> None:
        self._client: Any = None

    def __call__(self, arn: str) -> dict[str, Any]:
        from podcidr.aws.clients import BotocoreSession, transient_faults_retried

        if self._client is None:
            self._client = BotocoreSession().client("stepfunctions")
        with transient_faults_retried("states:DescribeExecution"):
            described: dict[str, Any] = self._client.describe_execution(executionArn=arn)
        return described


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    report = report_fleet(list(event["results"]), MigrationReader())
    logger.info("fleet report", extra={"succeeded": report.succeeded, "failed": report.failed})
    return report.to_json()
