"""The execution graph as a picture: the definition's states and transitions, coloured by outcome
as the Step Functions console colours them (graphviz `dot` lays it out)."""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import graphviz

from localcloud.stepfunctions import ExecutionResult, StateVisit

COLOURS = {
    "succeeded": ("#d4edda", "#2e7d32"),
    "failed": ("#f8d7da", "#c62828"),
    "caught": ("#ffe0b2", "#ef6c00"),
    "retried": ("#ffe0b2", "#ef6c00"),
    "running": ("#cfe2ff", "#1565c0"),
    "aborted": ("#f8d7da", "#c62828"),
    "not reached": ("#eeeeee", "#9e9e9e"),
}
MAX_ITERATIONS_SHOWN = 12
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


class GraphError(Exception):
    pass


def _node_id(path: tuple[str, ...], name: str) -> str:
    return "/".join([*path, name])


def build_graph(definition: dict[str, Any], result: ExecutionResult | None = None, title: str = "") -> graphviz.Digraph:
    """Without a result, every Catch is drawn, one edge per source and target (bundled); with one,
    only the Catch edges an execution took, so the many never-taken ones do not hide the path."""
    outcomes = result.outcomes() if result else {}
    scopes = _scopes(definition)
    run = _Run(
        outcomes=outcomes,
        taken=_taken_transitions(result, scopes),
        iterations=_iteration_outcomes(result),
        errors=_caught_errors(result, scopes),
        executed=result is not None,
    )
    graph = graphviz.Digraph("execution", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "label": title})
    graph.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11")
    graph.attr("edge", fontname="Helvetica", fontsize="9", color="#757575")
    reached = bool(outcomes)
    graph.node("__start__", "Start", shape="circle", fillcolor="#424242", fontcolor="white", width="0.5")
    graph.node("__end__", "End", shape="doublecircle", fillcolor="#424242", fontcolor="white", width="0.4")
    _states(graph, definition, (), run)
    start = _node_id((), str(definition["StartAt"]))
    graph.edge("__start__", start, penwidth="2" if reached else "1")
    return graph


@dataclass
class _Run:
    outcomes: dict[str, str]
    taken: set[tuple[str, str]]
    """(state, next state) pairs an execution went through; (state, "") for the last state of a path."""
    iterations: dict[str, dict[int, str]]
    """Map state name -> iteration index -> outcome."""
    errors: dict[tuple[str, str], str]
    """(state, next state) of a Catch taken -> the error it caught."""
    executed: bool


def _states(graph: graphviz.Digraph, machine: dict[str, Any], path: tuple[str, ...], run: _Run) -> None:
    states: dict[str, Any] = machine.get("States") or {}
    for name, state in states.items():
        node = _node_id(path, name)
        kind = str(state.get("Type", "?"))
        outcome = run.outcomes.get(name, "not reached")
        fill, line = COLOURS.get(outcome, COLOURS["not reached"])
        label = f"{name}\n{kind}" + (f" · {outcome}" if outcome != "not reached" else "")
        graph.node(node, label, fillcolor=fill, color=line, penwidth="2" if outcome != "not reached" else "1")
        if kind == "Map":
            inner = (*path, name)
            branch = state.get("ItemProcessor") or state.get("Iterator") or {}
            with graph.subgraph(name=f"cluster_{_node_id(inner, '')}") as cluster:
                cluster.attr(label=f"{name} (iteration)", style="rounded,dashed", color=line)
                cluster.attr(fontname="Helvetica", fontsize="10")
                _iterations(cluster, inner, run.iterations.get(name, {}))
                _states(cluster, branch, inner, run)
            if branch.get("StartAt"):
                graph.edge(node, _node_id(inner, str(branch["StartAt"])), style="dotted", arrowhead="none")
        elif kind == "Parallel":
            for index, branch in enumerate(state.get("Branches") or []):
                inner = (*path, f"{name}#{index}")
                verdict = _branch_outcome(branch, run.outcomes)
                bfill, bline = COLOURS.get(verdict, COLOURS["not reached"])
                with graph.subgraph(name=f"cluster_{_node_id(inner, '')}") as cluster:
                    suffix = f" · {verdict}" if verdict != "not reached" else ""
                    cluster.attr(label=f"{name} (branch {index + 1}){suffix}", style="rounded,filled,dashed")
                    cluster.attr(color=bline, fillcolor=_paler(bfill), fontname="Helvetica", fontsize="10")
                    _states(cluster, branch, inner, run)
                if branch.get("StartAt"):
                    graph.edge(node, _node_id(inner, str(branch["StartAt"])), style="dotted", arrowhead="none")

        def edge(
            target: str | None, label: str = "", style: str = "solid", bold: bool = False, source: str = node
        ) -> None:
            head = "__end__" if target is None else _node_id(path, target)
            graph.edge(
                source,
                head,
                label=label,
                style=style,
                penwidth="2" if bold else "1",
                color="#424242" if bold else "#9e9e9e",
            )

        if path and (state.get("End") or kind in {"Succeed", "Fail"}):
            continue  # inside a Map or Parallel: the branch ends; no edge to the machine's End
        if "Next" in state:
            edge(str(state["Next"]), bold=(name, str(state["Next"])) in run.taken)
        for choice in state.get("Choices") or []:
            if "Next" in choice:
                edge(str(choice["Next"]), _condition(choice), bold=(name, str(choice["Next"])) in run.taken)
        if "Default" in state:
            edge(str(state["Default"]), "default", bold=(name, str(state["Default"])) in run.taken)
        _catches(state, name, run, edge)
        if state.get("End") or kind in {"Succeed", "Fail"}:
            edge(None, bold=(name, "") in run.taken)


