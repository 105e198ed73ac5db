"""`make bench`: rehearsals of the default scenario and their figures (no asserts).

Per rehearsal: wall time of the execution; the twin's simulated durations on the critical path
(the scenario's `timing` of the timed states the execution went through) and their share of the
wall time; state transitions; Lambda invocations; AWS calls (mutating and read, from the ledger).
Then the critical path of a full run on the twin's clock with the verification overlapping the drain
and without it (derived from the same run's timeline, localcloud/bench_overlap.py). Then the requests
lost through load balancers while nodes are replaced, with the default drain and with the delete
strategy (localcloud/bench_requests.py). Then a rehearsal of a large cluster
(localcloud/scenarios/large-cluster.yaml: 60 nodes, 2,000 pods) with each function's longest
invocation and its Max Memory Used as Lambda reports it (each container a process of its own: its
peak resident size), against the function's MemorySize. Then each handler's cold-start import time
against a bare `import boto3`, and the size of the layer sam build makes (localcloud/coldstart.py).
`--cold-only` runs only these last two (a few minutes). `--fleet N [--throttle RATE]` instead migrates
N small clusters at once with the FleetStateMachine (localcloud/fleet_bench.py).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.bench_overlap import overlap_figures
from localcloud.bench_requests import request_losses
from localcloud.coldstart import (
    LAYER_ID,
    cold_starts,
    ensure_built,
    importable_layer,
    layer_figures,
    print_cold_starts,
    python313,
)
from localcloud.lambdas import ProcessRuntime
from localcloud.rehearse import REHEARSAL_POLL_SECONDS, rehearse
from localcloud.scenario import Scenario, load_scenario
from localcloud.template import Account, FunctionSpec, Template
from localcloud.twin import Twin

STATE_TIMINGS: dict[str, tuple[str, ...]] = {
    "WaitForClusterActive": ("clusterCreate",),
    "WaitForNodegroupsActive": ("nodegroupCreate",),
    "ExtendVpcCidr": ("cidrAssociate",),
    "ConfigureCni": ("addonUpdate",),
    "ReplaceNodegroups": ("nodegroupCreate", "nodeReady", "nodegroupDelete"),
    "VerifyLoadBalancers": ("loadBalancer",),
}
"""Which timed states of the twin a workflow state waits for. A Map or Parallel waits for its
iterations side by side, so each timing counts once on the critical path."""


def simulated_seconds(scenario: Scenario, states: Iterable[str]) -> float:
    timing = scenario.timing.model_dump(by_alias=True)
    total = 0.0
    for state in set(states):
        for key in STATE_TIMINGS.get(state, ()):
            total += float(timing.get(key) or 0)
    return total


LARGE_SCENARIO = Path(__file__).parent / "scenarios" / "large-cluster.yaml"
LARGE_POLL_SECONDS = 5
"""A wait gives up after 90 checks (podcidr.steps.polling): at the rehearsals' 1 s, 90 s of wall time,
less than the twin needs to launch 15 nodes a nodegroup on a loaded machine. At 5 s, 7.5 minutes."""


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


MEMORY_HEADROOM = 2.5
"""MemorySize is at least this many times the large rehearsal's Max Memory Used: the twin's pods are
smaller than real ones (no managedFields, one container), and clusters grow."""


def _headroom(memory_size_mb: int, used: int) -> str:
    ratio = memory_size_mb * 2**20 / used if used else float("inf")  # Lambda counts MB as MiB
    return f"{ratio:.1f}x" + ("" if ratio >= MEMORY_HEADROOM else f" (< {MEMORY_HEADROOM}x: raise MemorySize)")


def _lambda_runtime() -> ProcessRuntime:
    """Containers as Lambda's: Python 3.13, the built layer, tracing on; else this interpreter and the
    layer's source (said in the output)."""
    python = python313()
    if python is None:
        return ProcessRuntime(sys.executable, None)
    layer, _ = importable_layer(python)
    return ProcessRuntime(python, layer, tracing=True)


def _large_cluster(console: Console, template: Template, functions: dict[str, FunctionSpec]) -> dict[str, Any]:
    """One full rehearsal of the large scenario, invocations measured; its figures per function."""
    scenario = load_scenario(LARGE_SCENARIO)
    twin = Twin(scenario, template=template)
    twin.lambdas.measure_memory = True
    runtime = _lambda_runtime()
    twin.lambdas.process_runtime = runtime
    started = time.monotonic()
    with twin:
        rehearsal = rehearse(
            scenario, {"clusterName": scenario.cluster.name, "pollSeconds": LARGE_POLL_SECONDS}, twin=twin
        )
        invocations = list(twin.lambdas.invocations)
    (result,) = rehearsal.results
    nodes = sum(g.desired_size for g in scenario.cluster.nodegroups)
    pods = sum(w.replicas for w in scenario.cluster.workloads)
    status = result.status if result.succeeded else f"{result.status} ({result.error}: {result.cause})"
    console.print(
        f"large cluster ({nodes} nodes in {len(scenario.cluster.nodegroups)} nodegroups, {pods} pods): {status}, "
        f"{result.duration:.0f} s of execution, {time.monotonic() - started:.0f} s with the twin's set-up"
    )
    console.print(f"each container a process of its own: {runtime.describe()}")
    table = Table(title="functions in the large-cluster rehearsal")
    for column in ("function", "invocations", "longest s", "max memory used MiB", "MemorySize", "headroom"):
        table.add_column(column, justify="left" if column == "function" else "right")
    by_function: dict[str, Any] = {}
    for name, spec in functions.items():
        runs = [i for i in invocations if i.function == name]
        if not runs:
            continue
        by_function[name] = {
            "invocations": len(runs),
            "longest": max(i.duration for i in runs),
            "maxMemoryUsedBytes": max(i.peak_bytes or 0 for i in runs),
            "memorySize": spec.memory_size,
        }
        table.add_row(
            name,
            str(len(runs)),
            f"{by_function[name]['longest']:.2f}",
            f"{by_function[name]['maxMemoryUsedBytes'] / 2**20:.0f}",
            f"{spec.memory_size} MB",
            _headroom(spec.memory_size, by_function[name]["maxMemoryUsedBytes"]),
        )
    console.print(table)
    return {"status": result.status, "wall": result.duration, "functions": by_function}


