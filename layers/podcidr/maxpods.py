"""Max pods per node under custom networking (AWS-FACTS section 2, amazon-eks-ami max-pods-calculator.sh;
docs/aws-facts.md "Max pods").

With prefix delegation (ENABLE_PREFIX_DELEGATION=true) each secondary address slot of an ENI holds
a /28 prefix (16 addresses) instead of one address.
"""

from __future__ import annotations

from podcidr.models.discovery import InstanceTypeInfo

DEFAULT_CAP = 110
LARGE_CAP = 250
LARGE_VCPUS = 30
"""Above this many vCPUs the cap is 250 instead of 110."""
PREFIX_ADDRESSES = 16
"""Addresses in one delegated /28 prefix."""


def _cap(instance: InstanceTypeInfo, value: int) -> int:
    return min(value, LARGE_CAP if instance.vcpus > LARGE_VCPUS else DEFAULT_CAP)


def max_pods_custom_networking(instance: InstanceTypeInfo, *, prefix_delegation: bool = False) -> int:
    """`(ENIs - 1) * (IPs per ENI - 1) + 2`: the primary ENI gives no pod IPs any more. t3.2xlarge -> 44.
    With prefix delegation `(ENIs - 1) * ((IPs per ENI - 1) * 16) + 2`, capped (t3.2xlarge -> 110)."""
    per_slot = PREFIX_ADDRESSES if prefix_delegation else 1
    return _cap(instance, (instance.max_enis - 1) * ((instance.ips_per_eni - 1) * per_slot) + 2)


def max_pods_default(instance: InstanceTypeInfo, *, prefix_delegation: bool = False) -> int:
    """`ENIs * (IPs per ENI - 1) + 2`, without custom networking. t3.2xlarge -> 58."""
    per_slot = PREFIX_ADDRESSES if prefix_delegation else 1
    return _cap(instance, instance.max_enis * ((instance.ips_per_eni - 1) * per_slot) + 2)


def pod_subnet_addresses_per_node(instance: InstanceTypeInfo, *, prefix_delegation: bool = False) -> int:
    """Addresses one node can take from its pod subnet: every secondary ENI with all its addresses
    (with prefix delegation: its primary address and a /28 prefix in each other slot)."""
    if prefix_delegation:
        return (instance.max_enis - 1) * ((instance.ips_per_eni - 1) * PREFIX_ADDRESSES + 1)
    return (instance.max_enis - 1) * instance.ips_per_eni
