"""Plan (podcidr.steps.plan) over botocore-stubbed EC2 and EKS clients and topologies built as models, in
milliseconds (`make mutate-fast`): the event, the cluster's early exits (not found, CREATING up to its bound,
not ACTIVE, IPv6) over a stubbed DescribeCluster, the nodegroups still CREATING, and the whole migration
document `_Planner` decides over a seed topology (3 AZs, node subnets behind one NAT gateway, public subnets,
one managed nodegroup, the vpc-cni add-on) and its variations, with the EC2 reads it makes (DescribeInstanceTypes,
DescribeSecurityGroups, the node subnets' addresses in use). The same step against moto: test_plan.py,
test_plan_seed.py; on twins of real accounts: test_plan_real_accounts.py."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from ipaddress import IPv4Network
from typing import Any

import pytest
from botocore.stub import Stubber

from podcidr import OWNER_TAG_KEY, pod_cidr_tag_key
from podcidr.errors import (
    CidrNotAllowed,
    CidrOverlap,
    ClusterNotActive,
    ClusterNotFound,
    CniConfigConflict,
    InvalidInput,
    SubnetSizing,
    UnsupportedCluster,
)
from podcidr.models.discovery import (
    CidrBlockInfo,
    ClusterInfo,
    ClusterTopology,
    CniInfo,
    InstanceTypeInfo,
    LaunchTemplateInfo,
    NatGatewayInfo,
    NodegroupInfo,
    PeeringInfo,
    RouteInfo,
    RouteTableInfo,
    SubnetInfo,
    VpcInfo,
)
from podcidr.models.input import ExecutionInput, parse_execution_input
from podcidr.models.migration import Migration, UnmanagedCapacity
from podcidr.steps import plan as plan_module
from podcidr.steps.plan import (
    _Planner,
    _release_of_version,
    _version_tuple,
    max_polls,
    one_subnet_per_zone,
    plan,
    plan_migration,
)
from podcidr.steps.plan_checks.account import AccountFindings
from tests.fixtures.stubbed_aws import all_answered, no_cidr_reservations, stubbed

REGION = "us-west-2"
NAME = "eksworkshop"
ACCOUNT = "111122223333"
ZONES = ("us-west-2a", "us-west-2b", "us-west-2c")
VPC = "vpc-0a1b2c3d4e5f60789"
CLUSTER_GROUP = "sg-0c1a2b3c4d5e6f789"
IGW = "igw-0a1b2c3d4e5f60789"
NAT = "nat-0a1b2c3d4e5f60789"
PUBLIC_TABLE = "rtb-0a1b2c3d4e5f60001"
PRIVATE_TABLE = "rtb-0a1b2c3d4e5f60002"
PUBLIC = {"a": "subnet-0a0000000000000a1", "b": "subnet-0a0000000000000b1", "c": "subnet-0a0000000000000c1"}
NODE = {"a": "subnet-0b0000000000000a2", "b": "subnet-0b0000000000000b2", "c": "subnet-0b0000000000000c2"}
NODE_IDS = tuple(NODE.values())
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/eksworkshop-node"
ENV = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}
SKIPPED_WHY = "not checked, a dry run makes no access entry, so it cannot read the cluster."


# --- the seed topology and its variations -------------------------------------------------------------


def subnet(
    subnet_id: str, zone: str, cidr: str, *, public: bool = False, tags: dict[str, str] | None = None, free: int = 4000
) -> SubnetInfo:
    return SubnetInfo(
        subnet_id=subnet_id,
        availability_zone=zone,
        cidr=cidr,
        available_ips=free,
        tags=tags or {},
        route_table_id=PUBLIC_TABLE if public else PRIVATE_TABLE,
        explicit_route_table=True,
        public=public,
    )


def seed_subnets() -> list[SubnetInfo]:
    """public-a/b/c 172.31.0.0/20, .16, .32; node-a/b/c 172.31.48.0/20, .64, .80."""
    public = [subnet(PUBLIC[z], f"{REGION}{z}", f"172.31.{16 * i}.0/20", public=True) for i, z in enumerate("abc")]
    nodes = [subnet(NODE[z], f"{REGION}{z}", f"172.31.{48 + 16 * i}.0/20") for i, z in enumerate("abc")]
    return public + nodes


def nodegroup(name: str = "managed-ng", subnets: tuple[str, ...] = NODE_IDS, **changes: Any) -> NodegroupInfo:
    group = NodegroupInfo(
        name=name,
        status="ACTIVE",
        subnets=subnets,
        node_role=NODE_ROLE,
        scaling_config={"minSize": 3, "desiredSize": 3, "maxSize": 6},
        instance_types=("t3.2xlarge",),
        ami_type="AL2_x86_64",
        capacity_type="ON_DEMAND",
        disk_size=100,
        release_version="1.30.4-20240917",
        version="1.30",
        labels={"team": "web"},
        taints=({"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"},),
        tags={"team": "web", "aws:cloudformation:stack-name": "eksworkshop"},
        update_config={"maxUnavailable": 1},
    )
    return replace(group, **changes)


def topology(
    *,
    nodegroups: tuple[NodegroupInfo, ...] | None = None,
    subnets: list[SubnetInfo] | None = None,
    extra_subnets: tuple[SubnetInfo, ...] = (),
    blocks: tuple[CidrBlockInfo, ...] = (),
    vpc_tags: dict[str, str] | None = None,
    cni: CniInfo | None = None,
    routes: tuple[RouteInfo, ...] = (),
    peerings: tuple[PeeringInfo, ...] = (),
    **cluster: Any,
) -> ClusterTopology:
    every = (subnets if subnets is not None else seed_subnets()) + list(extra_subnets)
    info = ClusterInfo(
        name=NAME,
        status="ACTIVE",
        version="1.30",
        vpc_id=VPC,
        subnet_ids=tuple(s.subnet_id for s in seed_subnets()),
        cluster_security_group_id=CLUSTER_GROUP,
        authentication_mode="API_AND_CONFIG_MAP",
    )
    public_ids = tuple(s.subnet_id for s in every if s.public)
    private_ids = tuple(s.subnet_id for s in every if not s.public)
    return ClusterTopology(
        region=REGION,
        cluster=replace(info, **cluster),
        vpc=VpcInfo(
            vpc_id=VPC,
            primary_cidr="172.31.0.0/16",
            blocks=(CidrBlockInfo("172.31.0.0/16", "associated", "vpc-cidr-assoc-0a1b2c3d4e5f60001"), *blocks),
            tags=vpc_tags or {},
            owner_id=ACCOUNT,
        ),
        subnets=tuple(every),
        route_tables=(
            RouteTableInfo(
                PUBLIC_TABLE, False, public_ids, (RouteInfo("172.31.0.0/16", "local"), RouteInfo("0.0.0.0/0", IGW))
            ),
            RouteTableInfo(
                PRIVATE_TABLE,
                False,
                private_ids,
                (RouteInfo("172.31.0.0/16", "local"), RouteInfo("0.0.0.0/0", NAT), *routes),
            ),
        ),
        nat_gateways=(NatGatewayInfo(NAT, PUBLIC["a"], "available"),),
        transit_gateways=(),
        peerings=peerings,
        nodegroups=(nodegroup(),) if nodegroups is None else nodegroups,
        cni=cni or CniInfo(via="addon", version="v1.18.3-eksbuild.1", status="ACTIVE"),
    )


def request(**keys: Any) -> ExecutionInput:
    return parse_execution_input({"clusterName": NAME, **keys})


# --- EC2's answers ----------------------------------------------------------------------------------------

TYPES = {"t3.2xlarge": (4, 15, 8), "m5.large": (3, 10, 2), "t3.medium": (3, 6, 2)}
"""max ENIs, IPv4 addresses per ENI, vCPUs."""


def instance_type(name: str) -> dict[str, Any]:
    enis, ips, vcpus = TYPES[name]
    return {
        "InstanceType": name,
        "CurrentGeneration": True,
        "FreeTierEligible": False,
        "SupportedUsageClasses": ["on-demand", "spot"],
        "SupportedRootDeviceTypes": ["ebs"],
        "SupportedVirtualizationTypes": ["hvm"],
        "BareMetal": False,
        "Hypervisor": "nitro",
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"], "SustainedClockSpeedInGhz": 2.5},
        "VCpuInfo": {"DefaultVCpus": vcpus, "DefaultCores": vcpus // 2, "DefaultThreadsPerCore": 2},
        "MemoryInfo": {"SizeInMiB": 4096 * vcpus},
        "InstanceStorageSupported": False,
        "EbsInfo": {"EbsOptimizedSupport": "default", "EncryptionSupport": "supported", "NvmeSupport": "required"},
        "NetworkInfo": {
            "NetworkPerformance": "Up to 5 Gigabit",
            "MaximumNetworkInterfaces": enis,
            "MaximumNetworkCards": 1,
            "DefaultNetworkCardIndex": 0,
            "NetworkCards": [
                {"NetworkCardIndex": 0, "NetworkPerformance": "Up to 5 Gigabit", "MaximumNetworkInterfaces": enis}
            ],
            "Ipv4AddressesPerInterface": ips,
            "Ipv6AddressesPerInterface": ips,
            "Ipv6Supported": True,
            "EnaSupport": "required",
            "EfaSupported": False,
            "EncryptionInTransitSupported": False,
            "EnaSrdSupported": False,
        },
        "PlacementGroupInfo": {"SupportedStrategies": ["partition", "spread"]},
        "HibernationSupported": True,
        "BurstablePerformanceSupported": name.startswith("t"),
        "DedicatedHostsSupported": False,
        "AutoRecoverySupported": True,
        "SupportedBootModes": ["legacy-bios", "uefi"],
        "NitroEnclavesSupport": "unsupported",
        "NitroTpmSupport": "supported",
        "NitroTpmInfo": {"SupportedVersions": ["2.0"]},
        "PhcSupport": "unsupported",
    }


def security_group(group_id: str = CLUSTER_GROUP) -> dict[str, Any]:
    return {
        "GroupId": group_id,
        "GroupName": f"eks-cluster-sg-{NAME}-123456789",
        "Description": "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes",
        "OwnerId": ACCOUNT,
        "VpcId": VPC,
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
        "SecurityGroupArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:security-group/{group_id}",
        "Tags": [{"Key": f"kubernetes.io/cluster/{NAME}", "Value": "owned"}] if group_id == CLUSTER_GROUP else [],
    }


def network_interface(subnet_id: str, address: str) -> dict[str, Any]:
    return {
        "AvailabilityZone": "us-west-2a",
        "Description": "",
        "Groups": [{"GroupId": CLUSTER_GROUP, "GroupName": "eks-cluster-sg"}],
        "InterfaceType": "interface",
        "Ipv6Addresses": [],
        "MacAddress": "02:11:22:33:44:55",
        "NetworkInterfaceId": "eni-0a1b2c3d4e5f60001",
        "OwnerId": ACCOUNT,
        "PrivateIpAddress": address,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": address}],
        "RequesterManaged": False,
        "SourceDestCheck": True,
        "Status": "in-use",
        "SubnetId": subnet_id,
        "TagSet": [],
        "VpcId": VPC,
    }


def answer_instance_types(stub: Stubber, *names: str) -> None:
    answer = {"InstanceTypes": [instance_type(n) for n in sorted(names)]}
    stub.add_response("describe_instance_types", answer, {"InstanceTypes": sorted(names)})


def answer_addresses_in_use(stub: Stubber, subnet_ids: list[str], interfaces: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    ids = sorted(subnet_ids)
    stub.add_response(
        "describe_network_interfaces",
        {"NetworkInterfaces": list(interfaces)},
        {"Filters": [{"Name": "subnet-id", "Values": ids}]},
    )
    no_cidr_reservations(stub, ids)


def answer_security_groups(stub: Stubber, *group_ids: str) -> None:
    ids = sorted(group_ids or (CLUSTER_GROUP,))
    stub.add_response(
        "describe_security_groups",
        {"SecurityGroups": [security_group(g) for g in ids]},
        {"Filters": [{"Name": "group-id", "Values": ids}]},
    )


def planned(
    world: ClusterTopology,
    execution_input: ExecutionInput | None = None,
    *,
    types: tuple[str, ...] = ("t3.2xlarge",),
    nlb_subnets: list[str] | None = None,
    interfaces: list[dict[str, Any]] = (),  # type: ignore[assignment]
    groups: tuple[str, ...] = (),
    prefix_delegation: bool = False,
    warnings: list[str] | None = None,
) -> Migration:
    """The planner's migration over `world`, EC2 answering the reads it makes in their order."""
    ec2, stub = stubbed("ec2")
    execution_input = execution_input or request()
    if types:
        answer_instance_types(stub, *types)
    if "private-nlb" in execution_input.verify.load_balancers:
        answer_addresses_in_use(stub, list(NODE_IDS) if nlb_subnets is None else nlb_subnets, interfaces)
    answer_security_groups(stub, *groups)
    with all_answered(stub):
        return _Planner(execution_input, world, ec2, prefix_delegation, warnings=list(warnings or [])).migration()


