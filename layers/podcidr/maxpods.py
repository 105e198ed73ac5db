"""Max pods per node under custom networking (AWS-FACTS section 2, amazon-eks-ami max-pods-calculator.sh)."""

from __future__ import annotations

from podcidr.models.discovery import InstanceTypeInfo

DEFAULT_CAP = 110
LARGE_CAP = 250
LARGE_VCPUS = 30
"""Above this many vCPUs the cap is 250 instead of 110."""


def max_pods_custom_networking(instance: InstanceTypeInfo) -> int:
    """`(ENIs - 1) * (IPs per ENI - 1) + 2`: the primary ENI gives no pod IPs any more. t3.2xlarge -> 44."""
    value = (instance.max_enis - 1) * (instance.ips_per_eni - 1) + 2
    return min(value, LARGE_CAP if instance.vcpus > LARGE_VCPUS else DEFAULT_CAP)


def max_pods_default(instance: InstanceTypeInfo) -> int:
    """`ENIs * (IPs per ENI - 1) + 2`, without custom networking. t3.2xlarge -> 58."""
    value = instance.max_enis * (instance.ips_per_eni - 1) + 2
    return min(value, LARGE_CAP if instance.vcpus > LARGE_VCPUS else DEFAULT_CAP)


def pod_subnet_addresses_per_node(instance: InstanceTypeInfo) -> int:
    """Addresses one node can take from its pod subnet: every secondary ENI with all its addresses."""
    return (instance.max_enis - 1) * instance.ips_per_eni
