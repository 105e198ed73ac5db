"""`podcidr fleet`: start a FleetStateMachine execution (DESIGN.md "Fleets") and follow it.

    podcidr fleet --cluster a --cluster b [--input FILE] [--concurrency N] [--halt-on-failure] [--watch]
    podcidr fleet --tag team=web [--tag ...]      # every cluster of the region with these tags

--tag selects clusters by their EKS tags (all given must match; eks:ListClusters and
eks:DescribeCluster), added to any --cluster; the fleet's input names them.

With --watch: a table of the clusters with each one's migration status and current step, redrawn as
the migrations go (a line per change on a plain console), then each cluster's outcome. Exit code 0
when every cluster's migration succeeded, 1 otherwise (or the fleet failed), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError
from rich.console import Console
from rich.live import Live
from rich.table import Table

from podcidr.errors import InvalidInput
from podcidr.steps.fleet import child_execution_name, plan_fleet
from podcidr_cli.history import read_history, steps_of
from podcidr_cli.render import is_plain, render_failure

FLEET_OUTPUT_KEY = "FleetStateMachineArn"
MIGRATE_STATE = "MigrateClusters"


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    fleet = commands.add_parser("fleet", parents=[common], help="migrate many clusters, at most N at once")
    fleet.add_argument("--cluster", action="append", default=[], help="a cluster to migrate (repeat the option)")
    fleet.add_argument(
        "--tag", action="append", default=[], metavar="KEY=VALUE", help="also every cluster with this tag (repeat: all)"
    )
    fleet.add_argument("--input", type=Path, metavar="FILE", help="migration input (JSON object) for every cluster")
    fleet.add_argument("--concurrency", type=int, default=1, help="migrations at once (default 1, at most 40)")
    fleet.add_argument("--halt-on-failure", action="store_true", help="start no new migration after one failed")
    fleet.add_argument("--watch", action="store_true", help="show each cluster's progress until the end")
    fleet.add_argument("--name", help="the fleet execution's name (default: fleet-<UTC time>)")
    fleet.add_argument(
        "--fleet-state-machine-arn", help="the fleet state machine (instead of the stack's FleetStateMachineArn output)"
    )


def wanted_tags(args: argparse.Namespace) -> dict[str, str]:
    tags = {}
    for item in args.tag:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag {item!r}: give KEY=VALUE")
        tags[key] = value
    if not args.cluster and not tags:
        raise ValueError("name the clusters: --cluster NAME (repeat it) or --tag KEY=VALUE")
    return tags


def clusters_tagged(eks: Any, tags: dict[str, str]) -> list[str]:
    """The region's clusters that carry every one of `tags`, by name."""
    names = [n for page in eks.get_paginator("list_clusters").paginate() for n in page["clusters"]]
    selected = []
    for name in sorted(names):
        carried = eks.describe_cluster(name=name)["cluster"].get("tags") or {}
        if all(carried.get(key) == value for key, value in tags.items()):
            selected.append(name)
    return selected


def fleet_input(args: argparse.Namespace, tagged: list[str] | None = None) -> dict[str, Any]:
    """The fleet's input, checked as PlanFleet checks it (a usage error names what is wrong)."""
    clusters = [*args.cluster, *(name for name in tagged or [] if name not in args.cluster)]
    if not clusters:
        raise ValueError(f"no cluster carries the tags {', '.join(args.tag)}")
    document: dict[str, Any] = {"clusters": clusters, "concurrency": args.concurrency}
    if args.halt_on_failure:
        document["haltOnFailure"] = True
    if args.input is not None:
        try:
            document["input"] = json.loads(args.input.read_text())
        except OSError as error:
            raise ValueError(f"cannot read {args.input}: {error.strerror}") from None
        except ValueError as error:
            raise ValueError(f"{args.input} is not JSON: {error}") from None
    try:
        plan_fleet(document, "fleet")
    except InvalidInput as error:
        raise ValueError(error.cause) from None
    return document


@dataclass
class ClusterRow:
    cluster: str
    status: str = "WAITING"
    """WAITING (not started yet), NOT STARTED (the fleet halted), or the migration's status."""
    step: str = ""
    retries: int = 0


