"""`podcidr`: start a migration, watch one, list them.

    podcidr start --cluster NAME [--input FILE] [--dry-run] [--watch]
    podcidr watch EXECUTION_ARN
    podcidr list [--max N]
    podcidr snapshot --cluster NAME [--output FILE] [--anonymize]
    podcidr fleet --cluster A --cluster B [--tag KEY=VALUE] [--concurrency N] [--halt-on-failure] [--watch]

The state machine is found from the stack's outputs (MigrationStateMachineArn of --stack-name,
default podcidr) unless --state-machine-arn names it (the fleet's: FleetStateMachineArn, or
--fleet-state-machine-arn). --endpoint-url and --region point the
command at another endpoint, such as the local twin.

Exit codes: 0 the migration succeeded (or, without --watch, was started; or the list was shown),
1 it failed, timed out or was aborted, 2 a usage or configuration error (bad arguments or input,
no such stack, no credentials, an AWS error).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from podcidr_cli import fleet as fleet_cli
from podcidr_cli.history import ENDED, Progress, read_history, steps_of
from podcidr_cli.render import LiveProgress, console_for, render_failure, render_report

if TYPE_CHECKING:
    from rich.console import Console

OUTPUT_KEY = "MigrationStateMachineArn"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A usage or configuration error: reported, exit code 2."""


# --- arguments ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_argument_group("where")
    where.add_argument("--stack-name", default="podcidr", help="the podcidr stack (default: podcidr)")
    where.add_argument("--state-machine-arn", help="the migration state machine (instead of the stack's output)")
    where.add_argument("--endpoint-url", help="another AWS endpoint, e.g. the local twin's")
    where.add_argument("--region", help="AWS region (default: the profile's)")
    where.add_argument("--profile", help="AWS profile")
    output = common.add_argument_group("output")
    output.add_argument("--plain", action="store_true", default=None, help="plain text even on a terminal")
    output.add_argument(
        "--poll", type=float, default=2.0, metavar="SECONDS", help="how often watch reads the history (default 2)"
    )

    root = argparse.ArgumentParser(prog="podcidr", description="Start, watch and list podcidr migrations.")
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")

    start = commands.add_parser("start", parents=[common], help="start a migration of a cluster")
    start.add_argument("--cluster", required=True, help="the EKS cluster's name")
    start.add_argument("--input", type=Path, metavar="FILE", help="execution input (JSON object) to start from")
    start.add_argument("--dry-run", action="store_true", help="plan only: change nothing")
    start.add_argument("--watch", action="store_true", help="show the progress until the end, then the report")
    start.add_argument("--name", help="execution name (default: <cluster>-<UTC time>)")

    watch = commands.add_parser("watch", parents=[common], help="show an execution's progress, then its report")
    watch.add_argument("execution_arn", metavar="EXECUTION_ARN")

    listing = commands.add_parser("list", parents=[common], help="list recent migrations")
    listing.add_argument("--max", type=int, default=20, help="how many (default 20, newest first)")
    listing.add_argument("--status", choices=sorted(ENDED | {"RUNNING"}), help="only executions in this status")

    snap = commands.add_parser(
        "snapshot", parents=[common], help="write a scenario file of a cluster, to rehearse its migration on the twin"
    )
    snap.add_argument("--cluster", required=True, help="the EKS cluster's name")
    snap.add_argument("--output", type=Path, metavar="FILE", help="the scenario file (default: standard output)")
    snap.add_argument("--anonymize", action="store_true", help="replace the account's names and IDs by pseudonyms")
    fleet_cli.add_parser(commands, common)
    return root


# --- AWS ---------------------------------------------------------------------------------------


_WATCH_CONFIG = Config(retries={"mode": "standard", "max_attempts": 10})
"""Watching reads histories every few seconds (a fleet's, and each running migration's): a throttled read
is retried with backoff rather than ending the command while the executions run on."""


