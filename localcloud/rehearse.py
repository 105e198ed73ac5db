"""`python -m localcloud rehearse`: run whole executions on a fresh twin (DESIGN.md "The rehearse command");
`python -m localcloud up`: the twin as a sandbox (localcloud.sandbox).

Exit codes: 0 the (last) execution succeeded, 1 it failed (error name and cause printed),
2 a usage or scenario error (bad option, unreadable or invalid scenario or input file).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from rich.console import Console

from localcloud import sandbox
from localcloud.graph import FORMATS, GraphError, write_graph
from localcloud.progress import Display, LiveDisplay, PlainDisplay, readable_cause
from localcloud.scenario import Scenario, ScenarioError, load_scenario
from localcloud.stepfunctions import ExecutionResult
from localcloud.template import Template, TemplateError
from localcloud.twin import Twin

EXIT_SUCCEEDED, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
REHEARSAL_POLL_SECONDS = 1


class UsageError(Exception):
    """Exit 2: what the user gave cannot be used."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse exits 2 itself; keep it, but through main()
        raise UsageError(f"{self.prog}: {message}")


def parser() -> argparse.ArgumentParser:
    root = _Parser(prog="python -m localcloud", description="The local twin of podcidr.")
    commands = root.add_subparsers(dest="command", required=True, parser_class=_Parser)
    rehearse = commands.add_parser(
        "rehearse",
        help="run the state machine on a fresh twin",
        description="Build a fresh twin from the scenario and run one execution (or --repeat N) on it.",
    )
    rehearse.add_argument("--scenario", type=Path, help="scenario YAML (default: the seed's topology)")
    rehearse.add_argument("--input", type=Path, help="execution input JSON (default: the scenario's cluster)")
    rehearse.add_argument("--repeat", type=_positive, default=1, metavar="N", help="N executions in a row")
    rehearse.add_argument("--report", type=Path, help="write the (last) execution's output here")
    rehearse.add_argument("--state", type=Path, help="write the twin's final state (with `calls`) here")
    rehearse.add_argument("--graph", type=Path, help="draw the (last) execution graph (.png, .svg, .pdf, .dot)")
    rehearse.add_argument("--template", type=Path, help=argparse.SUPPRESS)  # the twin's own tests
    rehearse.add_argument("--plain", action="store_true", help="plain progress lines even on a terminal")
    sandbox.add_parser(commands)
    return root


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def read_input(path: Path | None, scenario: Scenario) -> Any:
    """The execution input: the file's JSON, or the scenario's cluster; pollSeconds 1 unless given."""
    if path is None:
        document: Any = {"clusterName": scenario.cluster.name}
    else:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except OSError as error:
            raise UsageError(f"--input {path}: cannot read it ({error.strerror})") from None
        except ValueError as error:
            raise UsageError(f"--input {path}: not valid JSON ({error})") from None
    if isinstance(document, dict) and "pollSeconds" not in document:
        document = {**document, "pollSeconds": REHEARSAL_POLL_SECONDS}
    return document


@dataclass
class Rehearsal:
    """What a rehearsal did, for the command's output and for `make bench`."""

    results: list[ExecutionResult] = field(default_factory=list)
    lambda_invocations: list[int] = field(default_factory=list)
    calls: list[tuple[int, int]] = field(default_factory=list)
    """(mutating, read) AWS calls of each execution, from the ledger."""
    state: dict[str, Any] = field(default_factory=dict)
    definition: dict[str, Any] = field(default_factory=dict)


