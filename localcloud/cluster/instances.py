"""EC2 instance types as the VPC CNI sees them, and the max pods a node gets.

Max pods (amazon-eks-ami max-pods-calculator.sh; AWS-FACTS section 2): `ENIs * (IPs - 1) + 2`, or
with custom networking `(ENIs - 1) * (IPs - 1) + 2` (the primary ENI gives no pod addresses), or
with prefix delegation `ENIs * ((IPs - 1) * 16) + 2`; capped at 110, or 250 above 30 vCPUs.
Instance data comes from moto's EC2 instance types (DescribeInstanceTypes).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class InstanceType:
    name: str
    vcpus: int
    memory_mib: int
    enis: int
    ips_per_eni: int

    def max_pods(self, *, custom_networking: bool = False, prefix_delegation: bool = False) -> int:
        return max_pods(self, custom_networking=custom_networking, prefix_delegation=prefix_delegation)


def max_pods(kind: InstanceType, *, custom_networking: bool = False, prefix_delegation: bool = False) -> int:
    enis = kind.enis - 1 if custom_networking else kind.enis
    per_eni = (kind.ips_per_eni - 1) * 16 if prefix_delegation else kind.ips_per_eni - 1
    computed = enis * per_eni + 2
    cap = 250 if kind.vcpus > 30 else 110
    return min(computed, cap)


class InstanceTypes:
    """DescribeInstanceTypes through an EC2 client, cached (the data never changes)."""

    def __init__(self, ec2: Any) -> None:
        self._ec2 = ec2
        self._lock = threading.Lock()
        self._cache: dict[str, InstanceType] = {}

    def get(self, name: str) -> InstanceType:
        with self._lock:
            if name in self._cache:
                return self._cache[name]
        found = self._ec2.describe_instance_types(InstanceTypes=[name])["InstanceTypes"]
        if not found:
            raise KeyError(f"unknown instance type {name}")
        data = found[0]
        kind = InstanceType(
            name=name,
            vcpus=int(data["VCpuInfo"]["DefaultVCpus"]),
            memory_mib=int(data.get("MemoryInfo", {}).get("SizeInMiB", 8192)),
            enis=int(data["NetworkInfo"]["MaximumNetworkInterfaces"]),
            ips_per_eni=int(data["NetworkInfo"]["Ipv4AddressesPerInterface"]),
        )
        with self._lock:
            self._cache[name] = kind
        return kind