def run(console: Console, repeat: int = 1, large: bool = True, cold_runs: int = 5) -> dict[str, Any]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    scenario = load_scenario()
    template = Template.load()
    cluster = scenario.cluster.name
    cases = {
        "dry run": {"clusterName": cluster, "dryRun": True, "pollSeconds": REHEARSAL_POLL_SECONDS},
        "full run": {"clusterName": cluster, "pollSeconds": REHEARSAL_POLL_SECONDS},
    }
    table = Table(title="rehearsals of the default scenario")
    for column in (
        "run",
        "status",
        "wall s",
        "simulated s",
        "sim/wall",
        "transitions",
        "Lambda invocations",
        "AWS calls",
    ):
        table.add_column(column, justify="left" if column in {"run", "status"} else "right")
    figures: dict[str, Any] = {}
    for name, execution_input in cases.items():
        started = time.monotonic()
        rehearsal = rehearse(scenario, execution_input, repeat=repeat, template=template)
        setup = time.monotonic() - started - sum(r.duration for r in rehearsal.results)
        for index, result in enumerate(rehearsal.results):
            simulated = simulated_seconds(scenario, (visit.name for visit in result.visits))
            mutating, read = rehearsal.calls[index]
            label = name if repeat == 1 else f"{name} #{index + 1}"
            ratio = f"{simulated / result.duration:.0%}" if result.duration else "-"
            table.add_row(
                label,
                result.status if result.succeeded else f"{result.status} ({result.error})",
                f"{result.duration:.1f}",
                f"{simulated:.1f}",
                ratio,
                str(result.transitions),
                str(rehearsal.lambda_invocations[index]),
                f"{mutating + read} ({mutating} mutating, {read} read)",
            )
            figures[label] = {
                "status": result.status,
                "wall": result.duration,
                "simulated": simulated,
                "transitions": result.transitions,
                "invocations": rehearsal.lambda_invocations[index],
                "mutating": mutating,
                "read": read,
                "twinSetup": setup,
            }
        table.caption = f"twin start-up and teardown (not in wall): about {setup:.1f}s per rehearsal"
    console.print(table)

    figures["criticalPath"] = overlap_figures(console, template, scenario)
    figures["requests"] = request_losses(console, template)

    functions = template.functions(Account(scenario.region, "123456789012"))
    if large:
        figures["large cluster"] = _large_cluster(console, template, functions)

    figures.update(cold_start_figures(console, functions, scenario.region, cold_runs))
    return figures


def cold_start_figures(
    console: Console, functions: dict[str, FunctionSpec], region: str, cold_runs: int
) -> dict[str, Any]:
    """The handlers' cold-start imports and the built layer's size (all that `--cold-only` runs)."""
    cold = cold_starts(functions, region, runs=cold_runs)
    print_cold_starts(console, cold)
    layer = layer_figures(ensure_built())
    console.print(
        f"layer {LAYER_ID} as sam build makes it ({layer['path']}): {layer['bytes'] / 1e6:.1f} MB unzipped "
        f"({_mib(layer['bytes'])}; goal at most {layer['goalBytes'] / 1e6:.0f} MB); largest: "
        + ", ".join(f"{name} {size / 1e6:.1f}" for name, size in layer["largest"].items())
    )
    return {"coldStarts": cold, "layer": layer}


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(prog="python -m localcloud.bench", description=__doc__)
    args.add_argument("--repeat", type=int, default=1, help="executions per rehearsal (each on the last's twin)")
    args.add_argument("--json", type=Path, help="also write the figures as JSON")
    args.add_argument("--no-large", action="store_true", help="skip the large-cluster rehearsal (minutes)")
    args.add_argument("--cold-runs", type=int, default=5, help="fresh interpreters per handler import (median)")
    args.add_argument("--cold-only", action="store_true", help="only the cold starts and the layer's size")
    args.add_argument("--fleet", type=int, metavar="N", help="only a fleet of N small clusters migrated at once")
    args.add_argument("--throttle", type=float, default=0.0, metavar="RATE", help="with --fleet: AWS calls throttled")
    options = args.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    if options.fleet:
        from localcloud.fleet_bench import print_fleet, run_fleet

        logging.getLogger("moto").setLevel(logging.CRITICAL)
        fleet = run_fleet(options.fleet, options.throttle)
        print_fleet(console, fleet)
        if options.json:
            options.json.write_text(json.dumps({"fleet": fleet.to_json()}, indent=2) + "\n")
        return 0
    if options.cold_only:
        scenario = load_scenario()
        functions = Template.load().functions(Account(scenario.region, "123456789012"))
        figures = cold_start_figures(console, functions, scenario.region, max(1, options.cold_runs))
        if options.json:
            options.json.write_text(json.dumps(figures, indent=2) + "\n")
        return 0
    figures = run(
        console, repeat=max(1, options.repeat), large=not options.no_large, cold_runs=max(1, options.cold_runs)
    )
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
