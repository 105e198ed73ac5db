"""The execution graph as a picture: the definition's states and transitions, coloured by outcome
as the Step Functions console colours them (graphviz `dot` lays it out)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import graphviz

from localcloud.stepfunctions import ExecutionResult

COLOURS = {
    "succeeded": ("#d4edda", "#2e7d32"),
    "failed": ("#f8d7da", "#c62828"),
    "caught": ("#ffe0b2", "#ef6c00"),
    "retried": ("#ffe0b2", "#ef6c00"),
    "running": ("#cfe2ff", "#1565c0"),
    "aborted": ("#f8d7da", "#c62828"),
    "not reached": ("#eeeeee", "#9e9e9e"),
}
FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}


class GraphError(Exception):
    pass


def _node_id(path: tuple[str, ...], name: str) -> str:
    return "/".join([*path, name])


def build_graph(definition: dict[str, Any], result: ExecutionResult | None = None, title: str = "") -> graphviz.Digraph:
    outcomes = result.outcomes() if result else {}
    taken = _taken_transitions(result)
    graph = graphviz.Digraph("execution", graph_attr={"rankdir": "TB", "fontname": "Helvetica", "label": title})
    graph.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", fontsize="11")
    graph.attr("edge", fontname="Helvetica", fontsize="9", color="#757575")
    reached = bool(outcomes)
    graph.node("__start__", "Start", shape="circle", fillcolor="#424242", fontcolor="white", width="0.5")
    graph.node("__end__", "End", shape="doublecircle", fillcolor="#424242", fontcolor="white", width="0.4")
    _states(graph, definition, (), outcomes, taken)
    start = _node_id((), str(definition["StartAt"]))
    graph.edge("__start__", start, penwidth="2" if reached else "1")
    return graph


def _states(
    graph: graphviz.Digraph,
    machine: dict[str, Any],
    path: tuple[str, ...],
    outcomes: dict[str, str],
    taken: set[tuple[str, str]],
) -> None:
    states: dict[str, Any] = machine.get("States") or {}
    for name, state in states.items():
        node = _node_id(path, name)
        kind = str(state.get("Type", "?"))
        outcome = outcomes.get(name, "not reached")
        fill, line = COLOURS.get(outcome, COLOURS["not reached"])
        label = f"{name}\n{kind}" + (f" · {outcome}" if outcome != "not reached" else "")
        graph.node(node, label, fillcolor=fill, color=line, penwidth="2" if outcome != "not reached" else "1")
        nested = []
        if kind == "Map":
            nested = [state.get("ItemProcessor") or state.get("Iterator") or {}]
        elif kind == "Parallel":
            nested = list(state.get("Branches") or [])
        for index, branch in enumerate(nested):
            inner = (*path, name if kind == "Map" else f"{name}#{index}")
            with graph.subgraph(name=f"cluster_{_node_id(inner, '')}") as cluster:
                cluster.attr(label=f"{name} ({'iteration' if kind == 'Map' else f'branch {index + 1}'})")
                cluster.attr(style="rounded,dashed", color=line, fontname="Helvetica", fontsize="10")
                _states(cluster, branch, inner, outcomes, taken)
            if branch.get("StartAt"):
                graph.edge(node, _node_id(inner, str(branch["StartAt"])), style="dotted", arrowhead="none")

        def edge(
            target: str | None, label: str = "", style: str = "solid", source: str = node, origin: str = name
        ) -> None:
            head = "__end__" if target is None else _node_id(path, target)
            bold = (origin, target or "") in taken
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
            edge(str(state["Next"]))
        for choice in state.get("Choices") or []:
            if "Next" in choice:
                edge(str(choice["Next"]), _condition(choice))
        if "Default" in state:
            edge(str(state["Default"]), "default")
        for catch in state.get("Catch") or []:
            edge(str(catch["Next"]), _catch_label(catch.get("ErrorEquals") or []), style="dashed")
        if state.get("End") or kind in {"Succeed", "Fail"}:
            edge(None)


def _catch_label(errors: list[str]) -> str:
    shown = ", ".join(errors[:3])
    return f"catch {shown}" + (f" +{len(errors) - 3} more" if len(errors) > 3 else "")


def _condition(choice: dict[str, Any]) -> str:
    for key, value in choice.items():
        if key not in {"Next", "Variable", "Condition"}:
            return f"{str(choice.get('Variable', '')).removeprefix('$.')} {key} {value}"[:40]
    return str(choice.get("Condition", ""))[:40]


def _taken_transitions(result: ExecutionResult | None) -> set[tuple[str, str]]:
    if result is None:
        return set()
    by_path: dict[tuple[str, ...], list[str]] = {}
    for visit in sorted(result.visits, key=lambda v: v.entered):
        by_path.setdefault(visit.path, []).append(visit.name)
    taken: set[tuple[str, str]] = set()
    for names in by_path.values():
        taken.update(itertools.pairwise(names))
        if names:
            taken.add((names[-1], ""))
    return taken


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
