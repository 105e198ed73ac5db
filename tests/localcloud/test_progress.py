"""History -> progress events, the two displays, and the graph's source (no server needed)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console

from localcloud.graph import build_graph
from localcloud.progress import LiveDisplay, PlainDisplay
from localcloud.stepfunctions import ExecutionResult, HistoryReader, load_definition

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
