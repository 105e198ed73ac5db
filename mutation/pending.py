"""Prints the mutants `make mutate`'s second stage runs against the moto-backed tests: those the fast stage
(`FAST`) ran and did not kill (survived, or no fast test reaches them) and the moto stage (`MOTO`) has no result
for yet, one name a line. Patterns (mutmut's globs, e.g. 'podcidr.steps.plan*') narrow them, as
`make mutate ARGS=...` does.

`pending.py FAST MOTO [PATTERN ...]`

`pending.py --again FAST [PATTERN ...]` prints the fast stage's own survivors and "no tests" instead: mutmut
keeps a mutant's result until its function changes, so tests added to a module already selected reach the
mutants they now kill only when those are named again (`make mutate-fast-again`, which also drops mutmut's map of
tests to functions: a test seen before a function was written is never mapped to it otherwise)."""

from __future__ import annotations

import sys
from fnmatch import fnmatch
from pathlib import Path

from mutation.results import column, exit_codes


def not_killed(fast: Path, patterns: list[str]) -> list[str]:
    """The mutants the fast stage ran and did not kill (survived, or no fast test reaches them)."""
    return [
        name
        for codes in exit_codes(fast).values()
        for name, code in codes.items()
        if code is not None
        and column(code) != "killed"
        and (not patterns or any(fnmatch(name, pattern) for pattern in patterns))
    ]


def pending(fast: Path, full: Path, patterns: list[str]) -> list[str]:
    full_codes = {name: code for codes in exit_codes(full).values() for name, code in codes.items()}
    return [name for name in not_killed(fast, patterns) if full_codes.get(name) is None]


if __name__ == "__main__":
    if sys.argv[1] == "--again":
        names = not_killed(Path(sys.argv[2]), sys.argv[3:])
    else:
        names = pending(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
    print("\n".join(names))
