"""Prints the mutation score of `make mutate` from the results mutmut keeps in .mutation/mutants/
(one `<file>.meta` per mutated file: each mutant's exit code, null until it has run).

Per module and in total: killed (a test failed, or the mutant hung past mutmut's timeout), survived (every
selected test that reaches it passed), no tests (no selected test calls the mutated function), not run.
The score is killed / (killed + survived): the mutants a selected test ran against. "No tests" is counted
apart: those functions are only reached by tests outside the selection (the twin's), or by none."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

# mutmut 3.7's status_by_exit_code, folded into the columns printed here
KILLED = {1, 3, -24, 24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}
COLUMNS = ("mutants", "killed", "survived", "no tests", "not run", "other")


def _column(exit_code: int | None) -> str:
    if exit_code is None:
        return "not run"
    if exit_code in KILLED:
        return "killed"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in NO_TESTS:
        return "no tests"
    return "other"  # skipped, suspicious, segfault: see `mutmut results`


def tally(mutants_dir: Path) -> dict[str, Counter[str]]:
    """Counts per module (path under src/, e.g. podcidr/steps/verify_pods.py)."""
    modules: dict[str, Counter[str]] = {}
    for meta in sorted((mutants_dir / "src").rglob("*.py.meta")):
        codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        if not codes:
            continue
        counts: Counter[str] = Counter(_column(code) for code in codes.values())
        counts["mutants"] = len(codes)
        modules[str(meta.relative_to(mutants_dir / "src"))[: -len(".meta")]] = counts
    return modules


def score(counts: Counter[str]) -> str:
    ran = counts["killed"] + counts["survived"]
    return f"{100 * counts['killed'] / ran:.1f}%" if ran else "-"


def main(mutants_dir: str) -> int:
    modules = tally(Path(mutants_dir))
    if not modules:
        print(f"no mutmut results under {mutants_dir}")
        return 1
    width = max(len(name) for name in modules)
    print(f"{'module':<{width}}  " + "  ".join(f"{c:>8}" for c in COLUMNS) + "     score")
    total: Counter[str] = Counter()
    for name, counts in modules.items():
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
    sys.exit(main(sys.argv[1]))
