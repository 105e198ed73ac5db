"""CreatePodSubnets (one AZ's pod subnet) and the EC2 helpers it reads with, over a botocore-stubbed EC2
client: every DescribeSubnets filter, the CreateSubnet with its tags in the same call, adoption of this
cluster's subnet by its CIDR (a re-run's, a lost response's, a racing attempt's), the refusals of anyone
else's subnet or an overlap with their exact messages, public IPs on launch turned off, and transient faults
handed to the state machine's Retry. The moto-backed tests (test_create_pod_subnet.py) pin the same on moto;
these run in milliseconds for `make mutate-fast`."""

from __future__ import annotations

from typing import Any, cast

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from podcidr.aws.clients import AwsClients
from podcidr.errors import CidrOverlap, SubnetSizing, TransientAwsError
from podcidr.models.migration import PodSubnet
from podcidr.steps._ec2 import describe_route_tables, describe_subnets, tag_dict
from podcidr.steps.create_pod_subnet import PodSubnetItem, create_pod_subnet, subnet_name
from tests.fixtures.stubbed_aws import all_answered, ec2_subnet, stubbed

ACCOUNT = "111122223333"
VPC = "vpc-0a1b2c3d4e5f60718"
CLUSTER = "shop"
AZ = "us-west-2a"
OTHER_AZ = "us-west-2b"
CIDR = "100.64.0.0/18"
OURS = "subnet-0aaa1111bbbb2222c"
OWNED = [{"Key": "podcidr:cluster", "Value": CLUSTER}, {"Key": "Name", "Value": "shop-pods-us-west-2a"}]
BY_CIDR: dict[str, Any] = {
    "Filters": [{"Name": "vpc-id", "Values": [VPC]}, {"Name": "cidr-block", "Values": [CIDR]}],
    "SubnetIds": [],
}
IN_VPC_TABLES: dict[str, Any] = {"Filters": [{"Name": "vpc-id", "Values": [VPC]}]}
IN_VPC: dict[str, Any] = {"Filters": [{"Name": "vpc-id", "Values": [VPC]}], "SubnetIds": []}
CREATE: dict[str, Any] = {
    "VpcId": VPC,
    "CidrBlock": CIDR,
    "AvailabilityZone": AZ,
    "TagSpecifications": [{"ResourceType": "subnet", "Tags": OWNED}],
}
AZ_IDS = {AZ: "usw2-az1", OTHER_AZ: "usw2-az2"}


def _subnet(
    subnet_id: str,
    cidr: str,
    az: str = AZ,
    tags: list[dict[str, str]] | None = None,
    *,
    public: bool = False,
    state: str = "available",
) -> dict[str, Any]:
    """A subnet as DescribeSubnets and CreateSubnet answer."""
    size = 2 ** (32 - int(cidr.split("/")[1]))
    return ec2_subnet(
        subnet_id,
        cidr,
        vpc=VPC,
        owner=ACCOUNT,
        zone=az,
        zone_id=AZ_IDS[az],
        free=size - 5,
        public=public,
        state=state,
        tags=tags,
    )


def _ipv6_only(subnet_id: str) -> dict[str, Any]:
    """An IPv6-only subnet of the VPC: EC2 returns no CidrBlock for it."""
    subnet = _subnet(subnet_id, "10.0.0.0/24", OTHER_AZ)
    del subnet["CidrBlock"]
    subnet.update(
        AvailableIpAddressCount=0,
        Ipv6Native=True,
        AssignIpv6AddressOnCreation=True,
        Ipv6CidrBlockAssociationSet=[
            {
                "AssociationId": "subnet-cidr-assoc-0f1e2d3c4b5a69788",
                "Ipv6CidrBlock": "2600:1f14:abc:de00::/64",
                "Ipv6CidrBlockState": {"State": "associated"},
                "Ipv6AddressAttribute": "public",
                "IpSource": "amazon",
            }
        ],
        PrivateDnsNameOptionsOnLaunch={
            "HostnameType": "resource-name",
            "EnableResourceNameDnsARecord": False,
            "EnableResourceNameDnsAAAARecord": True,
        },
    )
    return subnet


