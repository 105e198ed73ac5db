"""The lock mark's times: the context object's format, so that they compare as strings as they do as times."""

from __future__ import annotations

import time

import pytest

from podcidr.steps.cleanup_mark import covers, epoch, iso, next_mark


def test_marks_are_context_object_times_that_compare_as_strings_as_times_do() -> None:
    assert iso(1_764_520_800.5) == "2025-11-30T16:40:00.500Z"
    assert iso(1_764_520_800) == "2025-11-30T16:40:00.000Z"
    moments = [1_764_520_799.999, 1_764_520_800.0, 1_764_520_800.001, 1_764_520_860.0]
    assert sorted(iso(m) for m in moments) == [iso(m) for m in moments]
    assert epoch(iso(1_764_520_800.25)) == 1_764_520_800.25


def test_a_mark_never_outlives_the_express_execution_and_covers_a_whole_round() -> None:
    assert epoch(next_mark(1000.0, 20, None)) == 1080.0
    assert epoch(next_mark(1000.0, 20, iso(900.0))) == 1080.0
    assert epoch(next_mark(1000.0, 20, iso(750.0))) == 1050.0
    assert covers(iso(1040.0), 1000.0) and not covers(iso(1039.999), 1000.0) and not covers(None, 0)


def test_marks_are_utc_whatever_the_functions_local_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Singapore")
    time.tzset()
    try:
        assert iso(1_764_520_800.5) == "2025-11-30T16:40:00.500Z"
    finally:
        monkeypatch.undo()
        time.tzset()