def planner(world: ClusterTopology, execution_input: ExecutionInput | None = None) -> _Planner:
    """A planner whose EC2 answers nothing: for its methods that make no call."""
    return _Planner(execution_input or request(), world, stubbed("ec2")[0], False, warnings=[])


# --- the event --------------------------------------------------------------------------------------------


def test_a_validate_only_event_is_answered_valid_without_a_call() -> None:
    ec2, ec2_stub = stubbed("ec2")
    eks, eks_stub = stubbed("eks")
    event = {"input": {"clusterName": "eksworkshop", "pollSeconds": 7}, "polls": 4, "validateOnly": True}
    with all_answered(ec2_stub), all_answered(eks_stub):
        outcome = plan(event, ec2, eks, REGION)
    assert outcome.model_dump(by_alias=True, exclude_none=True) == {"status": "VALID", "polls": 4, "pollSeconds": 7}


@pytest.mark.parametrize("event", [None, [], "eksworkshop"])
def test_an_event_that_is_not_an_object_is_refused_naming_its_type(event: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        plan(event, stubbed("ec2")[0], stubbed("eks")[0], REGION)
    assert str(refused.value) == (f"Plan expects {{'input': ..., 'polls': n}}, found {type(event).__name__}")


def test_an_event_that_does_not_validate_is_refused_with_pydantics_errors() -> None:
    with pytest.raises(InvalidInput) as refused:
        plan({"input": {"clusterName": NAME}, "polls": -1}, stubbed("ec2")[0], stubbed("eks")[0], REGION)
    assert str(refused.value) == (
        "Plan's event is not valid: [{'type': 'greater_than_equal', 'loc': ('polls',), "
        "'msg': 'Input should be greater than or equal to 0', 'input': -1, 'ctx': {'ge': 0}}]"
    )


def test_an_invalid_execution_input_is_refused_before_any_call() -> None:
    with pytest.raises(InvalidInput) as refused:
        plan({"input": {"clusterName": NAME, "podCIDR": "100.64.0.0/16"}}, stubbed("ec2")[0], stubbed("eks")[0], REGION)
    assert str(refused.value) == (
        "The execution input is not valid: unknown key 'podCIDR' (the keys are clusterName, podCidr, "
        "podSubnetPrefixLength, availabilityZones, eniConfigSecurityGroupIds, tagLoadBalancerSubnets, nodegroups, "
        "replaceNodegroups, verify, nodeReplacement, ignoreUnmanagedCapacity, keepClusterAccess, dryRun, "
        "pollSeconds). See the execution input contract in README.md; nothing was changed."
    )


# --- the cluster: DescribeCluster's early exits ------------------------------------------------------------


def cluster_answer(status: str = "ACTIVE", ip_family: str = "ipv4") -> dict[str, Any]:
    """DescribeCluster's cluster with the members EKS returns for a standard (not Auto Mode) cluster."""
    return {
        "name": NAME,
        "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{NAME}",
        "createdAt": datetime(2024, 9, 1, tzinfo=UTC),
        "version": "1.30",
        "endpoint": "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/eksworkshop-cluster",
        "resourcesVpcConfig": {
            "subnetIds": [s.subnet_id for s in seed_subnets()],
            "securityGroupIds": [],
            "clusterSecurityGroupId": CLUSTER_GROUP,
            "vpcId": VPC,
            "endpointPublicAccess": True,
            "endpointPrivateAccess": True,
            "publicAccessCidrs": ["0.0.0.0/0"],
        },
        "kubernetesNetworkConfig": {
            "serviceIpv4Cidr": "10.100.0.0/16",
            "ipFamily": ip_family,
            "elasticLoadBalancing": {"enabled": False},
        },
        "logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": False}]},
        "identity": {"oidc": {"issuer": "https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF"}},
        "status": status,
        "certificateAuthority": {"data": "LS0tLS1CRUdJTg=="},
        "platformVersion": "eks.8",
        "tags": {},
        "accessConfig": {"bootstrapClusterCreatorAdminPermissions": True, "authenticationMode": "API_AND_CONFIG_MAP"},
        "upgradePolicy": {"supportType": "EXTENDED"},
    }


def migrate(eks_stub_answer: dict[str, Any] | None, polls: int = 0, **keys: Any) -> Any:
    """plan_migration with DescribeCluster answering `eks_stub_answer` (None: no such cluster) and
    nothing else answered: the early exits."""
    eks, eks_stub = stubbed("eks")
    if eks_stub_answer is None:
        eks_stub.add_client_error(
            "describe_cluster",
            service_error_code="ResourceNotFoundException",
            service_message=f"No cluster found for name: {NAME}.",
            http_status_code=404,
            expected_params={"name": NAME},
        )
    else:
        eks_stub.add_response("describe_cluster", {"cluster": eks_stub_answer}, {"name": NAME})
    with all_answered(eks_stub):
        return plan_migration(request(**keys), polls, stubbed("ec2")[0], eks, REGION)


def test_no_cluster_of_that_name_is_cluster_not_found() -> None:
    with pytest.raises(ClusterNotFound) as refused:
        migrate(None)
    assert str(refused.value) == (
        "No EKS cluster named 'eksworkshop' in us-west-2 for this account. Check clusterName and that the "
        "state machine runs in the cluster's region. Nothing was changed."
    )


def test_a_creating_cluster_is_checked_again_counting_the_polls() -> None:
    outcome = migrate(cluster_answer("CREATING"), polls=3, pollSeconds=20)
    assert outcome.to_json() == {"status": "CLUSTER_CREATING", "polls": 4, "pollSeconds": 20, "migration": None}


def test_a_creating_cluster_is_awaited_up_to_forty_minutes_of_polls() -> None:
    last = migrate(cluster_answer("CREATING"), polls=79)
    assert last.to_json() == {"status": "CLUSTER_CREATING", "polls": 80, "pollSeconds": 30, "migration": None}
    with pytest.raises(ClusterNotActive) as refused:
        migrate(cluster_answer("CREATING"), polls=80)
    assert str(refused.value) == (
        "Cluster 'eksworkshop' is still CREATING after 80 checks 30 s apart (about 40 minutes). Look at the "
        "cluster in the EKS console; start the migration again once it is ACTIVE. Nothing was changed."
    )


def test_the_creating_bound_counts_minutes_from_the_checks_made() -> None:
    with pytest.raises(ClusterNotActive) as refused:
        migrate(cluster_answer("CREATING"), polls=8, pollSeconds=300)
    assert str(refused.value) == (
        "Cluster 'eksworkshop' is still CREATING after 8 checks 300 s apart (about 40 minutes). Look at the "
        "cluster in the EKS console; start the migration again once it is ACTIVE. Nothing was changed."
    )


def test_max_polls_fits_forty_minutes_in_at_most_ninety_checks_and_at_least_one() -> None:
    assert max_polls(30) == 80
    assert max_polls(300) == 8
    assert max_polls(7) == 90  # 343 would fit: POLLS_PER_WAIT caps it
    assert max_polls(2399) == 2  # ceil(2400 / 2399)
    assert max_polls(2400) == 1
    assert max_polls(5000) == 1  # at least one check


@pytest.mark.parametrize("status", ["FAILED", "DELETING", "UPDATING", "PENDING"])
def test_a_cluster_neither_active_nor_creating_is_refused(status: str) -> None:
    with pytest.raises(ClusterNotActive) as refused:
        migrate(cluster_answer(status))
    assert str(refused.value) == (
        f"Cluster 'eksworkshop' is {status}, not ACTIVE. podcidr migrates ACTIVE clusters only; run again once "
        "the cluster is ACTIVE. Nothing was changed."
    )


def test_an_ipv6_cluster_is_unsupported() -> None:
    with pytest.raises(UnsupportedCluster) as refused:
        migrate(cluster_answer(ip_family="ipv6"))
    assert str(refused.value) == (
        "Cluster 'eksworkshop' uses the ipv6 IP family. Custom networking (pods on a secondary VPC CIDR) is for "
        "IPv4 clusters only; an IPv6 cluster does not run out of pod addresses. Nothing was changed."
    )


# --- plan_migration over the account's findings ------------------------------------------------------------


def the_described_cluster() -> ClusterInfo:
    """What describe_cluster makes of cluster_answer()."""
    return ClusterInfo(
        name=NAME,
        status="ACTIVE",
        version="1.30",
        vpc_id=VPC,
        subnet_ids=tuple(s.subnet_id for s in seed_subnets()),
        security_group_ids=(),
        cluster_security_group_id=CLUSTER_GROUP,
        authentication_mode="API_AND_CONFIG_MAP",
        ip_family="ipv4",
        endpoint="https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
        tags={},
        arn=f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{NAME}",
        endpoint_public_access=True,
        endpoint_private_access=True,
        public_access_cidrs=("0.0.0.0/0",),
    )


