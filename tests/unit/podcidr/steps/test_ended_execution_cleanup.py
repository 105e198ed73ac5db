"""CleanUpEndedExecution on the twin's cluster and controller: what a stopped migration left, removed
(first round only), named when it cannot go, and the access entry revoked only if that execution
created it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cluster.loadbalancers import LoadBalancerController
from podcidr.kube.client import Kube
from podcidr.models.migration import LoadBalancerCheck
from podcidr.steps.ended_execution_cleanup import Cleanup, EndedExecution, clean_up_ended_execution
from podcidr.steps.ensure_cluster_access import EXECUTION_TAG
from podcidr.steps.verify_load_balancers import LoadBalancerTask, deploy_verification_workload, verify_load_balancer
from tests.fixtures.lb_scenarios import NODE_A, NODE_B, PUBLIC_A
from tests.fixtures.twin_aws import TwinCluster, start_twin_cluster

STOPPED = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:stopped"
OTHER = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:earlier"
NAMESPACE = "podcidr-verify"


SCENARIO = {
    "vpc": {"subnets": [PUBLIC_A, NODE_A, NODE_B]},
    "cluster": {"subnets": ["node-a", "node-b"]},
}


@pytest.fixture(scope="module")
def twin() -> Iterator[TwinCluster]:
    yield from start_twin_cluster(SCENARIO)


@pytest.fixture
def controller(twin: TwinCluster) -> LoadBalancerController:
    return twin.load_balancer_controller()


def _entry(twin: TwinCluster, execution: str | None) -> None:
    """The cluster functions' access entry, as EnsureClusterAccess of `execution` creates it."""
    eks = twin.local.admin_session().client("eks")
    tags = {"podcidr:cluster": twin.cluster, **({EXECUTION_TAG: execution} if execution else {})}
    eks.create_access_entry(clusterName=twin.cluster, principalArn=twin.role_arn, type="STANDARD", tags=tags)
    eks.associate_access_policy(
        clusterName=twin.cluster,
        principalArn=twin.role_arn,
        policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
        accessScope={"type": "cluster"},
    )


def _entry_exists(twin: TwinCluster) -> bool:
    return twin.local.eks.access_entry(twin.cluster, twin.role_arn) is not None


def _drop_entry(twin: TwinCluster) -> None:
    if _entry_exists(twin):
        twin.local.admin_session().client("eks").delete_access_entry(
            clusterName=twin.cluster, principalArn=twin.role_arn
        )


def _round(twin: TwinCluster, kube: Kube, cleanup: Cleanup, now: float = 1000.0, **given: Any) -> Cleanup:
    ended = EndedExecution(
        execution_arn=STOPPED,
        status="ABORTED",
        input={"clusterName": twin.cluster, "pollSeconds": 20, **given},
        cleanup=cleanup,
    )
    return clean_up_ended_execution(
        ended,
        default_input={},
        connect=lambda _: kube,
        elbv2=twin.clients.elbv2,
        eks=twin.clients.eks,
        principal=lambda: twin.role_arn,
        now=lambda: now,
    )


def _public_nlb(twin: TwinCluster, kube: Kube, controller: LoadBalancerController) -> None:
    deploy_verification_workload(twin.migration(execution_arn=STOPPED), kube)
    task = LoadBalancerTask(
        cluster_name=twin.cluster,
        pod_cidr="100.64.0.0/16",
        namespace=NAMESPACE,
        poll_seconds=1,
        check=LoadBalancerCheck(kind="public-nlb", source_cidrs=["172.31.0.0/16"]),
    )
    verify_load_balancer(task, kube, twin.clients.elbv2, twin.clients.ec2)
    controller.reconcile(0.0)


