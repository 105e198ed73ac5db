"""How often a wait loop may check before its step gives up: the execution history's budget.

A Standard execution's history holds at most 25,000 events (AWS-FACTS 5), and each round of a wait
loop (Task, Choice, Wait) writes about 9 of them, up to 24 with every retry of the Task used. Each
step's wait has a time ceiling (seconds); at a small `pollSeconds` that ceiling would be thousands of
checks. So a wait also stops after POLLS_PER_WAIT checks, whichever comes first: with the migration's
seven wait loops, its other states and MAX_NODEGROUPS child executions, the worst case fits in the
history (tests/statemachine/test_history_budget.py computes it from the definitions). At the default
pollSeconds of 30 (anything from KEEPS_TIME_CEILINGS up) the time ceilings are the ones reached first.
"""

from __future__ import annotations

import math

POLLS_PER_WAIT = 90
"""The most checks any wait loop makes (each of the migration's and each nodegroup replacement's)."""
MAX_NODEGROUPS = 100
"""The most nodegroups one execution replaces (one child execution each, a few events each here)."""
LONGEST_WAIT_SECONDS = 45 * 60
"""The longest time ceiling of any wait (a nodegroup's creation, or the old one's deletion)."""
KEEPS_TIME_CEILINGS = math.ceil(LONGEST_WAIT_SECONDS / POLLS_PER_WAIT)
"""The smallest pollSeconds at which every wait can last its full time ceiling."""


def wait_ceiling(seconds: int, poll_seconds: int, minimum: int = 10) -> int:
    """Checks a wait loop makes before its step gives up: enough for `seconds` at `poll_seconds`
    apart (at least `minimum`), never more than POLLS_PER_WAIT."""
    return min(POLLS_PER_WAIT, max(minimum, math.ceil(seconds / max(1, poll_seconds))))