def migration_machine(definition: dict[str, Any] | None) -> str | None:
    """The migration state machine the fleet's Map starts (its MigrateCluster task's StateMachineArn)."""
    processor = ((definition or {}).get("States", {}).get(MIGRATE_STATE) or {}).get("ItemProcessor") or {}
    for state in (processor.get("States") or {}).values():
        arn = (state.get("Parameters") or {}).get("StateMachineArn")
        if isinstance(arn, str):
            return arn
    return None


def child_arn(machine_arn: str, fleet_name: str, cluster: str) -> str:
    return f"{machine_arn.replace(':stateMachine:', ':execution:')}:{child_execution_name(fleet_name, cluster)}"


def read_rows(
    aws: Any,
    machine_arn: str,
    fleet_name: str,
    clusters: list[str],
    halted: bool,
    ended: dict[str, ClusterRow] | None = None,
) -> list[ClusterRow]:
    """Each cluster's row; a migration in `ended` (filled here) is not read again: a hundred children's
    histories every poll would be throttled."""
    ended = {} if ended is None else ended
    rows = []
    for cluster in clusters:
        if cluster in ended:
            rows.append(ended[cluster])
            continue
        row = ClusterRow(cluster)
        arn = child_arn(machine_arn, fleet_name, cluster)
        try:
            events = aws.history(arn)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                raise
            row.status = "NOT STARTED" if halted else "WAITING"
            rows.append(row)
            continue
        progress = read_history(events, steps_of(None))
        row.status, row.step, row.retries = progress.status, progress.current_state or "", progress.retries
        if progress.ended:
            ended[cluster] = row
        rows.append(row)
    return rows


def render_rows(title: str, rows: list[ClusterRow]) -> Table:
    table = Table(title=title)
    for column in ("cluster", "status", "current step", "retries"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.cluster, row.status, row.step, str(row.retries))
    return table


def watch_fleet(aws: Any, arn: str, clusters: list[str], poll: float, console: Console) -> int:
    fleet_name = arn.rsplit(":", 1)[-1]
    machine = migration_machine(aws.definition(arn))
    if machine is None:
        raise ValueError(f"{arn} is not an execution of a podcidr fleet state machine")
    title = f"Fleet {fleet_name}"
    seen: dict[str, tuple[str, str]] = {}
    ended: dict[str, ClusterRow] = {}
    live = None if is_plain(console) else Live(render_rows(title, []), console=console, auto_refresh=False)
    if live is not None:
        live.start()
    try:
        while True:
            fleet = read_history(aws.history(arn), steps_of(None))
            rows = read_rows(aws, machine, fleet_name, clusters, halted=fleet.ended, ended=ended)
            if live is not None:
                live.update(render_rows(title, rows), refresh=True)
            else:
                for row in rows:
                    if seen.get(row.cluster) != (row.status, row.step):
                        seen[row.cluster] = (row.status, row.step)
                        console.print(f"{row.cluster}: {row.status} {row.step}".rstrip())
            if fleet.ended:
                break
            time.sleep(poll)
    finally:
        if live is not None:
            live.stop()
    if fleet.status != "SUCCEEDED":
        render_failure(console, fleet.status, fleet.error, fleet.cause)
        return 1
    report = fleet.output or {}
    outcomes = Table(title="Fleet outcome")
    for column in ("cluster", "outcome", "error", "execution"):
        outcomes.add_column(column)
    for item in report.get("clusters", []):
        outcomes.add_row(item["clusterName"], item["outcome"], item.get("error") or "", item.get("executionArn") or "")
    console.print(outcomes)
    for item in report.get("clusters", []):
        if item["outcome"] == "failed" and item.get("cause"):
            console.print(f"{item['clusterName']}: {item.get('error')}: {item['cause']}")
    console.print(
        f"succeeded {report.get('succeeded', 0)}, failed {report.get('failed', 0)}, "
        f"not started {report.get('notStarted', 0)}"
    )
    return 0 if report.get("succeeded") == len(clusters) else 1
