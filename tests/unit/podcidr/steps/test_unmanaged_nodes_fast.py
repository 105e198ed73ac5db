"""Which nodes and pods belong to capacity podcidr does not migrate (Migration.unmanaged_capacity)."""

from __future__ import annotations

from typing import Any

from podcidr.models.migration import UnmanagedCapacity
from podcidr.steps.unmanaged_nodes import capacity_of_node, capacity_of_pod, instance_id

SELF = UnmanagedCapacity(kind="self-managed", name="asg-web", instance_ids=["i-0aaa", "i-0bbb"])
KARPENTER = UnmanagedCapacity(kind="karpenter", name="default", instance_ids=["i-0ccc"])
FARGATE = UnmanagedCapacity(kind="fargate", name="fp-batch", namespaces=["batch"])
CAPACITY = [SELF, KARPENTER, FARGATE]


def _node(provider: str | None = None, labels: dict[str, str] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"metadata": {"name": "n", "labels": labels or {}}}
    if provider is not None:
        node["spec"] = {"providerID": provider}
    return node


def test_the_instance_id_is_the_last_part_of_an_aws_provider_id() -> None:
    assert instance_id(_node("aws:///us-west-2a/i-0aaa")) == "i-0aaa"
    assert instance_id(_node("kind://docker/kind/n")) is None
    assert instance_id(_node()) is None


def test_a_node_belongs_to_the_capacity_listing_its_instance() -> None:
    assert capacity_of_node(_node("aws:///us-west-2b/i-0bbb"), CAPACITY) is SELF
    assert capacity_of_node(_node("aws:///us-west-2b/i-0ccc"), CAPACITY) is KARPENTER
    assert capacity_of_node(_node("aws:///us-west-2b/i-0ddd"), CAPACITY) is None


def test_a_fargate_node_belongs_to_the_fargate_capacity_if_any() -> None:
    fargate = _node("aws:///us-west-2a/fargate-ip-10-0-1-1", labels={"eks.amazonaws.com/compute-type": "fargate"})
    assert capacity_of_node(fargate, CAPACITY) is FARGATE
    assert capacity_of_node(fargate, [SELF]) is None
    other = _node(labels={"eks.amazonaws.com/compute-type": "ec2"})
    assert capacity_of_node(other, CAPACITY) is None


def test_a_pod_belongs_to_its_nodes_capacity_or_to_its_fargate_profiles_namespace() -> None:
    nodes = {
        "ip-self": _node("aws:///us-west-2a/i-0aaa"),
        "fargate-ip": _node(labels={"eks.amazonaws.com/compute-type": "fargate"}),
        "managed": _node("aws:///us-west-2a/i-0eee"),
    }
    on_self = {"metadata": {"namespace": "web"}, "spec": {"nodeName": "ip-self"}}
    assert capacity_of_pod(on_self, nodes, CAPACITY) is SELF
    batch = {"metadata": {"namespace": "batch"}, "spec": {"nodeName": "fargate-ip"}}
    assert capacity_of_pod(batch, nodes, CAPACITY) is FARGATE
    elsewhere = {"metadata": {"namespace": "web"}, "spec": {"nodeName": "fargate-ip"}}
    assert capacity_of_pod(elsewhere, nodes, [SELF]) is None  # a Fargate node, no Fargate capacity listed
    assert (
        capacity_of_pod({"metadata": {"namespace": "batch"}, "spec": {"nodeName": "managed"}}, nodes, CAPACITY) is None
    )
    assert capacity_of_pod({"metadata": {"namespace": "batch"}, "spec": {}}, nodes, CAPACITY) is None


def test_a_fargate_pod_is_counted_for_its_profile_by_its_label_or_its_namespace() -> None:
    first = UnmanagedCapacity(kind="fargate", name="fp-web", namespaces=["web"])
    second = UnmanagedCapacity(kind="fargate", name="fp-batch", namespaces=["batch", "jobs"])
    nodes = {"f1": _node(labels={"eks.amazonaws.com/compute-type": "fargate"})}

    def owner(namespace: str, labels: dict[str, str] | None = None) -> UnmanagedCapacity | None:
        pod = {"metadata": {"namespace": namespace, "labels": labels or {}}, "spec": {"nodeName": "f1"}}
        return capacity_of_pod(pod, nodes, [SELF, first, second])

    assert owner("jobs") is second
    assert owner("web") is first
    # a pod matching several profiles runs on the one its label names (EKS user guide, "Fargate profile")
    assert owner("web", {"eks.amazonaws.com/fargate-profile": "fp-batch"}) is second
    assert owner("elsewhere") is first  # on Fargate all the same: left out of VerifyPods
