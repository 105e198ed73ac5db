"""FleetStateMachine's two steps: PlanFleet (validate the input, one Map item per cluster) and
ReportFleet (each cluster's outcome from what its Map iteration returned)."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError
from pydantic import ValidationError

from podcidr.errors import InvalidInput
from podcidr.models.fleet import MAX_CLUSTERS, ClusterOutcome, FleetInput, FleetItem, FleetPlan, FleetReport
from podcidr.models.input import CLUSTER_NAME, parse_execution_input

MAX_EXECUTION_NAME = 80
"""Step Functions' limit on an execution's name."""
STATE_LIMIT = 256 * 1024
"""Step Functions' limit on a state's input or output (bytes of UTF-8 JSON)."""
STATE_MARGIN = 16 * 1024
"""Kept free for what the Map adds to its input (each iteration's item, the context)."""


def plan_fleet(document: Any, fleet_execution_name: str) -> FleetPlan:
    """The Map's items, or InvalidInput naming what is wrong (before any migration starts)."""
    if not isinstance(document, dict):
        raise InvalidInput(
            'The fleet input must be a JSON object such as {"clusters": ["a", "b"], "concurrency": 2}. '
            "Nothing was started."
        )
    clusters = document.get("clusters")
    if isinstance(clusters, list) and len(clusters) > MAX_CLUSTERS:
        raise InvalidInput(
            f"A fleet migrates at most {MAX_CLUSTERS} clusters (every cluster's outcome is kept in one Step "
            f"Functions state of 256 KiB); {len(clusters)} were given: split them into several fleets. "
            "Nothing was started."
        )
    try:
        fleet = FleetInput.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in issue['loc']) or 'input'}: {issue['msg']}"
            for issue in error.errors(include_url=False)
        )
        raise InvalidInput(
            f"The fleet input is not valid: {problems} (the keys are clusters, concurrency, haltOnFailure, "
            "input). Nothing was started."
        ) from None
    bad = [name for name in fleet.clusters if not CLUSTER_NAME.fullmatch(name)]
    if bad:
        raise InvalidInput(f"Not EKS cluster names: {', '.join(map(repr, bad))}. Nothing was started.")
    twice = sorted(name for name, count in Counter(fleet.clusters).items() if count > 1)
    if twice:
        raise InvalidInput(
            f"Clusters named more than once: {', '.join(twice)}; a cluster is migrated by one execution at a "
            "time. Nothing was started."
        )
    if "clusterName" in fleet.input:
        raise InvalidInput(
            "The fleet's `input` may not set clusterName: each cluster's is its own. Nothing was started."
        )
    items = []
    for name in fleet.clusters:
        migration_input = {**fleet.input, "clusterName": name}
        try:
            parse_execution_input(migration_input)
        except InvalidInput as error:
            raise InvalidInput(
                f"The fleet's `input` gives cluster '{name}' a migration input that is not valid: {error} "
                "Nothing was started."
            ) from None
        items.append(
            FleetItem(
                cluster_name=name,
                execution_name=child_execution_name(fleet_execution_name, name),
                input=migration_input,
            )
        )
    plan = FleetPlan(items=items, concurrency=fleet.concurrency, halt_on_failure=fleet.halt_on_failure)
    _check_state_size(document, plan)
    return plan


def _check_state_size(document: dict[str, Any], plan: FleetPlan) -> None:
    """The Map's input is the fleet's input with the plan: refused here if it cannot fit one state, rather
    than failing with States.DataLimitExceeded once migrations have started."""
    size = len(json.dumps(document).encode()) + len(json.dumps(plan.to_json()).encode())
    room = STATE_LIMIT - STATE_MARGIN
    if size > room:
        per_cluster = -(-size // len(plan.items))
        raise InvalidInput(
            f"The fleet's state would take {size // 1024} KiB (its input with one migration input per cluster), "
            f"more than a Step Functions state holds (256 KiB): split the clusters into fleets of at most "
            f"{max(1, room // per_cluster)}, or make the shared `input` smaller. Nothing was started."
        )


def child_execution_name(fleet_execution_name: str, cluster: str) -> str:
    """<fleet>-<cluster>, cut to 80 characters with a digest of both when longer (names stay unique)."""
    name = f"{fleet_execution_name}-{cluster}"
    if len(name) <= MAX_EXECUTION_NAME:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    return f"{name[: MAX_EXECUTION_NAME - len(digest) - 1]}-{digest}"


CAUSES_LIMIT = 160 * 1024
"""What the failed clusters' causes may take of the fleet's output together (the rest of the 256 KiB holds
the outcomes themselves): each is cut to its share, never under CAUSE_FLOOR characters."""
CAUSE_FLOOR = 1_000

DescribeExecution = Callable[[str], dict[str, Any]]
"""Step Functions' DescribeExecution of one execution ARN (its response)."""


def report_fleet(results: list[dict[str, Any]], describe: DescribeExecution) -> FleetReport:
    """Each Map iteration's result ({clusterName, outcome, executionArn} or a caught failure) as an outcome.
    A migration that ended otherwise than SUCCEEDED is named by its ARN alone in the Map's results: its
    error and cause are read here (`describe`), the cause cut to its share of CAUSES_LIMIT."""
    failures = sum(result["outcome"] == "failed" for result in results)
    cause_room = max(CAUSE_FLOOR, CAUSES_LIMIT // max(1, failures))
    outcomes = [_outcome(result, describe, cause_room) for result in results]
    return FleetReport(
        clusters=outcomes,
        succeeded=sum(o.outcome == "succeeded" for o in outcomes),
        failed=sum(o.outcome == "failed" for o in outcomes),
        not_started=sum(o.outcome == "notStarted" for o in outcomes),
    )


def _outcome(result: dict[str, Any], describe: DescribeExecution, cause_room: int) -> ClusterOutcome:
    name = str(result["clusterName"])
    if result["outcome"] != "failed":
        return ClusterOutcome(cluster_name=name, outcome=result["outcome"], execution_arn=result.get("executionArn"))
    failure = result.get("failure") or {}
    arn = failure.get("executionArn")
    error, cause = failure.get("Error"), failure.get("Cause")
    if arn:
        error, cause = _ended_migration(arn, failure.get("status"), describe)
    return ClusterOutcome(
        cluster_name=name, outcome="failed", execution_arn=arn, error=error, cause=_cut(cause, cause_room, arn)
    )


def _ended_migration(arn: str, status: str | None, describe: DescribeExecution) -> tuple[str, str]:
    """The error and cause of a migration that ended FAILED, TIMED_OUT or ABORTED."""
    ended = status or "FAILED"
    try:
        description = describe(arn)
    except ClientError as error:
        from podcidr.aws.clients import error_code  # with the client: only once a migration failed

        return ended, (
            f"the migration ended {ended}; its cause could not be read ({error_code(error)}): "
            f"aws stepfunctions describe-execution --execution-arn {arn}"
        )
    return (
        description.get("error") or description.get("status") or ended,
        description.get("cause") or f"the migration ended {description.get('status', ended)}",
    )


def _cut(cause: str | None, room: int, arn: str | None) -> str | None:
    if cause is None or len(cause) <= room:
        return cause
    where = f"execution {arn}" if arn else "the fleet execution's history"
    tail = f"... (cut; the whole Cause is in {where})"
    return cause[: max(0, room - len(tail))] + tail
