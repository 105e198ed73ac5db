"""Faults on request (the scenario's `faults`): an operation fails `times` times, or a `rate`
fraction of its calls (drawn from a generator seeded with the fault's `seed`, so a run is
reproducible), either `before` it acts (nothing happens) or `after` it acted (the change is made,
the response is lost and the error is returned instead). `service:*` matches every call of a
service and `*` every AWS call; neither matches Kubernetes calls nor Step Functions' own calls.

The AWS endpoint applies them to workflow calls only (see LocalAws); the cluster twin applies
`kubernetes:<verb> <Kind>` faults itself through `take`. Thread-safe.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Literal

from localcloud.scenario import FaultSpec


@dataclass(frozen=True)
class Fault:
    operation: str
    when: Literal["before", "after"]
    error: str
    message: str
    delay: float | None = None
    """Seconds the call is slowed by instead of failing (`lambda:InvokeFunction <function>` faults)."""

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
    left: int | None
    """Faults still to fire (None: no limit)."""
    draws: random.Random = field(default_factory=random.Random)

    def matches(self, operation: str, *, workflow: bool, cluster: str | None) -> bool:
        if self.spec.cluster is not None and self.spec.cluster != cluster:
            return False
        pattern = _normalise(self.spec.operation)
        if pattern == "*":
            return workflow and not operation.startswith("kubernetes:")
        if pattern.endswith(":*"):
            return workflow and operation.startswith(pattern[:-1])
        return pattern == operation

    def fires(self) -> bool:
        if self.left is not None and self.left <= 0:
            return False
        rate = self.spec.rate
        return rate is None or self.draws.random() < rate


class Faults:
    def __init__(self, specs: list[FaultSpec] | None = None) -> None:
        self._lock = threading.Lock()
        self._pending: list[_Pending] = []
        self.fired: list[Fault] = []
        for spec in specs or []:
            self.add(spec)

    def add(self, spec: FaultSpec) -> None:
        with self._lock:
            self._pending.append(_Pending(spec, spec.limit, random.Random(spec.seed)))

    def take(
        self, operation: str, *, workflow: bool = True, cluster: str | None = None, when: str | None = None
    ) -> Fault | None:
        """The fault to apply to this call of `operation` (ec2:CreateSubnet, kubernetes:patch
        DaemonSet), if one fires; each firing takes one of its `times`. `workflow`: a call made
        with a stack role's credentials (wildcards match only those); `cluster`: the cluster the
        call is about (a fault given a cluster matches only its calls); `when`: only faults applied then."""
        wanted = _normalise(operation)
        with self._lock:
            for item in self._pending:
                if when is not None and item.spec.when != when:
                    continue
                if not item.matches(wanted, workflow=workflow, cluster=cluster) or not item.fires():
                    continue
                spec = item.spec
                if item.left is not None:
                    item.left -= 1
                name = wanted if "*" in spec.operation else spec.operation
                fault = Fault(
                    operation=name,
                    when=spec.when,
                    error=spec.error,
                    message=spec.message or f"Injected fault ({spec.when}) on {name}: {spec.error}",
                    delay=spec.delay,
                )
                self.fired.append(fault)
                return fault
        return None

    def remaining(self) -> dict[str, int]:
        """Faults left to fire by operation (unlimited rate faults are not counted)."""
        with self._lock:
            out: dict[str, int] = {}
            for item in self._pending:
                out[item.spec.operation] = out.get(item.spec.operation, 0) + (item.left or 0)
            return out