def _item(subnet_id: str | None = None) -> PodSubnetItem:
    planned = PodSubnet(availability_zone=AZ, cidr=CIDR, route_table_id="rtb-0123456789abcdef0", subnet_id=subnet_id)
    return PodSubnetItem(cluster_name=CLUSTER, vpc_id=VPC, subnet=planned)


def _clients(ec2: Any) -> AwsClients:
    return AwsClients(ec2=ec2, eks=cast(Any, None), elbv2=cast(Any, None), sts=cast(Any, None))


def _reads(stub: Stubber, params: dict[str, Any], *subnets: dict[str, Any]) -> None:
    stub.add_response("describe_subnets", {"Subnets": list(subnets)}, params)


def _refused(stub: Stubber, operation: str, code: str, message: str, status: int = 400, **params: Any) -> None:
    stub.add_client_error(operation, code, message, http_status_code=status, expected_params=params or None)


def _step(ec2: Any, stub: Stubber, item: PodSubnetItem) -> PodSubnet:
    with all_answered(stub):
        return create_pod_subnet(_clients(ec2), item)


def test_the_pod_subnet_is_named_for_cluster_and_az() -> None:
    assert subnet_name("shop", "eu-west-1c") == "shop-pods-eu-west-1c"


def test_a_missing_subnet_is_created_private_with_owner_and_name_tags_in_the_same_call() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    stub.add_response("create_subnet", {"Subnet": _subnet(OURS, CIDR, tags=OWNED)}, CREATE)
    item = _item()

    result = _step(ec2, stub, item)  # no ModifySubnetAttribute: the new subnet gives no public IPs

    assert (result.subnet_id, result.created, result.changes) == (OURS, True, 1)
    assert (result.availability_zone, result.cidr, result.route_table_id) == (AZ, CIDR, "rtb-0123456789abcdef0")
    assert item.subnet == PodSubnet(availability_zone=AZ, cidr=CIDR, route_table_id="rtb-0123456789abcdef0")


def test_a_rerun_adopts_the_subnet_the_plan_knows_and_changes_nothing() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED))

    result = _step(ec2, stub, _item(OURS))

    assert (result.subnet_id, result.created, result.changes) == (OURS, False, 0)


def test_an_owned_subnet_the_plan_does_not_know_was_made_by_a_lost_response_and_counts_once() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED))

    result = _step(ec2, stub, _item())

    assert (result.subnet_id, result.created, result.changes) == (OURS, True, 1)


def test_a_lost_create_response_is_retried_and_the_retry_adopts_the_subnet_it_made() -> None:
    ec2, stub = stubbed("ec2")
    lost: list[bool] = []

    def lose(**_: Any) -> None:
        if not lost:
            lost.append(True)
            raise ReadTimeoutError(endpoint_url="https://ec2.us-west-2.amazonaws.com/")

    ec2.meta.events.register("after-call.ec2.CreateSubnet", lose)
    _reads(stub, BY_CIDR)
    stub.add_response("create_subnet", {"Subnet": _subnet(OURS, CIDR, tags=OWNED)}, CREATE)
    with pytest.raises(TransientAwsError, match=r"^ec2:CreateSubnet could not reach AWS: "):
        create_pod_subnet(_clients(ec2), _item())

    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED))  # the state machine's retry: same input
    result = _step(ec2, stub, _item())
    assert (result.subnet_id, result.created, result.changes) == (OURS, True, 1)


def test_a_conflict_on_create_means_a_racing_attempt_made_it_and_it_is_adopted() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(
        stub, "create_subnet", "InvalidSubnet.Conflict", f"The CIDR '{CIDR}' conflicts with another subnet", **CREATE
    )
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED))

    result = _step(ec2, stub, _item())

    assert (result.subnet_id, result.created, result.changes) == (OURS, True, 1)