def account_findings(
    monkeypatch: pytest.MonkeyPatch, findings: AccountFindings, polls: int = 0, *, event: bool = False, **keys: Any
) -> tuple[Any, list[tuple[Any, ...]]]:
    """plan_migration (`event`: plan, given the event) with DescribeCluster answered, discover_topology and
    check_account replaced: the outcome and the calls made to both (their arguments)."""
    eks, eks_stub = stubbed("eks")
    ec2, ec2_stub = stubbed("ec2")
    eks_stub.add_response("describe_cluster", {"cluster": cluster_answer()}, {"name": NAME})
    calls: list[tuple[Any, ...]] = []

    def discover(*args: Any) -> ClusterTopology:
        calls.append(("discover_topology", *args))
        return findings.topology

    def check(*args: Any) -> AccountFindings:
        calls.append(("check_account", *args))
        return findings

    monkeypatch.setattr(plan_module.discovery, "discover_topology", discover)
    monkeypatch.setattr(plan_module, "check_account", check)
    execution_input = request(**keys)
    if not findings.nodegroups_creating:
        answer_instance_types(ec2_stub, "t3.2xlarge")
        answer_addresses_in_use(ec2_stub, list(NODE_IDS))
        answer_security_groups(ec2_stub)
    with all_answered(eks_stub), all_answered(ec2_stub):
        if event:
            outcome = plan({"input": {"clusterName": NAME, **keys}, "polls": polls}, ec2, eks, REGION)
        else:
            outcome = plan_migration(execution_input, polls, ec2, eks, REGION)
    assert calls == [
        ("discover_topology", ec2, eks, the_described_cluster(), REGION),
        ("check_account", execution_input, findings.topology, ec2, eks),
    ]
    return outcome, calls


def test_nodegroups_creating_are_awaited_counting_the_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = AccountFindings(topology=topology(), nodegroups_creating=["ng-1", "ng-2"])
    outcome, _ = account_findings(monkeypatch, findings, polls=2, pollSeconds=60)
    assert outcome.to_json() == {"status": "NODEGROUPS_CREATING", "polls": 3, "pollSeconds": 60, "migration": None}


def test_nodegroups_creating_past_thirty_minutes_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = AccountFindings(topology=topology(), nodegroups_creating=["ng-1", "ng-2"])
    with pytest.raises(ClusterNotActive) as refused:
        account_findings(monkeypatch, findings, polls=30, pollSeconds=60)
    assert str(refused.value) == (
        "Nodegroup(s) ng-1, ng-2 of cluster 'eksworkshop' are still CREATING after 30 checks 60 s apart (about 30 "
        "minutes). Look at them in the EKS console (a nodegroup whose nodes cannot join fails after a while); start "
        "the migration again once they are ACTIVE or deleted. Nothing was changed."
    )
    outcome, _ = account_findings(monkeypatch, findings, polls=29, pollSeconds=60)
    assert (outcome.status, outcome.polls) == ("NODEGROUPS_CREATING", 30)


def test_a_planned_outcome_carries_the_findings_warnings_prefix_delegation_and_unmanaged_capacity(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unmanaged = [UnmanagedCapacity(kind="fargate", name="fp-default", namespaces=["default"])]
    findings = AccountFindings(
        topology=topology(),
        unmanaged_capacity=unmanaged,
        prefix_delegation=True,
        warnings=["The endpoint is public."],
    )
    outcome, _ = account_findings(monkeypatch, findings, polls=5, pollSeconds=45)
    assert (outcome.status, outcome.polls, outcome.poll_seconds) == ("PLANNED", 5, 45)
    m = outcome.migration
    assert m.unmanaged_capacity == unmanaged
    assert m.warnings == ["The endpoint is public."]
    assert m.poll_seconds == 45
    (replacement,) = m.nodegroups
    assert replacement.max_pods == 110  # prefix delegation: 3 x 14 prefixes of 16, capped at 110 below 30 vCPUs


# --- the seed's migration document ---------------------------------------------------------------------------


def test_the_seeds_dry_run_plan() -> None:
    m = planned(topology(), request(dryRun=True))
    assert (m.cluster_name, m.dry_run, m.region, m.vpc_id, m.cluster_version) == (NAME, True, REGION, VPC, "1.30")
    assert (m.cluster_security_group_id, m.authentication_mode) == (CLUSTER_GROUP, "API_AND_CONFIG_MAP")
    assert (m.poll_seconds, m.keep_cluster_access) == (30, False)
    assert m.node_subnet_ids == list(NODE_IDS)
    assert m.pod_cidr.model_dump() == {"cidr": "100.64.0.0/16", "association_id": None, "state": None, "created": False}
    assert [
        (s.availability_zone, s.cidr, s.route_table_id, s.default_route_target, s.subnet_id) for s in m.pod_subnets
    ] == [
        ("us-west-2a", "100.64.0.0/18", PRIVATE_TABLE, NAT, None),
        ("us-west-2b", "100.64.64.0/18", PRIVATE_TABLE, NAT, None),
        ("us-west-2c", "100.64.128.0/18", PRIVATE_TABLE, NAT, None),
    ]
    assert [(t.subnet_id, t.key, t.value, t.present) for t in m.load_balancer_tags] == [
        *((PUBLIC[z], "kubernetes.io/role/elb", "1", False) for z in "abc"),
        *((NODE[z], "kubernetes.io/role/internal-elb", "1", False) for z in "abc"),
    ]
    assert [(e.name, e.availability_zone, e.subnet, e.security_groups) for e in m.eni_configs] == [
        (zone, zone, None, [CLUSTER_GROUP]) for zone in ZONES
    ]
    assert m.cni.model_dump(exclude={"update_id", "changed"}) == {
        "via": "addon",
        "version": "v1.18.3-eksbuild.1",
        "env": ENV,
        "current_configuration_values": None,
        "status": None,
    }
    (replacement,) = m.nodegroups
    assert (replacement.replaced, replacement.by, replacement.max_pods) == ("managed-ng", "managed-ng-podcidr", 44)
    assert replacement.availability_zones == list(ZONES)
    assert replacement.launch_template_user_data is None
    assert replacement.node_replacement.model_dump() == {
        "strategy": "drain",
        "nodes_at_once": 1,
        "pod_eviction_timeout_seconds": 900,
    }
    assert replacement.drain.strategy == "drain"
    assert replacement.config.to_json() == {
        "subnets": list(NODE_IDS),
        "nodeRole": NODE_ROLE,
        "instanceTypes": ["t3.2xlarge"],
        "amiType": "AL2_x86_64",
        "capacityType": "ON_DEMAND",
        "diskSize": 100,
        "releaseVersion": "1.30.4-20240917",
        "version": "1.30",
        "scalingConfig": {"minSize": 3, "desiredSize": 3, "maxSize": 6},
        "updateConfig": {"maxUnavailable": 1},
        "nodeRepairConfig": None,
        "labels": {"team": "web"},
        "taints": [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}],
        "tags": {"team": "web", OWNER_TAG_KEY: NAME},  # aws: tags cannot be created
        "launchTemplate": None,
        "remoteAccess": None,
    }
    assert [
        (c.kind, [(a.subnet_id, a.ip) for a in c.fixed_addresses], c.source_cidrs)
        for c in m.verification.load_balancers
    ] == [
        ("alb", [], ["172.31.0.0/16"]),
        ("public-nlb", [], ["172.31.0.0/16"]),
        (
            "private-nlb",
            [(NODE["a"], "172.31.63.254"), (NODE["b"], "172.31.79.254"), (NODE["c"], "172.31.95.254")],
            ["172.31.0.0/16"],
        ),
    ]
    assert (m.verification.replacements_made, m.verification.zones) == ([], list(ZONES))
    assert (m.verification.image, m.verification.keep_workloads) == (
        "public.ecr.aws/nginx/nginx:1.27-alpine-slim",
        False,
    )
    assert m.skipped == [
        f"ENIConfig CRD (crd.k8s.amazonaws.com/v1alpha1 eniconfigs) installed: {SKIPPED_WHY}",
        f"AWS Load Balancer Controller running (for load-balancer verification): {SKIPPED_WHY}",
        f"PodDisruptionBudgets that would block draining the old nodes: {SKIPPED_WHY}",
        "aws-node env values another field manager than EKS holds (the add-on update would keep them): not read, a "
        "dry run makes no access entry, so it cannot read the cluster.",
    ]
    assert m.warnings == []
    assert Migration.model_validate(json.loads(json.dumps(m.to_json()))) == m


def test_a_real_run_skips_nothing_and_carries_the_inputs_choices() -> None:
    m = planned(
        topology(), request(pollSeconds=12, keepClusterAccess=True, verify={"keepWorkloads": True, "image": "nginx:1"})
    )
    assert (m.dry_run, m.skipped, m.poll_seconds, m.keep_cluster_access) == (False, [], 12, True)
    assert (m.verification.image, m.verification.keep_workloads) == ("nginx:1", True)


def test_a_dry_run_without_verification_or_replacement_skips_only_the_crd_and_aws_node_checks() -> None:
    m = planned(topology(), request(dryRun=True, replaceNodegroups=False, verify={"loadBalancers": []}))
    assert m.skipped == [
        f"ENIConfig CRD (crd.k8s.amazonaws.com/v1alpha1 eniconfigs) installed: {SKIPPED_WHY}",
        "aws-node env values another field manager than EKS holds (the add-on update would keep them): not read, a "
        "dry run makes no access entry, so it cannot read the cluster.",
    ]
    assert m.verification.load_balancers == []


def test_a_dry_run_with_a_self_managed_cni_skips_reading_its_daemonset() -> None:
    m = planned(topology(cni=CniInfo(via="daemonset")), request(dryRun=True, replaceNodegroups=False))
    assert m.skipped[1:] == [
        f"AWS Load Balancer Controller running (for load-balancer verification): {SKIPPED_WHY}",
        "Version and env of the self-managed aws-node DaemonSet: not read, a dry run makes no access entry, so it "
        "cannot read the cluster.",
    ]


# --- the cluster's authentication mode -----------------------------------------------------------------------


def test_no_authentication_mode_is_taken_as_config_map_with_a_warning() -> None:
    m = planned(topology(authentication_mode=None))
    assert m.authentication_mode == "CONFIG_MAP"
    assert m.warnings == [
        "DescribeCluster reported no accessConfig.authenticationMode; assuming CONFIG_MAP, which gives podcidr no "
        "way to reach the Kubernetes API by access entries."
    ]


def test_a_config_map_cluster_is_warned_to_switch_before_a_real_run() -> None:
    m = planned(topology(authentication_mode="CONFIG_MAP"), warnings=["earlier"])
    assert m.authentication_mode == "CONFIG_MAP"
    assert m.warnings == [
        "earlier",
        "Cluster 'eksworkshop' authenticates through the aws-auth ConfigMap only (CONFIG_MAP): podcidr cannot "
        "create an access entry; switch it to API_AND_CONFIG_MAP (one-way) before a real run.",
    ]


