"""A migration stopped while it verifies its load balancers runs none of its own clean-up states: the
ExecutionEnded machine removes the test namespace and the load balancers the controller made for it,
revokes the access entry that execution created, releases the lock and says so in the notification
(DESIGN.md steps 11 and 13)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.cluster.cluster_twin import ClusterTwin
from tests.triggers.conftest import triggers_of, wait_until

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"
CLUSTER_ROLE = "arn:aws:iam::123456789012:role/ClusterFunctionsRole"
NAMESPACE = "podcidr-verify"
SLOW_LOAD_BALANCERS = {"timing": {"loadBalancer": 600, "targetRegistration": 1}}
"""The load balancers exist at once but publish no DNS name for 10 minutes: VerifyLoadBalancers waits."""

CLEANUP_SECONDS = 300
"""The clean-up waits out a call in flight at the stop (LONGEST_STEP_SECONDS + margin) before it notifies."""


def _cluster(twin: Any) -> ClusterTwin:
    return next(component for component in twin.components if isinstance(component, ClusterTwin))


def _load_balancers(twin: Any) -> list[str]:
    elbv2 = twin.aws.admin_session().client("elbv2", endpoint_url=twin.endpoint_url)
    return [b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]]


def _access_entries(twin: Any) -> list[str]:
    eks = twin.aws.admin_session().client("eks", endpoint_url=twin.endpoint_url)
    return list(eks.list_access_entries(clusterName=CLUSTER)["accessEntries"])


def _stop_in_verification(twin: Any, execution_input: dict[str, Any]) -> tuple[str, list[str]]:
    assert twin.runner is not None
    arn = twin.runner.start(execution_input, name="stopped")
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)

    def entered() -> list[str]:
        return [
            e["stateEnteredEventDetails"]["name"]
            for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
            if "stateEnteredEventDetails" in e
        ]

    # the ALB and the public NLB are built during the replacement, the private NLB in VerifyLoadBalancers
    built = wait_until(
        lambda: "VerifyLoadBalancers" in entered() and len(_load_balancers(twin)) == 3 and _load_balancers(twin),
        timeout=240,
        interval=0.5,
    )
    assert "RemoveVerificationWorkloads" not in entered()
    assert CLUSTER_ROLE in _access_entries(twin)
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped during verification")
    described = sfn.describe_execution(executionArn=arn)
    assert described["status"] == "ABORTED", described  # not ended on its own before the stop
    return arn, list(built)


def test_a_migration_stopped_in_verify_load_balancers_leaves_no_test_namespace_nor_load_balancer(
    twin_factory: Any,
) -> None:
    twin = twin_factory(SLOW_LOAD_BALANCERS)
    triggers = triggers_of(twin)
    _stop_in_verification(twin, {"clusterName": CLUSTER})
    notification = wait_until(lambda: triggers.notifications(), timeout=CLEANUP_SECONDS)[0]["message"]
    assert notification["outcome"] == "ABORTED", notification
    assert _cluster(twin).store.find("v1/namespaces", NAMESPACE) is None
    assert _load_balancers(twin) == []
    assert triggers.locks() == []
    assert CLUSTER_ROLE not in _access_entries(twin)
    assert notification["cleanup"].startswith(f"the test namespace {NAMESPACE} and its load balancers are removed")
    assert notification["cleanup"].endswith("cluster access entry: revoked")


def test_kept_workloads_and_access_stay_after_a_stop(twin_factory: Any) -> None:
    twin = twin_factory(SLOW_LOAD_BALANCERS)
    triggers = triggers_of(twin)
    _, built = _stop_in_verification(
        twin, {"clusterName": CLUSTER, "verify": {"keepWorkloads": True}, "keepClusterAccess": True}
    )
    notification = wait_until(lambda: triggers.notifications(), timeout=CLEANUP_SECONDS)[0]["message"]
    assert notification["outcome"] == "ABORTED", notification
    assert "verify.keepWorkloads is set" in notification["cleanup"]
    assert "cluster access entry: kept (keepClusterAccess)" in notification["cleanup"]
    assert _cluster(twin).store.find("v1/namespaces", NAMESPACE) is not None
    assert sorted(_load_balancers(twin)) == sorted(built)
    assert triggers.locks() == []
    assert CLUSTER_ROLE in _access_entries(twin)


def test_a_newer_migration_started_during_the_clean_up_waits_for_its_mark_and_keeps_what_it_makes(
    twin_factory: Any,
) -> None:
    """#12: between a clean-up round's look at the lock and its deletes, a newer migration of the cluster could
    take the lock over and adopt the access entry, which the round then deleted. The round marks the lock
    first: the newer migration waits for the mark (WaitForCleanUp), then runs to success, and what it made
    (kept here: keepWorkloads, keepClusterAccess) is still there once the clean-up has ended."""
    twin = twin_factory(SLOW_LOAD_BALANCERS)
    triggers = triggers_of(twin)
    stopped, _ = _stop_in_verification(twin, {"clusterName": CLUSTER})
    wait_until(lambda: any(i.get("cleaningFor") == stopped for i in triggers.lock_items()), timeout=60)
    _cluster(twin).scenario.timing.load_balancer = 1  # the newer migration's load balancers come up at once
    assert twin.runner is not None
    newer = twin.runner.start(
        {"clusterName": CLUSTER, "verify": {"keepWorkloads": True}, "keepClusterAccess": True}, name="newer"
    )
    result = twin.runner.wait(newer)
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    states = [visit.name for visit in result.visits]
    assert "WaitForCleanUp" in states and "MigrationInProgress" not in states

    def notified(execution: str) -> list[dict[str, Any]]:
        return [n["message"] for n in triggers.notifications() if n["message"]["execution"] == execution]

    (after_stop,) = wait_until(lambda: notified(stopped), timeout=CLEANUP_SECONDS)
    assert after_stop["outcome"] == "ABORTED"
    assert after_stop["cleanup"].startswith(f"the test namespace {NAMESPACE} and its load balancers are removed")
    wait_until(lambda: notified(newer), timeout=30)
    namespace = _cluster(twin).store.find("v1/namespaces", NAMESPACE)
    assert namespace is not None and not namespace["metadata"].get("deletionTimestamp")
    assert namespace["metadata"]["annotations"]["podcidr/execution"] == newer
    assert CLUSTER_ROLE in _access_entries(twin)
    assert triggers.locks() == []
    assert [i for i in triggers.lock_items() if "cleaningFor" in i] == []