def _catches(state: dict[str, Any], name: str, run: _Run, edge: Any) -> None:
    by_target: dict[str, list[str]] = {}
    for catch in state.get("Catch") or []:
        by_target.setdefault(str(catch["Next"]), []).extend(catch.get("ErrorEquals") or [])
    for target, errors in by_target.items():
        caught = run.errors.get((name, target))
        if caught is not None:
            edge(target, f"caught {caught}", style="dashed", bold=True)
        elif not run.executed:
            edge(target, _catch_label(errors), style="dashed")


def _iterations(cluster: graphviz.Digraph, inner: tuple[str, ...], iterations: dict[int, str]) -> None:
    """One small box per iteration, coloured by its outcome, in a row at the top of the Map's box."""
    if not iterations:
        return
    shown = sorted(iterations)[:MAX_ITERATIONS_SHOWN]
    with cluster.subgraph() as row:
        row.attr(rank="same")
        for index in shown:
            fill, line = COLOURS.get(iterations[index], COLOURS["not reached"])
            row.node(
                _node_id(inner, f"[{index}]"),
                f"#{index} {iterations[index]}",
                fillcolor=fill,
                color=line,
                fontsize="9",
                height="0.2",
                margin="0.05,0.02",
            )
        hidden = len(iterations) - len(shown)
        if hidden:
            counts = Counter(iterations[index] for index in sorted(iterations)[MAX_ITERATIONS_SHOWN:])
            summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
            row.node(_node_id(inner, "[more]"), f"+{hidden} more: {summary}", fontsize="9", fillcolor="#ffffff")
    for left, right in itertools.pairwise(shown):
        cluster.edge(_node_id(inner, f"[{left}]"), _node_id(inner, f"[{right}]"), style="invis")


def _branch_outcome(branch: dict[str, Any], outcomes: dict[str, str]) -> str:
    """A Parallel branch's outcome from its states' (state names are unique in a whole machine)."""
    seen = {outcomes[name] for name in _all_state_names(branch) if name in outcomes}
    for verdict in ("failed", "aborted", "running"):
        if verdict in seen:
            return verdict
    return "succeeded" if seen else "not reached"


