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
from podcidr.steps.cleanup_mark import MARK_SECONDS, iso
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


def _round(
    twin: TwinCluster,
    kube: Kube,
    cleanup: Cleanup,
    now: float = 1000.0,
    *,
    in_flight: bool = False,
    holder: str | None = None,
    **given: Any,
) -> Cleanup:
    """A round as ExecutionEnded runs it: the first call plans the mark, MarkLock marks the lock, then the round
    (a later round under the mark planned for it, taken here as written on time)."""
    if cleanup.status != "pending":
        cleanup = cleanup.model_copy(update={"mark_until": iso(now + MARK_SECONDS)})
    answer = _call(twin, kube, cleanup, now, in_flight=in_flight, holder=holder, **given)
    if answer.status == "marking":
        answer = _call(twin, kube, answer, now, in_flight=in_flight, holder=holder, **given)
    return answer


def _call(
    twin: TwinCluster,
    kube: Kube,
    cleanup: Cleanup,
    now: float,
    *,
    in_flight: bool = False,
    holder: str | None = None,
    machine_started_at: str | None = None,
    **given: Any,
) -> Cleanup:
    ended = EndedExecution(
        execution_arn=STOPPED,
        status="ABORTED",
        input={"clusterName": twin.cluster, "pollSeconds": 20, **given},
        stop_date=995_000,  # 5 s before the first round
        lock={"Item": {"clusterName": {"S": twin.cluster}, "executionArn": {"S": holder}}} if holder else {},
        cleanup=cleanup,
        machine_started_at=machine_started_at,
    )
    return clean_up_ended_execution(
        ended,
        default_input={},
        connect=lambda _: kube,
        elbv2=twin.clients.elbv2,
        eks=twin.clients.eks,
        principal=lambda: twin.role_arn,
        calls_in_flight=lambda: in_flight,
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
        assert (first.status, first.polls, first.max_polls) == ("removing", 1, 7)
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


def test_every_round_deletes_what_is_still_the_executions_and_removal_ends_with_nothing_left(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    _entry(twin, OTHER)  # adopted by a newer execution: kept
    kube = twin.kube()
    try:
        _public_nlb(twin, kube, controller)
        # a later round finds it whole (a call of the stopped execution made it after the first round)
        later = _round(twin, kube, Cleanup(status="removing", polls=1, started_at=1000.0, not_before=1000.0))
        assert later.status == "removing"
        assert twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        controller.reconcile(1.0)
        for _ in range(50):
            if twin.store.find("v1/namespaces", NAMESPACE) is None:
                break
            controller.reconcile(1.0)
        done = _round(twin, kube, later)
        assert done.status == "removed" and done.left_behind == []
        assert done.access == f"kept (execution {OTHER}'s)" and _entry_exists(twin)
    finally:
        _drop_entry(twin)


def test_what_calls_still_running_after_the_stop_create_is_removed_before_the_clean_up_ends(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    """Step Functions does not cancel a Lambda in flight: DeployVerificationWorkload and
    EnsureClusterAccess of the stopped execution create the namespace and the entry after round 1."""
    kube = twin.kube()
    try:
        first = _round(twin, kube, Cleanup(), now=1000.0, in_flight=True)
        assert first.status == "removing" and first.not_before == 995.0 + 145
        assert "may still be running" in first.message and first.access == "-"
        _entry(twin, STOPPED)  # late: EnsureClusterAccess
        deploy_verification_workload(twin.migration(execution_arn=STOPPED), kube)  # late: the namespace
        second = _round(twin, kube, first.model_copy(), now=1020.0)
        assert second.status == "removing"
        assert twin.store.find("v1/namespaces", NAMESPACE) is None  # deleted (nothing held it)
        for _ in range(50):
            if twin.store.find("v1/namespaces", NAMESPACE) is None:
                break
            controller.reconcile(1.0)
        waiting = _round(twin, kube, second.model_copy(), now=1135.0)
        assert waiting.status == "removing" and _entry_exists(twin)  # not before the late calls have ended
        done = _round(twin, kube, waiting.model_copy(), now=1140.0)
        assert done.status == "removed" and done.access == "revoked" and not _entry_exists(twin)
        # nothing was in flight: done at once (here with no entry left, so nothing to read)
        at_once = _round(twin, kube, Cleanup(), now=1000.0)
        assert at_once.status == "nothing" and at_once.access == "none"
    finally:
        twin.store.delete("v1/namespaces", NAMESPACE) if twin.store.find("v1/namespaces", NAMESPACE) else None
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_the_entry_stays_while_a_newer_execution_holds_the_lock(twin: TwinCluster) -> None:
    """The entry still names the stopped execution (a late call of it re-tagged it), but a newer one
    took the lock over and uses it."""
    _entry(twin, STOPPED)
    try:
        done = _round(twin, twin.kube(), Cleanup(), holder=OTHER)
        assert done.status == "removed"
        assert done.access == f"kept (execution {OTHER} holds the cluster's lock and may use it)"
        assert _entry_exists(twin)
        own = _round(twin, twin.kube(), Cleanup(), holder=STOPPED)
        assert own.access == "revoked" and not _entry_exists(twin)
    finally:
        _drop_entry(twin)


def test_a_namespace_adopted_between_the_read_and_the_delete_stays(twin: TwinCluster) -> None:
    """The delete is conditional on what was read: a newer execution that claims the namespace
    meanwhile keeps it."""
    from podcidr.steps.ended_execution_cleanup import _namespace_remaining

    _entry(twin, OTHER)
    kube = twin.kube()
    deploy_verification_workload(twin.migration(execution_arn=STOPPED), kube)
    try:
        read_namespace = kube.core.read_namespace

        def read_then_claimed(name: str) -> Any:
            found = read_namespace(name)
            # a newer execution's DeployVerificationWorkload claims it
            kube.core.patch_namespace(name, {"metadata": {"annotations": {"podcidr/execution": OTHER}}})
            return found

        kube.core.read_namespace = read_then_claimed  # type: ignore[method-assign]
        try:
            remaining, owner = _namespace_remaining(kube, twin.cluster, STOPPED)
        finally:
            kube.core.read_namespace = read_namespace  # type: ignore[method-assign]
        assert owner == STOPPED and "changed meanwhile" in remaining[0]
        kept = twin.store.get("v1/namespaces", NAMESPACE)["metadata"]
        assert not kept.get("deletionTimestamp") and kept["annotations"]["podcidr/execution"] == OTHER
    finally:
        twin.store.delete("v1/namespaces", NAMESPACE)
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
        # marked kept, so that no later execution adopts it and revokes it at its end
        entry = twin.local.eks.access_entry(twin.cluster, twin.role_arn)
        assert entry is not None and entry.tags[EXECUTION_TAG] == "kept"
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
        assert _round(twin, kube, first.model_copy(), now=1149.0).status == "removing"
        late = _round(twin, kube, first.model_copy(), now=1150.0)
        assert late.status == "left-behind" and late.polls == 2 < late.max_polls
    finally:
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_the_late_calls_bound_covers_the_longest_migration_function_timeout() -> None:
    """A call in flight when the execution ended runs at most its function's Timeout (template.yaml)."""
    from localcloud.template import Account, Template
    from podcidr.steps.ended_execution_cleanup import WAIT_BUDGET_SECONDS
    from podcidr.steps.late_calls import CLOCK_MARGIN_SECONDS, LONGEST_STEP_SECONDS

    functions = Template.load().functions(Account(region="ap-southeast-1", account_id="123456789012"))
    longest = max(spec.timeout for spec in functions.values() if spec.logical_id != "CleanUpEndedExecutionFunction")
    assert longest <= LONGEST_STEP_SECONDS
    assert LONGEST_STEP_SECONDS + CLOCK_MARGIN_SECONDS < WAIT_BUDGET_SECONDS


def test_the_wait_loop_and_its_last_round_fit_the_express_machines_five_minutes() -> None:
    """Past the budget one more wait and one more round (its retries included) run, then the lock is
    released and the notification sent: all within an Express execution's 300 s."""
    from pathlib import Path

    import yaml

    from localcloud.template import Account, Template
    from podcidr.steps.ended_execution_cleanup import MAX_WAIT_SECONDS, WAIT_BUDGET_SECONDS

    functions = Template.load().functions(Account(region="ap-southeast-1", account_id="123456789012"))
    (function,) = (spec for spec in functions.values() if spec.logical_id == "CleanUpEndedExecutionFunction")
    machine = yaml.safe_load((Path(__file__).parents[4] / "statemachine" / "execution-ended.asl.yaml").read_text())
    task = machine["States"]["CleanUpTestWorkloads"]
    attempt = min(task.get("TimeoutSeconds", function.timeout), function.timeout + 10)
    (retry,) = task["Retry"]
    waits = sum(retry["IntervalSeconds"] * retry["BackoffRate"] ** n for n in range(retry["MaxAttempts"]))
    last_round = attempt * (1 + retry["MaxAttempts"]) + waits
    release_and_notify = 30
    assert WAIT_BUDGET_SECONDS + MAX_WAIT_SECONDS + last_round + release_and_notify < 300


def test_the_first_call_only_plans_the_mark_and_each_round_plans_the_next(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    """Nothing is touched before ExecutionEnded marked the lock: the first call plans the mark of the first
    round; a round that must look again plans the mark of the next (after its wait), never past the
    Express execution's 5 minutes."""
    from podcidr.steps.cleanup_mark import epoch

    _entry(twin, STOPPED)
    kube = twin.kube()
    try:
        _public_nlb(twin, kube, controller)
        planned = _call(twin, kube, Cleanup(), 1000.0, machine_started_at=iso(998.0))
        assert planned.status == "marking" and planned.polls == 0
        assert epoch(planned.mark_until or "") == 1000.0 + MARK_SECONDS
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        assert _entry_exists(twin)
        first = _call(twin, kube, planned.model_copy(), 1001.0, machine_started_at=iso(998.0))
        assert first.status == "removing" and first.polls == 1
        assert twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        assert epoch(first.mark_until or "") == 1001.0 + 20 + MARK_SECONDS
        near_the_end = _call(
            twin, kube, first.model_copy(update={"mark_until": iso(1100.0)}), 1050.0, machine_started_at=iso(800.0)
        )
        assert epoch(near_the_end.mark_until or "") == 800.0 + 300
    finally:
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_a_round_its_mark_no_longer_covers_touches_nothing(
    twin: TwinCluster, controller: LoadBalancerController
) -> None:
    """MarkLock retried long, or the Lambda call was retried: the round could outlive its mark and a newer
    execution could take the lock meanwhile, so it removes nothing and asks for a new mark; out of time,
    it gives up, naming that."""
    from podcidr.steps.cleanup_mark import CLOCK_MARGIN_SECONDS, FUNCTION_TIMEOUT_SECONDS, epoch

    _entry(twin, STOPPED)
    kube = twin.kube()
    try:
        deploy_verification_workload(twin.migration(execution_arn=STOPPED), kube)
        planned = _call(twin, kube, Cleanup(), 1000.0)
        last_covered = 1000.0 + MARK_SECONDS - FUNCTION_TIMEOUT_SECONDS - CLOCK_MARGIN_SECONDS
        late = last_covered + 0.5
        again = _call(twin, kube, planned.model_copy(), late)
        assert again.status == "removing" and again.polls == 0
        assert epoch(again.mark_until or "") == late + 20 + MARK_SECONDS
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        assert _entry_exists(twin)
        spent = _call(twin, kube, planned.model_copy(), 1000.0 + 150)
        assert spent.status == "left-behind" and spent.access == "not checked (out of time)"
        assert "ran out of time" in spent.message
        assert not twin.store.get("v1/namespaces", NAMESPACE)["metadata"].get("deletionTimestamp")
        assert _entry_exists(twin)
        covered = _call(twin, kube, planned.model_copy(), last_covered)
        assert covered.status in ("removing", "removed")  # covered: it runs
        left = twin.store.find("v1/namespaces", NAMESPACE)
        assert left is None or left["metadata"].get("deletionTimestamp")
    finally:
        controller.reconcile(1.0)
        _drop_entry(twin)


def test_the_mark_covers_the_rounds_timeouts_as_the_template_and_machine_set_them() -> None:
    from pathlib import Path

    import yaml

    from localcloud.template import Account, Template
    from podcidr.steps.cleanup_mark import FUNCTION_TIMEOUT_SECONDS, ROUND_TASK_TIMEOUT_SECONDS

    functions = Template.load().functions(Account(region="ap-southeast-1", account_id="123456789012"))
    (function,) = (spec for spec in functions.values() if spec.logical_id == "CleanUpEndedExecutionFunction")
    assert function.timeout == FUNCTION_TIMEOUT_SECONDS
    machine = yaml.safe_load((Path(__file__).parents[4] / "statemachine" / "execution-ended.asl.yaml").read_text())
    assert machine["States"]["CleanUpTestWorkloads"]["TimeoutSeconds"] == ROUND_TASK_TIMEOUT_SECONDS
    (retry,) = machine["States"]["MarkLock"]["Retry"]
    assert sum(retry["IntervalSeconds"] * retry["BackoffRate"] ** n for n in range(retry["MaxAttempts"])) < 10
