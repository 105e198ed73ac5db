"""The wait loops' check ceilings (podcidr.steps.polling)."""

from __future__ import annotations

from podcidr.steps.polling import POLLS_PER_WAIT, wait_ceiling


def test_enough_checks_for_the_time_ceiling() -> None:
    assert wait_ceiling(10 * 60, 30) == 20
    assert wait_ceiling(10 * 60, 7) == 86  # rounded up: 85.7 checks would stop short of 10 minutes


def test_never_more_than_the_history_budget_allows() -> None:
    assert POLLS_PER_WAIT == 90
    assert wait_ceiling(45 * 60, 1) == 90


def test_at_least_ten_checks_unless_told_otherwise() -> None:
    assert wait_ceiling(10 * 60, 300) == 10  # 2 checks would cover the time: the floor is 10
    assert wait_ceiling(10 * 60, 300, minimum=3) == 3