def rehearse(
    scenario: Scenario,
    execution_input: Any,
    *,
    repeat: int = 1,
    template: Template | None = None,
    display: Display | None = None,
    twin: Twin | None = None,
) -> Rehearsal:
    """Run `repeat` executions on a fresh twin (or the one given, started), each where the last left it."""
    rehearsal = Rehearsal()
    owned = twin is None
    twin = twin or Twin(scenario, template=template)
    if owned:
        twin.start()
    try:
        assert twin.runner is not None
        rehearsal.definition = twin.runner.definition
        for number in range(1, repeat + 1):
            invoked = len(twin.lambdas.invocations)
            if display:
                display.begin(number, repeat, execution_input)
            result: ExecutionResult | None = None
            for item in twin.follow(execution_input):
                if isinstance(item, ExecutionResult):
                    result = item
                elif display:
                    display.event(item)
            assert result is not None
            if display:
                display.end(result)
            entries = twin.aws.ledger.entries(twin.executions)
            mutating = sum(1 for entry in entries if entry.mutating)
            rehearsal.results.append(result)
            rehearsal.lambda_invocations.append(len(twin.lambdas.invocations) - invoked)
            rehearsal.calls.append((mutating, len(entries) - mutating))
        rehearsal.state = twin.state()
    finally:
        if owned:
            twin.stop()
    return rehearsal


def _quiet_libraries() -> None:
    for name in ("moto", "werkzeug", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _write(path: Path, document: Any) -> None:
    try:
        path.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror}") from None


def main(argv: list[str] | None = None, *, stdout: IO[str] | None = None, stderr: IO[str] | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    try:
        args = parser().parse_args(argv)
    except UsageError as error:
        err.write(f"{error}\n")
        return EXIT_USAGE
    except SystemExit as leaving:  # --help
        return int(leaving.code or 0)
    _quiet_libraries()
    if args.command == "up":
        return _up(args, out, err)
    try:
        scenario = load_scenario(args.scenario)
        execution_input = read_input(args.input, scenario)
        template = Template.load(args.template) if args.template else Template.load()
        if args.graph and args.graph.suffix.lower() not in FORMATS:
            raise UsageError(f"--graph {args.graph}: use a .png, .svg, .pdf or .dot file")
        console = Console(file=out)
        display: Display = PlainDisplay(out) if args.plain or not console.is_terminal else LiveDisplay(console)
        where = f"{args.scenario}" if args.scenario else "the default scenario (the seed's topology)"
        out.write(f"rehearsal on {where}: region {scenario.region}, cluster {scenario.cluster.name}\n")
        rehearsal = rehearse(scenario, execution_input, repeat=args.repeat, template=template, display=display)
    except ScenarioError as error:
        err.write(f"scenario error: {error}\n")
        return EXIT_USAGE
    except (UsageError, TemplateError) as error:
        err.write(f"{error}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return 130

    last = rehearsal.results[-1]
    for number, result in enumerate(rehearsal.results, start=1):
        mutating, read = rehearsal.calls[number - 1]
        out.write(
            f"execution {number}: {result.status} in {result.duration:.1f}s; {result.transitions} state transitions, "
            f"{rehearsal.lambda_invocations[number - 1]} Lambda invocations, "
            f"{mutating + read} AWS calls ({mutating} mutating, {read} read)\n"
        )
    try:
        if args.report:
            _write(args.report, last.output)
        if args.state:
            _write(args.state, rehearsal.state)
        if args.graph:
            title = f"podcidr rehearsal: {last.status}" + (f" ({last.error})" if last.error else "")
            write_graph(args.graph, rehearsal.definition, last, title)
    except (UsageError, GraphError) as error:
        err.write(f"{error}\n")
        return EXIT_USAGE

    if last.succeeded:
        out.write("report:\n" + json.dumps(last.output, indent=2) + "\n")
        return EXIT_SUCCEEDED
    out.write(f"execution failed: {last.error}\n  {readable_cause(last.cause)}\n")
    return EXIT_FAILED


def _up(args: argparse.Namespace, out: IO[str], err: IO[str]) -> int:
    """`up`: exit 0 once interrupted (SIGINT/SIGTERM) and --state is written, 2 on a usage error."""
    try:
        scenario = load_scenario(args.scenario)
        execution_input = read_input(args.execute, scenario) if args.execute else None
        template = Template.load(args.template) if args.template else Template.load()
        state = sandbox.run(args, scenario, execution_input, template, out)
        if args.state:
            _write(args.state, state)
    except ScenarioError as error:
        err.write(f"scenario error: {error}\n")
        return EXIT_USAGE
    except (UsageError, TemplateError) as error:
        err.write(f"{error}\n")
        return EXIT_USAGE
    return EXIT_SUCCEEDED
