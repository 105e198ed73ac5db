"""A migration stopped while DeployVerificationWorkload is still running: on AWS the stop does not cancel the
invocation, so the test namespace and its load balancers are made after the execution ended. ExecutionEnded's
clean-up sees the call in flight in the history (scheduled, started, never ended), waits until it must have
ended (late_calls.py) and removes what it made: no test namespace, no test load balancer afterwards."""

from __future__ import annotations

import time
from typing import Any

import pytest

from localcloud.cluster.cluster_twin import ClusterTwin
from tests.triggers.conftest import triggers_of, wait_until

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"
NAMESPACE = "podcidr-verify"
FUNCTION = "DeployVerificationWorkloadFunction"
DELAY = 6
"""DeployVerificationWorkload starts this long after it is invoked: the stop lands meanwhile."""
LONGEST, MARGIN = 15, 5
"""The clean-up's wait for late calls, shortened for the test (120 + 25 s on AWS): the delayed call ends well
within it, as every call does within the functions' timeout on AWS."""


def _cluster(twin: Any) -> ClusterTwin:
    return next(component for component in twin.components if isinstance(component, ClusterTwin))


def _load_balancers(twin: Any) -> list[str]:
    elbv2 = twin.aws.admin_session().client("elbv2", endpoint_url=twin.endpoint_url)
    return [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]]


def test_what_a_call_in_flight_at_the_stop_creates_afterwards_is_removed_by_the_clean_up(
    twin_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from podcidr.steps import ended_execution_cleanup

    monkeypatch.setattr(ended_execution_cleanup, "LONGEST_STEP_SECONDS", LONGEST)
    monkeypatch.setattr(ended_execution_cleanup, "CLOCK_MARGIN_SECONDS", MARGIN)
    twin = twin_factory(
        {
            "timing": {"loadBalancer": 1, "targetRegistration": 1},
            "faults": [{"operation": f"lambda:InvokeFunction {FUNCTION}", "delay": DELAY}],
        }
    )
    triggers = triggers_of(twin)
    store = _cluster(twin).store
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    assert twin.runner is not None
    arn = twin.runner.start({"clusterName": CLUSTER}, name="stopped-in-flight")
    deploy = wait_until(
        lambda: next((i for i in twin.lambdas.invocations if i.function.endswith(FUNCTION)), None), timeout=240
    )
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped while the workload was being deployed")
    stopped = time.monotonic()
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    assert store.find("v1/namespaces", NAMESPACE) is None and deploy.duration == 0.0  # still in flight

    # the invocation runs on and makes the namespace after the stop
    wait_until(lambda: store.find("v1/namespaces", NAMESPACE) is not None, timeout=30, interval=0.05)
    # this execution's (an ExecutionEnded of an earlier test in the process may still publish)
    notification = wait_until(
        lambda: [n for n in triggers.notifications() if n["message"]["execution"] == arn], timeout=120
    )[0]["message"]
    assert time.monotonic() - stopped >= LONGEST + MARGIN - 1  # the clean-up waited the late call out
    assert deploy.duration >= DELAY and deploy.error_type is None
    assert notification["outcome"] == "ABORTED"
    assert notification["cleanup"].startswith(f"the test namespace {NAMESPACE} and its load balancers are removed")
    assert store.find("v1/namespaces", NAMESPACE) is None
    assert _load_balancers(twin) == []
    assert triggers.locks() == []
