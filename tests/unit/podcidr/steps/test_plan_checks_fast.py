"""Plan's account checks (plan_checks/: account, capacity, cni_settings, endpoint, nodegroups, ownership) over
models and botocore-stubbed clients, in milliseconds (`make mutate-fast`): whether the functions reach the API
endpoint (the warning and each refusal), the VPC's owner, nodegroups still CREATING, the capacity that is not a
managed nodegroup (what it is called, its refusal, the report's list and warning, Windows nodegroups left out),
the CNI's prefix delegation (the add-on's configurationValues, a self-managed aws-node's max pods and pod subnet
sizing), and check_account's order: refusals before any AWS call, the wait before the capacity is read, then
the DescribeInstances, ListFargateProfiles and DescribeFargateProfile requests; and, expected to fail, functions
in another VPC refused a limited public endpoint their NAT may reach. Routing, the launch template and
the verification zones have their own: test_plan_routing.py, test_plan_launch_template.py,
test_plan_verification_zones.py. The same checks against the twin: test_plan_real_accounts.py."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.stub import Stubber

from podcidr.aws.capacity import Capacity
from podcidr.errors import ClusterEndpointUnreachable, ClusterNotActive, SubnetSizing, UnsupportedCluster
from podcidr.models.discovery import (
    CidrBlockInfo,
    ClusterInfo,
    ClusterTopology,
    CniInfo,
    InstanceTypeInfo,
    NodegroupInfo,
    SubnetInfo,
    VpcInfo,
)
from podcidr.models.input import ExecutionInput, parse_execution_input
from podcidr.models.migration import (
    Cni,
    Migration,
    NodegroupConfig,
    NodegroupReplacement,
    PodCidr,
    PodSubnet,
    UnmanagedCapacity,
    Verification,
)
from podcidr.steps.plan_checks.account import AccountFindings, check_account
from podcidr.steps.plan_checks.capacity import describe, plan_unmanaged_capacity, windows_nodegroups
from podcidr.steps.plan_checks.cni_settings import (
    apply_self_managed_prefix_delegation,
    plan_if_prefix_delegation,
    prefix_delegation,
    usable_addresses,
)
from podcidr.steps.plan_checks.endpoint import FunctionsNetwork, check_endpoint_reachable
from podcidr.steps.plan_checks.nodegroups import check_creating_bound, creating
from podcidr.steps.plan_checks.ownership import account_of, check_vpc_owner
from tests.fixtures.stubbed_aws import all_answered, stubbed

CLUSTER = "eksworkshop"
ACCOUNT = "111122223333"
OWNER = "444455556666"
VPC = "vpc-0a1b2c3d4e5f60718"
ARN = f"arn:aws:eks:us-west-2:{ACCOUNT}:cluster/{CLUSTER}"
NODE_SUBNETS = ("subnet-0aaa1111", "subnet-0bbb2222")
WHEN = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)
DEPLOY_IN_VPC = (
    f"deploy the stack with ClusterFunctionsSubnetIds (private subnets of {VPC} with a NAT gateway or interface "
    "endpoints for eks, ec2, sts, elasticloadbalancing and states) and ClusterFunctionsSecurityGroupId (a group that "
    "the cluster security group lets reach port 443)"
)


def _cluster(
    *,
    public: bool = True,
    private: bool = False,
    cidrs: tuple[str, ...] = ("0.0.0.0/0",),
    arn: str | None = ARN,
    auto_mode: bool = False,
) -> ClusterInfo:
    return ClusterInfo(
        name=CLUSTER,
        status="ACTIVE",
        version="1.30",
        vpc_id=VPC,
        subnet_ids=NODE_SUBNETS,
        arn=arn,
        endpoint_public_access=public,
        endpoint_private_access=private,
        public_access_cidrs=cidrs,
        auto_mode=auto_mode,
    )


def _vpc(owner: str | None = ACCOUNT) -> VpcInfo:
    return VpcInfo(
        VPC, "10.0.0.0/16", (CidrBlockInfo("10.0.0.0/16", "associated", "vpc-cidr-assoc-1"),), owner_id=owner
    )


def _subnet(subnet_id: str, zone: str, cidr: str) -> SubnetInfo:
    return SubnetInfo(subnet_id, zone, cidr, 200, {}, "rtb-0main", False, False)


def _nodegroup(name: str, status: str = "ACTIVE", ami_type: str = "AL2023_x86_64_STANDARD") -> NodegroupInfo:
    return NodegroupInfo(
        name=name,
        status=status,
        subnets=NODE_SUBNETS,
        node_role=f"arn:aws:iam::{ACCOUNT}:role/eks-node",
        scaling_config={"minSize": 1, "maxSize": 3, "desiredSize": 2},
        ami_type=ami_type,
    )


def _topology(
    cluster: ClusterInfo,
    nodegroups: tuple[NodegroupInfo, ...],
    *,
    vpc: VpcInfo | None = None,
    cni: CniInfo | None = None,
) -> ClusterTopology:
    return ClusterTopology(
        region="us-west-2",
        cluster=cluster,
        vpc=vpc or _vpc(),
        subnets=(
            _subnet(NODE_SUBNETS[0], "us-west-2a", "10.0.1.0/24"),
            _subnet(NODE_SUBNETS[1], "us-west-2b", "10.0.2.0/24"),
        ),
        route_tables=(),
        nat_gateways=(),
        transit_gateways=(),
        peerings=(),
        nodegroups=nodegroups,
        cni=cni or CniInfo(via="addon", version="v1.18.3-eksbuild.1", configuration_values=None, status="ACTIVE"),
    )


# --- ownership: the VPC's owner ---------------------------------------------------------------------------------


def test_the_account_of_an_arn_is_its_fifth_field_and_none_without_one() -> None:
    assert account_of(ARN) == ACCOUNT
    assert account_of("arn:aws:eks:us-west-2:111122223333:cluster") == ACCOUNT  # six fields: the least with one
    assert account_of("arn:aws:eks:us-west-2:111122223333") is None  # five fields: not an ARN
    assert account_of("arn:aws:s3:::bucket:key") is None  # an empty account field
    assert account_of("") is None
    assert account_of(None) is None


def test_a_vpc_this_account_owns_or_whose_owner_or_account_is_unknown_passes() -> None:
    check_vpc_owner(_cluster(), _vpc(ACCOUNT))
    check_vpc_owner(_cluster(), _vpc(None))
    check_vpc_owner(_cluster(arn=None), _vpc(OWNER))


def test_a_vpc_shared_by_another_account_is_refused_saying_where_to_run_the_vpc_part() -> None:
    with pytest.raises(UnsupportedCluster) as refused:
        check_vpc_owner(_cluster(), _vpc(OWNER))
    assert str(refused.value) == (
        f"Cluster 'eksworkshop''s VPC {VPC} is owned by account 444455556666 and shared with this account "
        "(111122223333) through AWS RAM: only the owner can add a CIDR block to it or create subnets outside the "
        "shared ones. Run the migration's VPC part in account 444455556666 (the pod CIDR and one pod subnet per AZ, "
        "shared with this account), or migrate a cluster in a VPC this account owns. Nothing was changed."
    )


# --- nodegroups: still CREATING -----------------------------------------------------------------------------------


def test_the_nodegroups_creating_are_named_in_order_and_no_other_status_counts() -> None:
    groups = [_nodegroup("ng-c", "CREATING"), _nodegroup("ng-a", "ACTIVE"), _nodegroup("ng-b", "CREATING")]
    groups += [_nodegroup("ng-d", "UPDATING"), _nodegroup("ng-e", "CREATE_FAILED"), _nodegroup("ng-f", "DEGRADED")]
    assert creating(groups) == ["ng-b", "ng-c"]
    assert creating([_nodegroup("ng-a")]) == []


def test_nodegroups_creating_for_just_under_half_an_hour_are_waited_for_and_refused_at_it() -> None:
    check_creating_bound("eksworkshop", ["ng-a"], polls=60, poll_seconds=30)  # 59 checks: 29.5 minutes
    with pytest.raises(ClusterNotActive) as refused:
        check_creating_bound("eksworkshop", ["ng-a", "ng-b"], polls=61, poll_seconds=30)
    assert str(refused.value) == (
        "Nodegroup(s) ng-a, ng-b of cluster 'eksworkshop' are still CREATING after 60 checks 30 s apart (about 30 "
        "minutes). Look at them in the EKS console (a nodegroup whose nodes cannot join fails after a while); start "
        "the migration again once they are ACTIVE or deleted. Nothing was changed."
    )


def test_the_creating_refusal_counts_whole_minutes_rounded_down() -> None:
    check_creating_bound("eksworkshop", ["ng-a"], polls=2, poll_seconds=1799)
    with pytest.raises(ClusterNotActive) as refused:
        check_creating_bound("eksworkshop", ["ng-a"], polls=32, poll_seconds=59)  # 31 checks: 1829 s
    assert str(refused.value) == (
        "Nodegroup(s) ng-a of cluster 'eksworkshop' are still CREATING after 31 checks 59 s apart (about 30 "
        "minutes). Look at them in the EKS console (a nodegroup whose nodes cannot join fails after a while); start "
        "the migration again once they are ACTIVE or deleted. Nothing was changed."
    )


# --- capacity: what is not a managed nodegroup -----------------------------------------------------------------


SELF_MANAGED = Capacity("self-managed", "eks-workers-asg", ("i-0000000000000000a", "i-0000000000000000b"))
KARPENTER = Capacity(
    "karpenter",
    "default",
    tuple(f"i-00000000000000{n:02d}" for n in range(1, 8)),
)
FARGATE = Capacity("fargate", "fp-default", namespaces=("default", "kube-system"))
WINDOWS_NODEGROUP = Capacity("windows", "ng-windows")
WINDOWS_NODES = Capacity("windows", "win-asg", ("i-0000000000000000c",))
AUTO_MODE = Capacity("auto-mode", "computeConfig")


def test_each_kind_of_capacity_is_described_by_its_name_instances_and_namespaces() -> None:
    assert describe(SELF_MANAGED) == (
        "self-managed nodes 'eks-workers-asg' (2 instance(s): i-0000000000000000a, i-0000000000000000b)"
    )
    assert describe(KARPENTER) == (
        "Karpenter NodePool 'default' (7 instance(s): i-0000000000000001, i-0000000000000002, i-0000000000000003, "
        "i-0000000000000004, i-0000000000000005)"
    )
    assert describe(FARGATE) == "Fargate profile 'fp-default' (namespaces default, kube-system)"
    assert describe(WINDOWS_NODEGROUP) == "Windows nodes 'ng-windows'"
    assert describe(WINDOWS_NODES) == "Windows nodes 'win-asg' (1 instance(s): i-0000000000000000c)"
    assert describe(AUTO_MODE) == "EKS Auto Mode"


def test_no_unmanaged_capacity_plans_none_whether_ignored_or_not() -> None:
    assert plan_unmanaged_capacity(CLUSTER, [], ignore=False) == []
    assert plan_unmanaged_capacity(CLUSTER, [], ignore=True) == []


def test_unmanaged_capacity_is_refused_listing_it_and_naming_the_option() -> None:
    with pytest.raises(UnsupportedCluster) as refused:
        plan_unmanaged_capacity(CLUSTER, [SELF_MANAGED, FARGATE, AUTO_MODE], ignore=False)
    assert str(refused.value) == (
        "Cluster 'eksworkshop' has capacity that is not a managed nodegroup: self-managed nodes 'eks-workers-asg' "
        "(2 instance(s): i-0000000000000000a, i-0000000000000000b); Fargate profile 'fp-default' (namespaces "
        "default, kube-system); EKS Auto Mode. podcidr moves pods by replacing managed nodegroups, so pods there "
        "would keep node-subnet addresses (Fargate and Windows pods always do; self-managed and Karpenter nodes "
        'take custom networking only once replaced). Run again with "ignoreUnmanagedCapacity": true to migrate the '
        "managed nodegroups and report that capacity as not migrated, or move it to managed nodegroups first. "
        "Nothing was changed."
    )


def test_ignored_unmanaged_capacity_is_listed_with_every_instance_and_namespace() -> None:
    planned = plan_unmanaged_capacity(CLUSTER, [KARPENTER, FARGATE, WINDOWS_NODEGROUP], ignore=True)
    assert planned == [
        UnmanagedCapacity(
            kind="karpenter", name="default", nodes=7, instance_ids=list(KARPENTER.instance_ids), namespaces=[]
        ),
        UnmanagedCapacity(
            kind="fargate", name="fp-default", nodes=0, instance_ids=[], namespaces=["default", "kube-system"]
        ),
        UnmanagedCapacity(kind="windows", name="ng-windows", nodes=0, instance_ids=[], namespaces=[]),
    ]


def test_only_windows_managed_nodegroups_are_left_out_of_the_replacements() -> None:
    found = [SELF_MANAGED, WINDOWS_NODES, WINDOWS_NODEGROUP, Capacity("windows", "ng-windows-2"), FARGATE, AUTO_MODE]
    assert windows_nodegroups(found) == {"ng-windows", "ng-windows-2"}
    assert windows_nodegroups([SELF_MANAGED, WINDOWS_NODES]) == set()


# --- cni_settings: prefix delegation -----------------------------------------------------------------------------


def _addon(values: str | None) -> CniInfo:
    return CniInfo(via="addon", version="v1.18.3-eksbuild.1", configuration_values=values, status="ACTIVE")


@pytest.mark.parametrize(
    "values",
    [
        '{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}',
        '{"env": {"ENABLE_PREFIX_DELEGATION": "True", "WARM_PREFIX_TARGET": "1"}}',
        '{"env": {"ENABLE_PREFIX_DELEGATION": true}}',
        "env:\n  WARM_IP_TARGET: '5'\n  ENABLE_PREFIX_DELEGATION: 'true'\n",
    ],
)
def test_the_addon_delegates_prefixes_when_its_env_says_true_in_json_or_yaml(values: str) -> None:
    assert prefix_delegation(_addon(values)) is True


@pytest.mark.parametrize(
    "values",
    [
        None,
        "",
        "{}",
        '{"env": {"ENABLE_PREFIX_DELEGATION": "false"}}',
        '{"env": {"WARM_IP_TARGET": "5"}}',
        '{"env": ["ENABLE_PREFIX_DELEGATION=true"]}',
        '{"ENABLE_PREFIX_DELEGATION": "true"}',
        '{"env": {"ENABLE_PREFIX_DELEGATION": "yes"}}',
    ],
)
def test_the_addon_does_not_delegate_prefixes_otherwise(values: str | None) -> None:
    assert prefix_delegation(_addon(values)) is False


def test_a_self_managed_aws_node_is_not_read_by_plan() -> None:
    cni = CniInfo(via="daemonset", configuration_values='{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}')
    assert prefix_delegation(cni) is False


T3_MICRO = InstanceTypeInfo("t3.micro", max_enis=2, ips_per_eni=2, vcpus=2)
"""With prefix delegation: max pods 1 * (1 * 16) + 2 = 18; pod subnet addresses 1 * (1 * 16 + 1) = 17."""
T3_SMALL = InstanceTypeInfo("t3.small", max_enis=3, ips_per_eni=4, vcpus=2)
"""With prefix delegation: max pods 2 * (3 * 16) + 2 = 98; pod subnet addresses 2 * (3 * 16 + 1) = 98."""
M5_LARGE = InstanceTypeInfo("m5.large", max_enis=3, ips_per_eni=10, vcpus=2)
"""With prefix delegation: max pods 2 * (9 * 16) + 2 = 290, capped at 110; pod subnet addresses 2 * (9 * 16 + 1) =
290."""


def _replacement(name: str, max_pods: int | None = None) -> NodegroupReplacement:
    config = NodegroupConfig(
        subnets=list(NODE_SUBNETS),
        node_role=f"arn:aws:iam::{ACCOUNT}:role/eks-node",
        scaling_config={"minSize": 1, "maxSize": 3, "desiredSize": 2},
    )
    return NodegroupReplacement(replaced=name, by=f"{name}-podcidr", max_pods=max_pods, config=config)


def test_without_instance_types_nothing_is_recorded_for_prefix_delegation() -> None:
    replacement = _replacement("ng-a", max_pods=29)
    plan_if_prefix_delegation(replacement, [])
    assert replacement.max_pods_prefix_delegation is None
    assert replacement.pod_subnet_addresses_prefix_delegation is None
    assert replacement.max_pods == 29


def test_prefix_delegation_records_the_smallest_max_pods_and_the_largest_address_need() -> None:
    replacement = _replacement("ng-a", max_pods=5)
    plan_if_prefix_delegation(replacement, [T3_SMALL, T3_MICRO])
    assert replacement.max_pods_prefix_delegation == 18
    assert replacement.pod_subnet_addresses_prefix_delegation == 98
    assert replacement.max_pods == 5
    plan_if_prefix_delegation(replacement, [M5_LARGE, T3_SMALL])
    assert replacement.max_pods_prefix_delegation == 98
    assert replacement.pod_subnet_addresses_prefix_delegation == 290


def test_a_subnet_holds_its_addresses_but_the_five_aws_reserves() -> None:
    assert usable_addresses("100.64.0.0/28") == 11
    assert usable_addresses("100.64.0.0/24") == 251


def _migration(pod_subnets: list[PodSubnet], nodegroups: list[NodegroupReplacement]) -> Migration:
    return Migration(
        cluster_name=CLUSTER,
        dry_run=False,
        region="us-west-2",
        vpc_id=VPC,
        cluster_version="1.30",
        authentication_mode="API_AND_CONFIG_MAP",
        node_subnet_ids=list(NODE_SUBNETS),
        poll_seconds=30,
        pod_cidr=PodCidr(cidr="100.64.0.0/16"),
        pod_subnets=pod_subnets,
        load_balancer_tags=[],
        eni_configs=[],
        cni=Cni(via="daemonset", env={}),
        nodegroups=nodegroups,
        verification=Verification(image="public.ecr.aws/nginx/nginx:1.27-alpine-slim"),
    )


def _pod_subnet(zone: str, cidr: str, subnet_id: str | None = None) -> PodSubnet:
    return PodSubnet(availability_zone=zone, cidr=cidr, route_table_id="rtb-0main", subnet_id=subnet_id)


def _recorded(name: str, max_pods: int, prefix_max_pods: int | None, addresses: int | None) -> NodegroupReplacement:
    replacement = _replacement(name, max_pods)
    replacement.max_pods_prefix_delegation = prefix_max_pods
    replacement.pod_subnet_addresses_prefix_delegation = addresses
    return replacement


def test_a_self_managed_cnis_prefix_delegation_takes_each_replacements_prefix_max_pods() -> None:
    groups = [_recorded("ng-a", 17, 110, 290), _recorded("ng-b", 5, None, None), _recorded("ng-c", 8, 18, 17)]
    subnets = [
        _pod_subnet("us-west-2a", "100.64.0.0/23"),
        _pod_subnet("us-west-2b", "100.64.2.0/24", "subnet-0pod2222"),
    ]
    migration = _migration(subnets, groups)
    apply_self_managed_prefix_delegation(migration)  # 290 addresses: the /23 holds 507; the /24 (251) exists
    assert [g.max_pods for g in migration.nodegroups] == [110, 5, 18]


def test_an_existing_pod_subnet_is_not_sized_again() -> None:
    subnets = [_pod_subnet("us-west-2a", "100.64.0.0/28", "subnet-0pod1111")]
    migration = _migration(subnets, [_recorded("ng-a", 17, 110, 290)])
    apply_self_managed_prefix_delegation(migration)
    assert migration.nodegroups[0].max_pods == 110


def test_a_planned_pod_subnet_holding_exactly_one_nodes_prefixes_is_enough() -> None:
    migration = _migration([_pod_subnet("us-west-2a", "100.64.0.0/28")], [_recorded("ng-a", 3, 18, 11)])
    apply_self_managed_prefix_delegation(migration)
    assert migration.nodegroups[0].max_pods == 18


def test_no_replacements_need_no_addresses() -> None:
    migration = _migration([_pod_subnet("us-west-2a", "100.64.0.0/28")], [])
    apply_self_managed_prefix_delegation(migration)
    assert migration.nodegroups == []


def test_planned_pod_subnets_too_small_for_one_nodes_prefixes_are_refused_before_any_max_pods_changes() -> None:
    groups = [_recorded("ng-a", 3, 18, 12), _recorded("ng-b", 5, 98, None), _recorded("ng-c", 7, 98, 11)]
    subnets = [
        _pod_subnet("us-west-2a", "100.64.0.0/28"),
        _pod_subnet("us-west-2b", "100.64.0.16/28", "subnet-0pod2222"),
        _pod_subnet("us-west-2c", "100.64.0.32/27"),
        _pod_subnet("us-west-2d", "100.64.0.64/28"),
    ]
    migration = _migration(subnets, groups)
    with pytest.raises(SubnetSizing) as refused:
        apply_self_managed_prefix_delegation(migration)
    assert str(refused.value) == (
        "The self-managed aws-node sets ENABLE_PREFIX_DELEGATION=true: one node then takes 12 addresses (/28 "
        "prefixes) from its pod subnet, more than the planned 100.64.0.0/28 (us-west-2a), 100.64.0.64/28 "
        "(us-west-2d) can hold. Run again with a shorter podSubnetPrefixLength (or a larger podCidr). Nothing was "
        "changed."
    )
    assert [g.max_pods for g in migration.nodegroups] == [3, 5, 7]


# --- endpoint: can the cluster functions reach the API? -----------------------------------------------------------

IN_VPC = FunctionsNetwork(NODE_SUBNETS)
NO_VPC = FunctionsNetwork()
ELSEWHERE = FunctionsNetwork((NODE_SUBNETS[0], "subnet-0other01", "subnet-0other02"))
LIMITED = ("203.0.113.0/24", "198.51.100.7/32")


def _reachable(cluster: ClusterInfo, functions: FunctionsNetwork) -> list[str]:
    return check_endpoint_reachable(cluster, set(NODE_SUBNETS), functions)


def _unreachable(cluster: ClusterInfo, functions: FunctionsNetwork) -> str:
    with pytest.raises(ClusterEndpointUnreachable) as refused:
        _reachable(cluster, functions)
    return str(refused.value)


def test_the_functions_subnets_are_read_from_the_environment_trimmed_and_without_empty_parts(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    value = " subnet-0aaa1111 ,subnet-0bbb2222,, "
    assert FunctionsNetwork.from_environment({"CLUSTER_FUNCTIONS_SUBNET_IDS": value}) == IN_VPC
    assert FunctionsNetwork.from_environment({"CLUSTER_FUNCTIONS_SUBNET_IDS": ""}) == NO_VPC
    assert FunctionsNetwork.from_environment({}) == NO_VPC
    monkeypatch.setenv("CLUSTER_FUNCTIONS_SUBNET_IDS", "subnet-0aaa1111")
    assert FunctionsNetwork.from_environment() == FunctionsNetwork(("subnet-0aaa1111",))
    monkeypatch.delenv("CLUSTER_FUNCTIONS_SUBNET_IDS")
    assert FunctionsNetwork.from_environment() == NO_VPC


def test_functions_in_the_vpc_reach_a_private_endpoint_whatever_the_public_one() -> None:
    assert _reachable(_cluster(public=False, private=True), IN_VPC) == []
    assert _reachable(_cluster(public=True, private=True, cidrs=LIMITED), IN_VPC) == []


def test_a_public_endpoint_open_to_anywhere_is_reached_from_anywhere() -> None:
    assert _reachable(_cluster(), NO_VPC) == []
    assert _reachable(_cluster(cidrs=("203.0.113.0/24", "0.0.0.0/0")), ELSEWHERE) == []


def test_functions_in_the_vpc_are_warned_that_a_limited_public_endpoint_must_allow_the_nat() -> None:
    assert _reachable(_cluster(cidrs=LIMITED), IN_VPC) == [
        "Cluster 'eksworkshop''s public endpoint accepts only 203.0.113.0/24, 198.51.100.7/32; the cluster functions "
        f"(in {VPC}) reach it through the VPC's NAT, whose public address must be among them. Turning on "
        "endpointPrivateAccess avoids the question."
    ]


def test_functions_in_other_subnets_are_refused_a_private_endpoint_naming_those_subnets() -> None:
    expected = (
        "podcidr's functions cannot reach cluster 'eksworkshop''s Kubernetes API (endpointPublicAccess={public}, "
        "endpointPrivateAccess=true, publicAccessCidrs={cidrs}): the cluster functions run in subnets outside "
        f"{VPC} (subnet-0other01, subnet-0other02). To migrate it, attach them to subnets of {VPC} instead "
        "(ClusterFunctionsSubnetIds); then run again. Nothing was changed."
    )
    assert _unreachable(_cluster(public=False, private=True), ELSEWHERE) == expected.format(
        public="false", cidrs="0.0.0.0/0"
    )


def test_a_private_only_endpoint_is_refused_to_functions_outside_the_vpc() -> None:
    # EKS reports publicAccessCidrs 0.0.0.0/0 even with the public endpoint off: it does not open it.
    assert _unreachable(_cluster(public=False, private=True), NO_VPC) == (
        "podcidr's functions cannot reach cluster 'eksworkshop''s Kubernetes API (endpointPublicAccess=false, "
        "endpointPrivateAccess=true, publicAccessCidrs=0.0.0.0/0): the endpoint is private only and the cluster "
        f"functions are not attached to the cluster's VPC. To migrate it, {DEPLOY_IN_VPC}, or turn on "
        "endpointPublicAccess; then run again. Nothing was changed."
    )


def test_a_limited_public_endpoint_without_private_access_is_refused_to_functions_outside_the_vpc() -> None:
    expected = (
        "podcidr's functions cannot reach cluster 'eksworkshop''s Kubernetes API (endpointPublicAccess=true, "
        "endpointPrivateAccess=false, publicAccessCidrs=203.0.113.0/24, 198.51.100.7/32): publicAccessCidrs does "
        "not hold 0.0.0.0/0, a Lambda function outside a VPC calls from no fixed address, and the endpoint has no "
        f"private access. To migrate it, turn on endpointPrivateAccess and {DEPLOY_IN_VPC}, or add 0.0.0.0/0 to "
        "publicAccessCidrs; then run again. Nothing was changed."
    )
    assert _unreachable(_cluster(cidrs=LIMITED), NO_VPC) == expected


@pytest.mark.parametrize("private", [False, True])
def test_functions_in_another_vpc_are_warned_that_a_limited_public_endpoint_must_allow_their_nat(private: bool) -> None:
    """They call through that VPC's NAT, whose address publicAccessCidrs may allow, as functions in the cluster's VPC
    do: a warning, not the refusal of functions outside any VPC."""
    assert _reachable(_cluster(private=private, cidrs=LIMITED), ELSEWHERE) == [
        "Cluster 'eksworkshop''s public endpoint accepts only 203.0.113.0/24, 198.51.100.7/32; the cluster functions "
        f"run in subnets outside {VPC} (subnet-0other01, subnet-0other02) and reach it through their VPC's NAT, whose "
        f"public address must be among them. Attaching them to subnets of {VPC} (ClusterFunctionsSubnetIds) with "
        "endpointPrivateAccess on avoids the question."
    ]


def test_a_limited_public_endpoint_with_private_access_is_refused_to_functions_not_in_a_vpc() -> None:
    assert _unreachable(_cluster(private=True, cidrs=LIMITED), NO_VPC) == (
        "podcidr's functions cannot reach cluster 'eksworkshop''s Kubernetes API (endpointPublicAccess=true, "
        "endpointPrivateAccess=true, publicAccessCidrs=203.0.113.0/24, 198.51.100.7/32): publicAccessCidrs does not "
        f"hold 0.0.0.0/0 and the cluster functions are not attached to the VPC. To migrate it, {DEPLOY_IN_VPC} (the "
        "endpoint has private access), or add 0.0.0.0/0 to publicAccessCidrs; then run again. Nothing was changed."
    )


# --- account: check_account's order and the capacity it reads -----------------------------------------------------

LIVE = ["pending", "running", "stopping", "stopped"]
INSTANCES_REQUEST = {
    "Filters": [
        {"Name": "tag-key", "Values": [f"kubernetes.io/cluster/{CLUSTER}"]},
        {"Name": "instance-state-name", "Values": LIVE},
    ]
}
NODE_ROLE_PROFILE = f"arn:aws:iam::{ACCOUNT}:instance-profile/eks-node"


def _instance(instance_id: str, ip: str, tags: dict[str, str], *, windows: bool = False) -> dict[str, Any]:
    """An Instance as DescribeInstances answers for a running node, with every member EC2 returns for it
    (Platform only for Windows; KeyName, InstanceLifecycle, SpotInstanceRequestId... only when they apply)."""
    dns = f"ip-{ip.replace('.', '-')}.us-west-2.compute.internal"
    instance: dict[str, Any] = {
        "AmiLaunchIndex": 0,
        "ImageId": "ami-0f1e2d3c4b5a69788",
        "InstanceId": instance_id,
        "InstanceType": "m5.large",
        "LaunchTime": WHEN,
        "Monitoring": {"State": "disabled"},
        "Placement": {"AvailabilityZone": "us-west-2a", "GroupName": "", "Tenancy": "default"},
        "PrivateDnsName": dns,
        "PrivateIpAddress": ip,
        "ProductCodes": [],
        "PublicDnsName": "",
        "State": {"Code": 16, "Name": "running"},
        "StateTransitionReason": "",
        "SubnetId": NODE_SUBNETS[0],
        "VpcId": VPC,
        "Architecture": "x86_64",
        "BlockDeviceMappings": [
            {
                "DeviceName": "/dev/xvda",
                "Ebs": {
                    "AttachTime": WHEN,
                    "DeleteOnTermination": True,
                    "Status": "attached",
                    "VolumeId": f"vol-{instance_id[2:]}",
                },
            }
        ],
        "ClientToken": f"token-{instance_id}",
        "EbsOptimized": True,
        "EnaSupport": True,
        "Hypervisor": "xen",
        "IamInstanceProfile": {"Arn": NODE_ROLE_PROFILE, "Id": "AIPAEXAMPLEPROFILE1234"},
        "NetworkInterfaces": [
            {
                "Attachment": {
                    "AttachTime": WHEN,
                    "AttachmentId": f"eni-attach-{instance_id[2:]}",
                    "DeleteOnTermination": True,
                    "DeviceIndex": 0,
                    "Status": "attached",
                    "NetworkCardIndex": 0,
                },
                "Description": "",
                "Groups": [{"GroupName": "eks-cluster-sg", "GroupId": "sg-0c1a2b3c4d5e6f708"}],
                "Ipv6Addresses": [],
                "MacAddress": "02:1a:2b:3c:4d:5e",
                "NetworkInterfaceId": f"eni-{instance_id[2:]}",
                "OwnerId": ACCOUNT,
                "PrivateDnsName": dns,
                "PrivateIpAddress": ip,
                "PrivateIpAddresses": [{"Primary": True, "PrivateDnsName": dns, "PrivateIpAddress": ip}],
                "SourceDestCheck": True,
                "Status": "in-use",
                "SubnetId": NODE_SUBNETS[0],
                "VpcId": VPC,
                "InterfaceType": "interface",
                "Operator": {"Managed": False},
            }
        ],
        "RootDeviceName": "/dev/xvda",
        "RootDeviceType": "ebs",
        "SecurityGroups": [{"GroupName": "eks-cluster-sg", "GroupId": "sg-0c1a2b3c4d5e6f708"}],
        "SourceDestCheck": True,
        "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
        "VirtualizationType": "hvm",
        "CpuOptions": {"CoreCount": 1, "ThreadsPerCore": 2},
        "CapacityReservationSpecification": {"CapacityReservationPreference": "open"},
        "HibernationOptions": {"Configured": False},
        "MetadataOptions": {
            "State": "applied",
            "HttpTokens": "required",
            "HttpPutResponseHopLimit": 2,
            "HttpEndpoint": "enabled",
            "HttpProtocolIpv6": "disabled",
            "InstanceMetadataTags": "disabled",
        },
        "EnclaveOptions": {"Enabled": False},
        "PlatformDetails": "Windows" if windows else "Linux/UNIX",
        "UsageOperation": "RunInstances:0002" if windows else "RunInstances",
        "UsageOperationUpdateTime": WHEN,
        "PrivateDnsNameOptions": {
            "HostnameType": "ip-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": False,
        },
        "MaintenanceOptions": {"AutoRecovery": "default"},
        "CurrentInstanceBootMode": "legacy-bios",
        "NetworkPerformanceOptions": {"BandwidthWeighting": "default"},
        "Operator": {"Managed": False},
    }
    if windows:
        instance["Platform"] = "windows"
    return instance


def _reservations(*instances: dict[str, Any]) -> dict[str, Any]:
    """DescribeInstances' answer: one reservation per instance (each node is launched on its own)."""
    return {
        "Reservations": [
            {"ReservationId": f"r-{i['InstanceId'][2:]}", "OwnerId": ACCOUNT, "Groups": [], "Instances": [i]}
            for i in instances
        ]
    }


