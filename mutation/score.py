"""Prints the mutation score of the last `mutmut run` in .mutation/ (from `mutmut export-cicd-stats`).

Score: killed (a test failed, or the mutant hung past mutmut's timeout) over the mutants that ran,
survivors and mutants no selected test reaches included."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(stats_file: str) -> int:
    stats = json.loads(Path(stats_file).read_text())
    killed = stats["killed"] + stats["timeout"]
    ran = killed + stats["survived"] + stats["no_tests"]
    not_run = stats["total"] - ran - stats["skipped"] - stats["suspicious"] - stats["segfault"]
    print(
        f"mutants: {stats['total']}  killed: {killed}  survived: {stats['survived']}  "
        f"no tests: {stats['no_tests']}  suspicious: {stats['suspicious']}  not run: {not_run}"
    )
    if ran:
        print(f"mutation score: {100 * killed / ran:.1f}% ({killed} of {ran} mutants killed)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
