"""The cluster's footprint in EC2: nodes are moto instances, the VPC CNI's and the load balancers'
addresses are network interfaces, so a subnet's AvailableIpAddressCount drops as AWS's does.

Addresses are chosen here, never by moto (moto does not check that an address is free): the
lowest address of the subnet that AWS does not reserve (the first four and the last) and no
network interface holds. Everything goes through the twin's admin session (not the ledger).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

NODE_AMI = "ami-0a0b0c0d0e0f01234"


class AddressesExhausted(Exception):
    """The subnet has fewer free addresses than asked for."""


@dataclass(frozen=True)
class Subnet:
    subnet_id: str
    cidr: str
    availability_zone: str
    vpc_id: str
    tags: dict[str, str]
    available: int

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.cidr)

    def reserved(self) -> set[str]:
        net = self.network
        first = int(net.network_address)
        return {str(ipaddress.IPv4Address(first + i)) for i in range(4)} | {str(net.broadcast_address)}


def _subnet(data: dict[str, Any]) -> Subnet:
    return Subnet(
        subnet_id=data["SubnetId"],
        cidr=data["CidrBlock"],
        availability_zone=data["AvailabilityZone"],
        vpc_id=data["VpcId"],
        tags={t["Key"]: t["Value"] for t in data.get("Tags", [])},
        available=int(data["AvailableIpAddressCount"]),
    )


class Ec2Network:
    def __init__(self, ec2: Any, cluster_name: str, taken: Callable[[str], set[str]] | None = None) -> None:
        """`taken(subnet_id)`: the subnet's addresses held in EC2 (localcloud.aws.ec2_addresses),
        read in-process; without it they are read with DescribeNetworkInterfaces and DescribeInstances."""
        self.ec2 = ec2
        self._taken = taken
        self.cluster_name = cluster_name

    # subnets ---------------------------------------------------------------------------------
    def subnet(self, subnet_id: str) -> Subnet | None:
        try:
            found = self.ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        except Exception as error:
            if "NotFound" in str(error) or "Malformed" in str(error):
                return None
            raise
        return _subnet(found[0]) if found else None

    def subnets(self, vpc_id: str) -> list[Subnet]:
        found = self.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
        return [_subnet(s) for s in found]

    def in_use(self, subnet_id: str) -> set[str]:
        """Addresses held by network interfaces in the subnet (their /28 prefixes' too)."""
        used: set[str] = set()
        for eni in self.ec2.describe_network_interfaces(Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])[
            "NetworkInterfaces"
        ]:
            for address in eni.get("PrivateIpAddresses", []):
                used.add(address["PrivateIpAddress"])
            if eni.get("PrivateIpAddress"):
                used.add(eni["PrivateIpAddress"])
            for prefix in eni.get("Ipv4Prefixes", []):
                used.update(str(a) for a in ipaddress.IPv4Network(prefix["Ipv4Prefix"]))
        return used

    def _instance_addresses(self, subnet_id: str) -> set[str]:
        """Addresses of the subnet's instances, terminated ones too: moto keeps those taken."""
        out: set[str] = set()
        for reservation in self.ec2.describe_instances(Filters=[{"Name": "subnet-id", "Values": [subnet_id]}])[
            "Reservations"
        ]:
            for instance in reservation["Instances"]:
                if instance.get("PrivateIpAddress"):
                    out.add(instance["PrivateIpAddress"])
        return out

    def free_addresses(self, subnet: Subnet, count: int) -> list[str]:
        held = (
            self._taken(subnet.subnet_id)
            if self._taken is not None
            else self.in_use(subnet.subnet_id) | self._instance_addresses(subnet.subnet_id)
        )
        taken = held | subnet.reserved()
        out: list[str] = []
        for host in subnet.network:
            text = str(host)
            if text not in taken:
                out.append(text)
                if len(out) == count:
                    return out
        raise AddressesExhausted(
            f"subnet {subnet.subnet_id} ({subnet.cidr}) has {len(out)} free addresses, {count} needed"
        )

    # launch templates -------------------------------------------------------------------------

    # instances and interfaces ------------------------------------------------------------------
    def launch(
        self, subnet: Subnet, instance_type: str, security_groups: list[str], tags: dict[str, str]
    ) -> tuple[str, str, str]:
        """A running instance in the subnet: (instance ID, private IP, primary ENI ID)."""
        address = self.free_addresses(subnet, 1)[0]
        kwargs: dict[str, Any] = {}
        if security_groups:
            kwargs["SecurityGroupIds"] = security_groups
        reservation = self.ec2.run_instances(
            ImageId=NODE_AMI,
            InstanceType=instance_type,
            MinCount=1,
            MaxCount=1,
            SubnetId=subnet.subnet_id,
            PrivateIpAddress=address,
            TagSpecifications=[{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}],
            **kwargs,
        )
        instance = reservation["Instances"][0]
        eni = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
        return instance["InstanceId"], instance["PrivateIpAddress"], eni

    def add_addresses(self, eni_id: str, subnet: Subnet, count: int) -> list[str]:
        addresses = self.free_addresses(subnet, count)
        self.ec2.assign_private_ip_addresses(NetworkInterfaceId=eni_id, PrivateIpAddresses=addresses)
        return addresses

    def create_interface(
        self,
        subnet: Subnet,
        count: int,
        *,
        security_groups: list[str],
        description: str,
        addresses: list[str] | None = None,
    ) -> tuple[str, list[str]]:
        """A network interface holding `count` addresses (or the given ones): (ENI ID, addresses)."""
        chosen = addresses or self.free_addresses(subnet, count)
        kwargs: dict[str, Any] = {}
        if security_groups:
            kwargs["Groups"] = security_groups
        eni = self.ec2.create_network_interface(
            SubnetId=subnet.subnet_id,
            Description=description,
            PrivateIpAddresses=[{"PrivateIpAddress": a, "Primary": i == 0} for i, a in enumerate(chosen)],
            TagSpecifications=[
                {
                    "ResourceType": "network-interface",
                    "Tags": [{"Key": "cluster.k8s.amazonaws.com/name", "Value": self.cluster_name}],
                }
            ],
            **kwargs,
        )["NetworkInterface"]
        return eni["NetworkInterfaceId"], chosen

    def attach(self, eni_id: str, instance_id: str, device_index: int) -> None:
        self.ec2.attach_network_interface(NetworkInterfaceId=eni_id, InstanceId=instance_id, DeviceIndex=device_index)

    def delete_interface(self, eni_id: str) -> None:
        try:
            self.ec2.delete_network_interface(NetworkInterfaceId=eni_id)
        except Exception as error:
            if "NotFound" not in str(error):
                raise

    def detach(self, eni_id: str) -> None:
        try:
            found = self.ec2.describe_network_interfaces(NetworkInterfaceIds=[eni_id])["NetworkInterfaces"]
        except Exception as error:
            if "NotFound" in str(error):
                return
            raise
        attachment = (found[0].get("Attachment") or {}).get("AttachmentId") if found else None
        if attachment:
            self.ec2.detach_network_interface(AttachmentId=attachment, Force=True)

    def terminate(self, instance_id: str, primary: str, secondary: list[str]) -> None:
        """Terminate the instance and delete its interfaces (moto keeps a terminated instance's ENIs,
        AWS deletes them: DeleteOnTermination). Secondary ENIs go first (moto cannot terminate an
        instance that still has them)."""
        for eni in secondary:
            self.detach(eni)
            self.delete_interface(eni)
        try:
            self.ec2.terminate_instances(InstanceIds=[instance_id])
        except Exception as error:
            if "NotFound" not in str(error):
                raise
        self.delete_interface(primary)
