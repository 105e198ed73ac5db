"""`make bench`: rehearsals of the default scenario and their figures (no asserts).

Per rehearsal: wall time of the execution; the twin's simulated durations on the critical path
(the scenario's `timing` of the timed states the execution went through) and their share of the
wall time; state transitions; Lambda invocations; AWS calls (mutating and read, from the ledger).
Then a rehearsal of a large cluster (localcloud/scenarios/large-cluster.yaml: 60 nodes, 2,000
pods) with each function's longest invocation and its Max Memory Used as Lambda reports it (each
container a process of its own: its peak resident size), against the function's MemorySize.
Then each handler's import time, and the layer's size.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.rehearse import REHEARSAL_POLL_SECONDS, rehearse
from localcloud.scenario import Scenario, load_scenario
from localcloud.template import PROJECT_ROOT, Account, FunctionSpec, Template
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


def import_figures(spec: FunctionSpec) -> tuple[float, int]:
    """The handler module's import time in a fresh interpreter (a cold start's init, roughly) and the
    interpreter's resident size after it (bytes): what a warm container holds before any event."""
    module_path = spec.handler.rpartition(".")[0]
    source = spec.code_uri.joinpath(*module_path.split(".")).with_suffix(".py")
    code = (
        "import importlib.util, sys, time\n"
        f"sys.path[:0] = {[str(p) for p in spec.layer_paths] + [str(spec.code_uri)]!r}\n"
        "start = time.perf_counter()\n"
        f"spec = importlib.util.spec_from_file_location('handler', {str(source)!r})\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "import resource\n"
        "print(time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)\n"
    )
    env = {**os.environ, **spec.environment, "POWERTOOLS_TRACE_DISABLED": "1", "AWS_DEFAULT_REGION": "us-east-1"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    try:
        seconds, resident = done.stdout.strip().splitlines()[-1].split()
        return float(seconds), int(resident)
    except ValueError:
        return float("nan"), 0


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "__pycache__" not in f.parts)


def _distribution_size(name: str, seen: set[str]) -> int:
    key = re.sub(r"[-_.]+", "-", name).lower()
    if key in seen:
        return 0
    seen.add(key)
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return 0
    size = 0
    for file in dist.files or []:
        located = Path(str(dist.locate_file(file)))
        if located.is_file() and "__pycache__" not in located.parts:
            size += located.stat().st_size
    for requirement in dist.requires or []:
        if "extra ==" in requirement and "tracer" not in requirement:
            continue
        size += _distribution_size(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0], seen)
    return size


def layer_size(root: Path = PROJECT_ROOT) -> tuple[int, str]:
    built = root / ".aws-sam" / "build" / "PodcidrLayer"
    if built.is_dir():
        return _tree_size(built), f"built ({built.relative_to(root)})"
    size = _tree_size(root / "layers")
    requirements = (root / "layers" / "requirements.txt").read_text().splitlines()
    seen: set[str] = {"boto3", "botocore"}  # the Lambda runtime brings them
    for line in requirements:
        line = line.split("#", 1)[0].strip()
        if line:
            size += _distribution_size(re.split(r"[\s;<>=!~\[]", line, maxsplit=1)[0], seen)
    return size, "not built: layers/ + installed requirements (this platform's wheels)"


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


MEMORY_HEADROOM = 2.5
"""MemorySize is at least this many times the large rehearsal's Max Memory Used: the twin's pods are
smaller than real ones (no managedFields, one container), and clusters grow."""


def _headroom(memory_size_mb: int, used: int) -> str:
    ratio = memory_size_mb * 2**20 / used if used else float("inf")  # Lambda counts MB as MiB
    return f"{ratio:.1f}x" + ("" if ratio >= MEMORY_HEADROOM else f" (< {MEMORY_HEADROOM}x: raise MemorySize)")


def _large_cluster(console: Console, template: Template, functions: dict[str, FunctionSpec]) -> dict[str, Any]:
    """One full rehearsal of the large scenario, invocations measured; its figures per function."""
    scenario = load_scenario(LARGE_SCENARIO)
    twin = Twin(scenario, template=template)
    twin.lambdas.measure_memory = True
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
    table = Table(title="functions in the large-cluster rehearsal (each container a process, as on Lambda)")
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


def run(console: Console, repeat: int = 1, large: bool = True) -> dict[str, Any]:
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

    functions = template.functions(Account(scenario.region, "123456789012"))
    imported = {spec.name: import_figures(spec) for spec in functions.values()}
    if large:
        figures["large cluster"] = _large_cluster(console, template, functions)

    imports = Table(title="handler import time in a fresh interpreter")
    imports.add_column("function")
    imports.add_column("handler")
    imports.add_column("import s", justify="right")
    for spec in functions.values():
        seconds = imported[spec.name][0]
        figures.setdefault("imports", {})[spec.name] = seconds
        imports.add_row(spec.name, f"{spec.code_uri.relative_to(PROJECT_ROOT)}/{spec.handler}", f"{seconds:.2f}")
    console.print(imports)

    size, how = layer_size()
    figures["layer"] = {"bytes": size, "how": how}
    console.print(f"layer PodcidrLayer: {_mib(size)} ({how})")
    return figures


def main(argv: list[str] | None = None) -> int:
    args = argparse.ArgumentParser(prog="python -m localcloud.bench", description=__doc__)
    args.add_argument("--repeat", type=int, default=1, help="executions per rehearsal (each on the last's twin)")
    args.add_argument("--json", type=Path, help="also write the figures as JSON")
    args.add_argument("--no-large", action="store_true", help="skip the large-cluster rehearsal (minutes)")
    options = args.parse_args(argv)
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)
    figures = run(console, repeat=max(1, options.repeat), large=not options.no_large)
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