def _fargate_profile(name: str, namespaces: list[str]) -> dict[str, Any]:
    """DescribeFargateProfile's answer, with every member EKS returns for an ACTIVE profile."""
    return {
        "fargateProfile": {
            "fargateProfileName": name,
            "fargateProfileArn": f"arn:aws:eks:us-west-2:{ACCOUNT}:fargateprofile/{CLUSTER}/{name}/0ac8f6b1-2d3e",
            "clusterName": CLUSTER,
            "createdAt": WHEN,
            "podExecutionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/eks-fargate-pods",
            "subnets": list(NODE_SUBNETS),
            "selectors": [{"namespace": n, "labels": {}} for n in namespaces] + [{"labels": {"app": "batch"}}],
            "status": "ACTIVE",
            "tags": {},
            "health": {"issues": []},
        }
    }


CLUSTER_TAG = {f"kubernetes.io/cluster/{CLUSTER}": "owned"}
MANAGED_NODE = _instance("i-0aaaaaaaaaaaaaaa1", "10.0.1.10", {**CLUSTER_TAG, "eks:nodegroup-name": "ng-a"})
SELF_MANAGED_NODE = _instance(
    "i-0bbbbbbbbbbbbbbb1", "10.0.1.11", {**CLUSTER_TAG, "aws:autoscaling:groupName": "eks-workers-asg"}
)
KARPENTER_NODE = _instance("i-0ccccccccccccccc1", "10.0.1.12", {**CLUSTER_TAG, "karpenter.sh/nodepool": "default"})
WINDOWS_NODE = _instance("i-0ddddddddddddddd1", "10.0.1.13", {**CLUSTER_TAG, "Name": "win-node"}, windows=True)


