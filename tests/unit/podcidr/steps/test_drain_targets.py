"""The drain's view of the load balancers: the IP target groups the AWS Load Balancer Controller binds to
Services (TargetGroupBindings), with their targets' health, over fake_kube and a fake DescribeTargetHealth.
The drain on the twin, with the controller and real target registration: tests/rehearsals/test_request_probes.py."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.errors import TransientAwsError
from podcidr.steps.drain_targets import TargetGroup, ip_target_groups
from podcidr.steps.target_health import target_states
from tests.fixtures.fake_elbv2 import FakeElbv2, client_error
from tests.fixtures.fake_kube import FakeKube, pod

ARN = "arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/k8s-shop-web-0a1b2c/73e2d6bc24d8a067"
OTHER_ARN = "arn:aws:elasticloadbalancing:us-west-2:111122223333:targetgroup/k8s-shop-api-9f8e7d/0123456789abcdef"
BINDING_CRD = {
    "metadata": {"name": "targetgroupbindings.elbv2.k8s.aws"},
    "spec": {"versions": [{"name": "v1beta1", "served": True}]},
}


def _binding(name: str, service: str | None, arn: str | None, target_type: str = "ip", namespace: str = "shop") -> Any:
    spec: dict[str, Any] = {"targetType": target_type}
    if arn is not None:
        spec["targetGroupARN"] = arn
    if service is not None:
        spec["serviceRef"] = {"name": service, "port": 80}
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _service(name: str, selector: dict[str, str] | None, namespace: str = "shop") -> Any:
    spec: dict[str, Any] = {"ports": [{"port": 80}]}
    if selector is not None:
        spec["selector"] = selector
    return {"metadata": {"name": name, "namespace": namespace}, "spec": spec}


def _kube(*bindings: Any, services: list[Any] | None = None) -> FakeKube:
    return FakeKube(
        CustomResourceDefinition=[BINDING_CRD],
        **{"targetgroupbindings.elbv2.k8s.aws": list(bindings)},
        Service=services if services is not None else [_service("web", {"app": "web"})],
    )


def test_an_ip_binding_is_its_service_selector_with_its_targets_states() -> None:
    elbv2 = FakeElbv2({ARN: {"10.64.0.10": "healthy", "10.64.0.11": "initial"}})
    groups = ip_target_groups(_kube(_binding("web-tgb", "web", ARN)), elbv2)  # type: ignore[arg-type]
    assert groups == [
        TargetGroup(ARN, "shop", "web", {"app": "web"}, {"10.64.0.10": "healthy", "10.64.0.11": "initial"})
    ]
    assert groups[0].label == "targetgroup/k8s-shop-web-0a1b2c/73e2d6bc24d8a067 (Service shop/web)"


def test_instance_bindings_bindings_without_a_group_and_gone_services_are_left_out() -> None:
    kube = _kube(
        _binding("instance-tgb", "web", OTHER_ARN, target_type="instance"),
        _binding("no-arn-tgb", "web", None),
        _binding("gone-service-tgb", "gone", OTHER_ARN),
        _binding("no-spec", None, None),
        _binding("web-tgb", "web", ARN),
    )
    kube.objects["targetgroupbindings.elbv2.k8s.aws"][3].pop("spec")
    elbv2 = FakeElbv2({ARN: {"10.64.0.10": "healthy"}, OTHER_ARN: {"10.64.0.20": "healthy"}})
    groups = ip_target_groups(kube, elbv2)  # type: ignore[arg-type]
    assert [(g.arn, g.service) for g in groups] == [(ARN, "web")]
    assert elbv2.described == [ARN]  # neither the instance group nor the gone Service's group was asked


def test_a_target_group_gone_with_its_load_balancer_is_left_out() -> None:
    kube = _kube(_binding("gone-tgb", "web", OTHER_ARN), _binding("web-tgb", "web", ARN))
    groups = ip_target_groups(kube, FakeElbv2({ARN: {"10.64.0.10": "healthy"}}))  # type: ignore[arg-type]
    assert [g.arn for g in groups] == [ARN]


def test_a_service_behind_two_groups_is_read_once_and_a_service_without_selector_fronts_nothing() -> None:
    services = [_service("web", {"app": "web"}), _service("manual", None)]
    kube = _kube(
        _binding("a", "web", ARN), _binding("b", "web", OTHER_ARN), _binding("c", "manual", ARN), services=services
    )
    reads: list[str] = []
    read = kube.core.read_namespaced_service

    def counted(name: str, namespace: str) -> Any:
        reads.append(f"{namespace}/{name}")
        return read(name, namespace)

    kube.core.read_namespaced_service = counted  # type: ignore[method-assign]
    elbv2 = FakeElbv2({ARN: {"10.64.0.10": "healthy"}, OTHER_ARN: {}})
    groups = ip_target_groups(kube, elbv2)  # type: ignore[arg-type]
    assert reads == ["shop/web", "shop/manual"]
    assert [(g.arn, g.service, g.selector) for g in groups] == [
        (ARN, "web", {"app": "web"}),
        (OTHER_ARN, "web", {"app": "web"}),
        (ARN, "manual", {}),
    ]
    assert not groups[2].fronts(pod("any", "node-1", "10.64.0.10", namespace="shop", labels={"app": "web"}))


def test_no_binding_crd_is_no_target_group() -> None:
    assert ip_target_groups(FakeKube(), FakeElbv2()) == []  # type: ignore[arg-type]


def test_a_served_version_other_than_v1beta1_is_not_read() -> None:
    crd = {"metadata": BINDING_CRD["metadata"], "spec": {"versions": [{"name": "v1", "served": True}]}}
    kube = FakeKube(
        CustomResourceDefinition=[crd], **{"targetgroupbindings.elbv2.k8s.aws": [_binding("a", "web", ARN)]}
    )
    assert ip_target_groups(kube, FakeElbv2({ARN: {}})) == []  # type: ignore[arg-type]


def test_a_refused_list_or_service_read_is_not_taken_for_no_controller() -> None:
    from kubernetes.client.exceptions import ApiException

    kube = _kube(_binding("web-tgb", "web", ARN))

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise ApiException(status=403, reason="Forbidden")

    kube.core.read_namespaced_service = forbidden  # type: ignore[method-assign]
    with pytest.raises(ApiException) as raised:
        ip_target_groups(kube, FakeElbv2({ARN: {}}))  # type: ignore[arg-type]
    assert raised.value.status == 403
    kube.custom.list_cluster_custom_object = forbidden  # type: ignore[method-assign]
    with pytest.raises(ApiException):
        ip_target_groups(kube, FakeElbv2({ARN: {}}))  # type: ignore[arg-type]


def test_a_group_fronts_the_pods_its_selector_picks_in_its_namespace() -> None:
    group = TargetGroup(ARN, "shop", "web", {"app": "web", "tier": "front"})
    labels = {"app": "web", "tier": "front", "pod-template-hash": "5d8f"}
    assert group.fronts(pod("web-1", "node-1", "10.64.0.10", namespace="shop", labels=labels))
    assert not group.fronts(pod("web-1", "node-1", "10.64.0.10", namespace="other", labels=labels))
    assert not group.fronts(pod("web-2", "node-1", "10.64.0.11", namespace="shop", labels={"app": "web"}))
    assert not group.fronts(pod("web-3", "node-1", "10.64.0.12", namespace="shop"))  # no labels at all
    assert not TargetGroup(ARN, "shop", "web", {}).fronts(pod("x", "node-1", None, namespace="shop", labels=labels))


def test_only_a_healthy_target_is_healthy() -> None:
    group = TargetGroup(ARN, "shop", "web", {"app": "web"}, {"10.64.0.10": "healthy", "10.64.0.11": "initial"})
    assert group.healthy("10.64.0.10")
    assert not group.healthy("10.64.0.11")
    assert not group.healthy("10.64.0.12")
    assert not group.healthy(None)
    assert not TargetGroup(ARN, "shop", "web", {}, {"None": "healthy"}).healthy(None)


def test_target_states_are_each_target_with_its_state_or_unknown() -> None:
    elbv2 = FakeElbv2({ARN: {"10.64.0.10": "healthy", "10.64.0.11": None}})
    assert target_states(elbv2, ARN) == [("10.64.0.10", "healthy"), ("10.64.0.11", "unknown")]  # type: ignore[arg-type]
    assert target_states(elbv2, OTHER_ARN) is None  # type: ignore[arg-type]


def test_target_states_throttled_is_transient_and_access_denied_is_raised() -> None:
    from botocore.exceptions import ClientError

    elbv2 = FakeElbv2({ARN: {}})
    elbv2.fault = client_error("Throttling", "Rate exceeded", 400)
    with pytest.raises(TransientAwsError, match="elasticloadbalancing:DescribeTargetHealth"):
        target_states(elbv2, ARN)  # type: ignore[arg-type]
    elbv2.fault = client_error("AccessDenied", "not authorized", 403)
    with pytest.raises(ClientError):
        target_states(elbv2, ARN)  # type: ignore[arg-type]
