"""Plan on topologies other than the seed's (each test builds its own in moto).

moto has no EKS add-ons: FakeEks (tests.fixtures.topology) answers DescribeAddon and adds the
clusterSecurityGroupId and accessConfig fields that real EKS reports; everything else is moto.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from podcidr import OWNER_TAG_KEY, pod_cidr_tag_key
from podcidr.errors import (
    CidrOverlap,
    CidrQuotaExceeded,
    InvalidInput,
    NoCidrAvailable,
    NodeRouteTableMissing,
    UnsupportedCluster,
)
from podcidr.models.migration import Migration
from podcidr.steps.plan import plan
from tests.fixtures.topology import (
    REGION,
    FakeEks,
    NodegroupSpec,
    RouteTableSpec,
    SubnetSpec,
    TopologySpec,
    addon,
    aws,
    build,
    client,
    four_blocks_spec,
    nat_per_az_spec,
    seed_spec,
    two_az_spec,
)

__all__ = ["aws"]  # the fixture


def planned(document: dict[str, Any] | None = None) -> Migration:
    eks = FakeEks(client("eks"), addon=addon())
    event = {"input": document or {"clusterName": "eksworkshop"}, "polls": 0}
    outcome = plan(event, client("ec2"), eks, REGION)  # type: ignore[arg-type]
    assert outcome.migration is not None
    return outcome.migration


def tag(resource: str, key: str, value: str) -> None:
    client("ec2").create_tags(Resources=[resource], Tags=[{"Key": key, "Value": value}])


def test_two_azs(aws: None) -> None:
    topology = build(two_az_spec())
    m = planned()
    assert [(s.availability_zone, s.cidr) for s in m.pod_subnets] == [
        ("ap-southeast-1a", "100.64.0.0/17"),
        ("ap-southeast-1b", "100.64.128.0/17"),
    ]
    assert [e.name for e in m.eni_configs] == ["ap-southeast-1a", "ap-southeast-1b"]
    (private_nlb,) = [c for c in m.verification.load_balancers if c.kind == "private-nlb"]
    assert [a.subnet_id for a in private_nlb.fixed_addresses] == [topology.subnet("node-a"), topology.subnet("node-b")]
    assert len(m.load_balancer_tags) == 4


def test_separate_nat_and_route_table_per_az(aws: None) -> None:
    topology = build(nat_per_az_spec())
    m = planned()
    for subnet, zone in zip(m.pod_subnets, "abc", strict=True):
        assert subnet.route_table_id == topology.route_table_ids[f"private-{zone}"]
        assert subnet.default_route_target == topology.nat_gateway_ids[f"public-{zone}"]


def test_transit_gateway_default_route(aws: None) -> None:
    spec = seed_spec()
    spec.route_tables = [
        RouteTableSpec("public", ["public-a", "public-b", "public-c"], internet_gateway=True),
        RouteTableSpec("private", ["node-a", "node-b", "node-c"], transit_gateway=True),
    ]
    topology = build(spec)
    m = planned()
    assert {s.default_route_target for s in m.pod_subnets} == {topology.transit_gateway_id}


def test_a_vpc_with_four_blocks_takes_a_fifth(aws: None) -> None:
    build(four_blocks_spec())
    assert planned().pod_cidr.cidr == "100.64.0.0/16"


def test_a_vpc_with_five_blocks_is_full(aws: None) -> None:
    build(seed_spec(secondary_cidrs=["172.30.0.0/16", "172.29.0.0/16", "172.28.0.0/16", "172.27.0.0/16"]))
    with pytest.raises(CidrQuotaExceeded, match="5"):
        planned()
    with pytest.raises(CidrQuotaExceeded):
        planned({"clusterName": "eksworkshop", "podCidr": "100.64.0.0/16"})


def test_an_unowned_block_is_not_reused(aws: None) -> None:
    build(seed_spec(secondary_cidrs=["100.64.0.0/16"]))
    assert planned().pod_cidr.cidr == "100.65.0.0/16"
    with pytest.raises(CidrOverlap, match=r"100\.64\.0\.0/16.*100\.65\.0\.0/16"):
        planned({"clusterName": "eksworkshop", "podCidr": "100.64.0.0/16"})


def test_route_destination_blocks_the_default(aws: None) -> None:
    build(seed_spec(extra_routes=[("100.64.0.0/16", "transit-gateway")]))
    assert planned().pod_cidr.cidr == "100.65.0.0/16"
    with pytest.raises(CidrOverlap, match="route to tgw-"):
        planned({"clusterName": "eksworkshop", "podCidr": "100.64.0.0/16"})


def test_no_cidr_available(aws: None) -> None:
    routes = [(f"100.{64 + i}.0.0/16", "transit-gateway") for i in range(64)]
    build(seed_spec(extra_routes=routes))
    with pytest.raises(NoCidrAvailable, match=r"198\.19\.0\.0/16"):
        planned()


def test_adopts_the_block_and_subnets_of_an_earlier_run(aws: None) -> None:
    spec = seed_spec(
        secondary_cidrs=["100.64.0.0/16"],
        vpc_tags={pod_cidr_tag_key("eksworkshop"): "100.64.0.0/16"},
    )
    owner = {OWNER_TAG_KEY: "eksworkshop"}
    spec.subnets += [
        SubnetSpec("pod-a", "ap-southeast-1a", "100.64.0.0/18", tags=owner),
        SubnetSpec("pod-b", "ap-southeast-1b", "100.64.64.0/18", tags=owner),
    ]
    topology = build(spec)
    association = client("ec2").describe_vpcs(VpcIds=[topology.vpc_id])["Vpcs"][0]["CidrBlockAssociationSet"]
    association_id = next(a["AssociationId"] for a in association if a["CidrBlock"] == "100.64.0.0/16")

    for document in ({"clusterName": "eksworkshop"}, {"clusterName": "eksworkshop", "podCidr": "100.64.0.0/16"}):
        m = planned(document)
        assert m.pod_cidr.cidr == "100.64.0.0/16"
        assert m.pod_cidr.association_id == association_id
        assert m.pod_cidr.state == "associated"
        assert not m.pod_cidr.created
        assert [(s.availability_zone, s.cidr, s.subnet_id) for s in m.pod_subnets] == [
            ("ap-southeast-1a", "100.64.0.0/18", topology.subnet("pod-a")),
            ("ap-southeast-1b", "100.64.64.0/18", topology.subnet("pod-b")),
            ("ap-southeast-1c", "100.64.128.0/18", None),
        ]
        assert [e.subnet for e in m.eni_configs] == [topology.subnet("pod-a"), topology.subnet("pod-b"), None]
        pod_ids = {topology.subnet("pod-a"), topology.subnet("pod-b")}
        assert not pod_ids & {t.subnet_id for t in m.load_balancer_tags}  # never tag pod subnets
        assert not pod_ids & set(m.node_subnet_ids)

    with pytest.raises(InvalidInput, match=r"100\.65\.0\.0/16 differs from 100\.64\.0\.0/16"):
        planned({"clusterName": "eksworkshop", "podCidr": "100.65.0.0/16"})


def test_owned_subnets_mark_the_block_without_the_vpc_tag(aws: None) -> None:
    spec = seed_spec(secondary_cidrs=["100.64.0.0/16"])
    spec.subnets.append(SubnetSpec("pod-c", "ap-southeast-1c", "100.64.128.0/18", tags={OWNER_TAG_KEY: "eksworkshop"}))
    topology = build(spec)
    m = planned()
    assert m.pod_cidr.cidr == "100.64.0.0/16"
    assert m.pod_subnets[2].subnet_id == topology.subnet("pod-c")
    assert [s.cidr for s in m.pod_subnets] == ["100.64.0.0/18", "100.64.64.0/18", "100.64.128.0/18"]


def test_load_balancer_tags_already_present(aws: None) -> None:
    topology = build(seed_spec())
    tag(topology.subnet("public-a"), "kubernetes.io/role/elb", "1")
    tag(topology.subnet("node-b"), "kubernetes.io/role/internal-elb", "")
    present = {t.subnet_id: t.present for t in planned().load_balancer_tags}
    assert present[topology.subnet("public-a")]
    assert not present[topology.subnet("public-b")]
    assert present[topology.subnet("node-b")]
    assert not present[topology.subnet("node-c")]


def test_a_role_tag_set_to_another_value_is_the_owners_choice_left_alone_and_named(aws: None) -> None:
    """TagLoadBalancerSubnets adds a role tag only where the key is missing; a subnet whose key says "0" is kept
    out of the controller's discovery by its owner: not planned (Plan would count it served), and named."""
    topology = build(seed_spec())
    tag(topology.subnet("public-c"), "kubernetes.io/role/elb", "0")
    tag(topology.subnet("node-c"), "kubernetes.io/role/internal-elb", "false")
    m = planned()
    planned_ids = {t.subnet_id for t in m.load_balancer_tags}
    assert topology.subnet("public-c") not in planned_ids
    assert topology.subnet("node-c") not in planned_ids
    assert {topology.subnet("public-a"), topology.subnet("node-a")} <= planned_ids
    for name, key, value in (("public-c", "elb", "0"), ("node-c", "internal-elb", "false")):
        assert (
            f"Subnet {topology.subnet(name)} carries kubernetes.io/role/{key}={value}: left as it is (podcidr adds "
            "the tag only where it is missing), and the AWS Load Balancer Controller does not choose it for load "
            "balancers."
        ) in m.warnings
    assert "ap-southeast-1c" not in m.verification.zones


