"""Prints the mutation score of `make mutate` (or `make mutate-fast`) from the results mutmut keeps.

`score.py FAST` reads one run's results: `make mutate-fast`'s. `score.py FAST MOTO` combines `make mutate`'s two
stages: a mutant the fast stage killed is killed; any other takes its result in the moto stage ("not run" until
that stage has run it), except that one no moto-backed test reaches keeps its fast result (survived, or no tests).

Per module and in total: killed (a test failed, or the mutant hung past mutmut's timeout), survived (every
selected test that reaches it passed), no tests (no selected test calls the mutated function), not run.
The score is killed / (killed + survived): the mutants a selected test ran against. "No tests" is counted
apart: those functions are only reached by tests outside the selection (the twin's), or by none."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from mutation.results import column, exit_codes

COLUMNS = ("mutants", "killed", "survived", "no tests", "not run", "other")


def combined(fast: str, full: str | None) -> dict[str, dict[str, str]]:
    """Each module's mutants and their column."""
    fast_codes = exit_codes(Path(fast))
    full_codes = exit_codes(Path(full)) if full else {}
    modules: dict[str, dict[str, str]] = {}
    for module, codes in fast_codes.items():
        later = full_codes.get(module, {})
        modules[module] = {}
        for name, code in codes.items():
            modules[module][name] = column(code) if full is None else _both(column(code), column(later.get(name)))
    return modules


def _both(fast: str, moto: str) -> str:
    """A mutant's column over both stages: the moto stage ran only what the fast stage left, so a fast kill
    stands, and a mutant no moto-backed test reaches keeps what the fast tests made of it."""
    if fast == "killed":
        return "killed"
    if moto == "no tests":
        return fast
    return moto


def score(counts: Counter[str]) -> str:
    ran = counts["killed"] + counts["survived"]
    return f"{100 * counts['killed'] / ran:.1f}%" if ran else "-"


def main(fast: str, full: str | None = None) -> int:
    modules = combined(fast, full)
    if not modules:
        print(f"no mutmut results under {fast}")
        return 1
    width = max(len(name) for name in modules)
    print(f"{'module':<{width}}  " + "  ".join(f"{c:>8}" for c in COLUMNS) + "     score")
    total: Counter[str] = Counter()
    for name, columns in modules.items():
        counts = Counter(columns.values())
        counts["mutants"] = len(columns)
        total.update(counts)
        print(f"{name:<{width}}  " + "  ".join(f"{counts[c]:>8}" for c in COLUMNS) + f"  {score(counts):>8}")
    print(f"{'total':<{width}}  " + "  ".join(f"{total[c]:>8}" for c in COLUMNS) + f"  {score(total):>8}")
    ran = total["killed"] + total["survived"]
    print(
        f"mutation score: {score(total)} ({total['killed']} killed of {ran} mutants a selected test ran against); "
        f"no tests: {total['no tests']} (no selected test reaches them); not run: {total['not run']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