# --- nodegroups ---------------------------------------------------------------------------------------------------


def test_the_named_nodegroups_are_replaced_in_the_given_order() -> None:
    groups = (nodegroup("a"), nodegroup("b"), nodegroup("c"))
    m = planned(topology(nodegroups=groups), request(nodegroups=["c", "a"]))
    assert [(r.replaced, r.by) for r in m.nodegroups] == [("c", "c-podcidr"), ("a", "a-podcidr")]


def test_nodegroup_names_the_cluster_lacks_are_refused_listing_its_own() -> None:
    groups = (nodegroup("web"), nodegroup("api"))
    with pytest.raises(InvalidInput) as refused:
        planner(topology(nodegroups=groups), request(nodegroups=["web", "db", "batch"])).migration()
    assert str(refused.value) == (
        "nodegroups names 'db', 'batch', which cluster 'eksworkshop' does not have; its managed nodegroups: "
        "api, web. Nothing was changed."
    )


def test_nodegroup_names_on_a_cluster_without_nodegroups_say_none() -> None:
    with pytest.raises(InvalidInput) as refused:
        planner(topology(nodegroups=()), request(nodegroups=["web"], replaceNodegroups=False)).migration()
    assert str(refused.value) == (
        "nodegroups names 'web', which cluster 'eksworkshop' does not have; its managed nodegroups: none. "
        "Nothing was changed."
    )


def test_no_managed_nodegroup_is_unsupported_when_replacing() -> None:
    with pytest.raises(UnsupportedCluster) as refused:
        planner(topology(nodegroups=())).migration()
    assert str(refused.value) == (
        "Cluster 'eksworkshop' has no managed nodegroup, and podcidr moves pods by replacing managed nodegroups. "
        "Replace self-managed nodes yourself and run with replaceNodegroups false. Nothing was changed."
    )


def test_without_nodegroups_the_node_subnets_are_the_clusters_private_ones() -> None:
    m = planned(topology(nodegroups=()), request(replaceNodegroups=False), types=())
    assert m.node_subnet_ids == list(NODE_IDS)
    assert m.nodegroups == [] and len(m.pod_subnets) == 3
    assert m.warnings == []  # no nodegroup left unreplaced


def test_without_nodegroups_or_private_subnets_the_clusters_public_ones_are_the_node_subnets() -> None:
    public_only = [s for s in seed_subnets() if s.public]
    world = topology(nodegroups=(), subnets=public_only, subnet_ids=tuple(PUBLIC.values()))
    m = planned(world, request(replaceNodegroups=False, verify={"loadBalancers": []}), types=())
    assert m.node_subnet_ids == list(PUBLIC.values())


def test_no_subnet_in_the_vpc_is_unsupported() -> None:
    world = topology(
        nodegroups=(nodegroup(subnets=("subnet-0ffffffffffffffff",)),), subnet_ids=("subnet-0eeeeeeeeeeeeeeee",)
    )
    with pytest.raises(UnsupportedCluster) as refused:
        planner(world).migration()
    assert str(refused.value) == (
        f"None of cluster 'eksworkshop''s subnets or nodegroup subnets is in its VPC {VPC}. Nothing was changed."
    )


def test_more_nodegroups_than_one_execution_replaces_are_refused() -> None:
    groups = tuple(nodegroup(f"ng-{i}") for i in range(101))
    with pytest.raises(UnsupportedCluster) as refused:
        planner(topology(nodegroups=groups)).migration()
    assert str(refused.value) == (
        "Cluster 'eksworkshop' has 101 managed nodegroups to replace; one execution replaces at most 100 (its "
        "history holds 25,000 events). List up to 100 in nodegroups, then run again for the others. "
        "Nothing was changed."
    )


def test_a_hundred_nodegroups_are_replaced_and_any_number_left_alone() -> None:
    groups = tuple(nodegroup(f"ng-{i}", instance_types=("m5.large",)) for i in range(101))
    selected = planner(topology(nodegroups=groups), request(nodegroups=[f"ng-{i}" for i in range(100)]))
    assert len(selected._selected_nodegroups()) == 100
    assert len(planner(topology(nodegroups=groups), request(replaceNodegroups=False))._selected_nodegroups()) == 101


def test_the_nodegroup_bound_counts_only_the_nodegroups_to_replace() -> None:
    """Replacements podcidr made earlier and nodegroups going away start no child execution (a re-run after a
    partial migration of 100 nodegroups was refused as 'has 102 managed nodegroups to replace')."""
    groups = (
        *(nodegroup(f"ng-{i}") for i in range(100)),
        nodegroup("ng-0-podcidr", tags=OWNED),
        nodegroup("gone", status="DELETING"),
    )
    assert len(planner(topology(nodegroups=groups))._selected_nodegroups()) == 100


def test_a_replacement_podcidr_made_listed_first_does_not_hide_the_nodegroups_after_it() -> None:
    groups = (nodegroup("managed-ng-podcidr", tags=OWNED), nodegroup("managed-ng"))
    assert [g.name for g in planner(topology(nodegroups=groups))._selected_nodegroups()] == ["managed-ng"]


def test_a_pod_subnet_podcidr_made_is_adopted_where_it_is_not_where_the_layout_would_put_it() -> None:
    ours = subnet("subnet-0c0000000000000b3", f"{REGION}b", "100.64.192.0/18", tags=OWNED)
    world = topology(blocks=(POD_BLOCK,), vpc_tags={pod_cidr_tag_key(NAME): "100.64.0.0/16"}, extra_subnets=(ours,))
    m = planned(world)
    assert [(s.availability_zone, s.cidr, s.subnet_id) for s in m.pod_subnets] == [
        (f"{REGION}a", "100.64.0.0/18", None),
        (f"{REGION}b", "100.64.192.0/18", ours.subnet_id),
        (f"{REGION}c", "100.64.64.0/18", None),
    ]


def test_the_pod_security_groups_warnings_reach_the_plan() -> None:
    given = "sg-0aaaa000000000001"
    m = planned(topology(), request(eniConfigSecurityGroupIds=[given]), groups=(given,))
    assert (
        f"eniConfigSecurityGroupIds leaves out the cluster security group {CLUSTER_GROUP}: pods on the pod subnets "
        "lose what its rules allow (the control plane calling webhooks, groups that allow it as a source). Add it "
        "unless the given groups allow that traffic themselves."
    ) in m.warnings


def test_a_nodegroup_not_active_is_replaced_with_a_warning() -> None:
    """Issue #16: the warning at a nodegroup neither ACTIVE nor DEGRADED."""
    m = planned(topology(nodegroups=(nodegroup(status="UPDATING"),)))
    assert [r.replaced for r in m.nodegroups] == ["managed-ng"]
    assert m.warnings == ["Nodegroup 'managed-ng' is UPDATING, not ACTIVE."]


def test_a_degraded_nodegroup_is_replaced_without_a_warning() -> None:
    m = planned(topology(nodegroups=(nodegroup(status="DEGRADED"),)))
    assert [r.replaced for r in m.nodegroups] == ["managed-ng"] and m.warnings == []


@pytest.mark.parametrize("status", ["DELETING", "CREATE_FAILED", "DELETE_FAILED"])
def test_a_nodegroup_going_away_is_left_alone_with_a_warning(status: str) -> None:
    world = topology(nodegroups=(nodegroup("gone", status=status), nodegroup()))
    m = planned(world)
    assert [r.replaced for r in m.nodegroups] == ["managed-ng"]
    assert m.warnings == [f"Nodegroup 'gone' is {status}: it is not replaced."]


def test_a_nodegroup_going_away_is_refused_when_named() -> None:
    world = topology(nodegroups=(nodegroup("gone", status="DELETING"), nodegroup()))
    with pytest.raises(InvalidInput) as refused:
        planner(world, request(nodegroups=["managed-ng", "gone"])).migration()
    assert str(refused.value) == (
        "nodegroups names 'gone', which is being deleted or failed (gone: DELETING); replacing it would recreate "
        "capacity that is going away or cannot run. Leave it out of nodegroups (or fix it: aws eks "
        "describe-nodegroup shows the health issues) and run again. Nothing was changed."
    )


def test_two_nodegroups_going_away_are_refused_together_when_named() -> None:
    world = topology(nodegroups=(nodegroup("x", status="DELETE_FAILED"), nodegroup("y", status="CREATE_FAILED")))
    with pytest.raises(InvalidInput) as refused:
        planner(world, request(nodegroups=["x", "y"])).migration()
    assert str(refused.value) == (
        "nodegroups names 'x', 'y', which are being deleted or failed (x: DELETE_FAILED, y: CREATE_FAILED); "
        "replacing them would recreate capacity that is going away or cannot run. Leave them out of nodegroups (or "
        "fix them: aws eks describe-nodegroup shows the health issues) and run again. Nothing was changed."
    )


def test_a_replacement_podcidr_made_is_neither_replaced_nor_refused_when_going_away() -> None:
    owned = {OWNER_TAG_KEY: NAME}
    world = topology(
        nodegroups=(
            nodegroup(),
            nodegroup("managed-ng-podcidr", tags=owned, taints=()),
            nodegroup("old-podcidr", tags=owned, status="DELETING"),
        )
    )
    m = planned(world, request(nodegroups=["managed-ng", "managed-ng-podcidr", "old-podcidr"]))
    assert [(r.replaced, r.by) for r in m.nodegroups] == [("managed-ng", "managed-ng-podcidr")]
    assert [g.model_dump() for g in m.verification.replacements_made] == [{"name": "managed-ng-podcidr", "taints": []}]
    assert m.warnings == []


# --- node subnets and zones ---------------------------------------------------------------------------------


def test_node_subnets_are_those_of_the_nodegroups_in_zone_then_cidr_order() -> None:
    second_a = subnet("subnet-0000000000000000a", "us-west-2a", "172.31.96.0/20")
    world = topology(
        extra_subnets=(second_a,),
        nodegroups=(nodegroup(subnets=(NODE["c"], second_a.subnet_id, NODE["a"], "subnet-0notinvpc")),),
    )
    p = planner(world)
    assert [s.subnet_id for s in p._node_subnets()] == [NODE["a"], second_a.subnet_id, NODE["c"]]


def test_the_zones_are_those_of_the_node_subnets_sorted() -> None:
    """Six zones, the node subnets in reverse order: sorted, whatever a set's order."""
    spread = [
        subnet(f"subnet-0d00000000000000{i}", f"us-west-2{z}", f"172.31.{16 * i}.0/20") for i, z in enumerate("fedcba")
    ]
    assert planner(topology())._zones(spread) == [f"us-west-2{z}" for z in "abcdef"]