def _aws(instances: list[dict[str, Any]], profiles: dict[str, list[str]]) -> tuple[Any, Any, list[Stubber]]:
    """EC2 and EKS answering the capacity reads, in the order check_account makes them."""
    ec2, ec2_stub = stubbed("ec2")
    eks, eks_stub = stubbed("eks")
    ec2_stub.add_response("describe_instances", _reservations(*instances), INSTANCES_REQUEST)
    eks_stub.add_response("list_fargate_profiles", {"fargateProfileNames": list(profiles)}, {"clusterName": CLUSTER})
    for name in sorted(profiles):
        eks_stub.add_response(
            "describe_fargate_profile",
            _fargate_profile(name, profiles[name]),
            {"clusterName": CLUSTER, "fargateProfileName": name},
        )
    return ec2, eks, [ec2_stub, eks_stub]


def _unasked() -> tuple[Any, Any]:
    """EC2 and EKS with nothing queued: any call fails the test."""
    return stubbed("ec2")[0], stubbed("eks")[0]


def _request(ignore: bool = False) -> ExecutionInput:
    return parse_execution_input({"clusterName": CLUSTER, "ignoreUnmanagedCapacity": ignore})


def test_an_unreachable_endpoint_is_refused_before_any_aws_call() -> None:
    ec2, eks = _unasked()
    topology = _topology(_cluster(public=False, private=True), (_nodegroup("ng-a"),), vpc=_vpc(OWNER))
    with pytest.raises(ClusterEndpointUnreachable):
        check_account(_request(), topology, ec2, eks, NO_VPC)