def test_what_cannot_be_removed_in_time_is_named_and_the_executions_entry_revoked(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    _entry(twin, STOPPED)
    kube = twin.kube()
    _public_nlb(twin, kube, controller)
    (balancer,) = twin.local.admin_session().client("elbv2").describe_load_balancers()["LoadBalancers"]
    try:
        first = _round(twin, kube, Cleanup())
        assert (first.status, first.polls, first.max_polls) == ("removing", 1, 9)
        assert twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        # the controller has not reconciled: the Service's finalizer holds the namespace and its NLB
        last = _round(twin, kube, Cleanup(**{**first.model_dump(), "polls": 8}))
        assert last.status == "left-behind"
        assert f"namespace {NAMESPACE} (terminating)" in last.left_behind
        assert f"Service {NAMESPACE}/podcidr-public-nlb" in last.left_behind
        named = next(item for item in last.left_behind if item.startswith("load balancer"))
        assert balancer["LoadBalancerName"] in named and balancer["DNSName"] in named
        assert balancer["LoadBalancerArn"] in named and f"{NAMESPACE}/podcidr-public-nlb" in named
        assert "kubectl delete namespace podcidr-verify" in last.message
        assert last.access == "revoked" and not _entry_exists(twin)
    finally:
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_a_later_round_never_deletes_and_removal_ends_with_nothing_left(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    _entry(twin, OTHER)  # there before the stopped execution: kept
    kube = twin.kube()
    try:
        _public_nlb(twin, kube, controller)
        later = _round(twin, kube, Cleanup(status="removing", polls=1))
        assert later.status == "removing"
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        first = _round(twin, kube, Cleanup())
        controller.reconcile(1.0)
        for _ in range(50):
            if twin.store.find("v1/namespaces", NAMESPACE) is None:
                break
            controller.reconcile(1.0)
        done = _round(twin, kube, first)
        assert done.status == "removed" and done.left_behind == []
        assert done.access == "kept (not created by this execution)" and _entry_exists(twin)
    finally:
        _drop_entry(twin)


def test_kept_workloads_stay_and_a_namespace_not_the_executions_is_never_touched(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    _entry(twin, STOPPED)
    kube = twin.kube()
    try:
        deploy_verification_workload(twin.migration(execution_arn=STOPPED), kube)
        kept = _round(twin, kube, Cleanup(), verify={"keepWorkloads": True}, keepClusterAccess=True)
        assert kept.status == "kept" and kept.access == "kept (keepClusterAccess)"
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        # kept by an earlier run, then adopted by a newer one: that one's, not the stopped one's
        deploy_verification_workload(twin.migration(execution_arn=OTHER), kube)
        assert twin.store.get("v1/namespaces", NAMESPACE)["metadata"]["annotations"]["podcidr/execution"] == OTHER
        others = _round(twin, kube, Cleanup())
        assert others.status == "nothing" and OTHER in others.message
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")

        def not_ours(namespace: dict[str, Any]) -> None:
            del namespace["metadata"]["labels"]["app.kubernetes.io/managed-by"]

        twin.store.mutate("v1/namespaces", NAMESPACE, not_ours)
        untouched = _round(twin, kube, Cleanup())
        assert untouched.status == "nothing"
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
    finally:
        twin.store.delete("v1/namespaces", NAMESPACE)
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_the_migrations_own_removal_names_what_is_left_when_it_stops_waiting(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    """The success path's wait ends in a warning of the report that names what is still there."""
    from podcidr.steps.polling import wait_ceiling
    from podcidr.steps.verify_load_balancers import MAX_REMOVE_SECONDS, remove_verification_workloads

    _entry(twin, STOPPED)
    kube = twin.kube()
    try:
        _public_nlb(twin, kube, controller)
        (balancer,) = twin.local.admin_session().client("elbv2").describe_load_balancers()["LoadBalancers"]
        migration = twin.migration(execution_arn=STOPPED)
        migration.polls["RemoveVerificationWorkloads"] = wait_ceiling(MAX_REMOVE_SECONDS, migration.poll_seconds)
        removed = remove_verification_workloads(migration, kube, elbv2=twin.clients.elbv2)
        assert removed.verification.workloads == "removal-pending"
        (warning,) = removed.warnings
        assert f"Service {NAMESPACE}/podcidr-public-nlb" in warning
        assert balancer["LoadBalancerName"] in warning and balancer["LoadBalancerArn"] in warning
    finally:
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_the_loop_ends_on_time_whatever_its_rounds_cost(twin: TwinCluster, controller: LoadBalancerController) -> None:
    """An Express execution lasts 5 minutes at most: past the budget the clean-up names what is left."""
    _entry(twin, STOPPED)
    kube = twin.kube()
    try:
        _public_nlb(twin, kube, controller)
        first = _round(twin, kube, Cleanup(), now=1000.0)
        assert (first.status, first.started_at) == ("removing", 1000.0)
        assert _round(twin, kube, first.model_copy(), now=1179.0).status == "removing"
        late = _round(twin, kube, first.model_copy(), now=1180.0)
        assert late.status == "left-behind" and late.polls == 2 < late.max_polls
    finally:
        controller.reconcile(1.0)
        _drop_entry(twin)
