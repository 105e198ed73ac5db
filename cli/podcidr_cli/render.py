"""Rendering: live progress of an execution and its report (or error) as readable tables.

Rich on a terminal; plain text (ASCII tables, one line per state entered, no colours or
animation) when the output is not one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich import box
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table

from podcidr_cli.history import Progress as ExecutionProgress


def console_for(plain: bool | None = None) -> Console:
    """A console: rich on a terminal, plain otherwise (or when asked)."""
    probe = Console()
    if plain is None:
        plain = not probe.is_terminal
    if plain:
        return Console(
            no_color=True,
            highlight=False,
            emoji=False,
            soft_wrap=True,
            force_terminal=False,
            width=max(probe.width, 100),
        )
    return probe


def is_plain(console: Console) -> bool:
    return not console.is_terminal


def _yes(value: Any) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return "" if value is None else str(value)


def _table(console: Console, title: str, columns: Sequence[str]) -> Table:
    return Table(
        *columns,
        title=title,
        title_justify="left",
        box=box.ASCII if is_plain(console) else box.SIMPLE_HEAVY,
        show_lines=False,
    )


def _rows(value: Any) -> list[Mapping[str, Any]]:
    return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []


def render_report(console: Console, report: Any) -> None:
    """The execution's report (DESIGN.md) as tables; unknown parts as key/value lines."""
    if not isinstance(report, Mapping):
        console.print(report)
        return
    summary = _table(console, "Migration", ["", ""])
    summary.show_header = False
    summary.add_row("cluster", str(report.get("clusterName", "")))
    summary.add_row("dry run", _yes(report.get("dryRun")))
    pod_cidr = report.get("podCidr")
    if isinstance(pod_cidr, Mapping):
        summary.add_row("pod CIDR", str(pod_cidr.get("cidr", "")))
        if pod_cidr.get("associationId"):
            summary.add_row("association", str(pod_cidr["associationId"]))
        summary.add_row("block created", _yes(pod_cidr.get("created")))
    elif pod_cidr:
        summary.add_row("pod CIDR", str(pod_cidr))
    if "changes" in report:
        summary.add_row("changes", str(report["changes"]))
    console.print(summary)

    subnets = _rows(report.get("podSubnets"))
    if subnets:
        table = _table(console, "Pod subnets", ["AZ", "subnet", "CIDR", "route table", "created"])
        for row in subnets:
            table.add_row(
                str(row.get("availabilityZone", "")),
                str(row.get("subnetId") or "-"),
                str(row.get("cidr", "")),
                str(row.get("routeTableId") or "-"),
                _yes(row.get("created")),
            )
        console.print(table)

    tags = _rows(report.get("loadBalancerTags"))
    if tags:
        table = _table(console, "Load balancer subnet tags", ["subnet", "tag", "created"])
        for row in tags:
            table.add_row(
                str(row.get("subnetId", "")), f"{row.get('key', '')}={row.get('value', '1')}", _yes(row.get("created"))
            )
        console.print(table)

    eni_configs = _rows(report.get("eniConfigs"))
    if eni_configs:
        table = _table(console, "ENIConfigs", ["name", "subnet", "security groups", "created"])
        for row in eni_configs:
            groups = row.get("securityGroups") or []
            table.add_row(
                str(row.get("name", "")),
                str(row.get("subnet") or "-"),
                ", ".join(map(str, groups)),
                _yes(row.get("created")),
            )
        console.print(table)

    cni = report.get("cni")
    if isinstance(cni, Mapping):
        table = _table(
            console, f"VPC CNI (via {cni.get('via', '?')}, changed: {_yes(cni.get('changed'))})", ["setting", "value"]
        )
        for key, value in sorted((cni.get("env") or {}).items()):
            table.add_row(str(key), str(value))
        console.print(table)

    nodegroups = _rows(report.get("nodegroups"))
    if nodegroups:
        table = _table(console, "Nodegroups", ["replaced", "by", "max pods"])
        for row in nodegroups:
            table.add_row(str(row.get("replaced", "")), str(row.get("by") or "-"), _yes(row.get("maxPods")))
        console.print(table)

    verification = report.get("verification")
    if isinstance(verification, Mapping):
        balancers = _rows(verification.get("loadBalancers"))
        if balancers:
            table = _table(
                console, "Verification: load balancers", ["kind", "DNS name", "healthy targets", "targets in pod CIDR"]
            )
            for row in balancers:
                table.add_row(
                    str(row.get("kind", "")),
                    str(row.get("dnsName") or "-"),
                    _yes(row.get("healthyTargets")),
                    _yes(row.get("targetsInPodCidr")),
                )
            console.print(table)
        pods = verification.get("pods")
        if isinstance(pods, Mapping):
            outside = pods.get("outside") or []
            line = f"Verification: pods: {pods.get('checked', 0)} checked, {pods.get('inPodCidr', 0)} in the pod CIDR"
            console.print(line + (f", outside: {', '.join(map(str, outside))}" if outside else ""))

    shown = {
        "clusterName",
        "dryRun",
        "podCidr",
        "changes",
        "podSubnets",
        "loadBalancerTags",
        "eniConfigs",
        "cni",
        "nodegroups",
        "verification",
    }
    rest = {key: value for key, value in report.items() if key not in shown and value not in (None, [], {})}
    if rest:
        table = _table(console, "Also in the report", ["key", "value"])
        for key, value in rest.items():
            table.add_row(str(key), str(value))
        console.print(table)


def _duration(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def render_failure(console: Console, status: str, error: str | None, cause: str | None) -> None:
    body = f"{error or status}\n\n{cause or '(no cause given)'}"
    if is_plain(console):
        console.print(f"Migration {status}: {error or '-'}")
        console.print(cause or "(no cause given)")
    else:
        console.print(Panel(body, title=f"Migration {status}", border_style="red", expand=False))


class LiveProgress:
    """A progress bar over the workflow's steps with the current state, elapsed time and retries;
    one line per state entered on a plain console."""

    def __init__(self, console: Console, title: str) -> None:
        self.console = console
        self.title = title
        self._seen = 0
        self._bar: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> LiveProgress:
        if not is_plain(self.console):
            self._bar = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("steps"),
                TextColumn("{task.fields[elapsed]}"),
                TextColumn("retries: {task.fields[retries]}"),
                console=self.console,
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task(self.title, total=1, retries=0, elapsed="0:00:00")
        else:
            self.console.print(self.title)
        return self

    def update(self, progress: ExecutionProgress) -> None:
        if self._bar is not None and self._task is not None:
            description = f"{self.title}: {progress.current_state or 'starting'}"
            self._bar.update(
                self._task,
                description=description,
                total=len(progress.steps),
                completed=progress.completed,
                retries=progress.retries,
                elapsed=_duration(progress.elapsed()),
            )
            return
        for state in progress.entered[self._seen :]:
            counts = f"{progress.completed}/{len(progress.steps)} steps, retries {progress.retries}"
            self.console.print(f"[{progress.elapsed():6.0f}s] {state}  ({counts})")
        self._seen = len(progress.entered)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