def test_availability_zones_outside_the_node_subnets_are_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        planner(topology(), request(availabilityZones=["us-west-2a", "us-west-2z", "us-west-2y"])).migration()
    assert str(refused.value) == (
        "availabilityZones names us-west-2z, us-west-2y, where cluster 'eksworkshop' has no node subnet; its node "
        "subnets are in us-west-2a, us-west-2b, us-west-2c. Nothing was changed."
    )


def test_availability_zones_must_cover_every_zone_with_nodes() -> None:
    """The zones left out in order; the nodegroup named is one with nodes in the first of them."""
    world = topology(nodegroups=(nodegroup("c", subnets=(NODE["c"],)), nodegroup("ab", subnets=(NODE["b"], NODE["a"]))))
    with pytest.raises(InvalidInput) as refused:
        planner(world, request(availabilityZones=["us-west-2a"])).migration()
    assert str(refused.value) == (
        "availabilityZones leaves out us-west-2b, us-west-2c, where nodegroup 'ab' has nodes: once custom networking "
        "is on, aws-node fails on a node whose AZ has no ENIConfig (VPC CNI >= 1.13). Include every AZ with nodes, "
        "or omit availabilityZones. Nothing was changed."
    )


def test_availability_zones_may_leave_out_a_zone_without_nodes_and_are_sorted() -> None:
    world = topology(
        nodegroups=(nodegroup(subnets=(NODE["b"], "subnet-0notinthevpc0", NODE["a"])),), subnet_ids=NODE_IDS
    )
    p = planner(world, request(availabilityZones=["us-west-2b", "us-west-2a"]))
    assert p._zones(p._node_subnets()) == ["us-west-2a", "us-west-2b"]
    m = planned(world, request(availabilityZones=["us-west-2b", "us-west-2a"]), nlb_subnets=[NODE["a"], NODE["b"]])
    assert [s.availability_zone for s in m.pod_subnets] == ["us-west-2a", "us-west-2b"]
    assert [t.subnet_id for t in m.load_balancer_tags] == [PUBLIC["a"], PUBLIC["b"], NODE["a"], NODE["b"]]


# --- the pod block -----------------------------------------------------------------------------------------------

OWNED = {OWNER_TAG_KEY: NAME}
POD_BLOCK = CidrBlockInfo("100.64.0.0/16", "associated", "vpc-cidr-assoc-0a1b2c3d4e5f60002")


def test_a_given_pod_cidr_and_prefix_length_are_taken() -> None:
    m = planned(topology(), request(podCidr="100.70.0.0/16", podSubnetPrefixLength=19))
    assert m.pod_cidr.model_dump() == {"cidr": "100.70.0.0/16", "association_id": None, "state": None, "created": False}
    assert [s.cidr for s in m.pod_subnets] == ["100.70.0.0/19", "100.70.32.0/19", "100.70.64.0/19"]


def test_the_block_tagged_for_the_cluster_on_the_vpc_is_reused_with_its_association() -> None:
    other = CidrBlockInfo("100.65.0.0/16", "associated", "vpc-cidr-assoc-0a1b2c3d4e5f60003")
    world = topology(blocks=(other, POD_BLOCK), vpc_tags={pod_cidr_tag_key(NAME): "100.64.0.0/16"})
    for execution_input in (request(), request(podCidr="100.64.0.0/16")):
        m = planned(world, execution_input)
        assert m.pod_cidr.model_dump() == {
            "cidr": "100.64.0.0/16",
            "association_id": "vpc-cidr-assoc-0a1b2c3d4e5f60002",
            "state": "associated",
            "created": False,
        }


def test_a_tagged_block_still_associating_is_reused_a_disassociated_one_is_not() -> None:
    tag = {pod_cidr_tag_key(NAME): "100.64.0.0/16"}
    associating = replace(POD_BLOCK, state="associating")
    assert planned(topology(blocks=(associating,), vpc_tags=tag)).pod_cidr.state == "associating"
    gone = replace(POD_BLOCK, state="disassociated")
    assert planned(topology(blocks=(gone,), vpc_tags=tag)).pod_cidr.model_dump() == {
        "cidr": "100.64.0.0/16",
        "association_id": None,
        "state": None,
        "created": False,
    }


def test_the_primary_block_is_never_the_pod_block_even_when_tagged() -> None:
    world = topology(vpc_tags={pod_cidr_tag_key(NAME): "172.31.0.0/16"})
    assert planned(world).pod_cidr.cidr == "100.64.0.0/16"


def test_a_block_holding_the_clusters_owned_subnets_is_reused_without_the_vpc_tag() -> None:
    other = CidrBlockInfo("100.65.0.0/16", "associated", "vpc-cidr-assoc-0a1b2c3d4e5f60003")
    pod_c = subnet("subnet-0c000000000000003", "us-west-2c", "100.64.128.0/18", tags=OWNED)
    m = planned(topology(blocks=(other, POD_BLOCK), extra_subnets=(pod_c,)))
    assert (m.pod_cidr.cidr, m.pod_cidr.association_id) == ("100.64.0.0/16", "vpc-cidr-assoc-0a1b2c3d4e5f60002")
    assert [(s.cidr, s.subnet_id) for s in m.pod_subnets] == [
        ("100.64.0.0/18", None),
        ("100.64.64.0/18", None),
        ("100.64.128.0/18", pod_c.subnet_id),
    ]
    assert [e.subnet for e in m.eni_configs] == [None, None, pod_c.subnet_id]


def test_a_pod_cidr_other_than_the_owned_block_is_refused() -> None:
    world = topology(blocks=(POD_BLOCK,), vpc_tags={pod_cidr_tag_key(NAME): "100.64.0.0/16"})
    with pytest.raises(InvalidInput) as refused:
        planner(world, request(podCidr="100.65.0.0/16")).migration()
    assert str(refused.value) == (
        "podCidr 100.65.0.0/16 differs from 100.64.0.0/16, the pod block podcidr already associated with cluster "
        "'eksworkshop''s VPC in an earlier run. Omit podCidr or give 100.64.0.0/16 to continue with it (or "
        "disassociate it first). Nothing was changed."
    )


def test_a_pod_cidr_another_cluster_recorded_is_refused() -> None:
    world = topology(vpc_tags={pod_cidr_tag_key("other"): "100.64.0.0/16"})
    with pytest.raises(CidrOverlap) as refused:
        planner(world, request(podCidr="100.64.0.0/16")).migration()
    assert str(refused.value) == (
        f"podCidr 100.64.0.0/16 is already used by another cluster of VPC {VPC}: 100.64.0.0/16, the pod block of "
        "cluster 'other' (VPC tag podcidr:pod-cidr:other). Give a podCidr that no other cluster uses, or omit it to "
        "let podcidr choose a free block. Nothing was changed."
    )


def test_the_chosen_block_avoids_an_unowned_block_and_routes() -> None:
    unowned = CidrBlockInfo("100.64.0.0/16", "associated", "vpc-cidr-assoc-0a1b2c3d4e5f60002")
    assert planned(topology(blocks=(unowned,))).pod_cidr.cidr == "100.65.0.0/16"
    routed = (RouteInfo("100.64.0.0/16", "tgw-0a1b2c3d4e5f60001"), RouteInfo("100.65.0.0/16", "pcx-0a1b2c3d4e5f6001"))
    assert planned(topology(routes=routed)).pod_cidr.cidr == "100.66.0.0/16"
    ipv6_and_lists = (RouteInfo(None, "igw-0a1b2c3d4e5f60789", destination_prefix_list="pl-0123"),)
    assert planned(topology(routes=ipv6_and_lists)).pod_cidr.cidr == "100.64.0.0/16"


PEER_VPC = "vpc-0fedcba9876543210"


def peering(status: str, *, requested_here: bool) -> PeeringInfo:
    """A peering with PEER_VPC, whose blocks are 100.64.0.0/16 and an IPv6 one."""
    ours, theirs = ("172.31.0.0/16",), ("100.64.0.0/16", "2600:1f14:abc:de00::/56")
    return PeeringInfo(
        peering_id="pcx-0a1b2c3d4e5f60001",
        status=status,
        requester_vpc_id=VPC if requested_here else PEER_VPC,
        accepter_vpc_id=PEER_VPC if requested_here else VPC,
        requester_cidrs=ours if requested_here else theirs,
        accepter_cidrs=theirs if requested_here else ours,
    )


@pytest.mark.parametrize("requested_here", [True, False])
def test_the_chosen_block_avoids_the_ipv4_blocks_of_an_active_peer(requested_here: bool) -> None:
    world = topology(peerings=(peering("active", requested_here=requested_here),))
    assert planned(world).pod_cidr.cidr == "100.65.0.0/16"


def test_a_peering_request_of_this_vpc_pending_acceptance_refuses_every_block() -> None:
    with pytest.raises(CidrNotAllowed) as refused:
        planner(topology(peerings=(peering("pending-acceptance", requested_here=True),))).migration()
    assert str(refused.value) == (
        "No pod block can be added to the VPC: VPC peering request pcx-0a1b2c3d4e5f60001 from this VPC is "
        "pending-acceptance; AWS accepts no new block until it is accepted, rejected or deleted. Nothing was changed."
    )
    accepter = planned(topology(peerings=(peering("pending-acceptance", requested_here=False),)))
    assert accepter.pod_cidr.cidr == "100.64.0.0/16"  # a pending peering's blocks do not count yet


def test_a_given_pod_cidr_overlapping_a_route_is_refused() -> None:
    routed = (RouteInfo("100.64.0.0/16", "tgw-0a1b2c3d4e5f60001"),)
    with pytest.raises(CidrOverlap) as refused:
        planner(topology(routes=routed), request(podCidr="100.64.0.0/16")).migration()
    assert str(refused.value) == (
        "Cannot associate 100.64.0.0/16 with the VPC: 100.64.0.0/16 is equal to the destination 100.64.0.0/16 of a "
        f"route to tgw-0a1b2c3d4e5f60001 in {PRIVATE_TABLE}; a block must be smaller than every route destination. "
        "Blocks that pass every rule: 100.65.0.0/16, 100.66.0.0/16, 100.67.0.0/16 (or omit podCidr to let podcidr "
        "choose). Nothing was changed."
    )


# --- pod subnets -------------------------------------------------------------------------------------------


def too_small(prefix: int, usable: int, of: int, need: int) -> str:
    return (
        f"Pod subnets of /{prefix} (podSubnetPrefixLength) have {usable} usable addresses (AWS reserves 5 of {of}), "
        f"fewer than the {need} addresses one t3.2xlarge node takes from its pod subnet. Use a shorter "
        "podSubnetPrefixLength or a larger podCidr. Nothing was changed."
    )