def test_a_shared_vpc_is_refused_before_any_aws_call() -> None:
    ec2, eks = _unasked()
    topology = _topology(_cluster(), (_nodegroup("ng-a", "CREATING"),), vpc=_vpc(OWNER))
    with pytest.raises(UnsupportedCluster) as refused:
        check_account(_request(), topology, ec2, eks, NO_VPC)
    assert str(refused.value).startswith(f"Cluster 'eksworkshop''s VPC {VPC} is owned by account 444455556666 ")


def test_the_functions_network_comes_from_the_environment_when_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    topology = _topology(_cluster(public=False, private=True), (_nodegroup("ng-a", "CREATING"),))
    ec2, eks = _unasked()
    monkeypatch.setenv("CLUSTER_FUNCTIONS_SUBNET_IDS", ",".join(NODE_SUBNETS))
    assert check_account(_request(), topology, ec2, eks).nodegroups_creating == ["ng-a"]
    monkeypatch.delenv("CLUSTER_FUNCTIONS_SUBNET_IDS")
    with pytest.raises(ClusterEndpointUnreachable):
        check_account(_request(), topology, ec2, eks)


def test_nodegroups_creating_are_waited_for_before_the_capacity_is_read_keeping_the_endpoint_warning() -> None:
    ec2, eks = _unasked()
    groups = (_nodegroup("ng-b", "CREATING"), _nodegroup("ng-a", "CREATING"), _nodegroup("ng-c"))
    cni = _addon('{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}')
    topology = _topology(_cluster(cidrs=LIMITED), groups, cni=cni)
    findings = check_account(_request(), topology, ec2, eks, IN_VPC)
    assert findings == AccountFindings(
        topology=topology,
        nodegroups_creating=["ng-a", "ng-b"],
        unmanaged_capacity=[],
        prefix_delegation=False,
        warnings=[_reachable(_cluster(cidrs=LIMITED), IN_VPC)[0]],
    )
    assert findings.warnings[0].startswith("Cluster 'eksworkshop''s public endpoint accepts only 203.0.113.0/24")


