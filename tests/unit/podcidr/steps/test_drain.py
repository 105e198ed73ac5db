"""ReplaceNodegroups' drain, one invocation at a time, over fake_kube (cordon, the Eviction API with its
budgets' refusals, terminating pods) and a fake DescribeTargetHealth. What a load balancer does meanwhile,
end to end on the twin: tests/rehearsals/test_request_probes.py; the budget of checks: test_drain_budget.py."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from podcidr.errors import ClusterAccessDenied, DrainBlocked, NodegroupReplacementFailed, TransientAwsError
from podcidr.models.input import NodeReplacementOptions
from podcidr.models.migration import DrainState, NodegroupConfig, NodegroupReplacement, WorkloadRef
from podcidr.steps import drain as drain_module
from podcidr.steps.drain import DRAIN_POLLS, drain
from podcidr.steps.replace_nodegroups import NodegroupTask
from tests.fixtures.fake_elbv2 import FakeElbv2
from tests.fixtures.fake_kube import FakeKube, node, pod

LABEL = "eks.amazonaws.com/nodegroup"
ARN = "arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/k8s-shop-web-0a1b2c/73e2d6bc24d8a067"
BINDINGS = "targetgroupbindings.elbv2.k8s.aws"
BINDING_CRD = {"metadata": {"name": BINDINGS}, "spec": {"versions": [{"name": "v1beta1", "served": True}]}}


def _task(
    nodes_at_once: int = 1, timeout: int = 900, poll_seconds: int = 30, others: tuple[str, ...] = ()
) -> NodegroupTask:
    config = NodegroupConfig(
        subnets=["subnet-1"],
        node_role="arn:aws:iam::111122223333:role/nodes",
        scaling_config={"minSize": 1, "maxSize": 3, "desiredSize": 2},
    )
    item = NodegroupReplacement(
        replaced="old-ng",
        by="old-ng-podcidr",
        config=config,
        node_replacement=NodeReplacementOptions.model_validate(
            {"nodesAtOnce": nodes_at_once, "podEvictionTimeoutSeconds": timeout}
        ),
    )
    return NodegroupTask(
        cluster_name="shop", poll_seconds=poll_seconds, nodegroup=item, replaced_nodegroups=["old-ng", *others]
    )


def _node(name: str, nodegroup: str, cordoned: bool = False) -> dict[str, Any]:
    found = node(name, "10.0.0.1", labels={LABEL: nodegroup})
    if cordoned:
        found["spec"] = {"unschedulable": True}
    return found


def _pod(
    name: str,
    node_name: str,
    ip: str | None,
    *,
    owner: str | None = "ReplicaSet",
    owner_name: str = "web-5d8f",
    ready: bool = True,
    labels: dict[str, str] | None = None,
) -> dict[str, Any]:
    found = pod(
        name, node_name, ip, namespace="shop", labels=labels if labels is not None else {"app": "web"}, owner=owner
    )
    if owner:
        found["metadata"]["ownerReferences"][0]["name"] = owner_name
    found["status"]["conditions"] = [{"type": "Ready", "status": "True" if ready else "False"}]
    return found


def _replica_set(name: str = "web-5d8f", replicas: int | None = 2, available: int | None = 2) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}},
    }
    if replicas is not None:
        spec["replicas"] = replicas
    status: dict[str, Any] = {"replicas": replicas or 0}
    if available is not None:
        status["availableReplicas"] = available
    return {"metadata": {"name": name, "namespace": "shop"}, "spec": spec, "status": status}


def _replication_controller(name: str, replicas: int, available: int) -> dict[str, Any]:
    found = _replica_set(name, replicas=replicas, available=available)
    found["spec"]["selector"] = {"app": "web"}  # a ReplicationController's selector is a plain map
    return found


def _kube(nodes: list[Any], pods: list[Any], **objects: list[Any]) -> FakeKube:
    return FakeKube(Node=nodes, Pod=pods, **objects)


def _budget_429(*messages: str) -> ApiException:
    error = ApiException(status=429, reason="Too Many Requests")
    causes = [{"reason": "DisruptionBudget", "message": m} for m in messages]
    error.body = json.dumps({"kind": "Status", "message": "Cannot evict pod", "details": {"causes": causes}})
    return error


def _refusal(status: int, message: str) -> ApiException:
    error = ApiException(status=status, reason="refused")
    error.body = json.dumps({"kind": "Status", "message": message})
    return error


def test_every_old_node_is_cordoned_once_and_the_first_node_s_pods_are_evicted() -> None:
    nodes = [
        _node("old-b", "old-ng"),
        _node("old-a", "old-ng"),
        _node("old-c", "old-ng", cordoned=True),
        _node("second-a", "second-ng"),
        _node("new-a", "old-ng-podcidr"),
    ]
    pods = [
        _pod("web-1", "old-b", "10.0.0.11"),
        _pod("web-2", "old-a", "10.0.0.12"),
        _pod("web-3", "new-a", "10.64.0.13"),
        _pod("proxy", "old-a", "10.0.0.14", owner="DaemonSet"),
    ]
    kube = _kube(nodes, pods)
    task = _task(others=("second-ng",))
    assert drain(task, kube, FakeElbv2(), "shop") is False  # type: ignore[arg-type]
    assert kube.core.writes == [
        'patch old-b {"spec": {"unschedulable": true}}',
        'patch old-a {"spec": {"unschedulable": true}}',
        'patch second-a {"spec": {"unschedulable": true}}',
        "evict shop/web-2",  # old-a first (by name); its DaemonSet pod stays
    ]
    item = task.nodegroup
    assert item.changes == 4
    assert item.draining is not None and item.drain is not None
    assert item.draining.batch == ["old-a"]
    assert item.draining.awaited == [WorkloadRef(kind="ReplicaSet", namespace="shop", name="web-5d8f", ready_before=3)]
    assert (item.drain.strategy, item.drain.nodes, item.drain.evictions) == ("drain", 3, 1)
    assert item.polls == {"drain": 1}
    assert item.draining.held == {}  # evicted: held from the next check, while it terminates


def test_nodes_at_once_takes_that_many_nodes_holding_pods() -> None:
    nodes = [_node(name, "old-ng") for name in ("old-a", "old-b", "old-c", "old-d")]
    pods = [
        _pod("web-1", "old-b", "10.0.0.11"),
        _pod("web-2", "old-c", "10.0.0.12"),
        _pod("web-3", "old-d", "10.0.0.13"),
    ]
    task = _task(nodes_at_once=2)
    assert not drain(task, _kube(nodes, pods), FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b", "old-c"]
    assert task.nodegroup.drain is not None and task.nodegroup.drain.evictions == 2


def test_no_pod_to_move_is_done_with_no_eviction() -> None:
    nodes = [_node("old-a", "old-ng", cordoned=True), _node("new-a", "old-ng-podcidr")]
    mirror = _pod("kube-proxy-old-a", "old-a", "10.0.0.2", owner=None)
    mirror["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "abc"}
    pods = [mirror, _pod("aws-node-x", "old-a", "10.0.0.3", owner="DaemonSet"), _pod("web-1", "new-a", "10.64.0.1")]
    kube = _kube(nodes, pods)
    task = _task()
    assert drain(task, kube, FakeElbv2(), "shop") is True  # type: ignore[arg-type]
    assert kube.core.writes == []
    assert task.nodegroup.changes == 0
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == []


def test_the_batch_terminating_waits_then_the_next_batch_once_the_workload_is_back() -> None:
    nodes = [_node("old-a", "old-ng"), _node("old-b", "old-ng"), _node("new-a", "old-ng-podcidr")]
    pods = [_pod("web-1", "old-a", "10.0.0.11"), _pod("web-2", "old-b", "10.0.0.12")]
    kube = _kube(nodes, pods, ReplicaSet=[_replica_set(available=1)])
    task = _task()
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert kube.core.writes[-1] == "evict shop/web-1"
    # next check: web-1 still terminating on old-a
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.held == {"shop/web-1": 1}
    # web-1 gone, its replacement Running but the ReplicaSet counts 1 available of the 2 before
    kube.objects["Pod"] = [pods[1], _pod("web-3", "new-a", "10.64.0.13")]
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.polls == {"drain": 3, "recover": 1}
    assert task.nodegroup.draining.held == {}
    # available again: the next batch, and "recover" counted afresh for it
    kube.objects["ReplicaSet"] = [_replica_set(available=2)]
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining.batch == ["old-b"]
    assert kube.core.writes[-1] == "evict shop/web-2"
    assert "recover" not in task.nodegroup.polls
    # old-b empty and its workload back: done
    kube.objects["Pod"] = [_pod("web-3", "new-a", "10.64.0.13"), _pod("web-4", "new-a", "10.64.0.14")]
    assert drain(task, kube, FakeElbv2(), "shop") is True  # type: ignore[arg-type]
    assert task.nodegroup.draining.batch == [] and task.nodegroup.draining.awaited == []
    assert task.nodegroup.drain is not None and task.nodegroup.drain.evictions == 2


def test_a_budget_s_refusal_holds_the_pod_and_past_the_timeout_is_drain_blocked_naming_it() -> None:
    nodes = [_node("old-a", "old-ng")]
    pods = [_pod("web-1", "old-a", "10.0.0.11"), _pod("api-1", "old-a", "10.0.0.12", owner_name="api-77")]
    kube = _kube(nodes, pods)
    kube.core.refused["shop/web-1"] = _budget_429("The disruption budget web-pdb needs 2 healthy pods and has 2")
    task = _task(timeout=60, poll_seconds=30)
    for _ in range(3):  # held 1, 2, 3 times: 0, 30, 60 s
        if kube.core.refused:
            try:
                drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
            except DrainBlocked as error:
                blocked = error
                break
    else:
        pytest.fail("not blocked after 60 s of refusals")
    assert task.nodegroup.draining is not None and task.nodegroup.draining.held["shop/web-1"] == 3
    assert blocked.cause == (
        "Draining nodegroup old-ng is blocked: these pods could not leave its nodes within 60 s "
        "(podEvictionTimeoutSeconds): shop/web-1: The disruption budget web-pdb needs 2 healthy pods and has 2. "
        "The old nodes stay cordoned and nothing was deleted; old-ng-podcidr is ready. Let the budgets allow a "
        "disruption (e.g. scale the workload up, or relax minAvailable/maxUnavailable), or see why a pod does not "
        "terminate, then run podcidr again: the drain resumes. To give up instead: kubectl uncordon -l "
        "eks.amazonaws.com/nodegroup=old-ng."
    )


def test_refused_pods_are_listed_by_name_with_each_reason() -> None:
    nodes = [_node("old-a", "old-ng")]
    pods = [
        _pod("web-1", "old-a", "10.0.0.11"),
        _pod("api-1", "old-a", "10.0.0.12"),
        _pod("db-1", "old-a", "10.0.0.13"),
    ]
    kube = _kube(nodes, pods)
    kube.core.refused["shop/web-1"] = _budget_429("budget one", "budget two")
    kube.core.refused["shop/api-1"] = _refusal(
        500, "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support."
    )
    kube.core.refused["shop/db-1"] = _refusal(
        409, 'Operation cannot be fulfilled on poddisruptionbudgets.policy "db": the object has been modified'
    )
    with pytest.raises(DrainBlocked) as raised:
        drain(_task(timeout=0), kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert (
        "(podEvictionTimeoutSeconds): shop/api-1: the eviction was refused (500): This pod has more than one "
        "PodDisruptionBudget, which the eviction subresource does not support.; shop/db-1: the eviction was refused "
        '(409): Operation cannot be fulfilled on poddisruptionbudgets.policy "db": the object has been modified; '
        "shop/web-1: budget one; budget two. The old nodes"
    ) in raised.value.cause


def test_a_budget_429_without_messages_gives_the_status_message() -> None:
    kube = _kube([_node("old-a", "old-ng")], [_pod("web-1", "old-a", "10.0.0.11")])
    error = _budget_429()
    error.body = json.dumps(
        {
            "message": "Cannot evict pod: it would violate a disruption budget",
            "details": {"causes": [{"reason": "DisruptionBudget", "message": ""}]},
        }
    )
    kube.core.refused["shop/web-1"] = error
    with pytest.raises(DrainBlocked, match=r"shop/web-1: Cannot evict pod: it would violate a disruption budget\. The"):
        drain(_task(timeout=0), kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_the_api_server_s_own_429_and_other_refusals_are_not_taken_for_a_budget() -> None:
    kube = _kube([_node("old-a", "old-ng")], [_pod("web-1", "old-a", "10.0.0.11")])
    throttled = ApiException(status=429, reason="Too Many Requests")
    throttled.body = json.dumps({"message": "too many requests", "details": {"causes": [{"reason": "Other"}]}})
    for answer, raised in (
        (throttled, TransientAwsError),
        (ApiException(status=429, reason="Too Many Requests"), TransientAwsError),  # no body at all
        (_refusal(403, 'pods "web-1" is forbidden: User cannot create resource'), ClusterAccessDenied),
        (_refusal(500, "etcdserver: request timed out"), TransientAwsError),
        (_refusal(409, "the object has been modified"), ApiException),
        (_refusal(422, "disruption budget"), ApiException),
    ):
        kube.core.refused["shop/web-1"] = answer
        with pytest.raises(raised):
            drain(_task(timeout=0), kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_a_403_naming_a_budget_is_a_refusal() -> None:
    kube = _kube([_node("old-a", "old-ng")], [_pod("web-1", "old-a", "10.0.0.11")])
    kube.core.refused["shop/web-1"] = _refusal(
        403, "Cannot evict pod as it would violate the pod's DisruptionBudget status"
    )
    with pytest.raises(DrainBlocked, match=r"refused \(403\): Cannot evict"):
        drain(_task(timeout=0), kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_a_pod_gone_before_its_eviction_is_not_counted() -> None:
    kube = _kube([_node("old-a", "old-ng")], [_pod("web-1", "old-a", "10.0.0.11")])
    gone = ApiException(status=404, reason="Not Found")
    kube.core.refused["shop/web-1"] = gone
    task = _task()
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.drain is not None and task.nodegroup.drain.evictions == 0
    assert task.nodegroup.changes == 1  # the cordon only
    assert task.nodegroup.draining is not None and task.nodegroup.draining.awaited == []
    assert task.nodegroup.draining.held == {}


def test_a_terminating_pod_is_held_past_the_timeout_plus_its_grace_naming_its_finalizers() -> None:
    terminating = _pod("web-1", "old-a", "10.0.0.11")
    terminating["metadata"].update(deletionTimestamp="2026-11-30T12:00:00Z", finalizers=["example.com/keep", "b/c"])
    terminating["spec"]["terminationGracePeriodSeconds"] = 60
    kube = _kube([_node("old-a", "old-ng")], [terminating])
    task = _task(timeout=0, poll_seconds=30)
    task.nodegroup.draining = DrainState(batch=["old-a"], held={"shop/web-1": 1})  # held 30 s: within its grace
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert kube.core.writes == ['patch old-a {"spec": {"unschedulable": true}}']  # evicted before: not again
    assert task.nodegroup.draining.awaited == [
        WorkloadRef(kind="ReplicaSet", namespace="shop", name="web-5d8f", ready_before=1)
    ]
    with pytest.raises(DrainBlocked) as raised:
        drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert (
        "shop/web-1: evicted, still terminating (since 2026-11-30T12:00:00Z; finalizers: example.com/keep, b/c). The"
        in raised.value.cause
    )


def test_past_the_eviction_window_the_rest_waits_for_the_next_check_and_what_was_seen_stays_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    terminating = _pod("web-1", "old-a", "10.0.0.11")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    kube = _kube([_node("old-a", "old-ng", cordoned=True)], [terminating, _pod("web-2", "old-a", "10.0.0.12")])
    task = _task()
    task.nodegroup.draining = DrainState(batch=["old-a"])
    monkeypatch.setattr(drain_module, "EVICTING_SECONDS", -1)  # the window is over before the first eviction
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert "evict shop/web-2" not in kube.core.writes
    assert task.nodegroup.draining.held == {"shop/web-1": 1}
    monkeypatch.undo()
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert kube.core.writes[-1] == "evict shop/web-2"
    assert task.nodegroup.draining.held == {"shop/web-1": 2}


def test_a_terminating_pod_s_grace_is_its_deletion_grace_then_its_spec_then_30_s() -> None:
    for meta_grace, spec_grace, held_ok in ((90, 10, 3), (None, 60, 2), (None, None, 1)):
        terminating = _pod("web-1", "old-a", "10.0.0.11")
        terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
        if meta_grace is not None:
            terminating["metadata"]["deletionGracePeriodSeconds"] = meta_grace
        if spec_grace is not None:
            terminating["spec"]["terminationGracePeriodSeconds"] = spec_grace
        kube = _kube([_node("old-a", "old-ng", cordoned=True)], [terminating])
        task = _task(timeout=0, poll_seconds=30)
        task.nodegroup.draining = DrainState(batch=["old-a"], held={"shop/web-1": held_ok - 1})
        assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
        with pytest.raises(DrainBlocked, match=r"still terminating \(since 2026-11-30T12:00:00Z\)\. The"):
            drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_only_controllers_that_recreate_their_pods_are_awaited_each_once() -> None:
    pods = [
        _pod("web-1", "old-a", "10.0.0.11"),
        _pod("web-2", "old-a", "10.0.0.12", ready=False),
        _pod("db-0", "old-a", "10.0.0.13", owner="StatefulSet", owner_name="db"),
        _pod("legacy-x", "old-a", "10.0.0.14", owner="ReplicationController", owner_name="legacy"),
        _pod("job-x", "old-a", "10.0.0.15", owner="Job", owner_name="nightly"),
        _pod("bare", "old-a", "10.0.0.16", owner=None),
        _pod("web-3", "new-a", "10.64.0.1"),
    ]
    pods[1]["status"]["phase"] = "Pending"
    other_namespace = _pod("web-9", "new-a", "10.64.0.9")
    other_namespace["metadata"]["namespace"] = "staging"
    kube = _kube([_node("old-a", "old-ng"), _node("new-a", "old-ng-podcidr")], [*pods, other_namespace])
    task = _task()
    drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None
    assert [(r.kind, r.name, r.ready_before) for r in task.nodegroup.draining.awaited] == [
        ("ReplicaSet", "web-5d8f", 2),
        ("StatefulSet", "db", 1),
        ("ReplicationController", "legacy", 1),
    ]
    assert task.nodegroup.drain is not None and task.nodegroup.drain.evictions == 6


def _recovering(awaited: list[WorkloadRef], pods: list[Any], **objects: list[Any]) -> tuple[NodegroupTask, FakeKube]:
    nodes = [
        _node("old-a", "old-ng", cordoned=True),
        _node("old-b", "old-ng", cordoned=True),
        _node("new-a", "old-ng-podcidr"),
    ]
    task = _task()
    task.nodegroup.draining = DrainState(batch=["old-a"], awaited=awaited)
    return task, _kube(nodes, [*pods, _pod("other-1", "old-b", "10.0.0.99", owner_name="other")], **objects)


WEB = WorkloadRef(kind="ReplicaSet", namespace="shop", name="web-5d8f", ready_before=2)


def test_recovery_waits_for_the_workload_s_available_replicas_then_moves_on() -> None:
    task, kube = _recovering(
        [WEB], [_pod("web-3", "new-a", "10.64.0.3")], ReplicaSet=[_replica_set(replicas=3, available=1)]
    )
    for _ in range(10):  # wait_ceiling(20 min, 30 s) = 40 checks
        assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.polls["recover"] == 10
    kube.objects["ReplicaSet"] = [_replica_set(replicas=3, available=2)]
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b"]


def test_recovery_past_its_ceiling_says_which_workload_is_not_back() -> None:
    task, kube = _recovering(
        [WEB], [_pod("web-3", "new-a", "10.64.0.3")], ReplicaSet=[_replica_set(replicas=2, available=None)]
    )
    task.nodegroup.polls["recover"] = 40
    with pytest.raises(NodegroupReplacementFailed) as raised:
        drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert raised.value.cause == (
        "After 40 checks, workloads evicted from old-a (nodegroup old-ng) are not back: ReplicaSet shop/web-5d8f "
        "has 0 replicas available, 2 before the eviction. The old nodes stay cordoned and nothing was deleted; "
        "look at the pods' events and the target groups' health, then run podcidr again: the drain resumes."
    )


def test_a_workload_scaled_down_meanwhile_or_gone_is_not_waited_for() -> None:
    ready = [_pod("web-3", "new-a", "10.64.0.3")]
    for objects in ({"ReplicaSet": [_replica_set(replicas=1, available=1)]}, {}):
        task, kube = _recovering([WEB], ready, **objects)
        assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
        assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b"], objects


def test_replicas_unset_count_as_one() -> None:
    task, kube = _recovering(
        [WEB], [_pod("web-3", "new-a", "10.64.0.3")], ReplicaSet=[_replica_set(replicas=None, available=1)]
    )
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b"]


def test_recovery_reads_statefulsets_and_replication_controllers() -> None:
    db = WorkloadRef(kind="StatefulSet", namespace="shop", name="db", ready_before=1)
    legacy = WorkloadRef(kind="ReplicationController", namespace="shop", name="legacy", ready_before=1)
    pods = [
        _pod("db-0", "new-a", "10.64.0.5", owner="StatefulSet", owner_name="db"),
        _pod("legacy-y", "new-a", "10.64.0.6", owner="ReplicationController", owner_name="legacy"),
    ]
    objects = {
        "StatefulSet": [_replica_set("db", replicas=1, available=0)],
        "ReplicationController": [_replication_controller("legacy", replicas=1, available=1)],
    }
    task, kube = _recovering([db, legacy], pods, **objects)
    with pytest.raises(NodegroupReplacementFailed, match="StatefulSet shop/db has 0 replicas available, 1 before"):
        task.nodegroup.polls["recover"] = 40
        drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    kube.objects["StatefulSet"] = [_replica_set("db", replicas=1, available=1)]
    kube.objects["ReplicationController"] = [_replication_controller("legacy", replicas=1, available=0)]
    with pytest.raises(NodegroupReplacementFailed, match="ReplicationController shop/legacy has 0 replicas available"):
        drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_available_replicas_still_on_old_nodes_are_not_back() -> None:
    on_old = _pod("web-4", "old-b", "10.0.0.4")
    terminating = _pod("web-5", "new-a", "10.64.0.5")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    unready = _pod("web-6", "new-a", "10.64.0.6", ready=False)
    other_owner = _pod("api-1", "new-a", "10.64.0.7", owner_name="api-1")
    task, kube = _recovering([WEB], [on_old, terminating, unready, other_owner], ReplicaSet=[_replica_set()])
    task.nodegroup.polls["recover"] = 40
    with pytest.raises(
        NodegroupReplacementFailed, match="ReplicaSet shop/web-5d8f has no Ready pod on the new nodes yet"
    ):
        drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_a_workload_with_none_ready_before_needs_no_pod_back() -> None:
    task, kube = _recovering(
        [WorkloadRef(kind="ReplicaSet", namespace="shop", name="web-5d8f")], [], ReplicaSet=[_replica_set(available=0)]
    )
    assert not drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b"]


def _with_targets(states: dict[str, str], pods: list[Any]) -> tuple[NodegroupTask, FakeKube, FakeElbv2]:
    task, kube = _recovering([WEB], pods, ReplicaSet=[_replica_set()])
    binding = {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {"targetType": "ip", "targetGroupARN": ARN, "serviceRef": {"name": "web"}},
    }
    kube.add("CustomResourceDefinition", BINDING_CRD)
    kube.add(BINDINGS, binding)
    kube.add("Service", {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}})
    return task, kube, FakeElbv2({ARN: dict(states)})


def test_recovery_waits_until_a_moved_pod_is_a_healthy_target() -> None:
    pods = [_pod("web-3", "new-a", "10.64.0.3"), _pod("web-4", "new-a", "10.64.0.4")]
    task, kube, elbv2 = _with_targets({"10.64.0.3": "initial"}, pods)
    task.nodegroup.polls["recover"] = 40
    with pytest.raises(NodegroupReplacementFailed) as raised:
        drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert (
        "not back: ReplicaSet shop/web-5d8f: no healthy target on the new nodes in target group "
        "targetgroup/k8s-shop-web-0a1b2c/73e2d6bc24d8a067 "
        "(Service shop/web) yet: shop/web-3 (initial), shop/web-4 (not registered). The old nodes"
    ) in raised.value.cause
    task.nodegroup.polls["recover"] = 0
    elbv2.groups[ARN]["10.64.0.4"] = "healthy"
    assert not drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b"]


def test_targets_in_a_zone_the_load_balancer_does_not_serve_are_not_waited_for() -> None:
    pods = [_pod("web-3", "new-a", "10.64.0.3"), _pod("web-4", "new-a", "10.64.0.4")]
    task, kube, elbv2 = _with_targets({"10.64.0.3": "unused", "10.64.0.4": "unused"}, pods)
    assert not drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-b"]
    task, kube, elbv2 = _with_targets({"10.64.0.3": "unused", "10.64.0.4": "unhealthy"}, pods)
    assert not drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.batch == ["old-a"]


def _last_target(states: dict[str, str], new_pods: list[Any]) -> tuple[NodegroupTask, FakeKube, FakeElbv2]:
    task, kube, elbv2 = _with_targets(states, new_pods)
    kube.objects["Pod"] = [_pod("web-1", "old-a", "10.0.0.11"), *new_pods]
    task.nodegroup.draining = None
    return task, kube, elbv2


def test_the_last_healthy_target_is_held_while_its_replacement_registers() -> None:
    coming = [_pod("web-3", "new-a", "10.64.0.3"), _pod("web-4", "new-a", None)]
    task, kube, elbv2 = _last_target({"10.0.0.11": "healthy", "10.64.0.3": "initial"}, coming)
    assert not drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert "evict shop/web-1" not in kube.core.writes
    assert task.nodegroup.draining is not None and task.nodegroup.draining.held == {"shop/web-1": 1}
    task.nodegroup.node_replacement.pod_eviction_timeout_seconds = 30
    with pytest.raises(DrainBlocked) as raised:
        drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert (
        "shop/web-1: it is the last healthy target of target group "
        "targetgroup/k8s-shop-web-0a1b2c/73e2d6bc24d8a067 (Service shop/web); waiting for "
        "shop/web-3, shop/web-4 to become healthy there. The old nodes"
    ) in raised.value.cause
    elbv2.groups[ARN]["10.64.0.3"] = "healthy"  # another healthy target: it may go
    task.nodegroup.draining.held = {}
    drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert kube.core.writes[-1] == "evict shop/web-1"


def test_a_last_healthy_target_with_no_replacement_coming_is_evicted() -> None:
    cases = [
        ({"10.0.0.11": "healthy"}, []),  # nothing else fronted
        ({"10.0.0.11": "healthy", "10.64.0.3": "unhealthy"}, [_pod("web-3", "new-a", "10.64.0.3")]),
        ({"10.0.0.11": "healthy", "10.0.0.99": "initial"}, [_pod("web-9", "old-b", "10.0.0.99")]),  # on an old node
        ({"10.0.0.11": "initial", "10.64.0.3": "initial"}, [_pod("web-3", "new-a", "10.64.0.3")]),  # not healthy itself
    ]
    for states, others in cases:
        task, kube, elbv2 = _last_target(states, others)
        drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
        assert kube.core.writes[-1] == "evict shop/web-1", states
    terminating = _pod("web-3", "new-a", "10.64.0.3")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    task, kube, elbv2 = _last_target({"10.0.0.11": "healthy", "10.64.0.3": "initial"}, [terminating])
    drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert kube.core.writes[-1] == "evict shop/web-1"


def test_two_healthy_targets_of_a_batch_are_not_both_taken_for_the_other_s_cover() -> None:
    task, kube, elbv2 = _last_target(
        {"10.0.0.11": "healthy", "10.0.0.12": "healthy", "10.64.0.3": "initial"}, [_pod("web-3", "new-a", "10.64.0.3")]
    )
    kube.objects["Pod"].insert(1, _pod("web-2", "old-a", "10.0.0.12"))
    drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert [w for w in kube.core.writes if w.startswith("evict")] == ["evict shop/web-1"]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.held == {"shop/web-2": 1}  # web-1 is leaving


def test_a_node_gone_before_its_cordon_is_skipped_and_other_failures_raised() -> None:
    kube = _kube([_node("old-a", "old-ng"), _node("old-b", "old-ng")], [])
    patch = kube.core.patch_node

    def vanishing(name: str, body: Any) -> Any:
        if name == "old-a":
            raise ApiException(status=404, reason="Not Found")
        return patch(name, body)

    kube.core.patch_node = vanishing  # type: ignore[method-assign]
    task = _task()
    assert drain(task, kube, FakeElbv2(), "shop") is True  # type: ignore[arg-type]
    assert kube.core.writes == ['patch old-b {"spec": {"unschedulable": true}}'] and task.nodegroup.changes == 1

    def refusing(name: str, body: Any) -> Any:
        raise _refusal(422, "invalid")

    kube = _kube([_node("old-a", "old-ng")], [])
    kube.core.patch_node = refusing  # type: ignore[method-assign]
    with pytest.raises(ApiException):
        drain(_task(), kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_the_report_counts_the_own_nodes_at_their_most_and_the_seconds_since_the_first_cordon() -> None:
    import time

    task = _task()
    task.nodegroup.draining = DrainState(started=time.time() - 125)
    kube = _kube([_node("old-a", "old-ng", cordoned=True), _node("second-a", "second-ng", cordoned=True)], [])
    assert drain(task, kube, FakeElbv2(), "shop") is True  # type: ignore[arg-type]
    assert task.nodegroup.drain is not None
    assert task.nodegroup.drain.nodes == 1
    assert 125 <= task.nodegroup.drain.seconds <= 127
    kube.objects["Node"] = []
    drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.drain.nodes == 1


OTHER_ARN = "arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/k8s-shop-web-9f8e7d/0123456789abcdef"


def _two_groups(
    first: dict[str, str], second: dict[str, str], pods: list[Any]
) -> tuple[NodegroupTask, FakeKube, FakeElbv2]:
    """The Service behind two load balancers (an ALB and an NLB, say): two IP target groups."""
    task, kube, elbv2 = _with_targets(first, pods)
    spec = {"targetType": "ip", "targetGroupARN": OTHER_ARN, "serviceRef": {"name": "web"}}
    kube.add(BINDINGS, {"metadata": {"name": "web-nlb", "namespace": "shop"}, "spec": spec})
    elbv2.groups[OTHER_ARN] = dict(second)
    return task, kube, elbv2


def test_recovery_waits_for_a_healthy_target_in_every_group_in_front_of_the_workload() -> None:
    pods = [_pod("web-3", "new-a", "10.64.0.3")]
    for first, second in (("initial", "healthy"), ("healthy", "initial"), ("unused", "initial")):
        task, kube, elbv2 = _two_groups({"10.64.0.3": first}, {"10.64.0.3": second}, pods)
        task.nodegroup.polls["recover"] = 40
        with pytest.raises(
            NodegroupReplacementFailed, match=r"no healthy target on the new nodes in target group"
        ) as raised:
            drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
        waiting_in = "73e2d6bc24d8a067" if first == "initial" else "0123456789abcdef"
        assert f"{waiting_in} (Service shop/web) yet: shop/web-3 (initial)" in raised.value.cause


def test_the_last_healthy_target_of_any_group_is_held() -> None:
    coming = _pod("web-3", "new-a", "10.64.0.3")
    cases = [
        ({"10.0.0.11": "initial"}, {"10.0.0.11": "healthy", "10.64.0.3": "initial"}, [coming]),
        (
            {"10.0.0.11": "healthy", "10.64.0.4": "healthy"},
            {"10.0.0.11": "healthy", "10.64.0.3": "initial"},
            [coming, _pod("web-4", "new-a", "10.64.0.4")],
        ),
    ]
    for first, second, others in cases:
        task, kube, elbv2 = _two_groups(first, second, others)
        kube.objects["Pod"] = [_pod("web-1", "old-a", "10.0.0.11"), *others]
        task.nodegroup.draining = None
        drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
        assert not [w for w in kube.core.writes if w.startswith("evict")], first
        assert task.nodegroup.draining is not None and task.nodegroup.draining.held == {"shop/web-1": 1}


def test_workloads_of_the_same_name_in_other_namespaces_or_of_other_kinds_are_awaited_apart() -> None:
    same_name_elsewhere = _pod("web-9", "old-a", "10.0.0.19")
    same_name_elsewhere["metadata"]["namespace"] = "staging"
    pods = [
        _pod("web-1", "old-a", "10.0.0.11"),
        same_name_elsewhere,
        _pod("api-1", "old-a", "10.0.0.12", owner_name="api-77"),
        _pod("web-0", "old-a", "10.0.0.13", owner="StatefulSet"),  # a StatefulSet named web-5d8f too
    ]
    task = _task()
    drain(task, _kube([_node("old-a", "old-ng")], pods), FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None
    assert [(r.kind, r.namespace, r.name) for r in task.nodegroup.draining.awaited] == [
        ("ReplicaSet", "shop", "web-5d8f"),
        ("ReplicaSet", "staging", "web-5d8f"),
        ("ReplicaSet", "shop", "api-77"),
        ("StatefulSet", "shop", "web-5d8f"),
    ]


def test_recovery_past_its_ceiling_lists_every_node_of_the_batch_and_every_workload() -> None:
    api = WorkloadRef(kind="ReplicaSet", namespace="shop", name="api-77", ready_before=1)
    task, kube = _recovering(
        [WEB, api], [], ReplicaSet=[_replica_set(), _replica_set("api-77", replicas=1, available=0)]
    )
    assert task.nodegroup.draining is not None
    task.nodegroup.draining.batch = ["old-a", "old-c"]
    task.nodegroup.polls["recover"] = 40
    with pytest.raises(NodegroupReplacementFailed) as raised:
        drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert raised.value.cause.startswith(
        "After 40 checks, workloads evicted from old-a, old-c (nodegroup old-ng) are not back: ReplicaSet "
        "shop/web-5d8f has no Ready pod on the new nodes yet; ReplicaSet shop/api-77 has 0 replicas available, "
        "1 before the eviction. The old nodes"
    )


def test_a_403_saying_disruption_budget_in_words_is_a_refusal() -> None:
    kube = _kube([_node("old-a", "old-ng")], [_pod("web-1", "old-a", "10.0.0.11")])
    kube.core.refused["shop/web-1"] = _refusal(403, "Cannot evict pod as it would violate the pod's disruption budget.")
    with pytest.raises(DrainBlocked, match=r"refused \(403\): Cannot evict pod as it would violate"):
        drain(_task(timeout=0), kube, FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_a_first_drain_records_when_it_started() -> None:
    import time

    task = _task()
    before = time.time()
    drain(task, _kube([_node("old-a", "old-ng")], []), FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.started is not None
    assert before <= task.nodegroup.draining.started <= time.time()


def test_past_its_budget_of_checks_the_drain_stops_with_its_own_error() -> None:
    task = _task()
    task.nodegroup.polls["drain"] = DRAIN_POLLS
    with pytest.raises(
        NodegroupReplacementFailed, match=f"Draining nodegroup old-ng took more than {DRAIN_POLLS} checks"
    ):
        drain(task, _kube([_node("old-a", "old-ng")], [_pod("web-1", "old-a", "10.0.0.11")]), FakeElbv2(), "shop")  # type: ignore[arg-type]


def test_finished_pods_on_the_old_nodes_do_not_hold_the_drain() -> None:
    done = _pod("job-1", "old-a", None, owner="Job")
    done["status"]["phase"] = "Succeeded"
    failed = _pod("job-2", "old-a", None, owner="Job")
    failed["status"]["phase"] = "Failed"
    kube = _kube([_node("old-a", "old-ng", cordoned=True)], [done, failed])
    assert drain(_task(), kube, FakeElbv2(), "shop") is True  # type: ignore[arg-type]
    assert kube.core.writes == []


def test_a_terminating_healthy_target_is_no_cover_for_the_last_one() -> None:
    terminating = _pod("web-2", "old-b", "10.0.0.12")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    coming = _pod("web-3", "new-a", "10.64.0.3")
    task, kube, elbv2 = _last_target({"10.0.0.11": "healthy", "10.0.0.12": "healthy", "10.64.0.3": "initial"}, [coming])
    kube.objects["Pod"].append(terminating)
    drain(task, kube, elbv2, "shop")  # type: ignore[arg-type]
    assert not [w for w in kube.core.writes if w.startswith("evict")]
    assert task.nodegroup.draining is not None and task.nodegroup.draining.held == {"shop/web-1": 1}


def test_a_terminating_pod_of_the_batch_does_not_stop_the_others_eviction() -> None:
    terminating = _pod("web-0", "old-a", "10.0.0.10")
    terminating["metadata"]["deletionTimestamp"] = "2026-11-30T12:00:00Z"
    kube = _kube([_node("old-a", "old-ng", cordoned=True)], [terminating, _pod("web-1", "old-a", "10.0.0.11")])
    task = _task()
    task.nodegroup.draining = DrainState(batch=["old-a"])
    drain(task, kube, FakeElbv2(), "shop")  # type: ignore[arg-type]
    assert kube.core.writes == ["evict shop/web-1"]