def test_fixed_address_skips_used_ones(aws: None) -> None:
    topology = build(seed_spec())
    client("ec2").create_network_interface(SubnetId=topology.subnet("node-a"), PrivateIpAddress="172.31.63.254")
    (private_nlb,) = [c for c in planned().verification.load_balancers if c.kind == "private-nlb"]
    assert private_nlb.fixed_addresses[0].ip == "172.31.63.253"


def test_the_internal_nlb_takes_one_node_subnet_per_availability_zone(aws: None) -> None:
    """An NLB takes one subnet per AZ (the controller refuses two): with two node subnets in one AZ,
    the lower subnet ID of the two, as the controller's discovery would choose."""
    spec = two_az_spec()
    spec.subnets.append(SubnetSpec("node-a2", f"{REGION}a", "172.31.96.0/20"))
    spec.cluster_subnets = ["node-a", "node-b", "node-a2"]
    spec.nodegroups = [NodegroupSpec("managed-ng", ["node-a", "node-b", "node-a2"])]
    topology = build(spec)
    (private_nlb,) = [c for c in planned().verification.load_balancers if c.kind == "private-nlb"]
    in_a = min(topology.subnet("node-a"), topology.subnet("node-a2"))
    assert sorted(a.subnet_id for a in private_nlb.fixed_addresses) == sorted([in_a, topology.subnet("node-b")])