def test_a_conflict_with_our_subnet_listed_only_by_the_vpc_read_adopts_it_not_an_overlap() -> None:
    """EC2 is eventually consistent: both reads by CIDR miss the subnet that the VPC's read lists."""
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(
        stub, "create_subnet", "InvalidSubnet.Conflict", f"The CIDR '{CIDR}' conflicts with another subnet", **CREATE
    )
    _reads(stub, BY_CIDR)
    _reads(
        stub,
        IN_VPC,
        _subnet("subnet-0node0000000000001", "10.0.0.0/19"),
        _subnet("subnet-0batch00000000001", "100.64.1.0/24", tags=[{"Key": "Name", "Value": "batch"}]),
        _subnet(OURS, CIDR, tags=OWNED),
    )

    result = _step(ec2, stub, _item())

    assert (result.subnet_id, result.created, result.changes) == (OURS, True, 1)


def test_a_conflict_with_no_subnet_listed_yet_is_transient_and_changes_nothing() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(
        stub, "create_subnet", "InvalidSubnet.Conflict", f"The CIDR '{CIDR}' conflicts with another subnet", **CREATE
    )
    _reads(stub, BY_CIDR)
    _reads(stub, IN_VPC, _subnet("subnet-0node0000000000001", "10.0.0.0/19"), _ipv6_only("subnet-0v6only000000001"))

    with all_answered(stub), pytest.raises(TransientAwsError) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert str(raised.value) == (
        f"AWS says {CIDR} is taken in VPC {VPC} but lists no subnet there yet; looking again shortly"
    )


def test_a_conflict_with_overlapping_subnets_names_each_with_name_cidr_and_az() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(
        stub, "create_subnet", "InvalidSubnet.Conflict", f"The CIDR '{CIDR}' conflicts with another subnet", **CREATE
    )
    _reads(stub, BY_CIDR)
    stub.add_response(  # two pages: the overlap on the second is named too
        "describe_subnets",
        {
            "Subnets": [
                _subnet("subnet-0node0000000000001", "10.0.0.0/19"),
                _subnet("subnet-0batch00000000001", "100.64.1.0/24", tags=[{"Key": "Name", "Value": "batch"}]),
            ],
            "NextToken": "page-2",
        },
        IN_VPC,
    )
    stub.add_response(
        "describe_subnets",
        {
            "Subnets": [
                _ipv6_only("subnet-0v6only000000001"),
                _subnet("subnet-0wide000000000001", "100.64.0.0/16", OTHER_AZ, [{"Key": "team", "Value": "data"}]),
            ]
        },
        {**IN_VPC, "NextToken": "page-2"},
    )

    with all_answered(stub), pytest.raises(CidrOverlap) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert raised.value.cause == (
        f"AWS refused the pod subnet {CIDR} in {AZ}: it overlaps subnet-0batch00000000001 (batch) 100.64.1.0/24 in "
        f"{AZ}, subnet-0wide000000000001 100.64.0.0/16 in {OTHER_AZ}. Remove the overlapping subnet or choose "
        "another podCidr."
    )


def test_an_untagged_subnet_with_the_planned_cidr_is_not_adopted_and_is_named() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet("subnet-0f00000000000000a", CIDR))

    with all_answered(stub), pytest.raises(CidrOverlap) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert raised.value.cause == (
        f"The pod subnet planned for {AZ}, {CIDR}, is taken: subnet subnet-0f00000000000000a {CIDR} in {AZ} already "
        "has that CIDR and is not tagged podcidr:cluster=shop, so podcidr will not adopt it. Delete that subnet if "
        "it is unused, or tag it for this cluster if it is meant as its pod subnet, or choose another podCidr."
    )


