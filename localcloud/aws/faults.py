"""Faults on request (the scenario's `faults`): an operation fails `times` times, either
`before` it acts (nothing happens) or `after` it acted (the change is made, the response is lost
and the error is returned instead).

The AWS endpoint applies them to workflow calls only (see LocalAws); the cluster twin applies
`kubernetes:<verb> <Kind>` faults itself through `take`. Thread-safe.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

from localcloud.scenario import FaultSpec


@dataclass(frozen=True)
class Fault:
    operation: str
    when: Literal["before", "after"]
    error: str
    message: str

    @property
    def before(self) -> bool:
        return self.when == "before"


def _normalise(operation: str) -> str:
    service, _, name = operation.partition(":")
    if service == "kubernetes":
        return f"kubernetes:{' '.join(name.lower().split(' ', 1)[:1] + name.split(' ', 1)[1:])}"
    return operation


@dataclass
class _Pending:
    spec: FaultSpec
    left: int


class Faults:
    def __init__(self, specs: list[FaultSpec] | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self.fired: list[Fault] = []
        for spec in specs or []:
            self.add(spec)

    def add(self, spec: FaultSpec) -> None:
        with self._lock:
            self._pending.append(_Pending(spec, spec.times))

    def take(self, operation: str) -> Fault | None:
        """The fault to apply to this call of `operation` (ec2:CreateSubnet, kubernetes:patch
        DaemonSet), if one is left; each call takes one of its `times`."""
        wanted = _normalise(operation)
        with self._lock:
            for item in self._pending:
                spec = item.spec
                if item.left > 0 and _normalise(spec.operation) == wanted:
                    item.left -= 1
                    fault = Fault(
                        operation=spec.operation,
                        when=spec.when,
                        error=spec.error,
                        message=spec.message or f"Injected fault ({spec.when}) on {spec.operation}: {spec.error}",
                    )
                    self.fired.append(fault)
                    return fault
        return None

    def remaining(self) -> dict[str, int]:
        with self._lock:
            out: dict[str, int] = {}
            for item in self._pending:
                out[item.spec.operation] = out.get(item.spec.operation, 0) + item.left
            return out