def test_pod_subnets_must_hold_one_node_of_the_largest_instance_type_of_the_selected_nodegroups() -> None:
    """t3.2xlarge: 3 secondary ENIs of 15 addresses (45); m5.large: 2 of 10 (20). A /27 holds 27."""
    groups = (
        nodegroup("small", instance_types=("m5.large",)),
        nodegroup("big", instance_types=("m5.large", "t3.2xlarge")),
    )
    execution_input = request(podCidr="100.64.0.0/24", podSubnetPrefixLength=27)
    with pytest.raises(SubnetSizing) as refused:
        planned(topology(nodegroups=groups), execution_input, types=("m5.large", "t3.2xlarge"))
    assert str(refused.value) == too_small(27, 27, 32, 45)
    small = planned(
        topology(nodegroups=groups),
        request(podCidr="100.64.0.0/24", podSubnetPrefixLength=27, nodegroups=["small"]),
        types=("m5.large",),
    )
    assert [s.cidr for s in small.pod_subnets] == ["100.64.0.0/27", "100.64.0.32/27", "100.64.0.64/27"]


def test_pod_subnets_with_prefix_delegation_count_prefixes() -> None:
    with pytest.raises(SubnetSizing) as refused:
        planned(topology(), request(podCidr="100.64.0.0/22", podSubnetPrefixLength=24), prefix_delegation=True)
    assert str(refused.value) == too_small(24, 251, 256, 675)
    m = planned(topology(), request(podCidr="100.64.0.0/22", podSubnetPrefixLength=24))
    assert [s.cidr for s in m.pod_subnets] == ["100.64.0.0/24", "100.64.1.0/24", "100.64.2.0/24"]


def test_an_owned_subnet_outside_the_zones_is_not_adopted_and_not_reused() -> None:
    world = topology(
        nodegroups=(nodegroup(subnets=(NODE["a"], NODE["b"])),),
        blocks=(POD_BLOCK,),
        extra_subnets=(subnet("subnet-0c000000000000003", "us-west-2c", "100.64.0.0/18", tags=OWNED),),
    )
    m = planned(
        world,
        request(availabilityZones=["us-west-2a", "us-west-2b"], podSubnetPrefixLength=18),
        nlb_subnets=[NODE["a"], NODE["b"]],
    )
    assert [(s.availability_zone, s.cidr, s.subnet_id) for s in m.pod_subnets] == [
        ("us-west-2a", "100.64.64.0/18", None),
        ("us-west-2b", "100.64.128.0/18", None),
    ]


def test_a_subnet_of_the_pod_block_podcidr_does_not_own_is_not_adopted_but_avoided() -> None:
    theirs = subnet("subnet-0c000000000000007", "us-west-2a", "100.64.0.0/18", tags={"team": "data"})
    world = topology(blocks=(POD_BLOCK,), vpc_tags={pod_cidr_tag_key(NAME): "100.64.0.0/16"}, extra_subnets=(theirs,))
    m = planned(world, request(podSubnetPrefixLength=18))
    assert [(s.availability_zone, s.cidr, s.subnet_id) for s in m.pod_subnets] == [
        ("us-west-2a", "100.64.64.0/18", None),
        ("us-west-2b", "100.64.128.0/18", None),
        ("us-west-2c", "100.64.192.0/18", None),
    ]


def test_the_lowest_owned_subnet_of_a_zone_is_adopted() -> None:
    two = (
        subnet("subnet-0c000000000000009", "us-west-2a", "100.64.0.0/18", tags=OWNED),
        subnet("subnet-0c000000000000001", "us-west-2a", "100.64.64.0/18", tags=OWNED),
    )
    m = planned(topology(blocks=(POD_BLOCK,), extra_subnets=two))
    first = m.pod_subnets[0]
    assert (first.cidr, first.subnet_id) == ("100.64.64.0/18", "subnet-0c000000000000001")


# --- load balancer subnet tags ----------------------------------------------------------------------------------


def test_load_balancer_tags_are_present_at_1_or_empty_and_another_value_is_left_alone_and_named() -> None:
    tagged = seed_subnets()
    tagged[0] = replace(tagged[0], tags={"kubernetes.io/role/elb": "1"})
    tagged[1] = replace(tagged[1], tags={"kubernetes.io/role/elb": ""})
    tagged[2] = replace(tagged[2], tags={"kubernetes.io/role/elb": "0"})
    tagged[3] = replace(tagged[3], tags={"kubernetes.io/role/internal-elb": "1"})
    tagged[4] = replace(tagged[4], tags={"kubernetes.io/role/internal-elb": ""})
    tagged[5] = replace(tagged[5], tags={"kubernetes.io/role/internal-elb": "true"})
    m = planned(topology(subnets=tagged))
    assert [(t.subnet_id, t.present) for t in m.load_balancer_tags] == [
        (tagged[0].subnet_id, True),
        (tagged[1].subnet_id, True),
        (tagged[3].subnet_id, True),
        (tagged[4].subnet_id, True),
    ]
    for subnet, key, value in ((tagged[2], "elb", "0"), (tagged[5], "internal-elb", "true")):
        assert (
            f"Subnet {subnet.subnet_id} carries kubernetes.io/role/{key}={value}: left as it is (podcidr adds the tag "
            "only where it is missing), and the AWS Load Balancer Controller does not choose it for load balancers."
        ) in m.warnings


def test_no_load_balancer_tags_when_asked() -> None:
    assert planned(topology(), request(tagLoadBalancerSubnets=False)).load_balancer_tags == []


def test_public_subnets_outside_the_zones_or_in_the_pod_block_are_not_tagged() -> None:
    in_block = subnet("subnet-0c000000000000003", "us-west-2a", "100.64.0.0/24", public=True)
    world = topology(
        nodegroups=(nodegroup(subnets=(NODE["a"], NODE["b"])),),
        blocks=(POD_BLOCK,),
        vpc_tags={pod_cidr_tag_key(NAME): "100.64.0.0/16"},
        extra_subnets=(in_block,),
    )
    m = planned(world, request(podSubnetPrefixLength=20), nlb_subnets=[NODE["a"], NODE["b"]])
    assert [(t.subnet_id, t.key) for t in m.load_balancer_tags] == [
        (PUBLIC["a"], "kubernetes.io/role/elb"),
        (PUBLIC["b"], "kubernetes.io/role/elb"),
        (NODE["a"], "kubernetes.io/role/internal-elb"),
        (NODE["b"], "kubernetes.io/role/internal-elb"),
    ]


def test_a_public_node_subnet_gets_only_the_internal_tag() -> None:
    public_nodes = [replace(s, public=True) if s.subnet_id == NODE["a"] else s for s in seed_subnets()]
    m = planned(topology(subnets=public_nodes))
    assert [(t.subnet_id, t.key) for t in m.load_balancer_tags if t.subnet_id == NODE["a"]] == [
        (NODE["a"], "kubernetes.io/role/internal-elb")
    ]


def test_node_subnets_inside_the_pod_block_are_not_tagged_nor_given_to_replacements() -> None:
    in_block = subnet("subnet-0c000000000000003", "us-west-2c", "100.64.0.0/24")
    world = topology(
        nodegroups=(nodegroup(subnets=(*NODE_IDS, in_block.subnet_id)),),
        blocks=(POD_BLOCK,),
        vpc_tags={pod_cidr_tag_key(NAME): "100.64.0.0/16"},
        extra_subnets=(in_block,),
    )
    p = planner(world)
    block = IPv4Network("100.64.0.0/16")
    node_subnets = p._node_subnets()
    assert in_block.subnet_id not in {t.subnet_id for t in p._load_balancer_tags(list(ZONES), node_subnets, block)}
    types = {"t3.2xlarge": InstanceTypeInfo("t3.2xlarge", 4, 15, 8)}
    (replacement,) = p._replacements(p._selected_nodegroups(), node_subnets, block, types)
    assert replacement.config.subnets == list(NODE_IDS)


# --- ENIConfigs -----------------------------------------------------------------------------------------------------


def test_eni_configs_take_the_given_security_groups() -> None:
    given = [CLUSTER_GROUP, "sg-0aaaaaaaaaaaaaaa1"]
    m = planned(topology(), request(eniConfigSecurityGroupIds=given), groups=tuple(given))
    assert [(e.name, e.security_groups) for e in m.eni_configs] == [(zone, given) for zone in ZONES]


# --- the CNI -------------------------------------------------------------------------------------------------------


def addon(
    version: str | None = "v1.18.3-eksbuild.1", values: str | None = None, status: str | None = "ACTIVE"
) -> CniInfo:
    return CniInfo(via="addon", version=version, configuration_values=values, status=status)


def cni_of(cni: CniInfo, warnings: list[str] | None = None) -> Any:
    p = _Planner(
        request(), topology(cni=cni), stubbed("ec2")[0], False, warnings=warnings if warnings is not None else []
    )
    return p._cni(cni)


def test_a_self_managed_cni_is_given_the_custom_networking_env() -> None:
    m = planned(topology(cni=CniInfo(via="daemonset")))
    assert m.cni.model_dump(exclude={"update_id", "changed"}) == {
        "via": "daemonset",
        "version": None,
        "env": ENV,
        "current_configuration_values": None,
        "status": None,
    }


def test_a_self_managed_cni_records_max_pods_under_prefix_delegation_for_the_replacements() -> None:
    (replacement,) = planned(topology(cni=CniInfo(via="daemonset"))).nodegroups
    assert (replacement.max_pods, replacement.max_pods_prefix_delegation) == (44, 110)
    assert (
        replacement.pod_subnet_addresses_prefix_delegation == 675
    )  # 3 secondary ENIs: each its primary address and 14 /28 prefixes
    (on_addon,) = planned(topology()).nodegroups
    assert (on_addon.max_pods_prefix_delegation, on_addon.pod_subnet_addresses_prefix_delegation) == (None, None)


@pytest.mark.parametrize("version", ["v1.12.6-eksbuild.2", "v1.14.1-eksbuild.1", "1.9.0"])
def test_an_addon_older_than_1_15_is_unsupported(version: str) -> None:
    with pytest.raises(UnsupportedCluster) as refused:
        cni_of(addon(version))
    assert str(refused.value) == (
        f"The vpc-cni add-on is {version}: its configuration schema has no ENI_CONFIG_LABEL_DEF (it arrived in "
        "v1.15), so podcidr cannot turn on custom networking through the add-on. Update the vpc-cni add-on to v1.15 "
        "or newer (a version supported for your Kubernetes version), then run again. Nothing was changed."
    )


@pytest.mark.parametrize("version", ["v1.15.0-eksbuild.2", "v2.0.0", "latest", None])
def test_an_addon_of_1_15_or_later_or_of_unknown_version_is_configured(version: str | None) -> None:
    assert cni_of(addon(version)).version == version


@pytest.mark.parametrize("status", ["UPDATING", "CREATING", "CREATE_FAILED", "UPDATE_FAILED"])
def test_an_addon_not_active_is_planned_with_a_warning(status: str) -> None:
    """Issue #16: the warning at the add-on status neither ACTIVE nor DEGRADED."""
    warnings: list[str] = []
    assert cni_of(addon(status=status), warnings).via == "addon"
    assert warnings == [f"The vpc-cni add-on is {status}; ConfigureCni waits for it to settle."]