def test_another_clusters_subnet_with_the_planned_cidr_is_not_adopted_and_its_owner_named() -> None:
    ec2, stub = stubbed("ec2")
    theirs = [{"Key": "Name", "Value": "web-pods"}, {"Key": "podcidr:cluster", "Value": "web"}]
    _reads(stub, BY_CIDR, _subnet("subnet-0f00000000000000b", CIDR, tags=theirs))

    with all_answered(stub), pytest.raises(CidrOverlap) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert raised.value.cause == (
        f"The pod subnet planned for {AZ}, {CIDR}, is taken: subnet subnet-0f00000000000000b (web-pods) {CIDR} in "
        f"{AZ} already has that CIDR and is tagged podcidr:cluster=web, so podcidr will not adopt it. Delete that "
        "subnet if it is unused, or tag it for this cluster if it is meant as its pod subnet, or choose another "
        "podCidr."
    )


def test_our_subnet_with_the_planned_cidr_in_another_az_is_refused() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, OTHER_AZ, tags=OWNED))

    with all_answered(stub), pytest.raises(CidrOverlap) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert raised.value.cause == (
        f"This cluster's subnet {OURS} (shop-pods-us-west-2a) {CIDR} in {OTHER_AZ} has the CIDR planned for {AZ}'s "
        "pod subnet but sits in another AZ. Delete it (it was left by an earlier run with other AZs) or choose "
        "another podCidr."
    )


def test_a_cidr_outside_the_vpcs_blocks_is_a_sizing_error_saying_what_to_do() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(stub, "create_subnet", "InvalidSubnet.Range", f"The CIDR '{CIDR}' is invalid.", **CREATE)

    with all_answered(stub), pytest.raises(SubnetSizing) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert raised.value.cause == (
        f"AWS refused the pod subnet {CIDR} in {AZ}: An error occurred (InvalidSubnet.Range) when calling the "
        f"CreateSubnet operation: The CIDR '{CIDR}' is invalid.. The subnet must lie in the VPC's pod CIDR, which "
        "ExtendVpcCidr associated; run podcidr again, and if it persists check the VPC's CIDR blocks."
    )


def test_another_refusal_of_create_is_raised_as_aws_said() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(stub, "create_subnet", "SubnetLimitExceeded", "The maximum number of subnets has been reached.", **CREATE)

    with all_answered(stub), pytest.raises(ClientError) as raised:
        create_pod_subnet(_clients(ec2), _item())

    assert raised.value.response["Error"]["Code"] == "SubnetLimitExceeded"


def test_a_throttled_create_is_transient() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    _refused(stub, "create_subnet", "RequestLimitExceeded", "Request limit exceeded.", 503, **CREATE)

    with (
        all_answered(stub),
        pytest.raises(TransientAwsError, match=r"^ec2:CreateSubnet failed with RequestLimitExceeded"),
    ):
        create_pod_subnet(_clients(ec2), _item())


def test_public_ips_on_launch_are_turned_off_on_an_adopted_subnet_and_counted() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED, public=True))
    stub.add_response("modify_subnet_attribute", {}, {"SubnetId": OURS, "MapPublicIpOnLaunch": {"Value": False}})

    result = _step(ec2, stub, _item(OURS))

    assert (result.subnet_id, result.created, result.changes) == (OURS, False, 1)


def test_a_lost_responses_public_subnet_counts_its_creation_and_the_attribute() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED, public=True))
    stub.add_response("modify_subnet_attribute", {}, {"SubnetId": OURS, "MapPublicIpOnLaunch": {"Value": False}})

    result = _step(ec2, stub, _item())

    assert (result.subnet_id, result.created, result.changes) == (OURS, True, 2)


def test_a_throttled_attribute_change_is_transient() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED, public=True))
    _refused(
        stub,
        "modify_subnet_attribute",
        "RequestLimitExceeded",
        "Request limit exceeded.",
        503,
        SubnetId=OURS,
        MapPublicIpOnLaunch={"Value": False},
    )

    with all_answered(stub), pytest.raises(TransientAwsError, match=r"^ec2:ModifySubnetAttribute failed with "):
        create_pod_subnet(_clients(ec2), _item(OURS))


