"""`make bench`: requests lost through the load balancers while the nodes are replaced, with the
default drain and with `nodeReplacement.strategy: "delete"`, on localcloud/scenarios/no-request-lost.yaml
(an ALB and an NLB in front of a workload with a PodDisruptionBudget, a request every 100 ms of twin
time, target registration slower than a pod's start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.rehearse import REHEARSAL_POLL_SECONDS, rehearse
from localcloud.scenario import load_scenario
from localcloud.template import Template

SCENARIO = Path(__file__).resolve().parent / "scenarios" / "no-request-lost.yaml"
STRATEGIES = ("drain", "delete")


def request_losses(console: Console, template: Template) -> dict[str, Any]:
    """Per strategy: the execution's status and seconds, and each load balancer's requests and failures."""
    scenario = load_scenario(SCENARIO)
    table = Table(title=f"requests through the load balancers while nodes are replaced ({SCENARIO.name})")
    for column in ("strategy", "status", "wall s", "load balancer", "requests", "failed"):
        table.add_column(column, justify="left" if column in {"strategy", "status", "load balancer"} else "right")
    figures: dict[str, Any] = {}
    for strategy in STRATEGIES:
        execution_input = {
            "clusterName": scenario.cluster.name,
            "pollSeconds": REHEARSAL_POLL_SECONDS,
            "nodeReplacement": {"strategy": strategy},
        }
        rehearsal = rehearse(scenario, execution_input, template=template)
        (result,) = rehearsal.results
        probes = rehearsal.state.get("probes", [])
        figures[strategy] = {
            "status": result.status,
            "wall": result.duration,
            "requests": sum(p["requests"] for p in probes),
            "failed": sum(p["failed"] for p in probes),
            "loadBalancers": {p["loadBalancer"]: {"requests": p["requests"], "failed": p["failed"]} for p in probes},
        }
        for index, probe in enumerate(probes):
            table.add_row(
                strategy if index == 0 else "",
                (result.status if result.succeeded else f"{result.status} ({result.error})") if index == 0 else "",
                f"{result.duration:.1f}" if index == 0 else "",
                probe["loadBalancer"],
                str(probe["requests"]),
                str(probe["failed"]),
            )
    console.print(table)
    return figures
