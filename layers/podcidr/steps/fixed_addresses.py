"""The internal test NLB's fixed private addresses, chosen when it is created (DESIGN.md step 11).

Plan proposes one address per node subnet (one subnet per Availability Zone); nodes and pods that
start between Plan and VerifyLoadBalancers may take it, and ELBv2 refuses an address in use. So at
creation each planned address still free is kept, and one taken since is replaced by the subnet's
highest free address now.
"""

from __future__ import annotations

from ipaddress import IPv4Network
from typing import TYPE_CHECKING

from podcidr.aws.clients import transient_faults_retried
from podcidr.aws.discovery import addresses_in_use
from podcidr.cidr import fixed_address
from podcidr.models.migration import FixedAddress

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def free_fixed_addresses(ec2: EC2Client, planned: list[FixedAddress]) -> list[FixedAddress]:
    if not planned:
        return planned
    ids = [address.subnet_id for address in planned]
    with transient_faults_retried("ec2:DescribeSubnets"):
        subnets = ec2.describe_subnets(SubnetIds=ids)["Subnets"]
    networks = {str(s["SubnetId"]): IPv4Network(str(s["CidrBlock"])) for s in subnets}
    used = addresses_in_use(ec2, ids)
    chosen = []
    for address in planned:
        taken = used.get(address.subnet_id, set())
        ip = address.ip if address.ip not in taken else str(fixed_address(networks[address.subnet_id], taken))
        chosen.append(FixedAddress(subnet_id=address.subnet_id, ip=ip))
    return chosen


def annotated_addresses(subnets: str, addresses: str) -> list[FixedAddress]:
    """The fixed addresses an existing Service was created with (its two annotations, in order)."""
    ids = [s.strip() for s in subnets.split(",") if s.strip()]
    ips = [a.strip() for a in addresses.split(",") if a.strip()]
    return [FixedAddress(subnet_id=s, ip=ip) for s, ip in zip(ids, ips, strict=False)]