def test_a_failing_subnet_read_is_transient() -> None:
    ec2, stub = stubbed("ec2")
    _refused(stub, "describe_subnets", "InternalError", "An internal error has occurred.", 500, **BY_CIDR)

    with all_answered(stub), pytest.raises(TransientAwsError, match=r"^ec2:DescribeSubnets failed with InternalError"):
        create_pod_subnet(_clients(ec2), _item())


def test_tags_read_as_a_dict_and_none_as_empty() -> None:
    assert tag_dict([{"Key": "a", "Value": "1"}, {"Key": "Name", "Value": ""}]) == {"a": "1", "Name": ""}
    assert tag_dict(None) == {}
    assert tag_dict([]) == {}


def test_subnets_are_read_by_id_across_every_page() -> None:
    ec2, stub = stubbed("ec2")
    first, second = _subnet("subnet-01", "10.0.0.0/19"), _subnet("subnet-02", "10.0.32.0/19", OTHER_AZ)
    by_id = {"Filters": [], "SubnetIds": ["subnet-01", "subnet-02"]}
    stub.add_response("describe_subnets", {"Subnets": [first], "NextToken": "t1"}, by_id)
    stub.add_response("describe_subnets", {"Subnets": [second]}, {**by_id, "NextToken": "t1"})

    with all_answered(stub):
        assert describe_subnets(ec2, subnet_ids=["subnet-01", "subnet-02"]) == [first, second]


def _route_table(table_id: str, main: bool) -> dict[str, Any]:
    association: dict[str, Any] = {
        "Main": main,
        "RouteTableAssociationId": f"rtbassoc-{table_id[4:]}",
        "RouteTableId": table_id,
        "AssociationState": {"State": "associated"},
    }
    if not main:
        association["SubnetId"] = "subnet-01"
    return {
        "Associations": [association],
        "PropagatingVgws": [],
        "RouteTableId": table_id,
        "Routes": [
            {
                "DestinationCidrBlock": "10.0.0.0/16",
                "GatewayId": "local",
                "Origin": "CreateRouteTable",
                "State": "active",
            }
        ],
        "Tags": [],
        "VpcId": VPC,
        "OwnerId": ACCOUNT,
    }


def test_route_tables_are_read_for_the_vpc_across_every_page() -> None:
    ec2, stub = stubbed("ec2")
    main, node = _route_table("rtb-0main0000000000001", True), _route_table("rtb-0node0000000000001", False)
    stub.add_response("describe_route_tables", {"RouteTables": [main], "NextToken": "t1"}, IN_VPC_TABLES)
    stub.add_response("describe_route_tables", {"RouteTables": [node]}, {**IN_VPC_TABLES, "NextToken": "t1"})

    with all_answered(stub):
        assert describe_route_tables(ec2, VPC) == [main, node]


def test_a_throttled_route_table_read_is_transient() -> None:
    ec2, stub = stubbed("ec2")
    _refused(stub, "describe_route_tables", "RequestLimitExceeded", "Request limit exceeded.", 503, **IN_VPC_TABLES)

    with all_answered(stub), pytest.raises(TransientAwsError, match=r"^ec2:DescribeRouteTables failed with "):
        describe_route_tables(ec2, VPC)


def _carrying(changes: int, subnet_id: str | None = None) -> PodSubnetItem:
    item = _item(subnet_id)
    item.subnet.changes = changes
    return item


def test_a_created_subnet_adds_its_change_to_those_the_item_carries() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR)
    stub.add_response("create_subnet", {"Subnet": _subnet(OURS, CIDR, tags=OWNED)}, CREATE)

    assert _step(ec2, stub, _carrying(2)).changes == 3


def test_a_lost_responses_subnet_adds_its_change_to_those_the_item_carries() -> None:
    ec2, stub = stubbed("ec2")
    _reads(stub, BY_CIDR, _subnet(OURS, CIDR, tags=OWNED))

    assert _step(ec2, stub, _carrying(2)).changes == 3
