"""Plan's reference checks (podcidr.steps.plan_references) against moto's EC2: the pods' security
groups (issue 11 item 4, AWS-FACTS 8) and a podCidr that another cluster uses (issue 15 item 3)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from ipaddress import IPv4Network
from typing import Any

import pytest

from podcidr import OWNER_TAG_KEY, pod_cidr_tag_key
from podcidr.errors import CidrOverlap, InvalidInput, PodSecurityGroupConflict
from podcidr.models.discovery import (
    CidrBlockInfo,
    ClusterInfo,
    ClusterTopology,
    CniInfo,
    LaunchTemplateInfo,
    NodegroupInfo,
    SubnetInfo,
    VpcInfo,
)
from podcidr.models.input import parse_execution_input
from podcidr.steps.plan_references import NOTHING_CHANGED, check_pod_cidr_unused, pod_security_groups
from tests.fixtures.topology import client, mocked_aws

NAME = "eksworkshop"
TAG = {f"kubernetes.io/cluster/{NAME}": "owned"}


@pytest.fixture
def ec2() -> Iterator[Any]:
    with mocked_aws():
        yield client("ec2")


def _group(ec2: Any, vpc_id: str, name: str, tags: dict[str, str] | None = None) -> str:
    spec = [{"ResourceType": "security-group", "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}]
    created = ec2.create_security_group(
        GroupName=name, Description=name, VpcId=vpc_id, **({"TagSpecifications": spec} if tags else {})
    )
    return str(created["GroupId"])


def _nodegroup(name: str, groups: tuple[str, ...] = ()) -> NodegroupInfo:
    template = (
        LaunchTemplateInfo(template_id="lt-1", name=None, version="1", security_group_ids=groups) if groups else None
    )
    return NodegroupInfo(
        name=name, status="ACTIVE", subnets=(), node_role="r", scaling_config={}, launch_template=template
    )


def _topology(vpc_id: str, cluster_group: str | None, *nodegroups: NodegroupInfo) -> ClusterTopology:
    cluster = ClusterInfo(
        name=NAME,
        status="ACTIVE",
        version="1.30",
        vpc_id=vpc_id,
        subnet_ids=(),
        cluster_security_group_id=cluster_group,
    )
    vpc = VpcInfo(vpc_id=vpc_id, primary_cidr="172.31.0.0/16", blocks=(CidrBlockInfo("172.31.0.0/16", "associated"),))
    return ClusterTopology(
        region="ap-southeast-1",
        cluster=cluster,
        vpc=vpc,
        subnets=(),
        route_tables=(),
        nat_gateways=(),
        transit_gateways=(),
        peerings=(),
        nodegroups=tuple(nodegroups),
        cni=CniInfo(via="addon"),
    )


def _groups(ec2: Any, topology: ClusterTopology, **keys: Any) -> list[str]:
    return pod_security_groups(parse_execution_input({"clusterName": NAME, **keys}), topology, ec2, [])


@pytest.fixture
def vpc(ec2: Any) -> str:
    return str(ec2.create_vpc(CidrBlock="172.31.0.0/16")["Vpc"]["VpcId"])


def test_default_is_the_cluster_security_group(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    assert _groups(ec2, _topology(vpc, cluster_group, _nodegroup("ng"))) == [cluster_group]


def test_default_is_the_launch_template_groups(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    nodes = _group(ec2, vpc, "nodes", TAG)
    extra = _group(ec2, vpc, "extra", {"team": "web"})
    topology = _topology(vpc, cluster_group, _nodegroup("a", (nodes, extra)), _nodegroup("b", (nodes, extra)))
    assert _groups(ec2, topology) == [nodes, extra]


@pytest.mark.parametrize("tagged", [0, 2])
def test_a_launch_template_without_exactly_one_tagged_group_is_refused(ec2: Any, vpc: str, tagged: int) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    groups = tuple(_group(ec2, vpc, f"nodes-{i}", TAG if i < tagged else {"team": "web"}) for i in range(2))
    with pytest.raises(PodSecurityGroupConflict) as raised:
        _groups(ec2, _topology(vpc, cluster_group, _nodegroup("ng", groups)))
    cause = raised.value.cause
    assert "launch template of nodegroup(s) ng" in cause and all(g in cause for g in groups)
    assert f"{'none is' if tagged == 0 else '2 are'} tagged kubernetes.io/cluster/{NAME}" in cause
    assert "give eniConfigSecurityGroupIds with exactly one tagged group" in cause
    assert _groups(
        ec2, _topology(vpc, cluster_group, _nodegroup("ng", groups)), eniConfigSecurityGroupIds=[cluster_group]
    )


def test_a_lone_group_is_taken_whatever_its_tags(ec2: Any, vpc: str) -> None:
    """The load balancer controller edits an ENI's only group without looking at its tags
    (resolveEndpointSGForENI); the cluster tag decides only among several groups."""
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", {"team": "x"})
    assert _groups(ec2, _topology(vpc, cluster_group, _nodegroup("ng"))) == [cluster_group]
    plain = _group(ec2, vpc, "plain")
    assert _groups(ec2, _topology(vpc, cluster_group, _nodegroup("ng")), eniConfigSecurityGroupIds=[plain]) == [plain]


def test_nodegroups_with_different_groups_are_refused(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    nodes = _group(ec2, vpc, "nodes", TAG)
    topology = _topology(vpc, cluster_group, _nodegroup("a", (nodes,)), _nodegroup("b"))
    with pytest.raises(PodSecurityGroupConflict) as raised:
        _groups(ec2, topology)
    assert f"a: {nodes}" in raised.value.cause and f"b: {cluster_group}" in raised.value.cause
    assert "Give eniConfigSecurityGroupIds" in raised.value.cause


def test_given_groups_must_exist_in_the_vpc_with_one_tagged(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    plain = _group(ec2, vpc, "plain")
    elsewhere_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    elsewhere = _group(ec2, elsewhere_vpc, "elsewhere", TAG)
    topology = _topology(vpc, cluster_group, _nodegroup("ng"))
    assert _groups(ec2, topology, eniConfigSecurityGroupIds=[plain, cluster_group]) == [plain, cluster_group]
    with pytest.raises(InvalidInput, match="sg-0123456789abcdef0 does not exist"):
        _groups(ec2, topology, eniConfigSecurityGroupIds=["sg-0123456789abcdef0", cluster_group])
    with pytest.raises(InvalidInput, match=re.escape(f"{elsewhere} (in {elsewhere_vpc}) is not in the cluster's VPC")):
        _groups(ec2, topology, eniConfigSecurityGroupIds=[elsewhere])
    second = _group(ec2, vpc, "plain-2")
    with pytest.raises(PodSecurityGroupConflict, match="none is tagged"):
        _groups(ec2, topology, eniConfigSecurityGroupIds=[plain, second])


def test_a_missing_launch_template_group_is_refused(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    topology = _topology(vpc, cluster_group, _nodegroup("ng", ("sg-0aaaaaaaaaaaaaaaa",)))
    with pytest.raises(PodSecurityGroupConflict, match="sg-0aaaaaaaaaaaaaaaa does not exist"):
        _groups(ec2, topology)


def _subnet(cidr: str, tags: dict[str, str]) -> SubnetInfo:
    return SubnetInfo("subnet-1", "ap-southeast-1a", cidr, 100, tags, None, False, False)


def test_a_pod_cidr_of_another_cluster_is_refused(ec2: Any, vpc: str) -> None:
    topology = _topology(vpc, None)
    block = IPv4Network("100.64.0.0/16")
    check_pod_cidr_unused(block, topology)
    mine = replace(topology, subnets=(_subnet("100.64.0.0/19", {OWNER_TAG_KEY: NAME}),))
    check_pod_cidr_unused(block, mine)
    theirs = replace(topology, subnets=(_subnet("100.64.32.0/19", {OWNER_TAG_KEY: "other"}),))
    with pytest.raises(CidrOverlap, match=re.escape("subnet subnet-1 (100.64.32.0/19) of cluster 'other'")):
        check_pod_cidr_unused(block, theirs)
    tagged = replace(topology, subnets=(_subnet("100.64.32.0/19", {"kubernetes.io/cluster/other": "shared"}),))
    with pytest.raises(CidrOverlap, match="of cluster 'other'"):
        check_pod_cidr_unused(IPv4Network("100.64.32.0/20"), tagged)
    recorded = replace(topology, vpc=replace(topology.vpc, tags={pod_cidr_tag_key("other"): "100.64.0.0/16"}))
    with pytest.raises(CidrOverlap, match="the pod block of cluster 'other'"):
        check_pod_cidr_unused(IPv4Network("100.64.128.0/17"), recorded)
    check_pod_cidr_unused(IPv4Network("100.65.0.0/16"), recorded)


def test_without_load_balancer_checks_the_nodes_own_groups_are_a_warning(ec2: Any, vpc: str) -> None:
    """The pods keep the groups their ENIs have today, so the tag rule is no worse after the migration;
    refused only when podcidr is to verify load balancers through them."""
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    groups = tuple(_group(ec2, vpc, f"nodes-{i}", {"team": "web"}) for i in range(2))
    topology = _topology(vpc, cluster_group, _nodegroup("ng", groups))
    warnings: list[str] = []
    request = parse_execution_input({"clusterName": NAME, "verify": {"loadBalancers": []}})
    assert pod_security_groups(request, topology, ec2, warnings) == list(groups)
    assert len(warnings) == 1 and "none is tagged" in warnings[0] and "Nothing was changed" not in warnings[0]
    with pytest.raises(PodSecurityGroupConflict):
        _groups(ec2, topology)


def test_given_groups_without_the_cluster_security_group_are_a_warning(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    pods = _group(ec2, vpc, "pods")
    topology = _topology(vpc, cluster_group, _nodegroup("ng"))
    warnings: list[str] = []
    request = parse_execution_input({"clusterName": NAME, "eniConfigSecurityGroupIds": [pods]})
    assert pod_security_groups(request, topology, ec2, warnings) == [pods]
    assert len(warnings) == 1 and f"leaves out the cluster security group {cluster_group}" in warnings[0]
    warnings.clear()
    request = parse_execution_input({"clusterName": NAME, "eniConfigSecurityGroupIds": [cluster_group, pods]})
    assert pod_security_groups(request, topology, ec2, warnings) == [cluster_group, pods] and warnings == []


def test_several_bad_given_groups_are_all_named_with_what_to_do(ec2: Any, vpc: str) -> None:
    cluster_group = _group(ec2, vpc, "eks-cluster-sg", TAG)
    elsewhere_vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    far = [_group(ec2, elsewhere_vpc, f"far-{n}", TAG) for n in (1, 2)]
    gone = ["sg-0123456789abcdef0", "sg-0123456789abcdef1"]
    topology = _topology(vpc, cluster_group, _nodegroup("ng"))
    with pytest.raises(InvalidInput) as raised:
        _groups(ec2, topology, eniConfigSecurityGroupIds=[*gone, *far])
    assert raised.value.cause == (
        f"eniConfigSecurityGroupIds: {gone[0]}, {gone[1]} do not exist in this account; {far[0]} (in "
        f"{elsewhere_vpc}), {far[1]} (in {elsewhere_vpc}) are not in the cluster's VPC. Give groups of VPC {vpc} "
        f"(aws ec2 describe-security-groups --filters Name=vpc-id,Values={vpc}), or omit the key to give the pods "
        f"their nodes' groups. {NOTHING_CHANGED}"
    )


def test_a_pod_cidr_tag_that_is_no_cidr_is_no_overlap(ec2: Any, vpc: str) -> None:
    """Another cluster's pod CIDR tag holding something that is not a block (edited by hand) blocks nothing."""
    topology = _topology(vpc, None)
    garbled = replace(topology, vpc=replace(topology.vpc, tags={pod_cidr_tag_key("other"): "100.64.0.0/16 (old)"}))
    check_pod_cidr_unused(IPv4Network("100.64.0.0/16"), garbled)
