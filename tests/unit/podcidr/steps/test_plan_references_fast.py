"""Plan's checks of what the input and the cluster refer to (plan_references.py) over models and a
botocore-stubbed EC2 client, in milliseconds (`make mutate-fast`): the pods' security groups (given, the
nodegroups' launch template groups, or the cluster security group; their existence, VPC and cluster tag, with
the DescribeSecurityGroups request exact) and a podCidr another cluster uses, with each refusal's and warning's
whole text. The same checks against moto: test_plan_references.py."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Network
from typing import Any

import pytest
from botocore.stub import Stubber

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
from podcidr.steps.plan_references import check_pod_cidr_unused, cluster_tag, pod_security_groups
from tests.fixtures.stubbed_aws import all_answered, stubbed

NAME = "eksworkshop"
VPC = "vpc-0a1b2c3d4e5f60718"
ELSEWHERE = "vpc-0ffffffffffffff01"
OWNER = "111122223333"
TAG = {f"kubernetes.io/cluster/{NAME}": "owned"}
CLUSTER_SG = "sg-0c1a5e7000000000c"
NODES = "sg-0a0000000000000a1"
EXTRA = "sg-0b0000000000000b2"
PODS = "sg-0d0000000000000d3"
GONE = "sg-0e0000000000000e4"
NAMES = {CLUSTER_SG: "eks-cluster-sg-eksworkshop", NODES: "nodes", EXTRA: "extra", PODS: "pods"}
NOTHING_CHANGED = "Nothing was changed."


def test_the_cluster_tag_is_the_controllers_key_for_the_cluster() -> None:
    assert cluster_tag("eksworkshop") == "kubernetes.io/cluster/eksworkshop"


# Builders


def _security_group(group_id: str, vpc: str = VPC, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A SecurityGroup as DescribeSecurityGroups answers, with every member EC2 returns (Tags left out when
    there are none, as EC2 does)."""
    group: dict[str, Any] = {
        "GroupId": group_id,
        "GroupName": NAMES.get(group_id, group_id),
        "Description": "security group",
        "OwnerId": OWNER,
        "VpcId": vpc,
        "SecurityGroupArn": f"arn:aws:ec2:us-west-2:{OWNER}:security-group/{group_id}",
        "IpPermissions": [],
        "IpPermissionsEgress": [
            {
                "IpProtocol": "-1",
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [],
                "PrefixListIds": [],
                "UserIdGroupPairs": [],
            }
        ],
    }
    if tags:
        group["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return group


def _ec2(asked: list[str], *groups: dict[str, Any]) -> tuple[Any, Stubber]:
    """An EC2 client answering one DescribeSecurityGroups filtered on `asked` (sorted, as asked) with `groups`."""
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_security_groups",
        {"SecurityGroups": list(groups)},
        {"Filters": [{"Name": "group-id", "Values": sorted(asked)}]},
    )
    return ec2, stub


def _nodegroup(name: str, groups: tuple[str, ...] | None = None) -> NodegroupInfo:
    """A nodegroup; `groups` None: no launch template, else a template naming those groups (maybe none)."""
    template = (
        None
        if groups is None
        else LaunchTemplateInfo(template_id="lt-0123456789abcdef0", name=None, version="1", security_group_ids=groups)
    )
    return NodegroupInfo(
        name=name, status="ACTIVE", subnets=(), node_role="r", scaling_config={}, launch_template=template
    )


