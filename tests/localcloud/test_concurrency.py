"""Lambda invocations run at the same time on the twin, as on AWS (issue #10.4): a Map's iterations
up to its MaxConcurrency, so a race between two iterations shows; and the calls Step Functions
makes itself can be faulted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.scenario import FaultSpec, load_scenario
from localcloud.template import Template
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

RACE = Path(__file__).parent / "fixtures" / "race" / "template.yaml"


@pytest.fixture(scope="module")
def race_twin() -> Iterator[Twin]:
    with Twin(load_scenario(), template=Template.load(RACE), components=[]) as running:
        yield running


def _race(twin: Twin, max_concurrency: int) -> tuple[str, str | None, str | None]:
    vpc_id = twin.aws.built.vpc_id
    twin.aws.admin_session().client("ec2").delete_tags(Resources=[vpc_id], Tags=[{"Key": "tally"}])
    result = twin.execute({"vpcId": vpc_id, "items": [1, 2], "maxConcurrency": max_concurrency}, poll=0.1)
    return result.status, result.error, result.cause


def test_a_race_between_two_map_iterations_that_sequential_invocations_hide(race_twin: Twin) -> None:
    """The planted defect: two iterations read-modify-write one count. Run one at a time (as the
    twin ran every invocation before, and as MaxConcurrency 1 runs them) the count is right; run
    together, as a Map without MaxConcurrency runs them on AWS, an update is lost and the check fails."""
    assert _race(race_twin, 1) == ("SUCCEEDED", None, None)
    assert race_twin.lambdas.concurrency()["maxConcurrent"] == 1

    status, error, cause = _race(race_twin, 0)
    assert (status, error) == ("FAILED", "LostUpdate"), cause
    assert "tally is 1, expected 2" in (cause or "")
    assert race_twin.lambdas.concurrency()["maxConcurrent"] == 2


def test_state_reports_invocations_and_the_most_at_once(race_twin: Twin) -> None:
    before = race_twin.lambdas.concurrency()["invocations"]
    _race(race_twin, 1)
    lambdas = race_twin.state()["lambdas"]
    assert lambdas["invocations"] == before + 3  # two iterations and the check
    assert lambdas["maxConcurrent"] >= 1


def test_step_functions_own_lambda_invoke_can_be_throttled(race_twin: Twin) -> None:
    """A `lambda:Invoke` fault hits the call the interpreter makes: the Task fails with
    Lambda.TooManyRequestsException (a Retry on that name takes it) and the function never runs."""
    race_twin.aws.faults.add(
        FaultSpec(operation="lambda:Invoke", when="before", times=1, error="TooManyRequestsException")
    )
    before = race_twin.lambdas.concurrency()["invocations"]
    result = race_twin.execute({"vpcId": race_twin.aws.built.vpc_id, "items": [], "maxConcurrency": 0}, poll=0.1)
    assert (result.status, result.error) == ("FAILED", "Lambda.TooManyRequestsException"), result.cause
    assert race_twin.lambdas.concurrency()["invocations"] == before
    assert race_twin.aws.faults.remaining()["lambda:Invoke"] == 0
