"""Report: the execution's output, and its metrics.

Event: the migration document ($.migration). Returns the report (DESIGN.md "Report"): the
document with the Map items' changes folded into `changes`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.report import fold_changes, report_document

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = fold_changes(Migration.model_validate(event))
    metrics.add_metric(name="Migrations", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Changes", unit=MetricUnit.Count, value=migration.changes)
    metrics.add_metric(
        name="PodSubnetsCreated", unit=MetricUnit.Count, value=sum(s.created for s in migration.pod_subnets)
    )
    metrics.add_metric(
        name="LoadBalancerTagsCreated",
        unit=MetricUnit.Count,
        value=sum(t.created for t in migration.load_balancer_tags),
    )
    logger.info("migration report", extra={"clusterName": migration.cluster_name, "changes": migration.changes})
    return report_document(migration)
