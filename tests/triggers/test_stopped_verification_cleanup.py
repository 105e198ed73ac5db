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
    return arn, list(built)


def test_a_migration_stopped_in_verify_load_balancers_leaves_no_test_namespace_nor_load_balancer(
    twin_factory: Any,
) -> None:
    twin = twin_factory(SLOW_LOAD_BALANCERS)
    triggers = triggers_of(twin)
    _stop_in_verification(twin, {"clusterName": CLUSTER})
    notification = wait_until(lambda: triggers.notifications(), timeout=CLEANUP_SECONDS)[0]["message"]
    assert notification["outcome"] == "ABORTED"
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
    assert notification["outcome"] == "ABORTED"
    assert "verify.keepWorkloads is set" in notification["cleanup"]
    assert "cluster access entry: kept (keepClusterAccess)" in notification["cleanup"]
    assert _cluster(twin).store.find("v1/namespaces", NAMESPACE) is not None
    assert sorted(_load_balancers(twin)) == sorted(built)
    assert triggers.locks() == []
    assert CLUSTER_ROLE in _access_entries(twin)
