"""The AWS Load Balancer Controller: subnet discovery as the controller chooses, fixed private
addresses, target health, events, deletion; through the real client, checked in moto's ELBv2."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from tests.fixtures.lb_scenarios import ELB, INTERNAL, subnet
from tests.localcloud.cluster.conftest import ClusterFixture, wait_for

SVC = "service.beta.kubernetes.io/aws-load-balancer-"


SCENARIO = {
    "vpc": {
        "subnets": [
            subnet("public-a", "a", "172.31.0.0/20", {ELB: "1"}, public=True),
            subnet("public-b", "b", "172.31.16.0/20", {ELB: "1"}, public=True),
            subnet("public-c", "c", "172.31.32.0/20", {}, public=True),
            subnet("node-a", "a", "172.31.48.0/20", {INTERNAL: "1"}),
            subnet("node-b", "b", "172.31.64.0/20", {INTERNAL: ""}),
            subnet("node-c", "c", "172.31.80.0/20", {INTERNAL: "1"}),
            subnet("extra-a", "a", "172.31.96.0/20", {INTERNAL: "1"}),
            subnet("other-b", "b", "172.31.112.0/20", {INTERNAL: "1", "kubernetes.io/cluster/other": "shared"}),
            subnet("tiny-c", "c", "172.31.128.0/28", {INTERNAL: "1"}),
        ]
    },
    "cluster": {"subnets": ["node-a", "node-b", "node-c"]},
    "timing": {"loadBalancer": 1.0},
    "faults": [{"operation": "kubernetes:create ConfigMap", "when": "after", "times": 1, "error": "InternalError"}],
}


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    fixture = twin_factory(SCENARIO)
    ec2 = fixture.admin("ec2")
    tiny = ec2.describe_subnets(SubnetIds=[fixture.subnet("tiny-c")])["Subnets"][0]
    assert tiny["AvailableIpAddressCount"] == 11
    ec2.create_network_interface(
        SubnetId=fixture.subnet("tiny-c"),
        PrivateIpAddresses=[{"PrivateIpAddress": f"172.31.128.{i}", "Primary": i == 4} for i in range(4, 8)],
    )  # 7 free: too few
    return fixture


def _nlb(core: k8s.CoreV1Api, name: str, annotations: dict[str, str], namespace: str = "default") -> None:
    core.create_namespaced_service(
        namespace,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "annotations": {SVC + "nlb-target-type": "ip", **annotations}},
            "spec": {
                "type": "LoadBalancer",
                "loadBalancerClass": "service.k8s.aws/nlb",
                "selector": {"app": "web"},
                "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}],
            },
        },
    )


def _hostname(read: Callable[[], Any]) -> str | None:
    ingress = read().status.load_balancer.ingress
    return ingress[0].hostname if ingress else None


def _lb(twin: ClusterFixture, hostname: str) -> dict[str, Any]:
    return next(b for b in twin.admin("elbv2").describe_load_balancers()["LoadBalancers"] if b["DNSName"] == hostname)


def _events(core: k8s.CoreV1Api, name: str, namespace: str = "default") -> list[Any]:
    return core.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items


def test_internal_nlb_subnets_are_discovered_as_the_controller_chooses(twin: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    _nlb(core, "discovered", {SVC + "scheme": "internal"})
    hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("discovered", "default")))
    chosen = sorted(az["SubnetId"] for az in _lb(twin, hostname)["AvailabilityZones"])
    expected = sorted(
        [
            min(twin.subnet("node-a"), twin.subnet("extra-a")),  # two candidates in a: the lowest subnet ID
            twin.subnet("node-b"),  # other-b is tagged for another cluster; node-b's role tag is empty
            twin.subnet("node-c"),  # tiny-c has fewer than 8 free addresses
        ]
    )
    assert chosen == expected

    # a subnet tagged for this cluster wins over a lower subnet ID
    loser = max(twin.subnet("node-a"), twin.subnet("extra-a"))
    twin.admin("ec2").create_tags(
        Resources=[loser], Tags=[{"Key": "kubernetes.io/cluster/eksworkshop", "Value": "shared"}]
    )
    try:
        _nlb(core, "cluster-tagged", {SVC + "scheme": "internal"})
        hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("cluster-tagged", "default")))
        assert loser in {az["SubnetId"] for az in _lb(twin, hostname)["AvailabilityZones"]}
    finally:
        twin.admin("ec2").delete_tags(Resources=[loser], Tags=[{"Key": "kubernetes.io/cluster/eksworkshop"}])
        core.delete_namespaced_service("cluster-tagged", "default")


def test_an_alb_needs_two_availability_zones(twin: ClusterFixture, api: Any) -> None:
    core, networking = k8s.CoreV1Api(api), k8s.NetworkingV1Api(api)
    core.create_namespaced_service(
        "default",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 80}]},
        },
    )

    def ingress(name: str) -> None:
        networking.create_namespaced_ingress(
            "default",
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "Ingress",
                "metadata": {
                    "name": name,
                    "annotations": {
                        "alb.ingress.kubernetes.io/scheme": "internet-facing",
                        "alb.ingress.kubernetes.io/target-type": "ip",
                    },
                },
                "spec": {
                    "ingressClassName": "alb",
                    "rules": [
                        {
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {"service": {"name": "web", "port": {"number": 80}}},
                                    }
                                ]
                            }
                        }
                    ],
                },
            },
        )

    ingress("two-zones")
    hostname = wait_for(lambda: _hostname(lambda: networking.read_namespaced_ingress("two-zones", "default")))
    lb = _lb(twin, hostname)
    assert lb["Type"] == "application" and lb["Scheme"] == "internet-facing"
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(
        [twin.subnet("public-a"), twin.subnet("public-b")]
    )

    ec2 = twin.admin("ec2")
    ec2.delete_tags(Resources=[twin.subnet("public-b")], Tags=[{"Key": ELB}])
    try:
        ingress("one-zone")
        event = wait_for(lambda: _events(core, "one-zone"), what="a FailedBuildModel event")[0]
        assert event.type == "Warning" and event.reason == "FailedBuildModel"
        assert "subnets count less than minimal required count: 1 < 2" in event.message
        assert networking.read_namespaced_ingress("one-zone", "default").status.load_balancer.ingress is None
        # an NLB is fine with one AZ
        _nlb(core, "public-one-zone", {SVC + "scheme": "internet-facing"})
        hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("public-one-zone", "default")))
        assert [az["SubnetId"] for az in _lb(twin, hostname)["AvailabilityZones"]] == [twin.subnet("public-a")]
    finally:
        ec2.create_tags(Resources=[twin.subnet("public-b")], Tags=[{"Key": ELB, "Value": "1"}])


def _fixed(twin: ClusterFixture) -> dict[str, str]:
    out = {}
    for name in ("node-a", "node-b", "node-c"):
        subnet = twin.admin("ec2").describe_subnets(SubnetIds=[twin.subnet(name)])["Subnets"][0]
        out[subnet["SubnetId"]] = str(ipaddress.ip_network(subnet["CidrBlock"]).broadcast_address - 2)
    return out


def test_internal_nlb_with_fixed_addresses_has_healthy_ip_targets(twin: ClusterFixture, api: Any) -> None:
    # Health checks take far longer than this test can be slowed down, so it sees `initial` for sure.
    delay = twin.cluster.health.delay
    twin.cluster.health.delay = lambda: 3600.0
    try:
        _check_fixed_address_nlb(twin, api)
    finally:
        twin.cluster.health.delay = delay


def _check_fixed_address_nlb(twin: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    fixed = _fixed(twin)
    _nlb(
        core,
        "private",
        {
            SVC + "scheme": "internal",
            SVC + "subnets": ",".join(fixed),
            SVC + "private-ipv4-addresses": ",".join(fixed.values()),
        },
    )
    elbv2 = twin.admin("elbv2")
    lb = wait_for(
        lambda: next(
            (
                b
                for b in elbv2.describe_load_balancers()["LoadBalancers"]
                if b["LoadBalancerName"].startswith("k8s-default-private-")
            ),
            None,
        )
    )

    def groups() -> list[dict[str, Any]]:
        try:
            return list(elbv2.describe_target_groups(LoadBalancerArn=lb["LoadBalancerArn"])["TargetGroups"])
        except elbv2.exceptions.TargetGroupNotFoundException:
            return []  # the controller creates the target groups after the load balancer

    group = wait_for(groups)[0]
    assert group["TargetType"] == "ip" and group["Protocol"] == "TCP"

    def states() -> dict[str, str]:
        health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
        return {d["Target"]["Id"]: d["TargetHealth"]["State"] for d in health}

    first = wait_for(states)
    assert set(first.values()) == {"initial"}  # health checks first run for timing.loadBalancer
    hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("private", "default")))
    assert hostname == lb["DNSName"]
    twin.cluster.health.delay = lambda: 0.0  # the health checks have now run
    final = wait_for(lambda: set((s := states()).values()) == {"healthy"} and s)
    pods = core.list_namespaced_pod("default", label_selector="app=web").items
    assert sorted(final) == sorted(p.status.pod_ip for p in pods)
    state = next(s for s in twin.cluster.state()["loadBalancers"] if s["for"] == "Service default/private")
    assert state["fixedAddresses"] == fixed and state["addresses"] == fixed and state["scheme"] == "internal"


@pytest.mark.parametrize(
    ("case", "reason", "message"),
    [
        ("outside", "FailedBuildModel", "expect one private IPv4 address configured for subnet"),
        ("in-use", "FailedDeployModel", "is already in use"),
        ("internet-facing", "FailedBuildModel", "private IPv4 addresses can only be set for internal load balancers"),
        ("count", "FailedBuildModel", "count of private IPv4 addresses (2) and subnets (3) must match"),
    ],
)
def test_an_impossible_fixed_address_leaves_an_event_and_no_load_balancer(
    twin: ClusterFixture, api: Any, case: str, reason: str, message: str
) -> None:
    core = k8s.CoreV1Api(api)
    fixed = _fixed(twin)
    addresses = list(fixed.values())
    scheme = "internal"
    if case == "outside":
        addresses[0] = "10.0.0.10"
    elif case == "in-use":
        node = core.list_node().items[0]
        node_ip = next(a.address for a in node.status.addresses if a.type == "InternalIP")
        zone_subnet = twin.subnet("node-" + node.metadata.labels["topology.kubernetes.io/zone"][-1])
        addresses = [node_ip if subnet == zone_subnet else ip for subnet, ip in fixed.items()]
    elif case == "internet-facing":
        scheme = "internet-facing"
    else:
        addresses = addresses[:2]
    name = f"bad-{case}"
    before = len(twin.admin("elbv2").describe_load_balancers()["LoadBalancers"])
    _nlb(
        core,
        name,
        {SVC + "scheme": scheme, SVC + "subnets": ",".join(fixed), SVC + "private-ipv4-addresses": ",".join(addresses)},
    )
    event = wait_for(lambda: _events(core, name), what="a warning event")[0]
    assert (event.type, event.reason) == ("Warning", reason)
    assert message in event.message
    assert len(twin.admin("elbv2").describe_load_balancers()["LoadBalancers"]) == before
    assert core.read_namespaced_service(name, "default").status.load_balancer.ingress is None
    core.delete_namespaced_service(name, "default")


@pytest.mark.parametrize(
    ("case", "reason", "message"),
    [
        ("missing-id", "FailedBuildModel", "couldn't find all security groups: api error InvalidGroup.NotFound"),
        ("missing-name", "FailedBuildModel", "couldn't find all security groups: requested names [no-such-group]"),
        ("other-vpc", "FailedDeployModel", "One or more security groups are invalid"),
    ],
)
def test_a_security_group_the_controller_cannot_use_leaves_an_event_and_no_load_balancer(
    twin: ClusterFixture, api: Any, case: str, reason: str, message: str
) -> None:
    core = k8s.CoreV1Api(api)
    ec2 = twin.admin("ec2")
    if case == "missing-id":
        group = "sg-0123456789abcdef0"
    elif case == "missing-name":
        group = "no-such-group"
    else:
        vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
        group = ec2.create_security_group(GroupName="elsewhere", Description="x", VpcId=vpc)["GroupId"]
    name = f"sg-{case}"
    before = len(twin.admin("elbv2").describe_load_balancers()["LoadBalancers"])
    _nlb(core, name, {SVC + "scheme": "internal", SVC + "security-groups": group})
    event = wait_for(lambda: _events(core, name), what="a warning event")[0]
    assert (event.type, event.reason) == ("Warning", reason)
    assert message in event.message
    assert len(twin.admin("elbv2").describe_load_balancers()["LoadBalancers"]) == before
    core.delete_namespaced_service(name, "default")


def test_a_security_group_of_the_vpc_by_name_is_given_to_the_load_balancer(twin: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    ec2 = twin.admin("ec2")
    vpc = twin.aws.built.vpc_id
    group = ec2.create_security_group(GroupName="lb-front", Description="x", VpcId=vpc)["GroupId"]
    ec2.create_tags(Resources=[group], Tags=[{"Key": "Name", "Value": "lb-front"}])
    _nlb(core, "sg-named", {SVC + "scheme": "internal", SVC + "security-groups": "lb-front"})
    hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("sg-named", "default")), what="hostname")
    assert _lb(twin, hostname)["SecurityGroups"] == [group]
    core.delete_namespaced_service("sg-named", "default")


def test_deleting_the_service_or_its_namespace_deletes_the_load_balancer(twin: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    elbv2 = twin.admin("elbv2")
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "verify"}})
    _nlb(core, "goes-away", {SVC + "scheme": "internal"}, namespace="verify")
    hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("goes-away", "verify")))
    arn = _lb(twin, hostname)["LoadBalancerArn"]
    groups = [g["TargetGroupArn"] for g in elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]]
    assert core.read_namespaced_service("goes-away", "verify").metadata.finalizers == ["service.k8s.aws/resources"]
    core.delete_namespace("verify")
    wait_for(lambda: "verify" not in {n.metadata.name for n in core.list_namespace().items}, what="namespace gone")
    assert arn not in {b["LoadBalancerArn"] for b in elbv2.describe_load_balancers()["LoadBalancers"]}
    assert not set(groups) & {g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}


def test_scenario_faults_apply_to_kubernetes_calls_and_the_ledger_records_them(twin: ClusterFixture, api: Any) -> None:
    core = k8s.CoreV1Api(api)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "lost-response"}, "data": {"a": "b"}}
    with pytest.raises(ApiException) as failed:
        core.create_namespaced_config_map("default", body)
    assert failed.value.status == 500
    assert core.read_namespaced_config_map("lost-response", "default").data == {"a": "b"}  # it acted (`after`)
    calls = [e for e in twin.aws.ledger.entries() if e.operation == "kubernetes:create ConfigMap"]
    assert [(c.service, c.mutating, c.result) for c in calls] == [("kubernetes", True, "InternalError")]


def test_each_target_group_has_a_target_group_binding_that_goes_with_its_load_balancer(
    twin: ClusterFixture, api: Any
) -> None:
    core = k8s.CoreV1Api(api)
    custom = k8s.CustomObjectsApi(api)
    elbv2 = twin.admin("elbv2")
    _nlb(core, "bound", {SVC + "scheme": "internal"})
    hostname = wait_for(lambda: _hostname(lambda: core.read_namespaced_service("bound", "default")))
    arn = _lb(twin, hostname)["LoadBalancerArn"]
    (group,) = elbv2.describe_target_groups(LoadBalancerArn=arn)["TargetGroups"]
    bindings = custom.list_namespaced_custom_object("elbv2.k8s.aws", "v1beta1", "default", "targetgroupbindings")
    (binding,) = [b for b in bindings["items"] if b["spec"]["targetGroupARN"] == group["TargetGroupArn"]]
    assert binding["metadata"]["name"] == group["TargetGroupName"]
    assert binding["metadata"]["labels"] == {
        "service.k8s.aws/stack-name": "bound",
        "service.k8s.aws/stack-namespace": "default",
    }
    assert binding["spec"]["serviceRef"] == {"name": "bound", "port": 80}
    assert binding["spec"]["targetType"] == "ip"
    core.delete_namespaced_service("bound", "default")
    wait_for(
        lambda: (
            not custom.list_namespaced_custom_object(
                "elbv2.k8s.aws",
                "v1beta1",
                "default",
                "targetgroupbindings",
                field_selector="metadata.name=" + binding["metadata"]["name"],
            )["items"]
        ),
        what="binding gone",
    )