def test_a_cluster_of_managed_nodegroups_only_reads_its_capacity_and_its_prefix_delegation() -> None:
    ec2, eks, stubs = _aws([MANAGED_NODE], {})
    topology = _topology(_cluster(), (_nodegroup("ng-a"),), cni=_addon('{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}'))
    with all_answered(stubs[0]), all_answered(stubs[1]):
        findings = check_account(_request(), topology, ec2, eks, NO_VPC)
    assert findings == AccountFindings(
        topology=topology, nodegroups_creating=[], unmanaged_capacity=[], prefix_delegation=True, warnings=[]
    )


def test_without_prefix_delegation_the_findings_say_so() -> None:
    ec2, eks, stubs = _aws([], {})
    topology = _topology(_cluster(), (_nodegroup("ng-a"),))
    with all_answered(stubs[0]), all_answered(stubs[1]):
        assert check_account(_request(True), topology, ec2, eks, NO_VPC).prefix_delegation is False


def test_unmanaged_capacity_is_refused_without_ignore_unmanaged_capacity() -> None:
    ec2, eks, stubs = _aws([MANAGED_NODE, SELF_MANAGED_NODE], {"fp-default": ["default"]})
    topology = _topology(_cluster(auto_mode=True), (_nodegroup("ng-a"),))
    with all_answered(stubs[0]), all_answered(stubs[1]), pytest.raises(UnsupportedCluster) as refused:
        check_account(_request(), topology, ec2, eks, NO_VPC)
    assert str(refused.value) == (
        "Cluster 'eksworkshop' has capacity that is not a managed nodegroup: self-managed nodes 'eks-workers-asg' "
        "(1 instance(s): i-0bbbbbbbbbbbbbbb1); Fargate profile 'fp-default' (namespaces default); EKS Auto Mode. "
        "podcidr moves pods by replacing managed nodegroups, so pods there would keep node-subnet addresses (Fargate "
        "and Windows pods always do; self-managed and Karpenter nodes take custom networking only once replaced). "
        'Run again with "ignoreUnmanagedCapacity": true to migrate the managed nodegroups and report that capacity '
        "as not migrated, or move it to managed nodegroups first. Nothing was changed."
    )


