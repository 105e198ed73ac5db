"""The internal test NLB's fixed addresses (DESIGN.md step 11), over a botocore-stubbed EC2 client: each planned
address still free is kept, one taken since Plan replaced by its subnet's highest free address."""

from __future__ import annotations

from podcidr.models.migration import FixedAddress
from podcidr.steps.fixed_addresses import annotated_addresses, free_fixed_addresses
from tests.fixtures.stubbed_aws import all_answered, no_cidr_reservations, stubbed

IDS = ["subnet-a", "subnet-b"]


def test_taken_addresses_are_replaced_by_the_highest_free_one_and_free_ones_kept() -> None:
    planned = [FixedAddress(subnet_id="subnet-b", ip="10.0.1.254"), FixedAddress(subnet_id="subnet-a", ip="10.0.0.254")]
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_subnets",
        {
            "Subnets": [
                {"SubnetId": "subnet-a", "CidrBlock": "10.0.0.0/24"},
                {"SubnetId": "subnet-b", "CidrBlock": "10.0.1.0/24"},
            ]
        },
        {"SubnetIds": ["subnet-b", "subnet-a"]},
    )
    stub.add_response(
        "describe_network_interfaces",
        {
            "NetworkInterfaces": [
                {
                    "SubnetId": "subnet-b",
                    "PrivateIpAddress": "10.0.1.254",
                    "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.254"}, {"PrivateIpAddress": "10.0.1.253"}],
                },
                {"SubnetId": "subnet-a", "PrivateIpAddress": "10.0.0.10"},
            ]
        },
        {"Filters": [{"Name": "subnet-id", "Values": IDS}]},
    )
    no_cidr_reservations(stub, IDS)
    with all_answered(stub):
        chosen = free_fixed_addresses(ec2, planned)
    assert chosen == [
        FixedAddress(subnet_id="subnet-b", ip="10.0.1.252"),
        FixedAddress(subnet_id="subnet-a", ip="10.0.0.254"),
    ]


def test_no_planned_address_asks_nothing() -> None:
    ec2, stub = stubbed("ec2")
    with all_answered(stub):
        assert free_fixed_addresses(ec2, []) == []


def test_the_addresses_a_service_was_created_with_are_read_back_in_order() -> None:
    found = annotated_addresses(" subnet-a, subnet-b ,", "10.0.0.254 ,10.0.1.254")
    assert found == [
        FixedAddress(subnet_id="subnet-a", ip="10.0.0.254"),
        FixedAddress(subnet_id="subnet-b", ip="10.0.1.254"),
    ]
    assert annotated_addresses("", "") == []
    assert annotated_addresses("subnet-a,subnet-b", "10.0.0.254") == [
        FixedAddress(subnet_id="subnet-a", ip="10.0.0.254")
    ]