@pytest.mark.parametrize("status", ["ACTIVE", "DEGRADED", None])
def test_an_addon_active_degraded_or_of_unknown_status_is_no_warning(status: str | None) -> None:
    warnings: list[str] = []
    cni_of(addon(status=status), warnings)
    assert warnings == []


def test_an_addon_already_configured_is_recorded_as_configured_before() -> None:
    values = json.dumps(
        {"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "TRUE", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}}
    )
    cni = cni_of(addon(values=values))
    assert (cni.status, cni.current_configuration_values, cni.env) == ("CONFIGURED", values, ENV)


def test_yaml_configuration_values_are_read_as_configure_cni_reads_them() -> None:
    values = "env:\n  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true'\n  ENI_CONFIG_LABEL_DEF: topology.kubernetes.io/zone\n"
    assert cni_of(addon(values=values)).status == "CONFIGURED"


@pytest.mark.parametrize(
    "values",
    [
        None,
        "",
        '{"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}, "init": {"env": {}}}',
        '{"env": {"ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}}',
        '{"env": null}',
        '{"eniConfig": {"create": false}}',
        '{"eniConfig": "create"}',
    ],
)
def test_an_addon_not_fully_configured_is_to_be_configured(values: str | None) -> None:
    cni = cni_of(addon(values=values))
    assert (cni.status, cni.current_configuration_values, cni.env) == (None, values, ENV)


def test_an_env_that_is_not_an_object_is_a_conflict() -> None:
    with pytest.raises(CniConfigConflict) as refused:
        cni_of(addon(values='{"env": ["ENI_CONFIG_LABEL_DEF"]}'))
    assert str(refused.value) == (
        'The vpc-cni add-on\'s configurationValues \'env\' is not an object ({"env": ["ENI_CONFIG_LABEL_DEF"]}); '
        "fix it before running podcidr. Nothing was changed."
    )


@pytest.mark.parametrize(
    "values",
    ['{"env": {"ENI_CONFIG_LABEL_DEF": "example.com/zone"}}', "env:\n  ENI_CONFIG_LABEL_DEF: example.com/zone\n"],
)
def test_another_eni_config_label_is_a_conflict(values: str) -> None:
    with pytest.raises(CniConfigConflict) as refused:
        cni_of(addon(values=values))
    assert str(refused.value) == (
        "The vpc-cni add-on already sets ENI_CONFIG_LABEL_DEF=example.com/zone; podcidr names ENIConfigs after the AZ "
        "and needs topology.kubernetes.io/zone. Remove or change that setting, then run again. Nothing was changed."
    )


def test_an_addon_creating_eni_configs_itself_is_a_conflict() -> None:
    with pytest.raises(CniConfigConflict) as refused:
        cni_of(addon(values='{"eniConfig": {"create": true, "region": "us-west-2"}}'))
    assert str(refused.value) == (
        "The vpc-cni add-on creates ENIConfigs itself (configurationValues eniConfig.create=true); podcidr would "
        "create the same objects. Turn eniConfig.create off (podcidr manages them) or finish the migration by hand. "
        "Nothing was changed."
    )


def test_an_eni_config_annotation_is_a_warning() -> None:
    warnings: list[str] = []
    cni_of(addon(values='{"env": {"ENI_CONFIG_ANNOTATION_DEF": "k8s.amazonaws.com/eniConfig"}}'), warnings)
    assert warnings == [
        "ENI_CONFIG_ANNOTATION_DEF=k8s.amazonaws.com/eniConfig is set: a node carrying that annotation uses the "
        "ENIConfig it names, not the one named after its AZ."
    ]
    cni_of(addon(values='{"env": {"ENI_CONFIG_ANNOTATION_DEF": ""}}'), warnings := [])
    assert warnings == []


# --- nodegroup replacements --------------------------------------------------------------------------------------


def test_replacement_names_are_deterministic_short_and_free() -> None:
    long_name = "n" * 60
    groups = (
        nodegroup(long_name, subnets=(NODE["a"],)),
        nodegroup("web", subnets=(NODE["b"],)),
        nodegroup("web-podcidr", subnets=(NODE["c"],), instance_types=("m5.large",)),  # someone else's
    )
    m = planned(topology(nodegroups=groups), types=("m5.large", "t3.2xlarge"))
    assert [(r.replaced, r.by, r.max_pods) for r in m.nodegroups] == [
        (long_name, "n" * 55 + "-podcidr", 44),
        ("web", "web-podcidr-2", 44),
        ("web-podcidr", "web-podcidr-podcidr", 20),
    ]
    assert [r.availability_zones for r in m.nodegroups] == [["us-west-2a"], ["us-west-2b"], ["us-west-2c"]]


def test_a_long_name_taken_twice_is_shortened_for_each_suffix() -> None:
    p = planner(topology(nodegroups=()))
    long_name = "n" * 62
    taken = {"n" * 55 + "-podcidr", "n" * 53 + "-podcidr-2", "n" * 53 + "-podcidr-3"}
    assert p._replacement_name(long_name, taken) == "n" * 53 + "-podcidr-4"
    assert p._replacement_name(long_name, taken - {"n" * 53 + "-podcidr-3"}) == "n" * 53 + "-podcidr-3"
    assert p._replacement_name("web", set()) == "web-podcidr"


def test_two_nodegroups_whose_replacement_names_would_collide_get_different_ones() -> None:
    groups = (nodegroup("n" * 60 + "a", subnets=(NODE["a"],)), nodegroup("n" * 60 + "b", subnets=(NODE["b"],)))
    m = planned(topology(nodegroups=groups), nlb_subnets=[NODE["a"], NODE["b"]])
    assert [r.by for r in m.nodegroups] == ["n" * 55 + "-podcidr", "n" * 53 + "-podcidr-2"]


def test_a_custom_ami_of_unknown_instance_types_is_refused_naming_the_cluster() -> None:
    template = LaunchTemplateInfo(
        template_id="lt-0a1b2c3d4e5f60001", name=None, version="1", image_id="ami-0123456789abcdef0", user_data=""
    )
    group = nodegroup("lt-ng", launch_template=template, ami_type="CUSTOM", instance_types=())
    with pytest.raises(UnsupportedCluster) as refused:
        planned(topology(nodegroups=(group,)), types=())
    assert str(refused.value).startswith(
        "Nodegroup 'lt-ng' of cluster 'eksworkshop' runs a custom AMI (launch template lt-0a1b2c3d4e5f60001 version 1)"
    )


def test_a_replacement_name_podcidr_made_earlier_is_taken_again() -> None:
    world = topology(nodegroups=(nodegroup(), nodegroup("managed-ng-podcidr", tags=OWNED)))
    (replacement,) = planned(world).nodegroups
    assert replacement.by == "managed-ng-podcidr"


def test_the_release_is_pinned_only_when_of_the_nodegroups_version() -> None:
    groups = (
        nodegroup("same", release_version="1.30.4-20240917", version="1.30"),
        nodegroup("other", release_version="1.29.8-20240917", version="1.30"),
        nodegroup("bottlerocket", release_version="1.22.0-7f3e2d1a", version="1.30", ami_type="BOTTLEROCKET_x86_64"),
    )
    m = planned(topology(nodegroups=groups))
    assert [(r.config.release_version, r.config.version, r.config.ami_type) for r in m.nodegroups] == [
        ("1.30.4-20240917", "1.30", "AL2_x86_64"),
        (None, "1.30", "AL2_x86_64"),
        (None, "1.30", "BOTTLEROCKET_x86_64"),
    ]


def test_release_of_version() -> None:
    assert _release_of_version(nodegroup(release_version="1.30.4-20240917", version="1.30")) == "1.30.4-20240917"
    assert _release_of_version(nodegroup(release_version="1.300.4", version="1.30")) is None
    assert _release_of_version(nodegroup(release_version="1.30", version="1.30")) is None
    assert _release_of_version(nodegroup(release_version=None, version="1.30")) is None
    assert _release_of_version(nodegroup(release_version="1.30.4-20240917", version=None)) is None
    assert _release_of_version(nodegroup(release_version="", version="")) is None


def test_version_tuple() -> None:
    assert _version_tuple("v1.18.3-eksbuild.1") == (1, 18)
    assert _version_tuple("1.9.0") == (1, 9)
    assert _version_tuple("v12.345") == (12, 345)
    assert _version_tuple("latest") is None
    assert _version_tuple("") is None
    assert _version_tuple("vv1.18") is None
    assert _version_tuple("x1.18") is None
    assert _version_tuple("1") is None


def test_a_launch_template_by_id_is_kept_and_replaces_disk_size_remote_access_and_instance_types() -> None:
    template = LaunchTemplateInfo(
        template_id="lt-0a1b2c3d4e5f60001", name="nodes", version="3", instance_type="m5.large"
    )
    group = nodegroup(launch_template=template, remote_access={"ec2SshKey": "ops"}, instance_types=())
    (replacement,) = planned(topology(nodegroups=(group,)), types=("m5.large",)).nodegroups
    assert replacement.config.launch_template == {"id": "lt-0a1b2c3d4e5f60001", "version": "3"}
    assert (replacement.config.instance_types, replacement.config.disk_size, replacement.config.remote_access) == (
        [],
        None,
        None,
    )
    assert (replacement.config.ami_type, replacement.config.release_version) == ("AL2_x86_64", "1.30.4-20240917")
    assert (replacement.max_pods, replacement.launch_template_user_data) == (20, None)


def test_a_launch_template_by_name_without_an_instance_type_keeps_the_nodegroups_types() -> None:
    template = LaunchTemplateInfo(template_id=None, name="nodes", version=None)
    (replacement,) = planned(topology(nodegroups=(nodegroup(launch_template=template),))).nodegroups
    assert replacement.config.launch_template == {"name": "nodes"}
    assert replacement.config.instance_types == ["t3.2xlarge"]


def test_without_a_launch_template_remote_access_is_kept() -> None:
    (replacement,) = planned(topology(nodegroups=(nodegroup(remote_access={"ec2SshKey": "ops"}),))).nodegroups
    assert replacement.config.remote_access == {"ec2SshKey": "ops"}


def test_a_custom_ami_gets_user_data_setting_max_pods_and_no_ami_type_release_or_version() -> None:
    bootstrap = base64.b64encode(b"#!/bin/bash\n/etc/eks/bootstrap.sh eksworkshop\n").decode()
    template = LaunchTemplateInfo(
        template_id="lt-0a1b2c3d4e5f60001",
        name=None,
        version="1",
        image_id="ami-0123456789abcdef0",
        instance_type="m5.large",
        user_data=bootstrap,
    )
    group = nodegroup("lt-ng", launch_template=template, ami_type="CUSTOM", instance_types=())
    (replacement,) = planned(topology(nodegroups=(group,)), types=("m5.large",)).nodegroups
    assert replacement.max_pods == 20
    assert (replacement.config.ami_type, replacement.config.release_version, replacement.config.version) == (
        None,
        None,
        None,
    )
    user_data = base64.b64decode(replacement.launch_template_user_data or "").decode()
    assert "/etc/eks/bootstrap.sh eksworkshop --kubelet-extra-args '--max-pods=20' --use-max-pods false" in user_data


def test_a_custom_ami_type_without_a_launch_template_gets_no_user_data() -> None:
    (replacement,) = planned(topology(nodegroups=(nodegroup(ami_type="CUSTOM"),))).nodegroups
    assert (replacement.config.ami_type, replacement.launch_template_user_data) == (None, None)


def test_an_al2023_nodegroup_is_replaced_with_a_warning() -> None:
    m = planned(topology(nodegroups=(nodegroup(ami_type="AL2023_x86_64_STANDARD"),)))
    assert m.nodegroups[0].config.ami_type == "AL2023_x86_64_STANDARD"
    assert m.warnings == [
        "Nodegroup 'managed-ng' runs AL2023: nodeadm does not account for custom networking by default "
        "(amazon-eks-ami #2201); EKS sets max pods for managed nodegroups created after the CNI change."
    ]


def test_max_pods_unknown_when_ec2_does_not_describe_every_instance_type() -> None:
    groups = (nodegroup(instance_types=("t3.2xlarge", "x9.mystery")), nodegroup("none", instance_types=()))
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_instance_types",
        {"InstanceTypes": [instance_type("t3.2xlarge")]},
        {"InstanceTypes": ["t3.2xlarge", "x9.mystery"]},
    )
    answer_addresses_in_use(stub, list(NODE_IDS))
    answer_security_groups(stub)
    with all_answered(stub):
        m = _Planner(request(), topology(nodegroups=groups), ec2, False, warnings=[]).migration()
    assert [r.max_pods for r in m.nodegroups] == [None, None]
    assert m.warnings == [
        "Cannot compute max pods for nodegroup 'managed-ng': instance types t3.2xlarge, x9.mystery not all "
        "described by EC2.",
        "Cannot compute max pods for nodegroup 'none': instance types unknown not all described by EC2.",
    ]


