"""make bench's critical path without the overlap, derived from one run's timeline: the old order
would have waited, after ReplaceNodegroups, for the part of the slowest provisioning that ran during it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from localcloud.bench_overlap import critical_path
from localcloud.stepfunctions import ExecutionResult, StateVisit

START = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
OFFSET = START.timestamp() - 1000.0  # the twin's clock reads 1000 when the execution starts


def _run(replace_from: float, replace_to: float, duration: float) -> ExecutionResult:
    visit = StateVisit(
        name="ReplaceNodegroups",
        type="Map",
        path=(),
        entered=START + timedelta(seconds=replace_from),
        exited=START + timedelta(seconds=replace_to),
        outcome="succeeded",
    )
    return ExecutionResult(
        arn="arn", status="SUCCEEDED", started=START, stopped=START + timedelta(seconds=duration), visits=[visit]
    )


@pytest.mark.parametrize(
    ("created", "published", "overlapped"),
    [
        (1005.0, 1008.0, 3.0),  # provisioned during ReplaceNodegroups (10 s to 40 s): all of it saved
        (1035.0, 1050.0, 5.0),  # still provisioning when ReplaceNodegroups ended: only what ran before
    ],
)
def test_without_the_overlap_the_provisioning_that_ran_during_the_replacement_is_added(
    created: float, published: float, overlapped: float
) -> None:
    timeline = {"Ingress podcidr-alb": {"created": created, "published": published}}
    path = critical_path(_run(10, 40, 60), timeline, OFFSET)
    assert (path.withOverlap, path.replaceNodegroups) == (60, 30)
    assert path.overlapped == pytest.approx(overlapped)
    assert path.withoutOverlap == pytest.approx(60 + overlapped)


def test_no_load_balancer_no_difference() -> None:
    path = critical_path(_run(10, 40, 60), {}, OFFSET)
    assert (path.withOverlap, path.withoutOverlap, path.overlapped) == (60, 60, 0)
