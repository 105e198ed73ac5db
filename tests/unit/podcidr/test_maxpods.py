"""Max pods per node (AWS-FACTS section 2: amazon-eks-ami max-pods-calculator.sh), with the EC2 figures
of real instance types."""

from __future__ import annotations

import pytest

from podcidr.maxpods import max_pods_custom_networking, max_pods_default, pod_subnet_addresses_per_node
from podcidr.models.discovery import InstanceTypeInfo

T3_2XLARGE = InstanceTypeInfo("t3.2xlarge", max_enis=4, ips_per_eni=15, vcpus=8)
M5_LARGE = InstanceTypeInfo("m5.large", max_enis=3, ips_per_eni=10, vcpus=2)
C5_4XLARGE = InstanceTypeInfo("c5.4xlarge", max_enis=8, ips_per_eni=30, vcpus=16)
M5_24XLARGE = InstanceTypeInfo("m5.24xlarge", max_enis=15, ips_per_eni=50, vcpus=96)


@pytest.mark.parametrize(
    ("instance", "custom", "default"),
    [
        (T3_2XLARGE, 44, 58),  # (4-1)*(15-1)+2; 4*(15-1)+2
        (M5_LARGE, 20, 29),  # (3-1)*(10-1)+2; 3*(10-1)+2
        (C5_4XLARGE, 110, 110),  # 205 and 234, capped at 110 (16 vCPUs)
        (M5_24XLARGE, 250, 250),  # 688 and 737, capped at 250 (above 30 vCPUs)
    ],
)
def test_max_pods_with_and_without_custom_networking(instance: InstanceTypeInfo, custom: int, default: int) -> None:
    assert max_pods_custom_networking(instance) == custom
    assert max_pods_default(instance) == default


@pytest.mark.parametrize(("vcpus", "cap"), [(30, 110), (31, 250)])
def test_the_cap_is_250_only_above_30_vcpus(vcpus: int, cap: int) -> None:
    big = InstanceTypeInfo("x", max_enis=15, ips_per_eni=50, vcpus=vcpus)
    assert max_pods_custom_networking(big) == cap
    assert max_pods_default(big) == cap


def test_values_just_under_a_cap_are_not_capped() -> None:
    # (5-1)*(28-1)+2 = 110, the cap itself; (5-1)*(27-1)+2 = 106, under it
    assert max_pods_custom_networking(InstanceTypeInfo("x", max_enis=5, ips_per_eni=28, vcpus=8)) == 110
    assert max_pods_custom_networking(InstanceTypeInfo("x", max_enis=5, ips_per_eni=27, vcpus=8)) == 106


def test_pod_subnet_addresses_per_node_are_every_secondary_eni_s_addresses() -> None:
    assert pod_subnet_addresses_per_node(T3_2XLARGE) == 3 * 15
    assert pod_subnet_addresses_per_node(M5_LARGE) == 2 * 10


def test_max_pods_without_custom_networking_with_prefix_delegation_counts_prefixes() -> None:
    """`ENIs * ((IPs per ENI - 1) * 16) + 2`, capped: a t3.micro (2 ENIs of 2 IPs) -> 34."""
    t3_micro = InstanceTypeInfo("t3.micro", max_enis=2, ips_per_eni=2, vcpus=2)
    assert max_pods_default(t3_micro, prefix_delegation=True) == 34
    assert max_pods_default(T3_2XLARGE, prefix_delegation=True) == 110


def test_pod_subnet_addresses_per_node_with_prefix_delegation_are_a_prefix_per_slot_and_the_eni_s_own() -> None:
    # each secondary ENI: its primary address and a /28 (16 addresses) in each of its other slots
    assert pod_subnet_addresses_per_node(T3_2XLARGE, prefix_delegation=True) == 3 * (14 * 16 + 1)
    assert pod_subnet_addresses_per_node(M5_LARGE, prefix_delegation=True) == 2 * (9 * 16 + 1)


def test_max_pods_with_custom_networking_and_prefix_delegation_below_the_cap() -> None:
    t3_micro = InstanceTypeInfo("t3.micro", max_enis=2, ips_per_eni=2, vcpus=2)
    assert max_pods_custom_networking(t3_micro, prefix_delegation=True) == 18  # (2-1)*((2-1)*16)+2
