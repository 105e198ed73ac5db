"""What remains of the test workloads where a clean-up cannot finish: the namespace's Ingress and Services
(fake_kube) and the controller's load balancers for them, found by its tags (botocore-stubbed ELBv2)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from podcidr.steps.verification_leftovers import controller_load_balancers, namespace_objects
from tests.fixtures.fake_kube import FakeKube
from tests.fixtures.stubbed_aws import all_answered, stubbed

PREFIX = "arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/net/"


def _arn(index: int) -> str:
    return f"{PREFIX}k8s-lb{index:02d}/{index:016x}"


def _balancer(index: int, name: str | None = None) -> dict[str, str]:
    return {
        "LoadBalancerArn": _arn(index),
        "LoadBalancerName": name or f"k8s-lb{index:02d}",
        "DNSName": f"k8s-lb{index:02d}.elb.us-west-2.amazonaws.com",
    }


def _tags(index: int, cluster: str, stack_key: str, stack: str) -> dict[str, object]:
    return {
        "ResourceArn": _arn(index),
        "Tags": [{"Key": "elbv2.k8s.aws/cluster", "Value": cluster}, {"Key": stack_key, "Value": stack}],
    }


def test_the_namespaces_ingress_and_services_are_named() -> None:
    kube = FakeKube(Namespace=[{"metadata": {"name": "podcidr-verify"}}])
    kube.add("Service", {"metadata": {"name": "podcidr-alb", "namespace": "podcidr-verify"}})
    kube.add("Service", {"metadata": {"name": "web", "namespace": "shop"}})
    kube.add("Ingress", {"metadata": {"name": "podcidr-alb", "namespace": "podcidr-verify"}})
    assert namespace_objects(kube, "shop", "podcidr-verify") == [  # type: ignore[arg-type]
        "Ingress podcidr-verify/podcidr-alb",
        "Service podcidr-verify/podcidr-alb",
    ]


def test_the_controllers_load_balancers_of_the_namespace_are_found_by_tags_in_batches_of_twenty() -> None:
    balancers = [_balancer(i) for i in range(22)] + [_balancer(99, name="hand-made")]
    elbv2, stub = stubbed("elbv2")
    stub.add_response("describe_load_balancers", {"LoadBalancers": balancers}, {})
    arns = sorted(_arn(i) for i in range(22))
    first = [
        _tags(0, "shop", "service.k8s.aws/stack", "podcidr-verify/podcidr-public-nlb"),
        _tags(1, "other-cluster", "service.k8s.aws/stack", "podcidr-verify/podcidr-public-nlb"),
        _tags(2, "shop", "service.k8s.aws/stack", "podcidr-verify-2/x"),
        {"ResourceArn": _arn(3)},
    ]
    stub.add_response("describe_tags", {"TagDescriptions": first}, {"ResourceArns": arns[:20]})
    stub.add_response(
        "describe_tags",
        {"TagDescriptions": [_tags(21, "shop", "ingress.k8s.aws/stack", "podcidr-verify/podcidr-alb")]},
        {"ResourceArns": arns[20:]},
    )
    with all_answered(stub):
        found = controller_load_balancers(elbv2, "shop", "podcidr-verify")
    assert found == [
        f"load balancer k8s-lb00 (k8s-lb00.elb.us-west-2.amazonaws.com, {_arn(0)}) "
        "of podcidr-verify/podcidr-public-nlb",
        f"load balancer k8s-lb21 (k8s-lb21.elb.us-west-2.amazonaws.com, {_arn(21)}) of podcidr-verify/podcidr-alb",
    ]


def test_load_balancers_deleted_meanwhile_are_skipped_and_other_faults_raised() -> None:
    elbv2, stub = stubbed("elbv2")
    stub.add_response("describe_load_balancers", {"LoadBalancers": [_balancer(0)]}, {})
    stub.add_client_error("describe_tags", "LoadBalancerNotFound", "One or more load balancers not found", 400)
    with all_answered(stub):
        assert controller_load_balancers(elbv2, "shop", "podcidr-verify") == []
    stub.add_response("describe_load_balancers", {"LoadBalancers": [_balancer(0)]}, {})
    stub.add_client_error("describe_tags", "AccessDenied", "not authorized", 403)
    with pytest.raises(ClientError, match="AccessDenied"):
        controller_load_balancers(elbv2, "shop", "podcidr-verify")


def test_without_candidates_no_tags_are_asked() -> None:
    elbv2, stub = stubbed("elbv2")
    stub.add_response("describe_load_balancers", {"LoadBalancers": [_balancer(5, name="app-lb")]}, {})
    with all_answered(stub):
        assert controller_load_balancers(elbv2, "shop", "podcidr-verify") == []


def test_a_load_balancer_of_the_cluster_without_a_stack_tag_is_not_the_namespaces() -> None:
    elbv2, stub = stubbed("elbv2")
    stub.add_response("describe_load_balancers", {"LoadBalancers": [_balancer(0)]}, {})
    stub.add_response(
        "describe_tags",
        {"TagDescriptions": [{"ResourceArn": _arn(0), "Tags": [{"Key": "elbv2.k8s.aws/cluster", "Value": "shop"}]}]},
        {"ResourceArns": [_arn(0)]},
    )
    with all_answered(stub):
        assert controller_load_balancers(elbv2, "shop", "podcidr-verify") == []


def test_one_load_balancer_deleted_meanwhile_does_not_hide_the_others() -> None:
    """DescribeTags fails as a whole (LoadBalancerNotFound) when one ARN is gone: each is then asked alone."""
    elbv2, stub = stubbed("elbv2")
    stub.add_response("describe_load_balancers", {"LoadBalancers": [_balancer(i) for i in range(3)]}, {})
    gone = "One or more load balancers not found"
    stub.add_client_error(
        "describe_tags",
        "LoadBalancerNotFound",
        gone,
        400,
        expected_params={"ResourceArns": [_arn(i) for i in range(3)]},
    )
    stub.add_response(
        "describe_tags",
        {"TagDescriptions": [_tags(0, "shop", "service.k8s.aws/stack", "podcidr-verify/podcidr-public-nlb")]},
        {"ResourceArns": [_arn(0)]},
    )
    stub.add_client_error(
        "describe_tags", "LoadBalancerNotFound", gone, 400, expected_params={"ResourceArns": [_arn(1)]}
    )
    stub.add_response(
        "describe_tags",
        {"TagDescriptions": [_tags(2, "shop", "ingress.k8s.aws/stack", "podcidr-verify/podcidr-alb")]},
        {"ResourceArns": [_arn(2)]},
    )
    with all_answered(stub):
        found = controller_load_balancers(elbv2, "shop", "podcidr-verify")
    assert found == [
        f"load balancer k8s-lb00 (k8s-lb00.elb.us-west-2.amazonaws.com, {_arn(0)}) "
        "of podcidr-verify/podcidr-public-nlb",
        f"load balancer k8s-lb02 (k8s-lb02.elb.us-west-2.amazonaws.com, {_arn(2)}) of podcidr-verify/podcidr-alb",
    ]
