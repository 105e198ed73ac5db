"""The ledger: every AWS and Kubernetes call the workflow makes, for `--state` (DESIGN.md).

AWS calls are recorded by the endpoint's outermost middleware for requests signed with the
credentials of an assumed IAM role (the runner assumes each function's role), never for the twin's
own admin calls nor for the Step Functions interpreter's. Kubernetes calls are recorded by the
cluster twin through `record`. Thread-safe.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

from localcloud.aws.protocol import is_mutating


@dataclass(frozen=True)
class LedgerEntry:
    execution: int
    service: str
    """ec2, eks, elasticloadbalancing, ..., or kubernetes."""
    operation: str
    """`service:Operation` (ec2:CreateSubnet) or `kubernetes:<verb> <Kind>` (kubernetes:patch DaemonSet)."""
    mutating: bool
    result: str
    """`ok` or the error code (ThrottlingException, 409 Conflict's reason, ...)."""
    caller: str | None = None
    """The assumed role's ARN (or the Kubernetes user) that made the call."""
    at: float = 0.0
    """Seconds since the twin started."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Ledger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LedgerEntry] = []
        self._started = time.monotonic()
        self.execution: int = 0
        """Set by the runner before each execution; entries carry the value current when recorded."""

    @property
    def started(self) -> float:
        """The twin's clock (time.monotonic) when the ledger started: entries' `at` count from it."""
        return self._started

    def record(
        self,
        service: str,
        operation: str,
        *,
        mutating: bool | None = None,
        result: str = "ok",
        caller: str | None = None,
    ) -> LedgerEntry:
        """Record one call. `operation` may come without its service prefix (`patch DaemonSet`);
        `mutating` defaults to what the operation's name says (see protocol.is_mutating)."""
        if not operation.startswith(f"{service}:"):
            operation = f"{service}:{operation}"
        entry = LedgerEntry(
            execution=self.execution,
            service=service,
            operation=operation,
            mutating=is_mutating(operation) if mutating is None else mutating,
            result=result,
            caller=caller,
            at=round(time.monotonic() - self._started, 3),
        )
        with self._lock:
            self._entries.append(entry)
        return entry

    def entries(self, execution: int | None = None) -> list[LedgerEntry]:
        with self._lock:
            return [e for e in self._entries if execution is None or e.execution == execution]

    def calls(self, execution: int | None = None) -> list[dict[str, Any]]:
        """The `calls` of `--state`: each entry as JSON."""
        return [e.to_json() for e in self.entries(execution)]

    def mutating_calls(self, execution: int | None = None) -> list[LedgerEntry]:
        return [e for e in self.entries(execution) if e.mutating]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