# --- nodegroups ----------------------------------------------------------------------------------


def test_a_replacement_made_by_podcidr_is_not_replaced(aws: None) -> None:
    spec = seed_spec()
    spec.nodegroups.append(
        NodegroupSpec("managed-ng-podcidr", ["node-a", "node-b", "node-c"], tags={OWNER_TAG_KEY: "eksworkshop"})
    )
    build(spec)
    (replacement,) = planned().nodegroups
    assert (replacement.replaced, replacement.by) == ("managed-ng", "managed-ng-podcidr")


def test_replacement_names_are_deterministic_and_short(aws: None) -> None:
    long_name = "n" * 60
    spec = seed_spec()
    spec.nodegroups = [
        NodegroupSpec(long_name, ["node-a"]),
        NodegroupSpec("web", ["node-b"]),
        NodegroupSpec("web-podcidr", ["node-c"], instance_types=["m5.large"]),  # someone else's, not podcidr's
    ]
    build(spec)
    by = {r.replaced: r for r in planned().nodegroups}
    assert by[long_name].by == "n" * 55 + "-podcidr"
    assert len(by[long_name].by) == 63
    assert by["web"].by == "web-podcidr-2"
    assert by["web-podcidr"].by == "web-podcidr-podcidr"
    assert by["web-podcidr"].max_pods == 20  # m5.large: 3 ENIs x 10 IPs
    assert planned({"clusterName": "eksworkshop", "nodegroups": ["web"]}).nodegroups[0].by == "web-podcidr-2"


