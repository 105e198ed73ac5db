"""The addresses EC2 holds in a subnet, read from moto's backend in-process.

Real EC2 picks a free address itself when it is not given one; moto does not check that an address
is free, so the twin's parts that hand out addresses (the cluster's nodes and CNI, the load
balancers' interfaces) choose them from this. Reading the backend instead of DescribeNetworkInterfaces
and DescribeInstances keeps a 60-node cluster's passes fast: those answers grow with every address.
"""

from __future__ import annotations

from typing import Any

from moto.ec2.models import ec2_backends

from localcloud.aws.eni_prefixes import held_prefixes


def backend(account_id: str, region: str) -> Any:
    return ec2_backends[account_id][region]


def addresses_in_use(ec2: Any) -> dict[str, set[str]]:
    """Subnet ID -> the private addresses its network interfaces hold, those of their /28 prefixes too."""
    used: dict[str, set[str]] = {}
    for eni in list(ec2.enis.values()):
        addresses = {a.get("PrivateIpAddress") for a in eni.private_ip_addresses or []}
        addresses.add(eni.private_ip_address)
        used.setdefault(eni.subnet.id, set()).update(a for a in addresses if a)
    for subnet_id, prefixes in held_prefixes(ec2).items():
        used.setdefault(subnet_id, set()).update(str(a) for prefix in prefixes for a in prefix)
    return used


def addresses_taken(ec2: Any, subnet_id: str) -> set[str]:
    """The subnet's addresses held by network interfaces or by instances, terminated ones included
    (moto keeps a terminated instance's address)."""
    taken = addresses_in_use(ec2).get(subnet_id, set())
    for reservation in list(ec2.reservations.values()):
        for instance in reservation.instances:
            if instance.subnet_id == subnet_id and instance.nics and instance.private_ip:
                taken.add(instance.private_ip)
    return taken
