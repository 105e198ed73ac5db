"""CreateSubnet as the VPC user guide ("Subnet CIDR blocks") and the EC2 API reference describe it;
moto accepts a /30 and answers it with a 500, and takes host bits, overlaps and other regions' zones.

| rule | code, message |
|---|---|
| a CIDR block without host bits | InvalidParameterValue "... This is not a valid CIDR block." |
| /16 to /28 | InvalidSubnet.Range "The CIDR '...' is invalid." |
| inside one *associated* block of the VPC | InvalidSubnet.Range "The CIDR '...' is invalid." |
| no overlap with another subnet of the VPC | InvalidSubnet.Conflict "The CIDR '...' conflicts with another subnet" |
| an availability zone of the region | InvalidParameterValue (message wording unverified) |
"""

from __future__ import annotations

import ipaddress
from typing import Any

IPv4 = ipaddress.IPv4Network


class SubnetRefusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_create_subnet(backend: Any, region: str, blocks: list[tuple[IPv4, str]], params: dict[str, str]) -> None:
    """Raise SubnetRefusal where EC2 refuses CreateSubnet; `blocks` are the VPC's (block, state)."""
    cidr = params.get("CidrBlock")
    if not cidr:
        return
    try:
        subnet = IPv4(cidr, strict=True)
    except ValueError:
        raise SubnetRefusal(
            "InvalidParameterValue",
            f"Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
        ) from None
    if not 16 <= subnet.prefixlen <= 28:
        raise SubnetRefusal("InvalidSubnet.Range", f"The CIDR '{cidr}' is invalid.")
    if not any(subnet.subnet_of(block) for block, state in blocks if state == "associated"):
        raise SubnetRefusal("InvalidSubnet.Range", f"The CIDR '{cidr}' is invalid.")
    vpc_id = params.get("VpcId", "")
    for per_az in backend.subnets.values():
        for other in per_az.values():
            if other.vpc_id == vpc_id and subnet.overlaps(IPv4(other.cidr_block, strict=False)):
                raise SubnetRefusal("InvalidSubnet.Conflict", f"The CIDR '{cidr}' conflicts with another subnet")
    zone = params.get("AvailabilityZone")
    if zone is not None:
        zones = sorted(z.name for z in backend.describe_availability_zones() if z.region_name == region)
        if zone not in zones:
            raise SubnetRefusal(
                "InvalidParameterValue",
                f"Value ({zone}) for parameter availabilityZone is invalid. Subnets can currently only be created in "
                f"the following availability zones: {', '.join(zones)}.",
            )