def test_custom_ami_launch_template(aws: None) -> None:
    ec2 = client("ec2")
    bootstrap = base64.b64encode(b"#!/bin/bash\n/etc/eks/bootstrap.sh eksworkshop\n").decode()
    template = ec2.create_launch_template(
        LaunchTemplateName="custom-ami",
        LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "m5.large", "UserData": bootstrap},
    )["LaunchTemplate"]
    spec = seed_spec()
    spec.nodegroups = [
        NodegroupSpec(
            "lt-ng",
            ["node-a", "node-b", "node-c"],
            launch_template={"id": template["LaunchTemplateId"], "version": "1"},
            ami_type=None,
            labels={"role": "web"},
        )
    ]
    build(spec)
    m = planned()
    (replacement,) = m.nodegroups
    assert replacement.max_pods == 20
    assert replacement.config.launch_template == {"id": template["LaunchTemplateId"], "version": "1"}
    assert replacement.config.disk_size is None and replacement.config.remote_access is None
    assert replacement.config.ami_type is None and replacement.config.release_version is None
    assert replacement.config.labels == {"role": "web"}
    user_data = base64.b64decode(replacement.launch_template_user_data or "").decode()
    assert "/etc/eks/bootstrap.sh eksworkshop --kubelet-extra-args '--max-pods=20' --use-max-pods false" in user_data


def test_no_managed_nodegroups(aws: None) -> None:
    spec = seed_spec()
    spec.nodegroups = []
    build(spec)
    with pytest.raises(UnsupportedCluster, match="no managed nodegroup"):
        planned()
    m = planned({"clusterName": "eksworkshop", "replaceNodegroups": False})
    assert m.nodegroups == []
    assert len(m.pod_subnets) == 3  # node subnets from the cluster's private subnets


# --- node route tables -------------------------------------------------------------------------


def _two_node_subnets_in_a(nat_on_second: bool) -> TopologySpec:
    spec = seed_spec()
    spec.subnets.append(SubnetSpec("node-a2", "ap-southeast-1a", "172.31.96.0/20"))
    spec.route_tables = [
        RouteTableSpec("public", ["public-a", "public-b", "public-c"], internet_gateway=True),
        RouteTableSpec("private", ["node-a", "node-b", "node-c"], nat_subnet="public-a"),
        RouteTableSpec("isolated", ["node-a2"], nat_subnet="public-a" if nat_on_second else None),
    ]
    spec.nodegroups = [NodegroupSpec("managed-ng", ["node-a", "node-a2", "node-b", "node-c"])]
    return spec


def test_disagreeing_tables_pick_the_one_to_a_nat(aws: None) -> None:
    topology = build(_two_node_subnets_in_a(nat_on_second=False))
    m = planned()
    assert m.pod_subnets[0].route_table_id == topology.route_table_ids["private"]


def test_node_route_table_missing(aws: None) -> None:
    topology = build(_two_node_subnets_in_a(nat_on_second=True))
    with pytest.raises(NodeRouteTableMissing) as raised:
        planned()
    cause = raised.value.cause
    assert "ap-southeast-1a" in cause
    assert topology.route_table_ids["private"] in cause and topology.route_table_ids["isolated"] in cause


def test_test_load_balancers_accept_the_vpcs_blocks_unless_sources_are_given(aws: None) -> None:
    """verify.sourceCidrs is decided at Plan (retries of VerifyLoadBalancer agree): the VPC's
    associated IPv4 blocks by default, never 0.0.0.0/0."""
    build(seed_spec(secondary_cidrs=["172.30.0.0/16"]))
    defaults = {tuple(c.source_cidrs) for c in planned().verification.load_balancers}
    assert defaults == {("172.31.0.0/16", "172.30.0.0/16")}
    given = planned({"clusterName": "eksworkshop", "verify": {"sourceCidrs": ["203.0.113.0/24"]}})
    assert {tuple(c.source_cidrs) for c in given.verification.load_balancers} == {("203.0.113.0/24",)}