def _topology(
    cluster_group: str | None, *nodegroups: NodegroupInfo, cluster_groups: tuple[str, ...] = ()
) -> ClusterTopology:
    cluster = ClusterInfo(
        name=NAME,
        status="ACTIVE",
        version="1.30",
        vpc_id=VPC,
        subnet_ids=(),
        security_group_ids=cluster_groups,
        cluster_security_group_id=cluster_group,
    )
    vpc = VpcInfo(vpc_id=VPC, primary_cidr="192.168.0.0/16", blocks=(CidrBlockInfo("192.168.0.0/16", "associated"),))
    return ClusterTopology(
        region="us-west-2",
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


def _groups(
    ec2: Any, stub: Stubber, topology: ClusterTopology, warnings: list[str] | None = None, **keys: Any
) -> list[str]:
    request = parse_execution_input({"clusterName": NAME, **keys})
    with all_answered(stub):
        return pod_security_groups(request, topology, ec2, [] if warnings is None else warnings)


def _refused(ec2: Any, stub: Stubber, topology: ClusterTopology, error: type[Exception], **keys: Any) -> str:
    request = parse_execution_input({"clusterName": NAME, **keys})
    warnings: list[str] = []
    with all_answered(stub), pytest.raises(error) as raised:
        pod_security_groups(request, topology, ec2, warnings)
    assert warnings == []
    return str(raised.value)


# Given groups (eniConfigSecurityGroupIds)


def test_given_groups_of_the_vpc_with_one_tagged_are_the_pods_groups_in_the_order_given() -> None:
    ec2, stub = _ec2([PODS, CLUSTER_SG], _security_group(CLUSTER_SG, tags=TAG), _security_group(PODS))
    warnings: list[str] = []
    topology = _topology(CLUSTER_SG, _nodegroup("ng", (NODES,)))
    assert _groups(ec2, stub, topology, warnings, eniConfigSecurityGroupIds=[PODS, CLUSTER_SG]) == [PODS, CLUSTER_SG]
    assert warnings == []


def test_given_groups_without_the_cluster_security_group_are_taken_with_a_warning() -> None:
    ec2, stub = _ec2([PODS], _security_group(PODS))
    warnings: list[str] = []
    assert _groups(ec2, stub, _topology(CLUSTER_SG), warnings, eniConfigSecurityGroupIds=[PODS]) == [PODS]
    assert warnings == [
        f"eniConfigSecurityGroupIds leaves out the cluster security group {CLUSTER_SG}: pods on the pod subnets lose "
        "what its rules allow (the control plane calling webhooks, groups that allow it as a source). Add it unless "
        "the given groups allow that traffic themselves."
    ]


def test_given_groups_of_a_cluster_without_a_cluster_security_group_need_no_warning() -> None:
    ec2, stub = _ec2([PODS], _security_group(PODS))
    warnings: list[str] = []
    assert _groups(ec2, stub, _topology(None), warnings, eniConfigSecurityGroupIds=[PODS]) == [PODS]
    assert warnings == []


def test_a_given_group_that_does_not_exist_is_invalid_input() -> None:
    ec2, stub = _ec2([GONE, CLUSTER_SG], _security_group(CLUSTER_SG, tags=TAG))
    cause = _refused(ec2, stub, _topology(CLUSTER_SG), InvalidInput, eniConfigSecurityGroupIds=[GONE, CLUSTER_SG])
    assert cause == (
        f"eniConfigSecurityGroupIds: {GONE} does not exist in this account. Give groups of VPC {VPC} "
        f"(aws ec2 describe-security-groups --filters Name=vpc-id,Values={VPC}), or omit the key to give the pods "
        f"their nodes' groups. {NOTHING_CHANGED}"
    )


def test_a_given_group_of_another_vpc_is_invalid_input() -> None:
    ec2, stub = _ec2([PODS], _security_group(PODS, ELSEWHERE, TAG))
    cause = _refused(ec2, stub, _topology(CLUSTER_SG), InvalidInput, eniConfigSecurityGroupIds=[PODS])
    assert cause == (
        f"eniConfigSecurityGroupIds: {PODS} (in {ELSEWHERE}) is not in the cluster's VPC. Give groups of VPC {VPC} "
        f"(aws ec2 describe-security-groups --filters Name=vpc-id,Values={VPC}), or omit the key to give the pods "
        f"their nodes' groups. {NOTHING_CHANGED}"
    )


def test_several_bad_given_groups_are_all_named_in_the_order_given() -> None:
    gone = [GONE, "sg-0e0000000000000e5"]
    far = [PODS, EXTRA]
    ec2, stub = _ec2(
        [*gone, *far, CLUSTER_SG],
        _security_group(CLUSTER_SG, tags=TAG),
        _security_group(EXTRA, ELSEWHERE),
        _security_group(PODS, ELSEWHERE),
    )
    keys = {"eniConfigSecurityGroupIds": [gone[1], far[0], CLUSTER_SG, gone[0], far[1]]}
    cause = _refused(ec2, stub, _topology(CLUSTER_SG), InvalidInput, **keys)
    assert cause == (
        f"eniConfigSecurityGroupIds: {gone[1]}, {gone[0]} do not exist in this account; {far[0]} (in {ELSEWHERE}), "
        f"{far[1]} (in {ELSEWHERE}) are not in the cluster's VPC. Give groups of VPC {VPC} "
        f"(aws ec2 describe-security-groups --filters Name=vpc-id,Values={VPC}), or omit the key to give the pods "
        f"their nodes' groups. {NOTHING_CHANGED}"
    )


def test_a_group_answered_that_was_not_asked_for_is_not_taken_as_found() -> None:
    ec2, stub = _ec2([GONE], _security_group(PODS))
    cause = _refused(ec2, stub, _topology(None), InvalidInput, eniConfigSecurityGroupIds=[GONE])
    assert cause.startswith(f"eniConfigSecurityGroupIds: {GONE} does not exist in this account. ")


@pytest.mark.parametrize(
    ("tags", "labels", "counted"),
    [
        ({}, ("", ""), "none is"),
        ({PODS: TAG, EXTRA: TAG}, (", tagged", ", tagged"), "2 are"),
        ({PODS: {"kubernetes.io/cluster/other": "owned"}}, ("", ""), "none is"),  # another cluster's tag
    ],
)
def test_several_given_groups_need_exactly_one_tagged_for_the_cluster(
    tags: dict[str, dict[str, str]], labels: tuple[str, str], counted: str
) -> None:
    ec2, stub = _ec2(
        [PODS, EXTRA], _security_group(PODS, tags=tags.get(PODS)), _security_group(EXTRA, tags=tags.get(EXTRA))
    )
    keys = {"eniConfigSecurityGroupIds": [PODS, EXTRA], "verify": {"loadBalancers": []}}  # refused all the same
    cause = _refused(ec2, stub, _topology(None), PodSecurityGroupConflict, **keys)
    assert cause == (
        f"The groups of eniConfigSecurityGroupIds would give the pods security groups {PODS} (pods{labels[0]}), "
        f"{EXTRA} (extra{labels[1]}): {counted} tagged kubernetes.io/cluster/{NAME}, and the AWS Load Balancer "
        "Controller needs exactly one among several groups on a pod ENI (its IP targets never become healthy "
        f"otherwise). To fix it, give exactly one group tagged kubernetes.io/cluster/{NAME} among "
        f"eniConfigSecurityGroupIds, or give a single group. {NOTHING_CHANGED}"
    )


def test_a_lone_given_group_is_taken_whatever_its_tags() -> None:
    """The load balancer controller edits an ENI's only group without looking at its tags."""
    ec2, stub = _ec2([CLUSTER_SG], _security_group(CLUSTER_SG, tags={"team": "web"}))
    assert _groups(ec2, stub, _topology(CLUSTER_SG), eniConfigSecurityGroupIds=[CLUSTER_SG]) == [CLUSTER_SG]


# The nodes' groups


def test_without_nodegroups_the_pods_get_the_cluster_security_group() -> None:
    ec2, stub = _ec2([CLUSTER_SG], _security_group(CLUSTER_SG, tags=TAG))
    warnings: list[str] = []
    assert _groups(ec2, stub, _topology(CLUSTER_SG), warnings) == [CLUSTER_SG]
    assert warnings == []


def test_nodegroups_without_template_groups_give_the_cluster_security_group() -> None:
    """EKS puts the cluster security group on managed nodes whose launch template names none."""
    ec2, stub = _ec2([CLUSTER_SG], _security_group(CLUSTER_SG))
    topology = _topology(CLUSTER_SG, _nodegroup("a"), _nodegroup("b", ()))
    assert _groups(ec2, stub, topology) == [CLUSTER_SG]


def test_the_launch_template_groups_in_the_first_nodegroups_order_are_the_pods_groups() -> None:
    """The same groups in another order are the same set."""
    ec2, stub = _ec2([NODES, EXTRA], _security_group(NODES, tags=TAG), _security_group(EXTRA, tags={"team": "web"}))
    topology = _topology(CLUSTER_SG, _nodegroup("a", (EXTRA, NODES)), _nodegroup("b", (NODES, EXTRA)))
    warnings: list[str] = []
    assert _groups(ec2, stub, topology, warnings) == [EXTRA, NODES]
    assert warnings == []


def test_a_missing_launch_template_group_is_refused_naming_the_nodegroups() -> None:
    ec2, stub = _ec2([NODES, GONE], _security_group(NODES, tags=TAG))
    topology = _topology(CLUSTER_SG, _nodegroup("a", (NODES, GONE)), _nodegroup("b", (GONE, NODES)))
    assert _refused(ec2, stub, topology, PodSecurityGroupConflict) == (
        "The pods would get the groups on the nodes' primary ENIs (the launch template of nodegroup(s) a, b): "
        f"{NODES}, {GONE}, and {GONE} does not exist in this account and region. Fix the nodegroup's launch "
        f"template, or give eniConfigSecurityGroupIds. {NOTHING_CHANGED}"
    )


def test_missing_groups_are_all_named() -> None:
    other = "sg-0e0000000000000e5"
    ec2, stub = _ec2([GONE, other])
    topology = _topology(CLUSTER_SG, _nodegroup("a", (GONE, other)))
    assert _refused(ec2, stub, topology, PodSecurityGroupConflict) == (
        "The pods would get the groups on the nodes' primary ENIs (the launch template of nodegroup(s) a): "
        f"{GONE}, {other}, and {GONE}, {other} do not exist in this account and region. Fix the nodegroup's launch "
        f"template, or give eniConfigSecurityGroupIds. {NOTHING_CHANGED}"
    )


def test_a_missing_cluster_security_group_is_refused_as_the_cluster_security_group() -> None:
    ec2, stub = _ec2([CLUSTER_SG])
    topology = _topology(CLUSTER_SG, _nodegroup("ng"))
    assert _refused(ec2, stub, topology, PodSecurityGroupConflict) == (
        f"The pods would get the groups on the nodes' primary ENIs (the cluster security group of '{NAME}'): "
        f"{CLUSTER_SG}, and {CLUSTER_SG} does not exist in this account and region. Fix the nodegroup's launch "
        f"template, or give eniConfigSecurityGroupIds. {NOTHING_CHANGED}"
    )


def test_without_nodegroups_a_missing_cluster_security_group_is_refused_the_same() -> None:
    ec2, stub = _ec2([CLUSTER_SG])
    assert _refused(ec2, stub, _topology(CLUSTER_SG), PodSecurityGroupConflict).startswith(
        f"The pods would get the groups on the nodes' primary ENIs (the cluster security group of '{NAME}'): "
    )


def test_nodegroups_with_different_groups_are_refused_naming_each_set() -> None:
    ec2, _ = stubbed("ec2")  # refused before any request
    topology = _topology(
        CLUSTER_SG,
        _nodegroup("a", (NODES, EXTRA)),
        _nodegroup("b"),
        _nodegroup("c", (EXTRA, NODES)),
        _nodegroup("d", ()),
    )
    with pytest.raises(PodSecurityGroupConflict) as raised:
        pod_security_groups(parse_execution_input({"clusterName": NAME}), topology, ec2, [])
    assert str(raised.value) == (
        f"Cluster '{NAME}''s nodegroups put different security groups on their nodes' primary ENIs (a, c: {NODES}, "
        f"{EXTRA}; b, d: {CLUSTER_SG}), and an ENIConfig gives every pod of its AZ one set. Give "
        "eniConfigSecurityGroupIds: the groups the pods need: one group, or several of which exactly one is tagged "
        f"kubernetes.io/cluster/{NAME}. {NOTHING_CHANGED}"
    )


def test_nodegroups_whose_groups_are_unknown_are_named_so() -> None:
    ec2, _ = stubbed("ec2")
    topology = _topology(None, _nodegroup("a"), _nodegroup("b", (NODES,)))
    with pytest.raises(PodSecurityGroupConflict) as raised:
        pod_security_groups(parse_execution_input({"clusterName": NAME}), topology, ec2, [])
    assert str(raised.value).startswith(
        f"Cluster '{NAME}''s nodegroups put different security groups on their nodes' primary ENIs (a: unknown; "
        f"b: {NODES}), "
    )


@pytest.mark.parametrize("nodegroups", [(), (_nodegroup("a"), _nodegroup("b", ()))], ids=["none", "no-template"])
def test_without_a_cluster_security_group_the_clusters_groups_are_taken_with_a_warning(
    nodegroups: tuple[NodegroupInfo, ...],
) -> None:
    ec2, stub = _ec2([NODES, EXTRA], _security_group(NODES, tags=TAG), _security_group(EXTRA))
    warnings: list[str] = []
    topology = _topology(None, *nodegroups, cluster_groups=(NODES, EXTRA))
    assert _groups(ec2, stub, topology, warnings) == [NODES, EXTRA]
    assert warnings == [
        f"DescribeCluster reported no cluster security group; the ENIConfigs use the cluster's security groups "
        f"{NODES}, {EXTRA}. Set eniConfigSecurityGroupIds to choose."
    ]


def test_the_clusters_groups_are_named_as_such_when_refused() -> None:
    ec2, stub = _ec2([GONE])
    warnings: list[str] = []
    request = parse_execution_input({"clusterName": NAME})
    with all_answered(stub), pytest.raises(PodSecurityGroupConflict) as raised:
        pod_security_groups(request, _topology(None, cluster_groups=(GONE,)), ec2, warnings)
    assert str(raised.value).startswith(
        f"The pods would get the groups on the nodes' primary ENIs (the security groups of cluster '{NAME}'): {GONE}, "
    )
    assert len(warnings) == 1


@pytest.mark.parametrize("nodegroups", [(), (_nodegroup("a"), _nodegroup("b", ()))], ids=["none", "no-template"])
def test_no_group_known_for_the_nodes_is_refused(nodegroups: tuple[NodegroupInfo, ...]) -> None:
    ec2, _ = stubbed("ec2")
    with pytest.raises(PodSecurityGroupConflict) as raised:
        pod_security_groups(parse_execution_input({"clusterName": NAME}), _topology(None, *nodegroups), ec2, [])
    assert str(raised.value) == (
        f"Cannot tell which security groups cluster '{NAME}''s nodes have: DescribeCluster reports no cluster "
        "security group and the nodegroups' launch templates name none. Give eniConfigSecurityGroupIds, one group, "
        f"or several of which exactly one is tagged kubernetes.io/cluster/{NAME}. {NOTHING_CHANGED}"
    )


_NODES_CONFLICT = (
    "The launch template of nodegroup(s) a would give the pods security groups {listed}: {counted} tagged "
    f"kubernetes.io/cluster/{NAME}, and the AWS Load Balancer Controller needs exactly one among several groups on a "
    "pod ENI (its IP targets never become healthy otherwise). To fix it, tag exactly one of them "
    f"kubernetes.io/cluster/{NAME}=owned (or remove the tag from all but one), or give eniConfigSecurityGroupIds "
    "with exactly one tagged group, or give a single group."
)


@pytest.mark.parametrize(
    ("tagged", "listed", "counted"),
    [
        ((), f"{NODES} (nodes), {EXTRA} (extra)", "none is"),
        ((NODES, EXTRA), f"{NODES} (nodes, tagged), {EXTRA} (extra, tagged)", "2 are"),
    ],
)
def test_node_groups_without_exactly_one_tagged_are_refused_when_load_balancers_are_verified(
    tagged: tuple[str, ...], listed: str, counted: str
) -> None:
    groups = [_security_group(g, tags=TAG if g in tagged else {"team": "web"}) for g in (NODES, EXTRA)]
    ec2, stub = _ec2([NODES, EXTRA], *groups)
    topology = _topology(CLUSTER_SG, _nodegroup("a", (NODES, EXTRA)))
    cause = _refused(ec2, stub, topology, PodSecurityGroupConflict)
    assert cause == _NODES_CONFLICT.format(listed=listed, counted=counted) + " " + NOTHING_CHANGED


def test_node_groups_without_exactly_one_tagged_are_a_warning_when_no_load_balancer_is_verified() -> None:
    """The pods keep the groups their ENIs have today: no worse for the load balancer controller."""
    ec2, stub = _ec2([NODES, EXTRA], _security_group(NODES), _security_group(EXTRA, tags={"team": "web"}))
    topology = _topology(CLUSTER_SG, _nodegroup("a", (NODES, EXTRA)))
    warnings: list[str] = []
    assert _groups(ec2, stub, topology, warnings, verify={"loadBalancers": []}) == [NODES, EXTRA]
    assert warnings == [_NODES_CONFLICT.format(listed=f"{NODES} (nodes), {EXTRA} (extra)", counted="none is")]


def test_node_groups_with_exactly_one_tagged_are_taken() -> None:
    ec2, stub = _ec2([NODES, EXTRA], _security_group(NODES), _security_group(EXTRA, tags={"team": "web"} | TAG))
    topology = _topology(CLUSTER_SG, _nodegroup("a", (NODES, EXTRA)))
    warnings: list[str] = []
    assert _groups(ec2, stub, topology, warnings) == [NODES, EXTRA]
    assert warnings == []


# A given podCidr another cluster uses


def _subnet(cidr: str, tags: dict[str, str], subnet_id: str = "subnet-0a1b2c3d4e5f60001") -> SubnetInfo:
    return SubnetInfo(subnet_id, "us-west-2a", cidr, 100, tags, None, False, False)


def _with(subnets: tuple[SubnetInfo, ...] = (), tags: dict[str, str] | None = None) -> ClusterTopology:
    topology = _topology(None)
    return replace(topology, subnets=subnets, vpc=replace(topology.vpc, tags=tags or {}))


POD_CIDR = IPv4Network("100.64.0.0/16")


def _overlap(requested: IPv4Network, topology: ClusterTopology) -> str:
    with pytest.raises(CidrOverlap) as raised:
        check_pod_cidr_unused(requested, topology)
    return str(raised.value)


def _used(found: str, requested: str = "100.64.0.0/16") -> str:
    return (
        f"podCidr {requested} is already used by another cluster of VPC {VPC}: {found}. Give a podCidr that no "
        f"other cluster uses, or omit it to let podcidr choose a free block. {NOTHING_CHANGED}"
    )


def test_a_pod_cidr_of_this_cluster_or_no_cluster_is_unused() -> None:
    topology = _with(
        subnets=(
            _subnet("100.64.0.0/19", {OWNER_TAG_KEY: NAME, f"kubernetes.io/cluster/{NAME}": "shared"}),
            _subnet("100.64.32.0/19", {"team": "web"}, "subnet-0a1b2c3d4e5f60002"),
            _subnet("100.65.0.0/19", {OWNER_TAG_KEY: "other"}, "subnet-0a1b2c3d4e5f60003"),  # outside the block
        ),
        tags={
            pod_cidr_tag_key(NAME): "100.64.0.0/16",  # this cluster's own mark
            "team": "100.64.0.0/16",  # not a mark
            pod_cidr_tag_key("other"): "100.65.0.0/16",  # another cluster's block, elsewhere
            pod_cidr_tag_key("garbled"): "100.64.0.0/16 (old)",  # no block: blocks nothing
        },
    )
    check_pod_cidr_unused(POD_CIDR, topology)


def test_a_subnet_owned_by_another_cluster_in_the_block_is_an_overlap_whatever_subnets_come_before() -> None:
    outside = _subnet("100.65.0.0/19", {OWNER_TAG_KEY: "third"}, "subnet-0a1b2c3d4e5f60009")
    topology = _with(subnets=(outside, _subnet("100.64.32.0/19", {OWNER_TAG_KEY: "other"})))
    assert _overlap(POD_CIDR, topology) == _used("subnet subnet-0a1b2c3d4e5f60001 (100.64.32.0/19) of cluster 'other'")


def test_a_subnet_holding_the_block_tagged_for_another_cluster_is_an_overlap() -> None:
    topology = _with(
        subnets=(
            _subnet(
                "100.64.0.0/16",
                {"kubernetes.io/cluster/zeta": "shared", OWNER_TAG_KEY: NAME, "kubernetes.io/cluster/beta": "owned"},
            ),
        )
    )
    assert _overlap(IPv4Network("100.64.32.0/20"), topology) == _used(
        "subnet subnet-0a1b2c3d4e5f60001 (100.64.0.0/16) of cluster 'beta'", "100.64.32.0/20"
    )


def test_another_clusters_recorded_pod_blocks_and_subnets_are_all_named() -> None:
    topology = _with(
        subnets=(
            _subnet("100.64.128.0/19", {OWNER_TAG_KEY: "other"}),
            _subnet("100.64.160.0/19", {f"kubernetes.io/cluster/{NAME}": "owned"}, "subnet-0a1b2c3d4e5f60002"),
        ),
        tags={pod_cidr_tag_key("zeta"): "100.64.128.0/17", pod_cidr_tag_key("alpha"): "100.64.0.0/16"},
    )
    assert _overlap(IPv4Network("100.64.128.0/17"), topology) == _used(
        "100.64.0.0/16, the pod block of cluster 'alpha' (VPC tag podcidr:pod-cidr:alpha); 100.64.128.0/17, the pod "
        "block of cluster 'zeta' (VPC tag podcidr:pod-cidr:zeta); subnet subnet-0a1b2c3d4e5f60001 (100.64.128.0/19) "
        "of cluster 'other'",
        "100.64.128.0/17",
    )
