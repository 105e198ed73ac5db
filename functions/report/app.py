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
from podcidr.steps.report import fold_changes, report_document, step_durations
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)
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
    metrics.add_metric(
        name="EniConfigsCreated", unit=MetricUnit.Count, value=sum(c.created for c in migration.eni_configs)
    )
    metrics.add_metric(name="NodegroupsReplaced", unit=MetricUnit.Count, value=len(migration.nodegroups))
    metrics.add_metric(
        name="LoadBalancersVerified",
        unit=MetricUnit.Count,
        value=sum(check.status == "done" for check in migration.verification.load_balancers),
    )
    if migration.verification.pods is not None:
        metrics.add_metric(name="PodsChecked", unit=MetricUnit.Count, value=migration.verification.pods.checked)
    for step, seconds in step_durations(migration).items():
        metrics.add_metric(name=f"{step}Duration", unit=MetricUnit.Seconds, value=seconds)
    logger.info("migration report", extra={"clusterName": migration.cluster_name, "changes": migration.changes})
    return report_document(migration)
