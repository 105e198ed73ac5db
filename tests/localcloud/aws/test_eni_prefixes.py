"""Prefix delegation's /28 prefixes on network interfaces, and subnet CIDR reservations, on the twin as
EC2 keeps them; and the private NLB's free fixed addresses (podcidr) never inside either."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from localcloud.aws.server import LocalAws
from podcidr.models.migration import FixedAddress
from podcidr.steps.fixed_addresses import free_fixed_addresses


@pytest.fixture
def subnet(aws: LocalAws) -> tuple[Any, str]:
    ec2 = aws.admin_session().client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnet_id = ec2.create_subnet(VpcId=vpc, CidrBlock="10.40.1.0/24", AvailabilityZone=f"{aws.region}a")["Subnet"][
        "SubnetId"
    ]
    return ec2, subnet_id


def test_an_interface_lists_the_prefixes_assigned_to_it(subnet: tuple[Any, str]) -> None:
    ec2, subnet_id = subnet
    eni = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]
    given = ec2.assign_private_ip_addresses(
        NetworkInterfaceId=eni["NetworkInterfaceId"], Ipv4Prefixes=["10.40.1.224/28"]
    )
    assert [p["Ipv4Prefix"] for p in given["AssignedIpv4Prefixes"]] == ["10.40.1.224/28"]
    assert given.get("AssignedPrivateIpAddresses", []) == []  # moto assigned a secondary address instead
    counted = ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"], Ipv4PrefixCount=1)
    [extra] = [IPv4Network(p["Ipv4Prefix"]) for p in counted["AssignedIpv4Prefixes"]]
    assert extra.prefixlen == 28 and extra.subnet_of(IPv4Network("10.40.1.0/24"))
    assert IPv4Address(eni["PrivateIpAddress"]) not in extra
    [found] = ec2.describe_network_interfaces(NetworkInterfaceIds=[eni["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert [p["Ipv4Prefix"] for p in found["Ipv4Prefixes"]] == ["10.40.1.224/28", str(extra)]
    with pytest.raises(ec2.exceptions.ClientError, match="in use"):
        ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"], Ipv4Prefixes=["10.40.1.224/28"])


def test_free_fixed_addresses_skip_prefixes_and_cidr_reservations(subnet: tuple[Any, str]) -> None:
    """The highest free address is chosen (cidr.fixed_address): inside a node's prefix and a CIDR
    reservation at the top of the subnet, ELBv2 would refuse it."""
    ec2, subnet_id = subnet
    eni = ec2.create_network_interface(SubnetId=subnet_id)["NetworkInterface"]
    ec2.assign_private_ip_addresses(NetworkInterfaceId=eni["NetworkInterfaceId"], Ipv4Prefixes=["10.40.1.240/28"])
    ec2.create_subnet_cidr_reservation(SubnetId=subnet_id, Cidr="10.40.1.224/28", ReservationType="prefix")
    ec2.create_subnet_cidr_reservation(SubnetId=subnet_id, Cidr="10.40.1.208/28", ReservationType="explicit")
    [chosen] = free_fixed_addresses(ec2, [FixedAddress(subnet_id=subnet_id, ip="10.40.1.250")])
    assert IPv4Address(chosen.ip) not in IPv4Network("10.40.1.208/28")
    assert IPv4Address(chosen.ip) not in IPv4Network("10.40.1.224/27")
    assert IPv4Address(chosen.ip) in IPv4Network("10.40.1.0/24")
