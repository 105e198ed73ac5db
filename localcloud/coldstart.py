"""Cold starts and the layer as Lambda gets it, for `make bench` (README "Cold starts and the layer").

The layer measured is the one `sam build` makes (.aws-sam/build/PodcidrLayer/python, built again
when its sources are newer). Each handler module is imported in a fresh Python 3.13 (the runtime's
version) with the function's folder and the layer on sys.path as Lambda puts /var/task and
/opt/python, in the environment Lambda gives a function with `Tracing: Active` (LAMBDA_TASK_ROOT
set, so Powertools' Tracer is on and imports the X-Ray SDK), writing no bytecode (/opt is read-only).
A bare `import boto3` from the same layer is measured the same way, in the same rounds, and each
handler's median is divided by its median.

The built layer's native code is arm64. On another machine the import times come from the same
build for this machine (layers/Makefile with LAYER_PLATFORM=host): the same files but the wheels'
compiled parts.

Times are the process's CPU time for the import: a cold start's init is CPU-bound, and a machine busy
with other work disturbs CPU time far less than wall time (which is recorded too).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.template import PROJECT_ROOT, FunctionSpec

LAYER_ID = "PodcidrLayer"
BUILT_LAYER = PROJECT_ROOT / ".aws-sam" / "build" / LAYER_ID / "python"
HOST_LAYER = PROJECT_ROOT / ".aws-sam" / "bench" / LAYER_ID / "python"
RATIO_GOAL = 1.5
LAYER_GOAL_BYTES = 60 * 1000 * 1000
BOTO3 = "import boto3"

_IMPORT = """\
import importlib.util, json, sys, time
sys.path[:0] = {path!r}
wall, cpu = time.perf_counter(), time.process_time()
{body}
print(json.dumps({{"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall}}))
"""
_HANDLER = (
    "spec = importlib.util.spec_from_file_location('handler', {source!r})\n"
    "spec.loader.exec_module(importlib.util.module_from_spec(spec))"
)


def python313() -> str | None:
    """The Lambda runtime's Python on this machine: pyenv's newest 3.13 (as the Makefile finds it; its
    shim only answers when 3.13 is selected), else python3.13 on PATH if it runs."""
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    installed = sorted(root.glob("versions/3.13*/bin/python3.13"), key=lambda p: p.parts[-3])
    for candidate in [*(str(p) for p in reversed(installed)), shutil.which("python3.13")]:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode == 0:
            return candidate
    return None


def layer_sources(root: Path = PROJECT_ROOT) -> Iterable[Path]:
    layers = root / "layers"
    yield from (layers / name for name in ("requirements.txt", "Makefile", "prune.py"))
    yield from (layers / "podcidr").rglob("*.py")


def is_stale(built: Path, root: Path = PROJECT_ROOT) -> bool:
    """No build, or one older than a source of the layer."""
    if not built.is_dir():
        return True
    made = built.stat().st_mtime
    return any(source.stat().st_mtime > made for source in layer_sources(root) if source.exists())


def ensure_built(root: Path = PROJECT_ROOT) -> Path:
    """The layer sam build makes (`make build`, run again when stale)."""
    built = root / BUILT_LAYER.relative_to(PROJECT_ROOT)
    if is_stale(built, root):
        _run(["make", "build"], cwd=root)
    return built


def importable_layer(python: str, root: Path = PROJECT_ROOT) -> tuple[Path, str]:
    """The built layer where this machine runs it (arm64), else the same build for this machine."""
    built = ensure_built(root)
    if platform.machine().lower() in ("aarch64", "arm64"):
        return built, "the built layer"
    host = root / HOST_LAYER.relative_to(PROJECT_ROOT)
    if is_stale(host, root):
        make = ["make", "-C", str(root / "layers"), f"build-{LAYER_ID}", f"ARTIFACTS_DIR={host.parent}"]
        _run([*make, "LAYER_PLATFORM=host", f"PYTHON313={python}"], cwd=root)
    return host, f"the built layer's files with this machine's ({platform.machine()}) wheels"


def _run(command: list[str], cwd: Path) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{(done.stdout + done.stderr)[-3000:]}")


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def layer_figures(built: Path) -> dict[str, Any]:
    """The unzipped size of the built layer, and its largest top-level entries."""
    largest = {entry.name: tree_bytes(entry) if entry.is_dir() else entry.stat().st_size for entry in built.iterdir()}
    top = dict(sorted(largest.items(), key=lambda item: -item[1])[:8])
    size = sum(largest.values())
    return {
        "path": str(built.relative_to(PROJECT_ROOT)) if built.is_relative_to(PROJECT_ROOT) else str(built),
        "bytes": size,
        "goalBytes": LAYER_GOAL_BYTES,
        "largest": top,
    }


def lambda_environment(spec: FunctionSpec | None, region: str) -> dict[str, str]:
    """What Lambda sets for a function with Tracing: Active (values that matter at import)."""
    task_root = str(spec.code_uri) if spec else "/var/task"
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": task_root,
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name if spec else "boto3",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size if spec else 512),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "169.254.79.129",
        "_AWS_XRAY_DAEMON_PORT": "2000",
    }
    if spec:
        env.update({k: v for k, v in spec.environment.items() if not k.startswith("AWS_")})
    return env


def import_command(python: str, layer: Path, spec: FunctionSpec | None) -> list[str]:
    if spec is None:
        code = _IMPORT.format(path=[str(layer)], body=BOTO3)
    else:
        module = spec.handler.rpartition(".")[0]
        source = spec.code_uri.joinpath(*module.split(".")).with_suffix(".py")
        code = _IMPORT.format(path=[str(spec.code_uri), str(layer)], body=_HANDLER.format(source=str(source)))
    # -I: no user site, no PYTHON* variables, no script folder; -B: Lambda's /opt is read-only.
    return [python, "-I", "-B", "-c", code]


def measure_once(python: str, layer: Path, spec: FunctionSpec | None, region: str) -> dict[str, float]:
    done = subprocess.run(
        import_command(python, layer, spec),
        capture_output=True,
        text=True,
        env=lambda_environment(spec, region),
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {spec.handler if spec else 'boto3'} failed:\n{done.stderr[-2000:]}")
    figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


@dataclass
class Runs:
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.cpu)

    def to_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "runs": self.cpu,
            "wallMedian": statistics.median(self.wall),
            "wallRuns": self.wall,
        }


def cold_starts(
    functions: dict[str, FunctionSpec], region: str, runs: int = 5, python: str | None = None
) -> dict[str, Any]:
    """Every handler's import against a bare `import boto3`, `runs` rounds (each round imports each
    once, so load on the machine falls on all alike); medians and ratios."""
    python = python or python313()
    if python is None:
        return {"error": "no python3.13 (the Lambda runtime's Python) on this machine: pyenv install 3.13"}
    layer, how = importable_layer(python)
    boto3 = Runs()
    handlers = {name: Runs() for name in functions}
    for _ in range(runs):
        for name, spec in [("boto3", None), *functions.items()]:
            measured = measure_once(python, layer, spec, region)
            target = boto3 if spec is None else handlers[name]
            target.cpu.append(measured["cpu"])
            target.wall.append(measured["wall"])
    version = subprocess.run([python, "-c", "import platform; print(platform.python_version())"], capture_output=True)
    by_function = {
        name: {"handler": f"{functions[name].code_uri.name}/{functions[name].handler}", **measured.to_json()}
        | {"ratio": measured.median / boto3.median}
        for name, measured in handlers.items()
    }
    return {
        "breakdown": breakdown(python, layer, region, runs),
        "python": version.stdout.decode().strip(),
        "layer": how,
        "layerPath": str(layer.relative_to(PROJECT_ROOT)) if layer.is_relative_to(PROJECT_ROOT) else str(layer),
        "measure": "CPU seconds of the import in a fresh interpreter",
        "runs": runs,
        "goalRatio": RATIO_GOAL,
        "boto3": boto3.to_json(),
        "functions": by_function,
        "aboveGoal": sorted(name for name, figures in by_function.items() if figures["ratio"] > RATIO_GOAL),
    }


def print_cold_starts(console: Console, cold: dict[str, Any]) -> None:
    if "error" in cold:
        console.print(f"cold starts not measured: {cold['error']}")
        return
    boto3 = cold["boto3"]
    table = Table(
        title=f"cold start: handler import in a fresh Python {cold['python']} with tracing on "
        f"(CPU s, median of {cold['runs']}), against a bare import boto3"
    )
    for column in ("function", "handler", "import s", "runs s", "wall s", "x boto3"):
        table.add_column(column, justify="left" if column in ("function", "handler") else "right")

    def row(name: str, handler: str, figures: dict[str, Any], ratio: str) -> None:
        spread = f"{min(figures['runs']):.3f}-{max(figures['runs']):.3f}"
        table.add_row(name, handler, f"{figures['median']:.3f}", spread, f"{figures['wallMedian']:.3f}", ratio)

    row("(bare)", BOTO3, boto3, "1.00")
    for name, figures in cold["functions"].items():
        mark = "" if figures["ratio"] <= cold["goalRatio"] else " !"
        row(name, figures["handler"], figures, f"{figures['ratio']:.2f}{mark}")
    table.caption = f"layer: {cold['layerPath']} ({cold['layer']}); goal at most {cold['goalRatio']} x boto3" + (
        f"; above it: {', '.join(cold['aboveGoal'])}" if cold["aboveGoal"] else ""
    )
    console.print(table)
    print_breakdown(console, cold)


BREAKDOWN: tuple[tuple[str, str], ...] = (
    ("botocore (the functions' clients; no handler imports boto3)", "import botocore.session"),
    ("pydantic and its first model", "import podcidr.models.base"),
    ("podcidr's models", "import podcidr.models.migration, podcidr.models.input"),
    ("Powertools (Logger, Metrics)", "import aws_lambda_powertools"),
    ("Tracer on (X-Ray SDK, botocore patched)", "aws_lambda_powertools.Tracer(patch_modules=('botocore',))"),
    ("kubernetes client (cluster functions)", "import kubernetes.client"),
    ("podcidr's steps", "import podcidr.steps.plan, podcidr.steps.runtime, podcidr.steps.verify_load_balancers"),
)
"""What a cold start imports, in the order a handler meets it; each step's time is what it adds to the ones before."""


def breakdown(python: str, layer: Path, region: str, runs: int) -> dict[str, dict[str, Any]]:
    """Each BREAKDOWN step's CPU time in a fresh interpreter (medians of `runs`), as a handler imports them."""
    lines = ["import json, sys, time", f"sys.path[:0] = {[str(layer)]!r}", "spent = []"]
    for _, statement in BREAKDOWN:
        lines += ["cpu = time.process_time()", statement, "spent.append(time.process_time() - cpu)"]
    lines.append("print(json.dumps(spent))")
    code = "\n".join(lines)
    measured: list[list[float]] = []
    for _ in range(runs):
        done = subprocess.run(
            [python, "-I", "-B", "-c", code],
            capture_output=True,
            text=True,
            env=lambda_environment(None, region),
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"the import breakdown failed:\n{done.stderr[-2000:]}")
        measured.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        label: {"median": statistics.median(run[index] for run in measured), "runs": [run[index] for run in measured]}
        for index, (label, _) in enumerate(BREAKDOWN)
    }


def print_breakdown(console: Console, cold: dict[str, Any]) -> None:
    steps = cold.get("breakdown")
    if not steps:
        return
    boto3 = cold["boto3"]["median"]
    table = Table(
        title="what a cold start imports, step by step (CPU s, median; each step on top of the ones above), "
        "against the bare import boto3 above"
    )
    for column in ("step", "s", "x boto3"):
        table.add_column(column, justify="left" if column == "step" else "right")
    for label, figures in steps.items():
        table.add_row(label, f"{figures['median']:.3f}", f"{figures['median'] / boto3:.2f}")
    console.print(table)
