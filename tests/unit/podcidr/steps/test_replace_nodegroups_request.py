"""ReplaceNodegroups' pure parts: the CreateNodegroup request built from the old nodegroup's
configuration, the nodes' max pods and its check, EKS's health issues in a message. The create,
wait and delete path runs on the twin (test_cluster_steps_on_twin.py, the rehearsals)."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from podcidr.errors import NodegroupReplacementFailed
from podcidr.models.migration import NodegroupConfig, NodegroupReplacement, Taint
from podcidr.steps.replace_nodegroups import (
    NodegroupTask,
    _check_max_pods,
    _issues,
    create_request,
    node_max_pods,
)
from tests.fixtures.fake_kube import node

SUBNETS = ["subnet-1", "subnet-2"]
ROLE = "arn:aws:iam::111122223333:role/nodes"


def _task(config: NodegroupConfig, max_pods: int | None = 44) -> NodegroupTask:
    item = NodegroupReplacement(replaced="managed-ng", by="managed-ng-pods", max_pods=max_pods, config=config)
    return NodegroupTask(cluster_name="eksworkshop", poll_seconds=30, nodegroup=item)


def test_the_request_copies_the_old_configuration_onto_the_node_subnets_tagged_ours() -> None:
    config = NodegroupConfig(
        subnets=SUBNETS,
        node_role=ROLE,
        instance_types=["m5.large"],
        ami_type="AL2023_x86_64_STANDARD",
        capacity_type="ON_DEMAND",
        disk_size=40,
        release_version="1.30.0-20240703",
        version="1.30",
        scaling_config={"minSize": 2, "maxSize": 4, "desiredSize": 3},
        update_config={"maxUnavailable": 1},
        node_repair_config={"enabled": True},
        labels={"team": "shop"},
        taints=[Taint(key="dedicated", effect="NO_SCHEDULE"), Taint(key="gpu", value="yes", effect="NO_EXECUTE")],
        tags={"cost-centre": "42", "aws:cloudformation:stack-name": "eksctl-ng"},
        remote_access={"ec2SshKey": "ops"},
    )
    assert create_request(_task(config)) == {
        "clusterName": "eksworkshop",
        "nodegroupName": "managed-ng-pods",
        "scalingConfig": {"minSize": 2, "maxSize": 4, "desiredSize": 3},
        "subnets": SUBNETS,
        "nodeRole": ROLE,
        "labels": {"team": "shop"},
        "tags": {"cost-centre": "42", "podcidr:cluster": "eksworkshop"},  # AWS refuses aws: keys on create
        "clientRequestToken": hashlib.sha256(b"podcidr/eksworkshop/managed-ng-pods").hexdigest(),
        "taints": [
            {"key": "dedicated", "effect": "NO_SCHEDULE"},
            {"key": "gpu", "value": "yes", "effect": "NO_EXECUTE"},
        ],
        "instanceTypes": ["m5.large"],
        "amiType": "AL2023_x86_64_STANDARD",
        "capacityType": "ON_DEMAND",
        "releaseVersion": "1.30.0-20240703",
        "version": "1.30",
        "updateConfig": {"maxUnavailable": 1},
        "nodeRepairConfig": {"enabled": True},
        "diskSize": 40,
        "remoteAccess": {"ec2SshKey": "ops"},
    }


def test_the_request_is_the_same_on_a_retry_and_differs_per_nodegroup() -> None:
    """The client request token makes a retried CreateNodegroup idempotent (one nodegroup, never two)."""
    config = NodegroupConfig(subnets=SUBNETS, node_role=ROLE, scaling_config={"minSize": 1})
    first, again = create_request(_task(config)), create_request(_task(config))
    other = _task(config)
    other.nodegroup.by = "other-ng-pods"
    assert first == again
    assert len(first["clientRequestToken"]) == 64
    assert create_request(other)["clientRequestToken"] != first["clientRequestToken"]


def test_a_launch_template_request_leaves_out_what_eks_refuses_beside_it_and_unset_keys() -> None:
    template = {"id": "lt-0abc", "version": "7"}
    config = NodegroupConfig(
        subnets=SUBNETS,
        node_role=ROLE,
        scaling_config={"minSize": 1},
        disk_size=40,
        remote_access={"ec2SshKey": "ops"},
        launch_template=template,
    )
    request = create_request(_task(config))
    assert request["launchTemplate"] == template
    assert "diskSize" not in request and "remoteAccess" not in request
    for unset in ("instanceTypes", "amiType", "capacityType", "releaseVersion", "version", "updateConfig", "taints"):
        assert unset not in request
    assert request["labels"] == {} and request["tags"] == {"podcidr:cluster": "eksworkshop"}


def test_the_request_does_not_share_the_task_s_lists() -> None:
    config = NodegroupConfig(subnets=SUBNETS, node_role=ROLE, scaling_config={"minSize": 1}, labels={"a": "b"})
    task = _task(config)
    request = create_request(task)
    request["subnets"].append("subnet-9")
    request["labels"]["c"] = "d"
    request["scalingConfig"]["minSize"] = 9
    assert task.nodegroup.config.subnets == SUBNETS
    assert task.nodegroup.config.labels == {"a": "b"}
    assert task.nodegroup.config.scaling_config == {"minSize": 1}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"capacity": {"pods": "44"}, "allocatable": {"pods": "40"}}, 44),
        ({"allocatable": {"pods": "40"}}, 40),
        ({"capacity": {"cpu": "2"}}, None),
        ({"capacity": {"pods": "many"}}, None),
        ({}, None),
    ],
)
def test_a_node_s_max_pods_is_its_pod_capacity(status: dict[str, Any], expected: int | None) -> None:
    assert node_max_pods({"metadata": {"name": "n1"}, "status": status}) == expected


def _replacement(max_pods: int | None, launch_template: dict[str, str] | None = None) -> NodegroupReplacement:
    config = NodegroupConfig(
        subnets=SUBNETS, node_role=ROLE, scaling_config={"minSize": 1}, launch_template=launch_template
    )
    return NodegroupReplacement(replaced="managed-ng", by="managed-ng-pods", max_pods=max_pods, config=config)


def test_nodes_with_the_custom_networking_max_pods_pass() -> None:
    item = _replacement(44)
    _check_max_pods(item, [node("n1", "192.168.1.1", pods="44"), node("n2", "192.168.1.2", pods="44")])
    assert item.warnings == []


def test_no_expected_max_pods_checks_nothing() -> None:
    item = _replacement(None)
    _check_max_pods(item, [node("n1", "192.168.1.1", pods="110")])
    assert item.warnings == []


def test_wrong_max_pods_without_a_launch_template_fails_naming_the_nodes() -> None:
    item = _replacement(44)
    nodes = [node("n2", "10.0.0.2", pods="110"), node("n1", "10.0.0.1", pods="44"), node("n0", "10.0.0.0", pods=None)]
    with pytest.raises(NodegroupReplacementFailed) as raised:
        _check_max_pods(item, nodes)
    assert raised.value.cause == (
        "Nodes of managed-ng-pods report max pods other than the custom-networking value 44: n0 (None), n2 (110). "
        "EKS computes max pods itself for nodegroups without a custom AMI, so the CNI was probably not configured "
        "when managed-ng-pods was created. managed-ng is untouched; delete managed-ng-pods and run again."
    )


def test_wrong_max_pods_with_a_launch_template_is_one_warning() -> None:
    item = _replacement(44, {"id": "lt-0abc", "version": "2"})
    nodes = [node("n1", "192.168.1.1", pods="110")]
    _check_max_pods(item, nodes)
    _check_max_pods(item, nodes)  # the wait loop checks again: the warning is not repeated
    assert item.warnings == [
        "Nodes of managed-ng-pods report max pods other than the custom-networking value 44: n1 (110). Its launch "
        "template sets max pods (e.g. nodeadm maxPodsExpression); check it."
    ]


def test_health_issues_are_listed_with_their_resources() -> None:
    nodegroup = {
        "health": {
            "issues": [
                {"code": "AsgInstanceLaunchFailures", "message": "no capacity", "resourceIds": ["asg-1", "asg-2"]},
                {"code": "NodeCreationFailure", "message": "instances failed to join"},
            ]
        }
    }
    assert _issues(nodegroup) == (
        "AsgInstanceLaunchFailures: no capacity (asg-1, asg-2); NodeCreationFailure: instances failed to join"
    )


def test_no_health_issue_says_so() -> None:
    assert _issues({"health": {"issues": []}}) == "EKS reported no health issue"
    assert _issues({}) == "EKS reported no health issue"
