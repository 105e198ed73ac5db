"""ReplaceNodegroups' create, wait and delete path (DESIGN.md step 10) over a botocore-stubbed EKS client and
fake_kube: each invocation moves the replacement along (pending -> creating -> draining or deleting-old ->
done), adopting what an earlier attempt made, failing with the old nodegroup's state named. The
CreateNodegroup request itself: test_replace_nodegroups_request.py; the drain: test_drain.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from podcidr.errors import NodegroupReplacementFailed
from podcidr.models.input import NodeReplacementOptions
from podcidr.models.migration import DrainReport, DrainState, NodegroupConfig, NodegroupReplacement
from podcidr.steps.polling import wait_ceiling
from podcidr.steps.replace_nodegroups import (
    MAX_CREATE_SECONDS,
    MAX_DELETE_SECONDS,
    NodegroupTask,
    create_request,
    replace_nodegroup,
)
from tests.fixtures.fake_elbv2 import FakeElbv2
from tests.fixtures.fake_kube import FakeKube, node, pod
from tests.fixtures.stubbed_aws import all_answered, stubbed

LABEL = "eks.amazonaws.com/nodegroup"
USER_DATA = "bWF4LXBvZHM6IDExMAo="


def _task(status: str | None = None, strategy: str = "drain", **item: Any) -> NodegroupTask:
    config = NodegroupConfig(
        subnets=["subnet-1", "subnet-2"],
        node_role="arn:aws:iam::111122223333:role/nodes",
        scaling_config={"minSize": 1, "maxSize": 3, "desiredSize": 2},
        launch_template=item.pop("launch_template", None),
    )
    replacement = NodegroupReplacement(
        replaced="web",
        by="web-podcidr",
        config=config,
        status=status,
        max_pods=item.pop("max_pods", None),
        node_replacement=NodeReplacementOptions.model_validate({"strategy": strategy}),
        **item,
    )
    return NodegroupTask(cluster_name="shop", poll_seconds=30, nodegroup=replacement, replaced_nodegroups=["web"])


def _nodegroup(name: str, status: str, desired: int = 2, issues: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "nodegroupName": name,
        "clusterName": "shop",
        "status": status,
        "scalingConfig": {"desiredSize": desired},
    }
    if issues is not None:
        found["health"] = {"issues": issues}
    return {"nodegroup": found}


def _describe(stub: Stubber, name: str, status: str | None, **kwargs: Any) -> None:
    params = {"clusterName": "shop", "nodegroupName": name}
    if status is None:
        stub.add_client_error(
            "describe_nodegroup",
            "ResourceNotFoundException",
            f"No node group found for name: {name}.",
            404,
            expected_params=params,
        )
    else:
        stub.add_response("describe_nodegroup", _nodegroup(name, status, **kwargs), params)


def _ready(name: str, nodegroup: str, ready: bool = True, pods: str = "110") -> dict[str, Any]:
    found = node(name, "10.0.0.1", labels={LABEL: nodegroup}, pods=pods)
    found["status"]["conditions"] = [
        {"type": "MemoryPressure", "status": "False"},
        {"type": "Ready", "status": "True" if ready else "False"},
    ]
    return found


def _run(task: NodegroupTask, stub: Stubber, eks: Any, kube: FakeKube | None = None, **clients: Any) -> NodegroupTask:
    with all_answered(stub):
        return replace_nodegroup(task, eks, lambda: kube or FakeKube(), **clients)


def test_a_pending_replacement_is_created_once_then_awaited() -> None:
    task = _task()
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", None)
    stub.add_response("create_nodegroup", _nodegroup("web-podcidr", "CREATING"), create_request(task))
    _describe(stub, "web-podcidr", "CREATING")
    _run(task, stub, eks)
    item = task.nodegroup
    assert (item.status, item.created, item.changes, item.polls) == ("creating", True, 1, {"create": 1})


def test_a_replacement_found_is_adopted_not_created_again() -> None:
    task = _task()
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "CREATING")
    _describe(stub, "web-podcidr", "CREATING")
    _run(task, stub, eks)
    assert (task.nodegroup.status, task.nodegroup.created, task.nodegroup.changes) == ("creating", False, 0)


def test_a_replacement_created_meanwhile_is_adopted() -> None:
    task = _task()
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", None)
    stub.add_client_error(
        "create_nodegroup", "ResourceInUseException", "NodeGroup already exists with name web-podcidr", 409
    )
    _describe(stub, "web-podcidr", "CREATING")
    _run(task, stub, eks)
    assert (task.nodegroup.status, task.nodegroup.created, task.nodegroup.changes) == ("creating", False, 0)


@pytest.mark.parametrize(
    "code", ["InvalidParameterException", "InvalidRequestException", "ResourceLimitExceededException"]
)
def test_a_refused_creation_fails_with_eks_words_and_the_old_nodegroup_untouched(code: str) -> None:
    task = _task()
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", None)
    stub.add_client_error("create_nodegroup", code, "Subnets are not in the cluster VPC", 400)
    with pytest.raises(NodegroupReplacementFailed) as failed:
        _run(task, stub, eks)
    assert str(failed.value) == (
        f"EKS refused to create nodegroup web-podcidr to replace web ({code}: Subnets are not in the cluster VPC). "
        "web is untouched."
    )
    assert (task.nodegroup.created, task.nodegroup.changes) == (False, 0)


def test_another_creation_fault_is_raised_as_it_is() -> None:
    from botocore.exceptions import ClientError

    task = _task()
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", None)
    stub.add_client_error("create_nodegroup", "AccessDeniedException", "not authorized", 403)
    with pytest.raises(ClientError, match="AccessDeniedException"):
        _run(task, stub, eks)


def test_a_custom_ami_replacement_gets_its_launch_template_version_first() -> None:
    task = _task(launch_template={"id": "lt-0abc", "version": "3"}, launch_template_user_data=USER_DATA)
    eks, stub = stubbed("eks")
    ec2, ec2_stub = stubbed("ec2")
    _describe(stub, "web-podcidr", None)
    ec2_stub.add_response(
        "describe_launch_template_versions", {"LaunchTemplateVersions": []}, {"LaunchTemplateId": "lt-0abc"}
    )
    ec2_stub.add_response("create_launch_template_version", {"LaunchTemplateVersion": {"VersionNumber": 4}}, None)
    expected = create_request(task)
    expected["launchTemplate"] = {"id": "lt-0abc", "version": "4"}
    stub.add_response("create_nodegroup", _nodegroup("web-podcidr", "CREATING"), expected)
    _describe(stub, "web-podcidr", "CREATING")
    with all_answered(ec2_stub):
        _run(task, stub, eks, ec2=ec2)
    assert task.nodegroup.changes == 2
    with pytest.raises(RuntimeError, match=r"^a planned launch template version needs the EC2 client$"):
        replace_nodegroup(
            _task(launch_template={"id": "lt-0abc"}, launch_template_user_data=USER_DATA), _missing(), FakeKube
        )


def _missing() -> Any:
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", None)
    return eks


@pytest.mark.parametrize("status", ["CREATE_FAILED", "DEGRADED", "DELETING", "DELETE_FAILED"])
def test_a_replacement_that_cannot_become_active_fails_naming_its_health_issues(status: str) -> None:
    task = _task("creating")
    eks, stub = stubbed("eks")
    issues = [
        {
            "code": "AsgInstanceLaunchFailures",
            "message": "Instance launch failed",
            "resourceIds": ["eks-web-podcidr-asg", "lt-1"],
        },
        {"code": "NodeCreationFailure", "message": "Instances failed to join", "resourceIds": []},
    ]
    _describe(stub, "web-podcidr", status, issues=issues)
    with pytest.raises(NodegroupReplacementFailed) as failed:
        _run(task, stub, eks)
    assert str(failed.value) == (
        f"Nodegroup web-podcidr (replacing web) is {status}: AsgInstanceLaunchFailures: Instance launch failed "
        "(eks-web-podcidr-asg, lt-1); NodeCreationFailure: Instances failed to join. web is untouched."
    )


def test_a_failed_replacement_without_issues_says_so() -> None:
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "CREATE_FAILED")
    with pytest.raises(
        NodegroupReplacementFailed, match=r"is CREATE_FAILED: EKS reported no health issue\. web is untouched"
    ):
        _run(_task("creating"), stub, eks)


def test_a_replacement_that_disappears_while_created_fails() -> None:
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", None)
    with pytest.raises(NodegroupReplacementFailed) as failed:
        _run(_task("creating"), stub, eks)
    assert str(failed.value) == (
        "Nodegroup web-podcidr (replacing web) disappeared while being created. web is untouched; run podcidr again."
    )


def test_an_active_replacement_waits_for_every_desired_node_to_be_ready() -> None:
    task = _task("creating")
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), _ready("n2", "web-podcidr", ready=False), _ready("o1", "web")])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    _run(task, stub, eks, kube)
    assert task.nodegroup.status == "creating"


def test_past_the_creation_ceiling_the_replacement_fails_with_the_old_one_untouched() -> None:
    ceiling = wait_ceiling(MAX_CREATE_SECONDS, 30)
    assert ceiling == 90
    task = _task("creating", polls={"create": ceiling})
    eks, stub = stubbed("eks")
    with pytest.raises(NodegroupReplacementFailed) as failed:
        _run(task, stub, eks)
    assert str(failed.value) == (
        "Nodegroup web-podcidr (replacing web) was not ACTIVE with all nodes Ready after 90 checks. web is untouched; "
        "look at the nodegroup's health and the nodes' conditions."
    )


def test_ready_nodes_with_the_wrong_max_pods_fail_before_the_old_nodegroup_is_touched() -> None:
    task = _task("creating", max_pods=110)
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), _ready("n2", "web-podcidr", pods="17")])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    with pytest.raises(
        NodegroupReplacementFailed, match=r"report max pods other than the custom-networking value 110: n2 \(17\)"
    ):
        _run(task, stub, eks, kube)
    assert task.nodegroup.status == "creating"


def test_once_ready_the_drain_empties_the_old_nodes_then_the_old_nodegroup_is_deleted() -> None:
    task = _task("creating")
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), _ready("n2", "web-podcidr")], Pod=[])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    _describe(stub, "web", "ACTIVE")
    stub.add_response(
        "delete_nodegroup", _nodegroup("web", "DELETING"), {"clusterName": "shop", "nodegroupName": "web"}
    )
    _run(task, stub, eks, kube, elbv2=FakeElbv2())
    assert (task.nodegroup.status, task.nodegroup.changes) == ("deleting-old", 1)
    assert task.nodegroup.drain is not None and task.nodegroup.drain.strategy == "drain"


def test_the_drain_needs_the_elbv2_client() -> None:
    task = _task("draining")
    eks, stub = stubbed("eks")
    with pytest.raises(RuntimeError, match=r"^the drain needs the ELBv2 client$"):
        _run(task, stub, eks)


def test_the_drain_asks_the_elbv2_client_it_is_given_for_the_target_groups_health() -> None:
    """The last healthy target of a target group is held while its replacement registers: only
    DescribeTargetHealth through the given client can tell."""
    arn = "arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/k8s-shop-web-0a1b2c/73e2d6bc24d8a067"
    moving, coming = (
        pod(name, host, ip, namespace="shop", labels={"app": "web"})
        for name, host, ip in (("web-1", "old-a", "10.0.0.11"), ("web-2", "new-a", "10.64.0.2"))
    )
    kube = FakeKube(Node=[_ready("old-a", "web"), _ready("new-a", "web-podcidr")], Pod=[moving, coming])
    kube.add(
        "CustomResourceDefinition",
        {
            "metadata": {"name": "targetgroupbindings.elbv2.k8s.aws"},
            "spec": {"versions": [{"name": "v1beta1", "served": True}]},
        },
    )
    kube.add(
        "targetgroupbindings.elbv2.k8s.aws",
        {
            "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"targetType": "ip", "targetGroupARN": arn, "serviceRef": {"name": "web"}},
        },
    )
    kube.add("Service", {"metadata": {"name": "web", "namespace": "shop"}, "spec": {"selector": {"app": "web"}}})
    elbv2 = FakeElbv2({arn: {"10.0.0.11": "healthy", "10.64.0.2": "initial"}})
    task = _task("draining")
    eks, stub = stubbed("eks")
    _run(task, stub, eks, kube, elbv2=elbv2)
    assert elbv2.described == [arn]
    assert "evict shop/web-1" not in kube.core.writes
    assert task.nodegroup.status == "draining"
    assert task.nodegroup.draining is not None and task.nodegroup.draining.held == {"shop/web-1": 1}


def test_strategy_delete_deletes_the_old_nodegroup_at_once_counting_its_nodes() -> None:
    task = _task("creating", strategy="delete")
    old = [_ready("o1", "web"), _ready("o2", "web"), _ready("o3", "web")]
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), _ready("n2", "web-podcidr"), *old, _ready("x", "other")])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    _describe(stub, "web", "ACTIVE")
    stub.add_response(
        "delete_nodegroup", _nodegroup("web", "DELETING"), {"clusterName": "shop", "nodegroupName": "web"}
    )
    _run(task, stub, eks, kube)
    item = task.nodegroup
    assert (item.status, item.changes) == ("deleting-old", 1)
    assert item.drain == DrainReport(strategy="delete", nodes=3)
    assert item.draining is not None and item.draining.started


def test_an_old_nodegroup_already_deleting_or_gone_is_not_deleted_again() -> None:
    task = _task("creating", strategy="delete")
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), _ready("n2", "web-podcidr")])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    _describe(stub, "web", "DELETING")
    _run(task, stub, eks, kube)
    assert (task.nodegroup.status, task.nodegroup.changes) == ("deleting-old", 0)
    task = _task("creating", strategy="delete")
    _describe(stub, "web-podcidr", "ACTIVE")
    _describe(stub, "web", None)
    _run(task, stub, eks, kube)
    assert (task.nodegroup.status, task.nodegroup.changes) == ("done", 0)


@pytest.mark.parametrize(
    "code, status", [("ResourceNotFoundException", "done"), ("ResourceInUseException", "deleting-old")]
)
def test_a_delete_answered_gone_or_in_use_counts_no_change(code: str, status: str) -> None:
    task = _task("creating", strategy="delete")
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), _ready("n2", "web-podcidr")])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    _describe(stub, "web", "ACTIVE")
    stub.add_client_error("delete_nodegroup", code, "x", 409)
    _run(task, stub, eks, kube)
    assert (task.nodegroup.status, task.nodegroup.changes) == (status, 0)


def test_the_old_nodegroup_gone_is_done_and_a_deletes_drain_time_measured() -> None:
    task = _task("deleting-old", strategy="delete")
    task.nodegroup.drain = DrainReport(strategy="delete", nodes=3)
    task.nodegroup.draining = DrainState(started=1.0)
    eks, stub = stubbed("eks")
    _describe(stub, "web", None)
    _run(task, stub, eks)
    assert task.nodegroup.status == "done"
    assert task.nodegroup.drain.seconds is not None and task.nodegroup.drain.seconds > 1_000_000
    drained = _task("deleting-old")
    drained.nodegroup.drain = DrainReport(strategy="drain", nodes=3)
    drained.nodegroup.draining = DrainState(started=1.0)
    _describe(stub, "web", None)
    _run(drained, stub, eks)
    assert drained.nodegroup.status == "done" and drained.nodegroup.drain is not None
    assert drained.nodegroup.drain.seconds == 0  # the drain measures its own time


def test_the_old_nodegroup_deleting_is_awaited_and_one_still_active_is_deleted_again() -> None:
    task = _task("deleting-old")
    eks, stub = stubbed("eks")
    _describe(stub, "web", "DELETING")
    _run(task, stub, eks)
    assert (task.nodegroup.status, task.nodegroup.polls) == ("deleting-old", {"delete": 1})
    _describe(stub, "web", "ACTIVE")
    _describe(stub, "web", "ACTIVE")
    stub.add_response(
        "delete_nodegroup", _nodegroup("web", "DELETING"), {"clusterName": "shop", "nodegroupName": "web"}
    )
    _run(task, stub, eks)
    assert (task.nodegroup.status, task.nodegroup.changes) == ("deleting-old", 1)


def test_a_failed_deletion_of_the_old_nodegroup_fails_naming_its_issues() -> None:
    task = _task("deleting-old")
    eks, stub = stubbed("eks")
    issues = [{"code": "Ec2SecurityGroupDeletionFailure", "message": "DependencyViolation", "resourceIds": ["sg-1"]}]
    _describe(stub, "web", "DELETE_FAILED", issues=issues)
    with pytest.raises(NodegroupReplacementFailed) as failed:
        _run(task, stub, eks)
    assert str(failed.value) == (
        "Deleting nodegroup web failed: Ec2SecurityGroupDeletionFailure: DependencyViolation (sg-1). Its replacement "
        "web-podcidr is ready; delete web by hand or run podcidr again."
    )


def test_past_the_deletion_ceiling_the_old_nodegroup_is_named() -> None:
    ceiling = wait_ceiling(MAX_DELETE_SECONDS, 30)
    task = _task("deleting-old", polls={"delete": ceiling})
    eks, stub = stubbed("eks")
    with pytest.raises(NodegroupReplacementFailed) as failed:
        _run(task, stub, eks)
    assert str(failed.value).startswith(
        f"Nodegroup web was still there after {ceiling} checks; its replacement web-podcidr is ready. Pods that cannot"
    )


def test_a_done_replacement_asks_nothing() -> None:
    eks, stub = stubbed("eks")
    assert _run(_task("done"), stub, eks).nodegroup.status == "done"


def test_the_old_nodegroups_deletion_adds_to_the_changes_made_before() -> None:
    task = _task("deleting-old", changes=3)
    eks, stub = stubbed("eks")
    _describe(stub, "web", "ACTIVE")
    _describe(stub, "web", "ACTIVE")
    stub.add_response(
        "delete_nodegroup", _nodegroup("web", "DELETING"), {"clusterName": "shop", "nodegroupName": "web"}
    )
    _run(task, stub, eks)
    assert task.nodegroup.changes == 4


def test_a_deletes_drain_time_is_the_time_since_it_started() -> None:
    import time

    task = _task("deleting-old", strategy="delete")
    task.nodegroup.drain = DrainReport(strategy="delete", nodes=3)
    task.nodegroup.draining = DrainState(started=time.time() - 120)
    eks, stub = stubbed("eks")
    _describe(stub, "web", None)
    _run(task, stub, eks)
    assert task.nodegroup.drain.seconds is not None and 120 <= task.nodegroup.drain.seconds < 180


def test_a_node_registered_without_conditions_yet_is_not_ready() -> None:
    task = _task("creating")
    fresh = _ready("n2", "web-podcidr")
    del fresh["status"]["conditions"]
    kube = FakeKube(Node=[_ready("n1", "web-podcidr"), fresh])
    eks, stub = stubbed("eks")
    _describe(stub, "web-podcidr", "ACTIVE")
    _run(task, stub, eks, kube)
    assert task.nodegroup.status == "creating"
