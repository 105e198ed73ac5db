"""Three small clusters migrated at once by the FleetStateMachine with 10% of the workflow's AWS calls
throttled (the small variant of `make bench ARGS="--fleet 20 --throttle 0.1"`): all succeed, nothing
is created twice, no lock is left or fought over."""

from __future__ import annotations

import pytest

from localcloud.fleet_bench import run_fleet

pytestmark = pytest.mark.rehearsal


def test_three_clusters_at_once_through_throttling() -> None:
    figures = run_fleet(3, 0.1)
    assert (figures.status, figures.succeeded, figures.failed) == ("SUCCEEDED", 3, 0), figures.errors
    assert figures.throttledCalls > 0  # the seeded 10% did fire
    assert figures.duplicates == [] and figures.locksLeft == 0