class Aws:
    def __init__(self, args: argparse.Namespace) -> None:
        session = boto3.Session(profile_name=args.profile, region_name=args.region)
        if args.endpoint_url and session.get_credentials() is None:
            # A local endpoint (the twin) takes any credentials.
            session = boto3.Session(
                aws_access_key_id="podcidr", aws_secret_access_key="podcidr", region_name=args.region
            )
        if not session.region_name:
            raise UsageError("no AWS region: give --region or configure one (AWS_REGION, a profile)")
        self.session = session
        self.endpoint_url = args.endpoint_url
        self.sfn = session.client("stepfunctions", endpoint_url=args.endpoint_url, config=_WATCH_CONFIG)
        self._args = args

    def state_machine_arn(self, output_key: str = OUTPUT_KEY) -> str:
        option = "state_machine_arn" if output_key == OUTPUT_KEY else "fleet_state_machine_arn"
        named = getattr(self._args, option, None)
        if named:
            return str(named)
        cloudformation = self.session.client("cloudformation", endpoint_url=self.endpoint_url)
        try:
            stack = cloudformation.describe_stacks(StackName=self._args.stack_name)["Stacks"][0]
        except ClientError as error:
            raise UsageError(
                f"stack {self._args.stack_name!r} not found in {self.session.region_name} "
                f"({error.response['Error'].get('Message', error)}); give --stack-name or --state-machine-arn"
            ) from None
        for output in stack.get("Outputs") or []:
            if output.get("OutputKey") == output_key:
                return str(output["OutputValue"])
        raise UsageError(f"stack {self._args.stack_name!r} has no output {output_key}: is it a podcidr stack?")

    def history(self, arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        for page in self.sfn.get_paginator("get_execution_history").paginate(
            executionArn=arn, includeExecutionData=True
        ):
            events.extend(dict(event) for event in page["events"])
        return events

    def definition(self, arn: str) -> dict[str, Any] | None:
        try:
            described = self.sfn.describe_state_machine_for_execution(executionArn=arn)
            return json.loads(described["definition"])  # type: ignore[no-any-return]
        except (ClientError, ValueError, KeyError):
            return None


# --- commands ----------------------------------------------------------------------------------


def execution_input(args: argparse.Namespace) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if args.input is not None:
        try:
            loaded = json.loads(args.input.read_text())
        except OSError as error:
            raise UsageError(f"cannot read {args.input}: {error.strerror}") from None
        except ValueError as error:
            raise UsageError(f"{args.input} is not JSON: {error}") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{args.input} must hold a JSON object (the execution input)")
        document = loaded
    given = document.get("clusterName")
    if given is not None and given != args.cluster:
        raise UsageError(f"{args.input} names cluster {given!r} but --cluster says {args.cluster!r}")
    document = {**document, "clusterName": str(args.cluster)}
    if args.dry_run:
        document["dryRun"] = True
    from podcidr.errors import InvalidInput
    from podcidr.models.input import parse_execution_input

    try:
        parse_execution_input(document)
    except InvalidInput as error:
        raise UsageError(error.cause) from None
    return document


def execution_name(cluster: str, now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{re.sub(r'[^A-Za-z0-9_-]', '-', cluster)[:60]}-{moment}"


def console_link(arn: str) -> str:
    region = arn.split(":")[3]
    return f"https://{region}.console.aws.amazon.com/states/home?region={region}#/v2/executions/details/{arn}"


def _start_execution(aws: Aws, state_machine_arn: str, name: str, document: Any, console: Console) -> str:
    """Start an execution, say so, and link it in the console (on AWS, not on the twin)."""
    arn = str(
        aws.sfn.start_execution(stateMachineArn=state_machine_arn, name=name, input=json.dumps(document))[
            "executionArn"
        ]
    )
    console.print(f"Started {arn}")
    if not aws.endpoint_url:
        console.print(f"Console: {console_link(arn)}")
    return arn


def start(args: argparse.Namespace, aws: Aws) -> int:
    document = execution_input(args)
    console = console_for(args.plain)
    arn = _start_execution(aws, aws.state_machine_arn(), args.name or execution_name(args.cluster), document, console)
    if not args.watch:
        return EXIT_OK
    return watch_execution(aws, arn, args.poll, console, document)


def watch(args: argparse.Namespace, aws: Aws) -> int:
    return watch_execution(aws, args.execution_arn, args.poll, console_for(args.plain))


def watch_execution(aws: Aws, arn: str, poll: float, console: Any, document: Any = None) -> int:
    if document is None:
        try:
            document = json.loads(aws.sfn.describe_execution(executionArn=arn).get("input") or "null")
        except ValueError:
            document = None
    steps = steps_of(aws.definition(arn), document)
    cluster = document.get("clusterName") if isinstance(document, dict) else None
    title = f"Migrating {cluster}" if cluster else "Migration"
    progress: Progress
    with LiveProgress(console, title) as live:
        while True:
            progress = read_history(aws.history(arn), steps)
            live.update(progress)
            if progress.ended:
                break
            time.sleep(poll)
    return outcome(console, progress)


def outcome(console: Any, progress: Progress) -> int:
    if progress.status == "SUCCEEDED":
        console.print(f"Migration SUCCEEDED in {progress.elapsed():.0f}s ({progress.retries} retries)")
        render_report(console, progress.output)
        return EXIT_OK
    render_failure(console, progress.status, progress.error, progress.cause)
    return EXIT_FAILED


def listing(args: argparse.Namespace, aws: Aws) -> int:
    from podcidr_cli.render import _table

    console = console_for(args.plain)
    request: dict[str, Any] = {"stateMachineArn": aws.state_machine_arn(), "maxResults": max(1, min(args.max, 1000))}
    if args.status:
        request["statusFilter"] = args.status
    executions = aws.sfn.list_executions(**request)["executions"]
    table = _table(console, "Migrations (newest first)", ["name", "cluster", "status", "started", "stopped"])
    for execution in executions:
        try:
            document = json.loads(
                aws.sfn.describe_execution(executionArn=execution["executionArn"]).get("input") or "{}"
            )
        except (ClientError, ValueError):
            document = {}
        cluster = document.get("clusterName", "") if isinstance(document, dict) else ""
        stopped = execution.get("stopDate")
        table.add_row(
            execution["name"],
            str(cluster),
            execution["status"],
            f"{execution['startDate']:%Y-%m-%d %H:%M:%S}",
            f"{stopped:%Y-%m-%d %H:%M:%S}" if stopped else "",
        )
    console.print(table)
    return EXIT_OK


def snapshot(args: argparse.Namespace, aws: Aws) -> int:
    from podcidr_cli.snapshot import SnapshotError, write_snapshot

    try:
        write_snapshot(aws.session, aws.endpoint_url, args.cluster, args.output, anonymize=args.anonymize)
    except SnapshotError as error:
        raise UsageError(str(error)) from None
    return EXIT_OK


def fleet(args: argparse.Namespace, aws: Aws) -> int:
    if args.state_machine_arn:
        raise UsageError(
            "--state-machine-arn names the migration state machine, which the fleet's definition already names; "
            "give the fleet state machine with --fleet-state-machine-arn"
        )
    try:
        tags = fleet_cli.wanted_tags(args)
        tagged = (
            fleet_cli.clusters_tagged(aws.session.client("eks", endpoint_url=aws.endpoint_url), tags) if tags else []
        )
        document = fleet_cli.fleet_input(args, tagged)
    except ValueError as error:
        raise UsageError(str(error)) from None
    console = console_for(args.plain)
    arn = _start_execution(
        aws, aws.state_machine_arn(fleet_cli.FLEET_OUTPUT_KEY), args.name or execution_name("fleet"), document, console
    )
    if not args.watch:
        return EXIT_OK
    try:
        return fleet_cli.watch_fleet(aws, arn, document["clusters"], args.poll, console)
    except ValueError as error:
        raise UsageError(str(error)) from None


COMMANDS = {"start": start, "watch": watch, "list": listing, "snapshot": snapshot, "fleet": fleet}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    try:
        return COMMANDS[args.command](args, Aws(args))
    except UsageError as error:
        print(f"podcidr: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (ClientError, BotoCoreError) as error:
        print(f"podcidr: AWS said: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("podcidr: interrupted (the execution goes on; `podcidr watch ARN` to follow it again)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
