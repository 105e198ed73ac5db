"""One twin per test module (moto is process-global: one LocalAws live at a time)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud.aws.server import LocalAws, TwinSession
from localcloud.scenario import parse_scenario

FAST_TIMING = {
    "cidrAssociate": 0.3,
    "addonUpdate": 0.3,
    "nodegroupCreate": 0.3,
    "nodegroupDelete": 0.3,
    "clusterCreate": 0.3,
}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(parse_scenario({"timing": FAST_TIMING})) as twin:
        yield twin


@pytest.fixture(scope="module")
def workflow(aws: LocalAws) -> TwinSession:
    """A session with an assumed role's credentials, as the runner gives each function."""
    iam = aws.admin_session().client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    arn = iam.create_role(RoleName="podcidr-step", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    return aws.workflow_session(arn)


class FrozenClock:
    """The twin's clock held still, so a test sees a timed state for as long as it likes (a loaded
    machine can otherwise sleep through a 0.3 s state), then moved on on purpose."""

    def __init__(self, start: float) -> None:
        self.time = start

    def now(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def frozen(aws: LocalAws, monkeypatch: pytest.MonkeyPatch) -> FrozenClock:
    clock = FrozenClock(aws.clock.now())
    monkeypatch.setattr(aws.clock, "now", clock.now)
    return clock


def wait_for(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
