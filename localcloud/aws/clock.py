"""Timed states: transitions due at a time, applied lazily.

Every request to the endpoint and every accessor the twin offers calls `tick()` first, which
applies the transitions that are due (associating -> associated, CREATING -> ACTIVE, ...), in
order. No background thread: what nobody looks at does not need to change.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable


class Clock:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._ticking = False

    @staticmethod
    def now() -> float:
        return time.monotonic()

    @property
    def lock(self) -> threading.RLock:
        """Held while transitions run; hold it to read or change timed state consistently."""
        return self._lock

    def after(self, seconds: float, action: Callable[[], None]) -> None:
        """Run `action` on the first tick `seconds` from now (at once on the next tick if 0)."""
        with self._lock:
            heapq.heappush(self._due, (self.now() + max(0.0, seconds), next(self._seq), action))

    def tick(self) -> None:
        with self._lock:
            if self._ticking:
                return
            self._ticking = True
            try:
                now = self.now()
                while self._due and self._due[0][0] <= now:
                    _, _, action = heapq.heappop(self._due)
                    action()
            finally:
                self._ticking = False

    def pending(self) -> int:
        with self._lock:
            return len(self._due)

    def next_due_in(self) -> float | None:
        """Seconds until the next transition, or None when nothing is pending."""
        with self._lock:
            return max(0.0, self._due[0][0] - self.now()) if self._due else None
