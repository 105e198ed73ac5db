"""CreatePodSubnets: one iteration of the Map, one AZ's pod subnet.

Looks first for a subnet with the planned CIDR in the VPC: this cluster's (ownership tag
`podcidr:cluster=<name>`, same AZ) is adopted; anyone else's is an error that names it. Otherwise
CreateSubnet with the ownership tag and a Name in the same call (TagSpecifications), so no
untagged subnet can exist. Never a load-balancer role tag; never public IPs on launch.

A CreateSubnet that acted but whose response was lost converges: the retried iteration finds
the subnet by its CIDR (and an `InvalidSubnet.Conflict` from a race means it exists: look again).
Plan records the pod subnets it found (`subnetId`); an owned subnet found here that the item does
not know yet was made by this execution's lost-response attempt: `created: true`, counted once.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from podcidr import OWNER_TAG_KEY
from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import CidrOverlap, SubnetSizing, TransientAwsError
from podcidr.models.base import Contract
from podcidr.models.migration import PodSubnet
from podcidr.steps._ec2 import describe_subnets, tag_dict

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import SubnetTypeDef

    from podcidr.aws.clients import AwsClients


class PodSubnetItem(Contract):
    """What one Map iteration receives (the state machine's ItemSelector)."""

    cluster_name: str
    vpc_id: str
    subnet: PodSubnet


def subnet_name(cluster_name: str, availability_zone: str) -> str:
    return f"{cluster_name}-pods-{availability_zone}"


def _describe(subnet: SubnetTypeDef) -> str:
    name = tag_dict(subnet.get("Tags")).get("Name")
    label = f"{subnet.get('SubnetId')} ({name})" if name else str(subnet.get("SubnetId"))
    return f"{label} {subnet.get('CidrBlock')} in {subnet.get('AvailabilityZone')}"


def _find_by_cidr(ec2: EC2Client, vpc_id: str, cidr: str) -> SubnetTypeDef | None:
    subnets = describe_subnets(
        ec2, filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "cidr-block", "Values": [cidr]}]
    )
    matching = [s for s in subnets if s.get("CidrBlock") == cidr and s.get("VpcId", vpc_id) == vpc_id]
    return matching[0] if matching else None


def _adoptable(item: PodSubnetItem, found: SubnetTypeDef) -> SubnetTypeDef:
    """The found subnet if it is this cluster's pod subnet for this AZ, else an error saying whose it is."""
    owner = tag_dict(found.get("Tags")).get(OWNER_TAG_KEY)
    planned = item.subnet
    if owner != item.cluster_name:
        whose = f"tagged {OWNER_TAG_KEY}={owner}" if owner else f"not tagged {OWNER_TAG_KEY}={item.cluster_name}"
        raise CidrOverlap(
            f"The pod subnet planned for {planned.availability_zone}, {planned.cidr}, is taken: subnet "
            f"{_describe(found)} already has that CIDR and is {whose}, so podcidr will not adopt it. Delete "
            "that subnet if it is unused, or tag it for this cluster if it is meant as its pod subnet, or "
            "choose another podCidr."
        )
    if found.get("AvailabilityZone") != planned.availability_zone:
        raise CidrOverlap(
            f"This cluster's subnet {_describe(found)} has the CIDR planned for {planned.availability_zone}'s "
            "pod subnet but sits in another AZ. Delete it (it was left by an earlier run with other AZs) or "
            "choose another podCidr."
        )
    return found


def _overlapping(ec2: EC2Client, vpc_id: str, cidr: str) -> list[SubnetTypeDef]:
    block = ipaddress.IPv4Network(cidr)
    subnets = describe_subnets(ec2, filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
    return [s for s in subnets if s.get("CidrBlock") and ipaddress.IPv4Network(s["CidrBlock"]).overlaps(block)]


def _create(ec2: EC2Client, item: PodSubnetItem) -> SubnetTypeDef | None:
    """CreateSubnet; None when AWS says the CIDR is taken (then the caller looks again)."""
    planned = item.subnet
    try:
        with transient_faults_retried("ec2:CreateSubnet"):
            response = ec2.create_subnet(
                VpcId=item.vpc_id,
                CidrBlock=planned.cidr,
                AvailabilityZone=planned.availability_zone,
                TagSpecifications=[
                    {
                        "ResourceType": "subnet",
                        "Tags": [
                            {"Key": OWNER_TAG_KEY, "Value": item.cluster_name},
                            {"Key": "Name", "Value": subnet_name(item.cluster_name, planned.availability_zone)},
                        ],
                    }
                ],
            )
    except ClientError as error:
        code = error_code(error)
        if code == "InvalidSubnet.Conflict":
            return None
        if code == "InvalidSubnet.Range":
            raise SubnetSizing(
                f"AWS refused the pod subnet {planned.cidr} in {planned.availability_zone}: {error}. The subnet "
                f"must lie in the VPC's pod CIDR, which ExtendVpcCidr associated; run podcidr again, and if it "
                "persists check the VPC's CIDR blocks."
            ) from error
        raise
    return response["Subnet"]


def _no_public_ips(ec2: EC2Client, subnet: SubnetTypeDef) -> int:
    if not subnet.get("MapPublicIpOnLaunch"):
        return 0
    with transient_faults_retried("ec2:ModifySubnetAttribute"):
        ec2.modify_subnet_attribute(SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": False})
    return 1


def create_pod_subnet(clients: AwsClients, item: PodSubnetItem) -> PodSubnet:
    """Create (or adopt) this AZ's pod subnet; the returned PodSubnet counts its own changes."""
    result = item.subnet.model_copy(deep=True)
    found = _find_by_cidr(clients.ec2, item.vpc_id, result.cidr)
    if found is None:
        made = _create(clients.ec2, item)
        if made is not None:
            result.changes += 1
            result.created = True
            found = made
        else:
            # The CIDR is taken: by our own subnet (a lost response's, or a racing retry's), or by another.
            found = _find_by_cidr(clients.ec2, item.vpc_id, result.cidr)
            if found is None:
                overlapping = _overlapping(clients.ec2, item.vpc_id, result.cidr)
                if not overlapping:
                    # EC2 is eventually consistent: the subnet holding the CIDR (ours, made by the try
                    # whose answer was lost a moment ago) may not be listed yet (AWS-FACTS 7)
                    raise TransientAwsError(
                        f"AWS says {result.cidr} is taken in VPC {item.vpc_id} but lists no subnet there yet; "
                        "looking again shortly"
                    )
                # the subnet may have become visible between the two reads: one with our very CIDR is
                # judged as a found one (adopted if ours), only a different block is an overlap
                same = [s for s in overlapping if s.get("CidrBlock") == result.cidr]
                if not same:
                    others = ", ".join(_describe(s) for s in overlapping)
                    raise CidrOverlap(
                        f"AWS refused the pod subnet {result.cidr} in {result.availability_zone}: it overlaps "
                        f"{others}. Remove the overlapping subnet or choose another podCidr."
                    )
                found = same[0]
    subnet = _adoptable(item, found)
    if result.subnet_id is None and not result.created:
        result.created = True  # ours, unknown to the plan: a lost response's CreateSubnet
        result.changes += 1
    result.subnet_id = subnet["SubnetId"]
    result.changes += _no_public_ips(clients.ec2, subnet)
    return result
