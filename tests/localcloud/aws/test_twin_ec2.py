"""EC2 fidelity: the VPC association rules (AWS-FACTS section 1), timed association, subnets."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import FAST_TIMING, FrozenClock, wait_for

from localcloud.aws.server import LocalAws


def _vpc(aws: LocalAws, cidr: str) -> str:
    return str(aws.admin_session().client("ec2").create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"])


def _refused(ec2: Any, vpc_id: str, cidr: str) -> str:
    with pytest.raises(ClientError) as caught:
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=cidr)
    return str(caught.value.response["Error"]["Code"])


@pytest.mark.parametrize(
    ("primary", "refused", "allowed"),
    [
        (
            "10.0.0.0/16",
            ["172.16.0.0/16", "192.168.0.0/16", "198.19.0.0/16"],
            ["10.1.0.0/16", "100.64.0.0/16", "52.10.0.0/16"],
        ),
        (
            "172.20.0.0/16",
            ["10.1.0.0/16", "192.168.0.0/16", "172.31.0.0/16", "198.19.0.0/16"],
            ["172.21.0.0/16", "100.64.0.0/16"],
        ),
        ("192.168.0.0/16", ["10.1.0.0/16", "172.16.0.0/16", "198.19.0.0/16"], ["100.64.0.0/16", "52.10.0.0/16"]),
        ("198.19.0.0/16", ["10.1.0.0/16", "172.16.0.0/16", "192.168.0.0/16"], ["100.64.0.0/16"]),
        ("100.64.0.0/16", ["10.1.0.0/16", "172.16.0.0/16", "192.168.0.0/16", "198.19.0.0/16"], ["100.65.0.0/16"]),
    ],
)
def test_restriction_table_by_primary_range(
    aws: LocalAws, primary: str, refused: list[str], allowed: list[str]
) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, primary)
    for cidr in refused:
        assert _refused(ec2, vpc_id, cidr) == "InvalidVpc.Range", cidr
    for cidr in allowed:
        assert ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=cidr)["CidrBlockAssociation"]["CidrBlock"] == cidr


def test_link_local_is_reserved_and_size_is_16_to_28(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, "10.0.0.0/16")
    assert _refused(ec2, vpc_id, "169.254.0.0/16") == "InvalidVpc.Range"
    assert _refused(ec2, vpc_id, "10.8.0.0/15") == "InvalidVpc.Range"
    assert _refused(ec2, vpc_id, "10.9.0.0/29") == "InvalidVpc.Range"
    assert _refused(ec2, vpc_id, "10.9.0.1/24") == "InvalidParameterValue"
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.9.0.0/28")


def test_overlap_with_an_associated_block(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, "10.0.0.0/16")
    assert _refused(ec2, vpc_id, "10.0.128.0/17") == "InvalidVpc.Range"
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="100.64.0.0/16")
    assert _refused(ec2, vpc_id, "100.64.0.0/16") == "InvalidVpc.Range"  # also while associating


def test_route_destination_equal_or_larger_refused_smaller_allowed(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, "10.2.0.0/16")
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    table = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="10.0.0.0/24", GatewayId=igw)
    assert _refused(ec2, vpc_id, "10.0.0.0/24") == "InvalidVpc.Range"
    assert _refused(ec2, vpc_id, "10.0.0.0/16") == "InvalidVpc.Range"
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.0.0.0/25")


def test_active_peering_cidr_refused(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, "10.0.0.0/16")
    peer = _vpc(aws, "10.10.0.0/16")
    pcx = ec2.create_vpc_peering_connection(VpcId=vpc_id, PeerVpcId=peer)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=pcx)
    assert _refused(ec2, vpc_id, "10.10.0.0/20") == "InvalidVpc.Range"
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="10.11.0.0/16")


def test_pending_acceptance_peering_from_this_vpc_blocks_every_block(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, "10.0.0.0/16")
    peer = _vpc(aws, "10.20.0.0/16")
    pcx_id = ec2.create_vpc_peering_connection(VpcId=vpc_id, PeerVpcId=peer)["VpcPeeringConnection"][
        "VpcPeeringConnectionId"
    ]
    [pcx] = ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=[pcx_id])["VpcPeeringConnections"]
    assert pcx["Status"]["Code"] == "pending-acceptance"
    assert _refused(ec2, vpc_id, "100.64.0.0/16") == "OperationNotPermitted"
    # the accepter side is not blocked
    ec2.associate_vpc_cidr_block(VpcId=peer, CidrBlock="100.64.0.0/16")


def test_quota_of_five_blocks(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = _vpc(aws, "10.0.0.0/16")
    for i in range(1, 5):
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=f"10.{i}.0.0/16")
    assert _refused(ec2, vpc_id, "10.5.0.0/16") == "CidrLimitExceeded"


def test_association_is_timed_and_adds_local_routes(aws: LocalAws, frozen: FrozenClock) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = aws.built.vpc_id
    tables = [
        t["RouteTableId"]
        for t in ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"]
    ]
    assoc = ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="100.64.0.0/16")["CidrBlockAssociation"]
    assert assoc["CidrBlockState"]["State"] == "associating"

    def state() -> str:
        vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        return next(
            a["CidrBlockState"]["State"] for a in vpc["CidrBlockAssociationSet"] if a["CidrBlock"] == "100.64.0.0/16"
        )

    def local_routes() -> int:
        found = ec2.describe_route_tables(RouteTableIds=tables)["RouteTables"]
        return sum(
            1
            for t in found
            for r in t["Routes"]
            if r.get("DestinationCidrBlock") == "100.64.0.0/16" and r.get("GatewayId") == "local"
        )

    assert state() == "associating"
    assert local_routes() == 0
    with pytest.raises(ClientError) as caught:  # not usable before it is associated
        ec2.create_subnet(VpcId=vpc_id, CidrBlock="100.64.0.0/19", AvailabilityZone="ap-southeast-1a")
    assert caught.value.response["Error"]["Code"] == "InvalidSubnet.Range"
    assert state() == "associating"
    frozen.advance(FAST_TIMING["cidrAssociate"])
    wait_for(lambda: state() == "associated")
    assert local_routes() == len(tables)
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="100.64.0.0/19", AvailabilityZone="ap-southeast-1a")["Subnet"]
    assert subnet["AvailableIpAddressCount"] == 8192 - 5


def test_new_subnet_sits_on_the_main_table_until_associated(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    vpc_id = aws.built.vpc_id
    subnet = ec2.create_subnet(VpcId=vpc_id, CidrBlock="172.31.96.0/24", AvailabilityZone="ap-southeast-1b")["Subnet"][
        "SubnetId"
    ]
    explicit = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["RouteTables"]
    assert explicit == []  # implicit main-table membership is not an association
    main = ec2.describe_route_tables(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
    )["RouteTables"]
    assert [t["RouteTableId"] for t in main] == [aws.built.main_route_table_id]
    private = aws.built.route_table_ids["private"]
    ec2.associate_route_table(RouteTableId=private, SubnetId=subnet)
    with pytest.raises(ClientError) as caught:
        ec2.associate_route_table(RouteTableId=aws.built.route_table_ids["public"], SubnetId=subnet)
    assert caught.value.response["Error"]["Code"] == "Resource.AlreadyAssociated"
    found = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet]}])["RouteTables"]
    assert [t["RouteTableId"] for t in found] == [private]


def test_subnet_outside_every_block_refused_and_ip_count(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    with pytest.raises(ClientError) as caught:
        ec2.create_subnet(VpcId=aws.built.vpc_id, CidrBlock="100.99.0.0/24", AvailabilityZone="ap-southeast-1a")
    assert caught.value.response["Error"]["Code"] == "InvalidSubnet.Range"
    subnets = {s["SubnetId"]: s for s in ec2.describe_subnets(SubnetIds=list(aws.built.subnet_ids.values()))["Subnets"]}
    node_a = subnets[aws.built.subnet_ids["node-a"]]
    assert node_a["AvailableIpAddressCount"] == 4096 - 5
    public_a = subnets[aws.built.subnet_ids["public-a"]]
    assert public_a["AvailableIpAddressCount"] == 4096 - 5 - 1  # the NAT gateway's interface
