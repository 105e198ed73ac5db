"""`make bench`: the critical path of a full run of the default scenario on the twin's clock, with the
verification overlapping the drain (the load balancers provision while ReplaceNodegroups runs) and
without it (the old order: the load balancers asked for only once ReplaceNodegroups has ended).

"With" is the execution's measured duration. "Without" is derived from the same run, not from a
second run: in the old order VerifyLoadBalancers would first wait for each load balancer's whole
provisioning (created -> DNS name published, from the twin controller's timeline), then for the
targets' registration, as it does now; so the old order takes longer by the part of the slowest
provisioning that ran before ReplaceNodegroups ended: min(provisioning, ReplaceNodegroups' end - the
first load balancer's creation)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.cluster.cluster_twin import ClusterTwin
from localcloud.rehearse import REHEARSAL_POLL_SECONDS, rehearse
from localcloud.scenario import Scenario, load_scenario
from localcloud.stepfunctions import ExecutionResult
from localcloud.template import Template
from localcloud.twin import Twin

NAMESPACE = "podcidr-verify"


@dataclass(frozen=True)
class CriticalPath:
    status: str
    withOverlap: float  # noqa: N815 - the --json figures' names
    withoutOverlap: float  # noqa: N815
    provisioning: float
    """The slowest test load balancer's provisioning (created -> published), twin seconds."""
    overlapped: float
    """Seconds of that provisioning that ran while ReplaceNodegroups did."""
    replaceNodegroups: float  # noqa: N815
    """ReplaceNodegroups' duration, twin seconds."""
    derivation: str = "without = with + overlapped (derived from the same run's timeline)"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def critical_path(result: ExecutionResult, timeline: dict[str, dict[str, float]], clock_offset: float) -> CriticalPath:
    """From one run: its history (wall clock) and the load balancers' timeline (twin clock =
    wall clock - clock_offset)."""
    [replace] = [v for v in result.visits if v.name == "ReplaceNodegroups" and not v.path]
    replace_end = (replace.exited.timestamp() if replace.exited else time.time()) - clock_offset
    built = [times for times in timeline.values() if "created" in times and "published" in times]
    provisioning = max((t["published"] - t["created"] for t in built), default=0.0)
    first = min((t["created"] for t in built), default=replace_end)
    overlapped = max(0.0, min(provisioning, replace_end - first))
    return CriticalPath(
        status=result.status,
        withOverlap=result.duration,
        withoutOverlap=result.duration + overlapped,
        provisioning=provisioning,
        overlapped=overlapped,
        replaceNodegroups=replace.elapsed(),
    )


def overlap_figures(console: Console, template: Template, scenario: Scenario | None = None) -> dict[str, Any]:
    """One full run of the scenario (default: the default one); the figures, and under `loadBalancers`
    each test load balancer's created/published/deleted in seconds since the execution started."""
    scenario = scenario or load_scenario()
    twin = Twin(scenario, template=template)
    with twin:
        clock_offset = time.time() - time.monotonic()  # the controllers' clock is time.monotonic
        rehearsal = rehearse(
            scenario, {"clusterName": scenario.cluster.name, "pollSeconds": REHEARSAL_POLL_SECONDS}, twin=twin
        )
        cluster = next(c for c in twin.components if isinstance(c, ClusterTwin))
        controller = cluster.load_balancers
        timeline = {
            f"{key[0]} {key[2]}": dict(times)
            for key, times in (controller.timeline.items() if controller is not None else [])
            if key[1] == NAMESPACE
        }
    (result,) = rehearsal.results
    path = critical_path(result, timeline, clock_offset)
    start = (result.started.timestamp() if result.started else 0.0) - clock_offset
    since_start = {name: {k: round(v - start, 3) for k, v in times.items()} for name, times in timeline.items()}
    table = Table(title="critical path of a full run (twin seconds): verification overlapping the drain")
    for column in ("status", "with overlap", "without", "saved", "slowest LB provisioning", "ReplaceNodegroups"):
        table.add_column(column, justify="left" if column == "status" else "right")
    table.add_row(
        path.status if result.succeeded else f"{path.status} ({result.error})",
        f"{path.withOverlap:.1f}",
        f"{path.withoutOverlap:.1f}",
        f"{path.overlapped:.1f}",
        f"{path.provisioning:.1f}",
        f"{path.replaceNodegroups:.1f}",
    )
    table.caption = "'without' is derived from the same run: " + path.derivation.split("(")[0].strip()
    console.print(table)
    return {**path.to_json(), "loadBalancers": since_start}
