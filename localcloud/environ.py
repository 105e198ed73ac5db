"""Each Lambda invocation's environment variables, seen by its own thread only.

The twin runs every function in this process, one invocation at a time, in the thread serving the
Invoke request. Writing a function's variables into the process environment and taking them out
again raced the threads that read it meanwhile (the Step Functions interpreter creating clients,
moto): urllib's proxy lookup and `os.environ.copy()` list the keys, then read each, and failed
with KeyError on a variable removed in between. So `os.environ` becomes, for the process, a mapping
that shows an invoking thread its function's variables over the process's own, and every other
thread the process's own only, as separate Lambda containers would.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Overlay:
    values: dict[str, str]
    hidden: set[str] = field(default_factory=set)
    """Process variables this thread does not see (the host's that a Lambda function would not)."""


class ThreadEnviron(MutableMapping[str, str]):
    """os.environ with a per-thread overlay; without one, the process environment itself."""

    def __init__(self, process: MutableMapping[str, str]) -> None:
        self.process = process
        self._local = threading.local()

    def _overlay(self) -> _Overlay | None:
        overlay: _Overlay | None = getattr(self._local, "overlay", None)
        return overlay

    @contextmanager
    def overlay(self, variables: Mapping[str, str], hidden: Iterable[str] = ()) -> Iterator[None]:
        """While inside, this thread sees `variables` and not `hidden`; writes stay in the overlay."""
        previous = self._overlay()
        self._local.overlay = _Overlay(dict(variables), set(hidden) - set(variables))
        try:
            yield
        finally:
            self._local.overlay = previous

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None:
            if key in overlay.values:
                return overlay.values[key]
            if key in overlay.hidden:
                raise KeyError(key)
        return self.process[key]

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            self.process[key] = value
        else:
            overlay.values[key] = value
            overlay.hidden.discard(key)

    def __delitem__(self, key: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            del self.process[key]
            return
        if key not in self:
            raise KeyError(key)
        overlay.values.pop(key, None)
        overlay.hidden.add(key)

    def __iter__(self) -> Iterator[str]:
        keys = list(self.process)
        overlay = self._overlay()
        if overlay is None:
            return iter(keys)
        shown = [k for k in keys if k not in overlay.hidden and k not in overlay.values]
        return iter([*shown, *overlay.values])

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        """As os.environ.copy(): a plain dict of what this thread sees."""
        return dict(self)


def thread_environ() -> ThreadEnviron:
    """The process's ThreadEnviron, installed as os.environ on first use."""
    current = os.environ
    if isinstance(current, ThreadEnviron):
        return current
    installed = ThreadEnviron(current)
    os.environ = installed  # type: ignore[assignment]  # noqa: B003 - replaced, not cleared; os.getenv reads it
    return installed
