"""Showing an execution's progress: a live table on a terminal, plain lines otherwise (CI logs)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Protocol

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from localcloud.stepfunctions import ExecutionResult, ProgressEvent, StateVisit

SYMBOLS = {"running": "…", "succeeded": "✓", "caught": "↷", "failed": "✗", "aborted": "✗", "retrying": "↻"}
STYLES = {"running": "cyan", "succeeded": "green", "caught": "dark_orange", "failed": "red", "aborted": "red"}


class Display(Protocol):
    def begin(self, number: int, total: int, execution_input: object) -> None: ...

    def event(self, event: ProgressEvent) -> None: ...

    def end(self, result: ExecutionResult) -> None: ...


def _short(text: str | None, limit: int = 160) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def readable_cause(cause: str | None) -> str:
    """A Lambda error's Cause is its JSON payload: show the errorMessage."""
    if cause:
        try:
            payload = json.loads(cause)
        except ValueError:
            return cause
        if isinstance(payload, dict) and "errorMessage" in payload:
            return str(payload["errorMessage"])
    return cause or ""


class PlainDisplay:
    """One line per happening, with the time since the execution started: readable in CI logs."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self._started = time.monotonic()

    def _line(self, text: str) -> None:
        self.stream.write(f"  +{time.monotonic() - self._started:6.1f}s  {text}\n")
        self.stream.flush()

    def begin(self, number: int, total: int, execution_input: object) -> None:
        self._started = time.monotonic()
        self.stream.write(f"execution {number}/{total}: input {json.dumps(execution_input)}\n")

    def event(self, event: ProgressEvent) -> None:
        visit = event.visit
        if visit is None:
            return
        if event.kind == "entered":
            self._line(f"{visit.label}: entered ({visit.type})")
        elif event.kind == "attempt-failed":
            cause = _short(readable_cause(event.detail.get("cause")))
            attempt = event.detail.get("attempt") or max(1, visit.attempts)
            self._line(f"{visit.label}: attempt {attempt} failed: {event.detail.get('error')}: {cause}")
        elif event.kind == "retried":
            self._line(f"{visit.label}: retrying (attempt {event.detail.get('attempt', visit.attempts)})")
        elif event.kind == "exited":
            retries = f", {visit.retries} retr{'y' if visit.retries == 1 else 'ies'}" if visit.retries else ""
            self._line(f"{visit.label}: {visit.outcome} in {visit.elapsed():.1f}s{retries}")

    def end(self, result: ExecutionResult) -> None:
        pass


@dataclass
class _Row:
    label: str
    type: str
    visits: list[StateVisit] = field(default_factory=list)
    retrying: bool = False


class LiveDisplay:
    """A table of the states, refreshed live (rich): status, elapsed time, visits, retries, errors."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self._rows: dict[str, _Row] = {}
        self._live: Live | None = None
        self._title = ""
        self._status = "RUNNING"

    def begin(self, number: int, total: int, execution_input: object) -> None:
        self._rows = {}
        self._status = "RUNNING"
        self._title = f"execution {number}/{total}  input {_short(json.dumps(execution_input), 100)}"
        self._live = Live(get_renderable=self._render, console=self.console, refresh_per_second=4)
        self._live.start()

    def event(self, event: ProgressEvent) -> None:
        visit = event.visit
        if visit is None:
            return
        row = self._rows.setdefault(visit.label, _Row(visit.label, visit.type))
        if event.kind == "entered":
            row.visits.append(visit)
        row.retrying = event.kind == "attempt-failed"

    def end(self, result: ExecutionResult) -> None:
        self._status = result.status
        if self._live is not None:
            self._live.refresh()
            self._live.stop()
            self._live = None

    def _render(self) -> Group:
        now = datetime.now(UTC)
        table = Table(title=self._title, title_justify="left", expand=False)
        for column in ("", "state", "type", "elapsed", "visits", "retries", "error"):
            table.add_column(column, no_wrap=column != "error")
        for row in self._rows.values():
            last = row.visits[-1] if row.visits else None
            outcome = (
                "retrying" if row.retrying and last and last.outcome == "running" else (last.outcome if last else "")
            )
            elapsed = sum(v.elapsed(now) for v in row.visits)
            retries = sum(v.retries for v in row.visits)
            errors = [e for v in row.visits for e in v.errors]
            error = f"{errors[-1][0]}: {_short(readable_cause(errors[-1][1]), 80)}" if errors else ""
            style = STYLES.get(outcome, "yellow")
            table.add_row(
                Text(SYMBOLS.get(outcome, "?"), style=style),
                Text(row.label, style=style),
                row.type,
                f"{elapsed:.1f}s",
                str(len(row.visits)),
                str(retries or ""),
                Text(error, style="red" if outcome == "failed" else "dark_orange"),
            )
        status = Text(f"status: {self._status}", style=STYLES.get(self._status.lower(), "cyan"))
        return Group(table, status)