def test_ignored_unmanaged_capacity_is_listed_and_warned_of_and_windows_nodegroups_are_left_out() -> None:
    instances = [MANAGED_NODE, KARPENTER_NODE, WINDOWS_NODE]
    ec2, eks, stubs = _aws(instances, {"fp-jobs": ["jobs", "batch"], "fp-default": ["default"]})
    groups = (_nodegroup("ng-a"), _nodegroup("ng-win", ami_type="WINDOWS_CORE_2022_x86_64"), _nodegroup("ng-b"))
    cni = _addon('{"env": {"ENABLE_PREFIX_DELEGATION": "true"}}')
    topology = _topology(_cluster(cidrs=LIMITED), groups, cni=cni)
    with all_answered(stubs[0]), all_answered(stubs[1]):
        findings = check_account(_request(ignore=True), topology, ec2, eks, IN_VPC)
    assert findings.topology == _topology(_cluster(cidrs=LIMITED), (groups[0], groups[2]), cni=cni)
    assert findings.nodegroups_creating == []
    assert findings.prefix_delegation is True
    assert findings.unmanaged_capacity == [
        UnmanagedCapacity(kind="karpenter", name="default", nodes=1, instance_ids=["i-0ccccccccccccccc1"]),
        UnmanagedCapacity(kind="windows", name="win-node", nodes=1, instance_ids=["i-0ddddddddddddddd1"]),
        UnmanagedCapacity(kind="windows", name="ng-win"),
        UnmanagedCapacity(kind="fargate", name="fp-default", namespaces=["default"]),
        UnmanagedCapacity(kind="fargate", name="fp-jobs", namespaces=["batch", "jobs"]),
    ]
    assert findings.warnings == [
        _reachable(_cluster(cidrs=LIMITED), IN_VPC)[0],
        "Not migrated (ignoreUnmanagedCapacity): Karpenter NodePool 'default' (1 instance(s): i-0ccccccccccccccc1); "
        "Windows nodes 'win-node' (1 instance(s): i-0ddddddddddddddd1); Windows nodes 'ng-win'; Fargate profile "
        "'fp-default' (namespaces default); Fargate profile 'fp-jobs' (namespaces batch, jobs). Their pods keep "
        "node-subnet addresses and VerifyPods leaves them out.",
    ]
