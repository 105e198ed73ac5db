"""The results mutmut keeps in a mutants directory: one `<file>.meta` per mutated file, holding each mutant's
exit code (null until it has run), read into one column per mutant."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# mutmut 3.7's status_by_exit_code, folded into the columns the score prints
KILLED = {1, 3, -24, 24, 36, 152, 255}
SURVIVED = {0}
NO_TESTS = {5, 33}


def column(exit_code: int | None) -> str:
    if exit_code is None:
        return "not run"
    if exit_code in KILLED:
        return "killed"
    if exit_code in SURVIVED:
        return "survived"
    if exit_code in NO_TESTS:
        return "no tests"
    return "other"  # skipped, suspicious, segfault: see `mutmut results`


def module_of(meta: Path, mutants_dir: Path) -> str:
    """The module a meta file is about, as a path under src/ (e.g. podcidr/steps/verify_pods.py)."""
    return str(meta.relative_to(mutants_dir / "src"))[: -len(".meta")]


def exit_codes(mutants_dir: Path) -> dict[str, dict[str, int | None]]:
    """Each module's mutants and their exit codes. A meta file cut short by a stopped run is said on stderr
    and left out: mutmut rewrites it on its next run of that file."""
    modules: dict[str, dict[str, int | None]] = {}
    for meta in sorted((mutants_dir / "src").rglob("*.py.meta")):
        try:
            codes = json.loads(meta.read_text()).get("exit_code_by_key", {})
        except json.JSONDecodeError:
            print(f"{meta}: unreadable (a run was stopped while writing it); its mutants are left out", file=sys.stderr)
            continue
        if codes:
            modules[module_of(meta, mutants_dir)] = codes
    return modules