def test_max_pods_is_the_smallest_of_the_instance_types() -> None:
    (replacement,) = planned(
        topology(nodegroups=(nodegroup(instance_types=("t3.2xlarge", "m5.large")),)), types=("m5.large", "t3.2xlarge")
    ).nodegroups
    assert (replacement.max_pods, replacement.config.instance_types) == (20, ["t3.2xlarge", "m5.large"])


def test_replacements_carry_the_nodegroups_settings_and_the_input_node_replacement() -> None:
    group = nodegroup(
        capacity_type="SPOT",
        update_config={"maxUnavailablePercentage": 33},
        node_repair_config={"enabled": True},
        taints=({"key": "gpu", "effect": "NO_EXECUTE"},),
        labels={},
    )
    execution_input = request(nodeReplacement={"strategy": "delete", "nodesAtOnce": 2})
    (replacement,) = planned(topology(nodegroups=(group,)), execution_input).nodegroups
    config = replacement.config
    assert (config.capacity_type, config.update_config, config.node_repair_config) == (
        "SPOT",
        {"maxUnavailablePercentage": 33},
        {"enabled": True},
    )
    assert [t.model_dump() for t in config.taints] == [{"key": "gpu", "value": None, "effect": "NO_EXECUTE"}]
    assert config.labels == {}
    assert replacement.node_replacement == execution_input.node_replacement
    assert replacement.drain.strategy == "delete"


def test_without_replacing_nodegroups_they_are_listed_in_a_warning() -> None:
    m = planned(topology(nodegroups=(nodegroup("web"), nodegroup("api"))), request(replaceNodegroups=False))
    assert m.nodegroups == []
    assert m.warnings == [
        "replaceNodegroups is false: existing nodes keep giving pods node-subnet addresses until they are replaced "
        "(web, api)."
    ]


# --- verification -----------------------------------------------------------------------------------------------


def test_the_private_nlbs_fixed_address_skips_addresses_in_use() -> None:
    interfaces = [network_interface(NODE["a"], "172.31.63.254"), network_interface(NODE["b"], "172.31.79.200")]
    m = planned(topology(), interfaces=interfaces)
    (private_nlb,) = [c for c in m.verification.load_balancers if c.kind == "private-nlb"]
    assert [(a.subnet_id, a.ip) for a in private_nlb.fixed_addresses] == [
        (NODE["a"], "172.31.63.253"),
        (NODE["b"], "172.31.79.254"),
        (NODE["c"], "172.31.95.254"),
    ]


def test_the_private_nlb_takes_the_lowest_node_subnet_of_each_zone() -> None:
    second_a = subnet("subnet-0000000000000000a", "us-west-2a", "172.31.96.0/20")
    world = topology(extra_subnets=(second_a,), nodegroups=(nodegroup(subnets=(*NODE_IDS, second_a.subnet_id)),))
    m = planned(
        world,
        request(verify={"loadBalancers": ["private-nlb"]}),
        nlb_subnets=[second_a.subnet_id, NODE["b"], NODE["c"]],
    )
    (private_nlb,) = m.verification.load_balancers
    assert [(a.subnet_id, a.ip) for a in private_nlb.fixed_addresses] == [
        (second_a.subnet_id, "172.31.111.254"),
        (NODE["b"], "172.31.79.254"),
        (NODE["c"], "172.31.95.254"),
    ]


def test_the_private_nlb_serves_only_the_migrations_zones() -> None:
    world = topology(nodegroups=(nodegroup(subnets=(NODE["a"], NODE["b"])),), subnet_ids=NODE_IDS)
    m = planned(world, request(verify={"loadBalancers": ["private-nlb"]}), nlb_subnets=[NODE["a"], NODE["b"]])
    assert [a.subnet_id for a in m.verification.load_balancers[0].fixed_addresses] == [NODE["a"], NODE["b"]]
    assert m.verification.zones == ["us-west-2a", "us-west-2b"]


def test_only_the_private_nlb_reads_addresses_in_use() -> None:
    m = planned(topology(), request(verify={"loadBalancers": ["alb", "public-nlb"]}))
    assert [(c.kind, c.fixed_addresses) for c in m.verification.load_balancers] == [("alb", []), ("public-nlb", [])]


def test_test_load_balancers_accept_the_vpcs_associated_blocks_unless_sources_are_given() -> None:
    blocks = (
        CidrBlockInfo("172.30.0.0/16", "associated", "vpc-cidr-assoc-0a1b2c3d4e5f60004"),
        CidrBlockInfo("172.29.0.0/16", "disassociated", "vpc-cidr-assoc-0a1b2c3d4e5f60005"),
    )
    defaults = planned(topology(blocks=blocks)).verification.load_balancers
    assert [c.source_cidrs for c in defaults] == [["172.31.0.0/16", "172.30.0.0/16"]] * 3
    given = planned(topology(), request(verify={"sourceCidrs": ["203.0.113.0/24", "198.51.100.0/24"]}))
    assert [c.source_cidrs for c in given.verification.load_balancers] == [["203.0.113.0/24", "198.51.100.0/24"]] * 3


def test_test_pods_run_where_the_public_load_balancers_are_discoverable() -> None:
    """Public subnets only in a and b: the internet-facing load balancers serve a and b, so the pods run there."""
    no_public_c = [s for s in seed_subnets() if s.subnet_id != PUBLIC["c"]]
    assert planned(topology(subnets=no_public_c)).verification.zones == ["us-west-2a", "us-west-2b"]


def test_test_pods_run_also_on_replacements_made_earlier() -> None:
    """The replacement an earlier execution made (in a) counts with the one planned now (in b) for the zones."""
    world = topology(
        nodegroups=(
            nodegroup("old-podcidr", subnets=(NODE["a"], "subnet-0notinthevpc0"), tags=OWNED),
            nodegroup("web", subnets=(NODE["b"],)),
            nodegroup("gone-podcidr", subnets=(NODE["c"],), tags=OWNED, status="DELETING"),
        )
    )
    m = planned(world, request(nodegroups=["web"]))
    assert m.verification.zones == ["us-west-2a", "us-west-2b"]
    assert [g.model_dump() for g in m.verification.replacements_made] == [
        {"name": "old-podcidr", "taints": [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}]}
    ]


def test_no_verification_reads_nothing() -> None:
    m = planned(topology(), request(verify={"loadBalancers": []}))
    assert (m.verification.load_balancers, m.verification.zones) == ([], [])


# --- one_subnet_per_zone ------------------------------------------------------------------------------------------


def test_one_subnet_per_zone_keeps_the_lowest_id_of_each_zone_in_the_given_order() -> None:
    b = subnet("subnet-0b", "us-west-2b", "172.31.64.0/20")
    a2 = subnet("subnet-0a2", "us-west-2a", "172.31.96.0/20")
    a1 = subnet("subnet-0a1", "us-west-2a", "172.31.48.0/20")
    b2 = subnet("subnet-0b2", "us-west-2b", "172.31.112.0/20")
    assert one_subnet_per_zone([b2, a2, b, a1]) == [b, a1]
    assert one_subnet_per_zone([]) == []


def test_a_blackholed_default_route_is_warned_once_per_zone_in_zone_order() -> None:
    world = topology()
    private = replace(
        world.route_tables[1],
        routes=(RouteInfo("172.31.0.0/16", "local"), RouteInfo("0.0.0.0/0", NAT, state="blackhole")),
    )
    m = planned(replace(world, route_tables=(world.route_tables[0], private)))
    assert m.warnings == [
        f"The default route of {zone}'s node route table ({PRIVATE_TABLE}) to {NAT} is blackhole: the pods there "
        "will not reach outside the VPC, as the nodes do not."
        for zone in ZONES
    ]
    assert [s.default_route_target for s in m.pod_subnets] == [NAT] * 3


def test_plan_plans_the_migration_of_the_events_input_from_its_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    findings = AccountFindings(topology=topology(), prefix_delegation=True)
    outcome, _ = account_findings(monkeypatch, findings, polls=2, event=True, pollSeconds=45, dryRun=True)
    assert (outcome.status, outcome.polls, outcome.poll_seconds) == ("PLANNED", 2, 45)
    assert (outcome.migration.dry_run, outcome.migration.region, outcome.migration.nodegroups[0].max_pods) == (
        True,
        REGION,
        110,
    )


def test_plan_answers_a_creating_cluster_from_the_events_polls() -> None:
    eks, eks_stub = stubbed("eks")
    eks_stub.add_response("describe_cluster", {"cluster": cluster_answer("CREATING")}, {"name": NAME})
    with all_answered(eks_stub):
        outcome = plan({"input": {"clusterName": NAME, "pollSeconds": 20}, "polls": 3}, stubbed("ec2")[0], eks, REGION)
    assert outcome.to_json() == {"status": "CLUSTER_CREATING", "polls": 4, "pollSeconds": 20, "migration": None}