def _all_state_names(machine: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for name, state in (machine.get("States") or {}).items():
        names.append(name)
        for nested in [state.get("ItemProcessor") or state.get("Iterator") or {}, *(state.get("Branches") or [])]:
            names.extend(_all_state_names(nested))
    return names


def _paler(colour: str) -> str:
    return "#ffffff" if colour == COLOURS["not reached"][0] else colour + "66"


def _catch_label(errors: list[str]) -> str:
    shown = ", ".join(errors[:3])
    return f"catch {shown}" + (f" +{len(errors) - 3} more" if len(errors) > 3 else "")


def _condition(choice: dict[str, Any]) -> str:
    for key, value in choice.items():
        if key not in {"Next", "Variable", "Condition"}:
            return f"{str(choice.get('Variable', '')).removeprefix('$.')} {key} {value}"[:40]
    return str(choice.get("Condition", ""))[:40]


def _scopes(machine: dict[str, Any], scope: str = "") -> dict[str, str]:
    """State name -> the states list it belongs to ("" the machine's, "Both#0" a Parallel branch's)."""
    found: dict[str, str] = {}
    for name, state in (machine.get("States") or {}).items():
        found[name] = scope
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            found.update(_scopes(processor, name))
        for index, branch in enumerate(state.get("Branches") or []):
            found.update(_scopes(branch, f"{name}#{index}"))
    return found


def _paths(result: ExecutionResult | None, scopes: dict[str, str]) -> list[list[StateVisit]]:
    """The visits of each sequence of states run one after another: a Map iteration, a Parallel
    branch (whose visits the history interleaves with its siblings'), the machine's own states."""
    if result is None:
        return []
    by_path: dict[tuple[tuple[str, ...], str], list[StateVisit]] = {}
    for visit in sorted(result.visits, key=lambda v: v.entered):
        by_path.setdefault((visit.path, scopes.get(visit.name, "")), []).append(visit)
    return list(by_path.values())


def _taken_transitions(result: ExecutionResult | None, scopes: dict[str, str]) -> set[tuple[str, str]]:
    taken: set[tuple[str, str]] = set()
    for visits in _paths(result, scopes):
        taken.update((a.name, b.name) for a, b in itertools.pairwise(visits))
        if visits:
            taken.add((visits[-1].name, ""))
    return taken


def _caught_errors(result: ExecutionResult | None, scopes: dict[str, str]) -> dict[tuple[str, str], str]:
    caught: dict[tuple[str, str], str] = {}
    for visits in _paths(result, scopes):
        for a, b in itertools.pairwise(visits):
            if a.outcome == "caught" and a.errors:
                caught[(a.name, b.name)] = a.errors[-1][0]
    return caught


_ITERATION_STATUS = {
    "MapIterationStarted": "running",
    "MapIterationSucceeded": "succeeded",
    "MapIterationFailed": "failed",
    "MapIterationAborted": "aborted",
}


def _iteration_outcomes(result: ExecutionResult | None) -> dict[str, dict[int, str]]:
    """Map state -> iteration index -> outcome, from the history's MapIteration events or, without
    them, from the visits made inside each iteration. A nested Map's iterations of the same index
    in different outer iterations share a box: the worse outcome shows."""
    if result is None:
        return {}
    found: dict[str, dict[int, str]] = {}

    def record(name: str, index: int, outcome: str) -> None:
        current = found.setdefault(name, {}).get(index)
        if current is None or current == "running" or _RANK[outcome] > _RANK[current]:
            found[name][index] = outcome

    for event in result.events:
        status = _ITERATION_STATUS.get(str(event.get("type")))
        if status is None:
            continue
        key = str(event["type"])[0].lower() + str(event["type"])[1:] + "EventDetails"
        details = event.get(key) or {}
        if "name" in details and "index" in details:
            record(str(details["name"]), int(details["index"]), status)
    if found:
        return found
    for visit in result.visits:
        if not visit.path:
            continue
        match = re.fullmatch(r"(.+)\[(\d+)\]", visit.path[-1])
        if match:
            outcome = visit.outcome if visit.outcome in {"failed", "aborted", "running"} else "succeeded"
            record(match.group(1), int(match.group(2)), outcome)
    return found


_RANK = {"succeeded": 1, "running": 2, "aborted": 3, "failed": 4}


def write_graph(path: Path, definition: dict[str, Any], result: ExecutionResult | None, title: str = "") -> None:
    """Render to PNG, SVG or PDF (by the file's extension), or DOT source for .dot/.gv."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise GraphError(f"--graph {path}: use a .png, .svg, .pdf or .dot file")
    graph = build_graph(definition, result, title)
    try:
        data = graph.source.encode() if fmt == "dot" else graph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphError("graphviz's `dot` is not installed (apt-get install graphviz); no picture written") from None
    path.write_bytes(data)
