"""History -> progress events, the two displays, and the graph's source (no server needed)."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from localcloud.graph import build_graph
from localcloud.progress import LiveDisplay, PlainDisplay
from localcloud.stepfunctions import ExecutionResult, HistoryReader, StateVisit, load_definition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HARNESS_ASL = Path(__file__).parent / "fixtures" / "harness" / "statemachine" / "harness.asl.yaml"


def _history() -> list[dict[str, Any]]:
    rows: list[tuple[int, int, str, dict[str, Any]]] = [
        (1, 0, "ExecutionStarted", {}),
        (2, 0, "TaskStateEntered", {"stateEnteredEventDetails": {"name": "Flaky"}}),
        (3, 2, "LambdaFunctionScheduled", {}),
        (
            4,
            3,
            "LambdaFunctionFailed",
            {"lambdaFunctionFailedEventDetails": {"error": "TransientAwsError", "cause": "{}"}},
        ),
        (5, 4, "LambdaFunctionScheduled", {}),
        (6, 5, "LambdaFunctionSucceeded", {}),
        (7, 6, "TaskStateExited", {"stateExitedEventDetails": {"name": "Flaky"}}),
        (8, 7, "MapStateEntered", {"stateEnteredEventDetails": {"name": "Items"}}),
        (9, 8, "MapStateStarted", {}),
        (10, 9, "MapIterationStarted", {"mapIterationStartedEventDetails": {"name": "Items", "index": 0}}),
        (11, 10, "TaskStateEntered", {"stateEnteredEventDetails": {"name": "Echo"}}),
        (12, 11, "TaskStateExited", {"stateExitedEventDetails": {"name": "Echo"}}),
        (13, 12, "MapIterationSucceeded", {"mapIterationSucceededEventDetails": {"name": "Items", "index": 0}}),
        (14, 13, "MapStateExited", {"stateExitedEventDetails": {"name": "Items"}}),
        (15, 14, "TaskStateEntered", {"stateEnteredEventDetails": {"name": "Check"}}),
        (16, 15, "LambdaFunctionScheduled", {}),
        (17, 16, "LambdaFunctionFailed", {"lambdaFunctionFailedEventDetails": {"error": "Unexpected", "cause": "x"}}),
        (18, 17, "ExecutionFailed", {}),
    ]
    return [
        {"id": i, "previousEventId": p, "type": t, "timestamp": T0 + timedelta(seconds=i), **d} for i, p, t, d in rows
    ]


def test_a_failed_iteration_whose_map_end_names_an_event_inside_it_still_ends_the_map() -> None:
    """moto's MapStateFailed names the failed iteration's last event as its previous one: the Map's
    end and the states after its Catch are still outside the iteration."""
    rows: list[tuple[int, int, str, dict[str, Any]]] = [
        (1, 0, "ExecutionStarted", {}),
        (2, 1, "MapStateEntered", {"stateEnteredEventDetails": {"name": "Items"}}),
        (3, 2, "MapStateStarted", {}),
        (4, 3, "MapIterationStarted", {"mapIterationStartedEventDetails": {"name": "Items", "index": 0}}),
        (5, 4, "TaskStateEntered", {"stateEnteredEventDetails": {"name": "Child"}}),
        (6, 5, "TaskFailed", {"taskFailedEventDetails": {"error": "States.TaskFailed", "cause": "{}"}}),
        (7, 6, "MapIterationFailed", {"mapIterationFailedEventDetails": {"name": "Items", "index": 0}}),
        (8, 6, "MapStateFailed", {}),
        (9, 8, "MapStateExited", {"stateExitedEventDetails": {"name": "Items"}}),
        (10, 9, "PassStateEntered", {"stateEnteredEventDetails": {"name": "Recover"}}),
        (11, 10, "PassStateExited", {"stateExitedEventDetails": {"name": "Recover"}}),
        (12, 11, "ExecutionSucceeded", {}),
    ]
    reader = HistoryReader()
    for i, p, t, d in rows:
        list(reader.read({"id": i, "previousEventId": p, "type": t, "timestamp": T0 + timedelta(seconds=i), **d}))
    paths = {visit.name: (visit.path, visit.outcome) for visit in reader.visits}
    assert paths == {"Items": ((), "caught"), "Child": (("Items[0]",), "failed"), "Recover": ((), "succeeded")}


def test_history_reader_turns_events_into_visits() -> None:
    reader = HistoryReader()
    events = [event for raw in _history() for event in reader.read(raw)]
    kinds = [(e.kind, e.visit.label if e.visit else None) for e in events if e.kind != "iteration"]
    assert kinds == [
        ("entered", "Flaky"),
        ("attempt-failed", "Flaky"),
        ("retried", "Flaky"),
        ("exited", "Flaky"),
        ("entered", "Items"),
        ("entered", "Items[0]/Echo"),
        ("exited", "Items[0]/Echo"),
        ("exited", "Items"),
        ("entered", "Check"),
        ("attempt-failed", "Check"),
        ("exited", "Check"),
    ]
    result = ExecutionResult(arn="x", status="FAILED", visits=reader.visits)
    assert result.outcomes() == {"Flaky": "retried", "Items": "succeeded", "Echo": "succeeded", "Check": "failed"}
    assert result.transitions == 5
    flaky = reader.visits[0]
    assert (flaky.attempts, flaky.retries, flaky.elapsed()) == (2, 1, 5.0)

    plain = io.StringIO()
    display = PlainDisplay(plain)
    display.begin(1, 1, {"clusterName": "c"})
    for event in events:
        display.event(event)
    text = plain.getvalue()
    assert "Flaky: attempt 1 failed: TransientAwsError" in text
    assert "Flaky: retrying (attempt 2)" in text and "Check: failed in 3.0s" in text

    drawn = io.StringIO()  # not a terminal: rich draws the table once, when the display ends
    live = LiveDisplay(Console(file=drawn, force_terminal=False, no_color=True, width=120))
    live.begin(1, 1, {"clusterName": "c"})
    for event in events:
        live.event(event)
    live.end(result)
    lines = drawn.getvalue().splitlines()
    assert lines[0].strip() == 'execution 1/1  input {"clusterName": "c"}'
    rows = [[cell.strip() for cell in line.strip("│").split("│")] for line in lines if line.startswith("│")]
    assert rows == [
        ["✓", "Flaky", "Task", "5.0s", "1", "1", "TransientAwsError: {}"],
        ["✓", "Items", "Map", "6.0s", "1", "", ""],
        ["✓", "Items[0]/Echo", "Task", "1.0s", "1", "", ""],
        ["✗", "Check", "Task", "3.0s", "1", "", "Unexpected: x"],
    ]
    assert lines[-1] == "status: FAILED"


def test_graph_has_every_state_map_cluster_and_colours() -> None:
    definition = load_definition(
        HARNESS_ASL, {"FlakyFunctionArn": "a", "CheckFunctionArn": "b", "EchoFunctionName": "c", "TableName": "t"}
    )
    reader = HistoryReader()
    for raw in _history():
        list(reader.read(raw))
    source = build_graph(definition, ExecutionResult(arn="x", status="FAILED", visits=reader.visits)).source
    assert "cluster_Items/" in source
    for state in ("Flaky", "Items", "Items/Echo", "Check", "Explain", "Failed"):
        assert f'"{state}"' in source or f"\t{state} " in source
    assert "#ffe0b2" in source  # Flaky retried: orange
    assert "#f8d7da" in source  # Check failed: red
    assert "#eeeeee" in source  # Explain not reached: grey
    nodes, _, _ = _dot(source)
    assert nodes["Items/[0]"]["fillcolor"] == "#d4edda", "the one iteration, from its visits: succeeded"


# --- the graph's structure: DOT source read back into nodes, edges and clusters -----------------

_ID = r'"(?:[^"\\]|\\.)*"|[\w]+'


def _attrs(text: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(rf"(\w+)=({_ID}|[^\s\]]+)", text)}


def _dot(
    source: str,
) -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], list[dict[str, str]]], dict[str, dict[str, str]]]:
    nodes: dict[str, dict[str, str]] = {}
    edges: dict[tuple[str, str], list[dict[str, str]]] = {}
    clusters: dict[str, dict[str, str]] = {}
    current: list[str] = []
    source = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: m.group(0).replace("\n", " "), source)  # one-line labels
    for line in source.splitlines():
        line = line.strip()
        if opening := re.fullmatch(rf"subgraph ({_ID}) {{", line):
            current.append(opening.group(1).strip('"'))
            clusters[current[-1]] = {}
        elif line == "}" and current:
            current.pop()
        elif edge := re.fullmatch(rf"({_ID}) -> ({_ID})(?: \[(.*)\])?", line):
            key = (edge.group(1).strip('"'), edge.group(2).strip('"'))
            edges.setdefault(key, []).append(_attrs(edge.group(3) or ""))
        elif node := re.fullmatch(rf"({_ID}) \[(.*)\]", line):
            nodes[node.group(1).strip('"')] = _attrs(node.group(2))
        elif current and re.match(r"\w+=", line):
            clusters[current[-1]].update(_attrs(line))
    return nodes, edges, clusters


_MACHINE: dict[str, Any] = {
    "StartAt": "Work",
    "States": {
        "Work": {
            "Type": "Task",
            "Resource": "arn:aws:states:::lambda:invoke",
            "Next": "Items",
            "Catch": [
                {"ErrorEquals": ["Throttled"], "Next": "Handle"},
                {"ErrorEquals": ["States.ALL"], "Next": "Handle"},
            ],
        },
        "Items": {
            "Type": "Map",
            "ItemProcessor": {"StartAt": "Echo", "States": {"Echo": {"Type": "Task", "Resource": "x", "End": True}}},
            "Next": "Both",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Recover"}],
        },
        "Recover": {"Type": "Pass", "Next": "Both"},
        "Both": {
            "Type": "Parallel",
            "Branches": [
                {"StartAt": "Left", "States": {"Left": {"Type": "Pass", "End": True}}},
                {"StartAt": "Right", "States": {"Right": {"Type": "Task", "Resource": "x", "End": True}}},
            ],
            "Next": "Done",
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handle"}],
        },
        "Handle": {"Type": "Pass", "Next": "Failed"},
        "Failed": {"Type": "Fail"},
        "Done": {"Type": "Succeed"},
    },
}


def _visit(name: str, second: int, outcome: str, path: tuple[str, ...] = (), error: str = "") -> StateVisit:
    visit = StateVisit(name=name, type="Task", path=path, entered=T0 + timedelta(seconds=second), outcome=outcome)
    visit.errors = [(error, "")] if error else []
    return visit


def _iteration(second: int, kind: str, index: int) -> dict[str, Any]:
    details = {"name": "Items", "index": index}
    return {"id": second, "type": kind, "timestamp": T0, kind[0].lower() + kind[1:] + "EventDetails": details}


def test_graph_colours_map_iterations_and_parallel_branches_by_outcome_and_draws_only_taken_catches() -> None:
    visits = [
        _visit("Work", 1, "succeeded"),
        _visit("Items", 2, "caught", error="States.TaskFailed"),
        _visit("Echo", 3, "succeeded", ("Items[0]",)),
        _visit("Echo", 4, "failed", ("Items[1]",), error="Boom"),
        _visit("Recover", 5, "succeeded"),
        _visit("Both", 6, "caught", error="States.TaskFailed"),
        _visit("Left", 7, "succeeded"),
        _visit("Right", 8, "failed", error="Boom"),
        _visit("Handle", 9, "succeeded"),
        _visit("Failed", 10, "failed"),
    ]
    events = [
        _iteration(3, "MapIterationStarted", 0),
        _iteration(4, "MapIterationStarted", 1),
        _iteration(5, "MapIterationSucceeded", 0),
        _iteration(6, "MapIterationFailed", 1),
    ]
    result = ExecutionResult(arn="x", status="FAILED", visits=visits, events=events)
    nodes, edges, clusters = _dot(build_graph(_MACHINE, result).source)

    green, red, orange, grey = "#d4edda", "#f8d7da", "#ffe0b2", "#eeeeee"
    assert nodes["Items/[0]"]["fillcolor"] == green and "succeeded" in nodes["Items/[0]"]["label"]
    assert nodes["Items/[1]"]["fillcolor"] == red and "failed" in nodes["Items/[1]"]["label"]
    assert (nodes["Items"]["fillcolor"], nodes["Both"]["fillcolor"], nodes["Done"]["fillcolor"]) == (
        orange,
        orange,
        grey,
    )
    left, right = clusters["cluster_Both#0/"], clusters["cluster_Both#1/"]
    assert left["color"] == "#2e7d32" and left["fillcolor"].startswith(green) and "succeeded" in left["label"]
    assert right["color"] == "#c62828" and right["fillcolor"].startswith(red) and "failed" in right["label"]

    # Catches: only the two taken are drawn, labelled with what they caught; Work's never-taken
    # catches (two entries into Handle) are not drawn at all.
    assert [e["label"] for e in edges[("Items", "Recover")]] == ["caught States.TaskFailed"]
    assert [e["label"] for e in edges[("Both", "Handle")]] == ["caught States.TaskFailed"]
    assert edges[("Items", "Recover")][0]["penwidth"] == "2"
    assert ("Work", "Handle") not in edges
    assert edges[("Work", "Items")][0]["penwidth"] == "2" and edges[("Both", "Done")][0]["penwidth"] == "1"


def test_graph_without_an_execution_bundles_each_states_catches_into_one_edge_per_target() -> None:
    nodes, edges, _ = _dot(build_graph(_MACHINE).source)
    assert [e["label"] for e in edges[("Work", "Handle")]] == ["catch Throttled, States.ALL"]
    assert len(edges[("Items", "Recover")]) == 1 and len(edges[("Both", "Handle")]) == 1
    assert not [node for node in nodes if "[" in node], "no iteration boxes without an execution"
