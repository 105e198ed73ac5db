"""The CIDR rules of AWS-FACTS section 1, the default choice, pod subnet sizing and fixed addresses."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network

import pytest

from podcidr.cidr import (
    Peering,
    Route,
    VpcBlock,
    VpcNetwork,
    check_pod_cidr,
    choose_pod_cidr,
    default_subnet_prefix,
    fixed_address,
    plan_pod_subnets,
    refusals,
    usable_addresses,
)
from podcidr.errors import (
    CidrNotAllowed,
    CidrOverlap,
    CidrQuotaExceeded,
    NoCidrAvailable,
    SubnetSizing,
)

N = IPv4Network


def vpc(
    primary: str, *secondary: str, routes: tuple[Route, ...] = (), peerings: tuple[Peering, ...] = ()
) -> VpcNetwork:
    blocks = (VpcBlock(N(primary)), *(VpcBlock(N(s)) for s in secondary))
    return VpcNetwork(N(primary), blocks, routes, peerings)


# (primary, candidate, allowed) - every row of the restriction table, refused and allowed examples.
RESTRICTION_TABLE = [
    # primary in 10.0.0.0/8
    ("10.1.0.0/16", "172.16.0.0/16", False),
    ("10.1.0.0/16", "172.31.0.0/16", False),
    ("10.1.0.0/16", "192.168.0.0/16", False),
    ("10.1.0.0/16", "198.19.0.0/16", False),
    ("10.1.0.0/16", "10.2.0.0/16", True),
    ("10.1.0.0/16", "100.64.0.0/16", True),
    ("10.1.0.0/16", "52.10.0.0/16", True),
    ("10.1.0.0/16", "10.0.0.0/16", False),  # a block in 10.0.0.0/15 (10.1.0.0/16) is associated
    ("10.1.0.0/16", "10.0.128.0/24", False),
    ("10.5.0.0/16", "10.0.0.0/16", True),  # nothing in 10.0.0.0/15 associated
    # primary in 172.16.0.0/12
    ("172.20.0.0/16", "10.0.0.0/16", False),
    ("172.20.0.0/16", "192.168.0.0/16", False),
    ("172.20.0.0/16", "172.31.0.0/16", False),
    ("172.20.0.0/16", "198.19.0.0/16", False),
    ("172.20.0.0/16", "172.21.0.0/16", True),
    ("172.20.0.0/16", "100.64.0.0/16", True),
    ("172.20.0.0/16", "52.10.0.0/16", True),
    # primary in 192.168.0.0/16
    ("192.168.0.0/20", "10.0.0.0/16", False),
    ("192.168.0.0/20", "172.16.0.0/16", False),
    ("192.168.0.0/20", "198.19.0.0/16", False),
    ("192.168.0.0/20", "192.168.16.0/20", True),
    ("192.168.0.0/20", "100.64.0.0/16", True),
    ("192.168.0.0/20", "52.10.0.0/16", True),
    # primary in 198.19.0.0/16
    ("198.19.0.0/20", "10.0.0.0/16", False),
    ("198.19.0.0/20", "172.16.0.0/16", False),
    ("198.19.0.0/20", "192.168.0.0/16", False),
    ("198.19.0.0/20", "100.64.0.0/16", True),
    ("198.19.0.0/20", "52.10.0.0/16", True),
    # primary public
    ("52.0.0.0/16", "10.0.0.0/16", False),
    ("52.0.0.0/16", "172.16.0.0/16", False),
    ("52.0.0.0/16", "192.168.0.0/16", False),
    ("52.0.0.0/16", "198.19.0.0/16", False),
    ("52.0.0.0/16", "52.1.0.0/16", True),
    ("52.0.0.0/16", "100.64.0.0/16", True),
    # primary in 100.64.0.0/10
    ("100.64.0.0/16", "10.0.0.0/16", False),
    ("100.64.0.0/16", "172.16.0.0/16", False),
    ("100.64.0.0/16", "192.168.0.0/16", False),
    ("100.64.0.0/16", "198.19.0.0/16", False),
    ("100.64.0.0/16", "100.65.0.0/16", True),
    ("100.64.0.0/16", "52.1.0.0/16", True),
    # any primary: 169.254.0.0/16 is reserved
    ("10.1.0.0/16", "169.254.0.0/16", False),
    ("172.31.0.0/16", "169.254.10.0/24", False),
    ("52.0.0.0/16", "169.254.0.0/16", False),
]


@pytest.mark.parametrize(("primary", "candidate", "allowed"), RESTRICTION_TABLE)
def test_restriction_table(primary: str, candidate: str, allowed: bool) -> None:
    broken = refusals(N(candidate), vpc(primary))
    assert (not broken) is allowed, broken
    if not allowed:
        assert broken[0].error is CidrNotAllowed
        with pytest.raises(CidrNotAllowed) as raised:
            check_pod_cidr(N(candidate), vpc(primary))
        assert candidate in raised.value.cause
        assert "pass every rule" in raised.value.cause


def test_ten_15_rule_counts_secondary_blocks() -> None:
    # primary outside 10.0.0.0/15, but a secondary block inside it is associated
    network = vpc("10.5.0.0/16", "10.1.0.0/16")
    assert refusals(N("10.0.0.0/24"), network)[0].error is CidrNotAllowed
    assert "10.0.0.0/15" in refusals(N("10.0.0.0/24"), network)[0].rule


@pytest.mark.parametrize(
    ("candidate", "allowed"),
    [("100.64.0.0/15", False), ("100.64.0.0/16", True), ("100.64.0.0/28", True), ("100.64.0.0/29", False)],
)
def test_size_limits(candidate: str, allowed: bool) -> None:
    broken = refusals(N(candidate), vpc("172.31.0.0/16"))
    assert (not broken) is allowed
    if not allowed:
        assert broken[0].error is CidrNotAllowed
        assert "/16 to /28" in broken[0].rule


def test_overlap_with_an_associated_block() -> None:
    network = vpc("172.31.0.0/16", "100.64.0.0/16")
    with pytest.raises(CidrOverlap, match=r"overlaps the VPC's block 100.64.0.0/16"):
        check_pod_cidr(N("100.64.0.0/18"), network)
    with pytest.raises(CidrOverlap, match=r"10\.1\.0\.0/16"):
        check_pod_cidr(N("10.1.16.0/20"), vpc("10.1.0.0/16"))


def test_blocks_that_are_not_associated_do_not_count() -> None:
    blocks = (VpcBlock(N("172.31.0.0/16")), VpcBlock(N("100.64.0.0/16"), "disassociated"))
    network = VpcNetwork(N("172.31.0.0/16"), blocks)
    assert refusals(N("100.64.0.0/16"), network) == []
    associating = VpcNetwork(N("172.31.0.0/16"), (blocks[0], VpcBlock(N("100.64.0.0/16"), "associating")))
    assert refusals(N("100.64.0.0/16"), associating)[0].error is CidrOverlap


@pytest.mark.parametrize(
    ("destination", "candidate", "allowed"),
    [
        ("100.64.0.0/24", "100.64.0.0/24", False),  # equal
        ("100.64.0.0/24", "100.64.0.0/16", False),  # larger
        ("100.64.5.0/24", "100.64.0.0/16", False),  # overlapping, candidate contains it
        ("100.64.0.0/24", "100.64.0.0/25", True),  # smaller than the destination: allowed
        ("100.64.0.0/10", "100.64.0.0/16", True),
        ("0.0.0.0/0", "100.64.0.0/16", True),
        ("10.0.0.0/8", "100.64.0.0/16", True),
    ],
)
def test_route_destinations(destination: str, candidate: str, allowed: bool) -> None:
    network = vpc("172.31.0.0/16", routes=(Route(N(destination), "tgw-1", "rtb-1"),))
    broken = refusals(N(candidate), network)
    assert (not broken) is allowed
    if not allowed:
        assert broken[0].error is CidrOverlap
        assert "tgw-1" in broken[0].rule and "rtb-1" in broken[0].rule


def test_active_peering_overlap() -> None:
    peering = Peering("pcx-1", "active", (N("100.64.0.0/16"),))
    network = vpc("172.31.0.0/16", peerings=(peering,))
    with pytest.raises(CidrOverlap, match="pcx-1"):
        check_pod_cidr(N("100.64.0.0/16"), network)
    assert refusals(N("100.65.0.0/16"), network) == []
    inactive = vpc("172.31.0.0/16", peerings=(Peering("pcx-2", "rejected", (N("100.64.0.0/16"),)),))
    assert refusals(N("100.64.0.0/16"), inactive) == []


def test_pending_peering_from_this_vpc_blocks_every_addition() -> None:
    pending = Peering("pcx-9", "pending-acceptance", (N("10.9.0.0/16"),), requested_by_this_vpc=True)
    network = vpc("172.31.0.0/16", peerings=(pending,))
    with pytest.raises(CidrNotAllowed, match=r"pcx-9.*pending-acceptance"):
        check_pod_cidr(N("100.64.0.0/16"), network)
    with pytest.raises(CidrNotAllowed, match="pcx-9"):
        choose_pod_cidr(network)
    # a request *to* this VPC does not block
    incoming = vpc("172.31.0.0/16", peerings=(Peering("pcx-8", "pending-acceptance", (N("10.9.0.0/16"),)),))
    assert choose_pod_cidr(incoming) == N("100.64.0.0/16")


def test_quota_of_five_blocks() -> None:
    four = vpc("172.31.0.0/16", "172.30.0.0/16", "172.29.0.0/16", "172.28.0.0/16")
    assert refusals(N("100.64.0.0/16"), four) == []  # 4 + 1 = 5 is allowed
    five = vpc("172.31.0.0/16", "172.30.0.0/16", "172.29.0.0/16", "172.28.0.0/16", "172.27.0.0/16")
    with pytest.raises(CidrQuotaExceeded, match="already holds 5"):
        check_pod_cidr(N("100.64.0.0/16"), five)
    with pytest.raises(CidrQuotaExceeded, match="quota is 5"):
        choose_pod_cidr(five)


def test_rules_refusing_every_default_alike_are_all_named_once_in_order() -> None:
    pending = Peering("pcx-9", "pending-acceptance", (N("10.9.0.0/16"),), requested_by_this_vpc=True)
    five = vpc("172.31.0.0/16", "172.30.0.0/16", "172.29.0.0/16", "172.28.0.0/16", "172.27.0.0/16", peerings=(pending,))
    with pytest.raises(CidrNotAllowed) as raised:  # the first common rule's error
        choose_pod_cidr(five)
    assert raised.value.cause == (
        "No pod block can be added to the VPC: VPC peering request pcx-9 from this VPC is pending-acceptance; AWS "
        "accepts no new block until it is accepted, rejected or deleted; the VPC already holds 5 IPv4 blocks "
        "(172.31.0.0/16, 172.30.0.0/16, 172.29.0.0/16, 172.28.0.0/16, 172.27.0.0/16), its quota is 5; remove an "
        "unused block or raise the 'IPv4 CIDR blocks per VPC' quota. Nothing was changed."
    )


def test_default_choice_for_the_seed() -> None:
    assert choose_pod_cidr(vpc("172.31.0.0/16")) == N("100.64.0.0/16")


def test_default_choice_skips_blocked_16s() -> None:
    network = vpc(
        "172.31.0.0/16",
        "100.64.0.0/16",
        routes=(Route(N("100.65.0.0/16"), "tgw-1", "rtb-1"),),
        peerings=(Peering("pcx-1", "active", (N("100.66.0.0/16"),)),),
    )
    assert choose_pod_cidr(network) == N("100.67.0.0/16")


def test_primary_in_100_64() -> None:
    network = vpc("100.64.0.0/16")
    assert choose_pod_cidr(network) == N("100.65.0.0/16")
    with pytest.raises(CidrNotAllowed):
        check_pod_cidr(N("198.19.0.0/16"), network)


def test_primary_in_198_19() -> None:
    network = vpc("198.19.0.0/16")
    assert choose_pod_cidr(network) == N("100.64.0.0/16")
    with pytest.raises(CidrNotAllowed, match=r"10\.0\.0\.0/8"):
        check_pod_cidr(N("10.0.0.0/16"), network)


def test_default_choice_tries_198_19_last() -> None:
    # a route to 100.64.0.0/10 is larger than each /16: they stay allowed (smaller than the destination)
    network = vpc("172.31.0.0/16", routes=(Route(N("100.64.0.0/10"), "tgw-1", "rtb-1"),))
    assert choose_pod_cidr(network) == N("100.64.0.0/16")
    # 100.64.0.0/10 all taken: 198.19.0.0/16 is tried, and refused by the row of a 172.16/12 primary
    blocks = (VpcBlock(N("172.31.0.0/16")), *(VpcBlock(b) for b in N("100.64.0.0/10").subnets(new_prefix=12)))
    with pytest.raises(NoCidrAvailable, match=r"198\.19\.0\.0/16 is in 198\.19\.0\.0/16, which AWS refuses"):
        choose_pod_cidr(VpcNetwork(N("172.31.0.0/16"), blocks, quota=50))


def test_no_cidr_available() -> None:
    blocks = [str(n) for n in N("100.64.0.0/10").subnets(new_prefix=12)]
    network = VpcNetwork(
        N("172.31.0.0/16"),
        (VpcBlock(N("172.31.0.0/16")), *(VpcBlock(N(b)) for b in blocks)),
        peerings=(Peering("pcx-1", "active", (N("198.19.0.0/16"),)),),
        quota=50,
    )
    with pytest.raises(NoCidrAvailable) as raised:
        choose_pod_cidr(network)
    assert "100.64.0.0/16" in raised.value.cause and "198.19.0.0/16" in raised.value.cause


def test_refusal_cause_names_every_broken_rule_and_three_blocks_that_pass() -> None:
    network = vpc("172.31.0.0/16", "100.64.0.0/16")
    with pytest.raises(CidrNotAllowed) as raised:  # the first broken rule's error
        check_pod_cidr(N("100.64.0.0/15"), network)
    assert raised.value.cause == (
        "Cannot associate 100.64.0.0/15 with the VPC: 100.64.0.0/15 is a /15; a VPC block must be /16 to /28; "
        "100.64.0.0/15 overlaps the VPC's block 100.64.0.0/16 (associated). Blocks that pass every rule: "
        "100.65.0.0/16, 100.66.0.0/16, 100.67.0.0/16 (or omit podCidr to let podcidr choose). Nothing was changed."
    )


def test_refusal_cause_says_when_no_default_passes_either() -> None:
    blocks = [str(n) for n in N("100.64.0.0/10").subnets(new_prefix=12)]
    network = VpcNetwork(
        N("172.31.0.0/16"),
        (VpcBlock(N("172.31.0.0/16")), *(VpcBlock(N(b)) for b in blocks)),
        peerings=(Peering("pcx-1", "active", (N("198.19.0.0/16"),)),),
        quota=50,
    )
    with pytest.raises(CidrOverlap) as raised:
        check_pod_cidr(N("100.64.0.0/16"), network)
    assert raised.value.cause == (
        "Cannot associate 100.64.0.0/16 with the VPC: 100.64.0.0/16 overlaps the VPC's block 100.64.0.0/12 "
        "(associated). No default candidate (100.64.0.0/10 by /16, then 198.19.0.0/16) passes either. "
        "Nothing was changed."
    )


# --- pod subnets -------------------------------------------------------------------------------

AZS3 = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]


@pytest.mark.parametrize(("zones", "prefix"), [(1, 16), (2, 17), (3, 18), (4, 18), (5, 19), (6, 19)])
def test_default_subnet_prefix(zones: int, prefix: int) -> None:
    assert default_subnet_prefix(N("100.64.0.0/16"), zones) == prefix


def test_three_azs_in_a_16() -> None:
    layout = plan_pod_subnets(N("100.64.0.0/16"), AZS3)
    assert layout == {
        "ap-southeast-1a": N("100.64.0.0/18"),
        "ap-southeast-1b": N("100.64.64.0/18"),
        "ap-southeast-1c": N("100.64.128.0/18"),
    }


def test_two_azs_in_a_16() -> None:
    layout = plan_pod_subnets(N("100.64.0.0/16"), AZS3[:2])
    assert list(layout.values()) == [N("100.64.0.0/17"), N("100.64.128.0/17")]


def test_explicit_prefix() -> None:
    layout = plan_pod_subnets(N("100.64.0.0/16"), AZS3, 19)
    assert list(layout.values()) == [N("100.64.0.0/19"), N("100.64.32.0/19"), N("100.64.64.0/19")]


@pytest.mark.parametrize("prefix", [16, 17])
def test_explicit_prefix_too_big(prefix: int) -> None:
    with pytest.raises(SubnetSizing, match="do not fit"):
        plan_pod_subnets(N("100.64.0.0/16"), AZS3, prefix)


def test_subnets_smaller_than_28_are_refused() -> None:
    with pytest.raises(SubnetSizing, match="/28"):
        plan_pod_subnets(N("100.64.0.0/28"), AZS3)


def test_subnets_too_small_for_a_node() -> None:
    with pytest.raises(SubnetSizing, match=r"11 usable addresses.*45"):
        plan_pod_subnets(N("100.64.0.0/24"), AZS3, 28, min_addresses=45, min_addresses_why="addresses of a node")


def test_existing_subnets_are_kept_and_avoided() -> None:
    layout = plan_pod_subnets(
        N("100.64.0.0/16"),
        AZS3,
        existing={"ap-southeast-1b": N("100.64.0.0/18")},
        taken=[N("100.64.64.0/24")],
    )
    assert layout["ap-southeast-1b"] == N("100.64.0.0/18")
    assert layout["ap-southeast-1a"] == N("100.64.128.0/18")
    assert layout["ap-southeast-1c"] == N("100.64.192.0/18")


def test_no_free_slot_left() -> None:
    with pytest.raises(SubnetSizing, match="No free"):
        plan_pod_subnets(N("100.64.0.0/16"), AZS3, taken=[N("100.64.0.0/17"), N("100.64.128.0/18")])


# --- fixed addresses ---------------------------------------------------------------------------


def test_fixed_address_is_the_highest_unreserved() -> None:
    assert fixed_address(N("172.31.48.0/20")) == IPv4Address("172.31.63.254")
    assert fixed_address(N("172.31.48.0/20"), ["172.31.63.254", "172.31.63.253"]) == IPv4Address("172.31.63.252")


def test_fixed_address_never_reserved() -> None:
    subnet = N("10.0.0.0/28")  # 16 addresses: .0-.3 and .15 reserved
    used = [f"10.0.0.{i}" for i in range(5, 15)]
    assert fixed_address(subnet, used) == IPv4Address("10.0.0.4")
    with pytest.raises(SubnetSizing):
        fixed_address(subnet, [*used, "10.0.0.4"])


def test_no_zone_is_a_sizing_error_that_says_so() -> None:
    with pytest.raises(SubnetSizing) as raised:
        default_subnet_prefix(N("100.64.0.0/16"), 0)
    assert raised.value.cause == "No availability zone to put pod subnets in."


def test_a_subnet_smaller_than_aws_s_reserve_has_no_usable_address() -> None:
    assert usable_addresses(N("100.64.0.0/30")) == 0
    assert usable_addresses(N("100.64.0.0/29")) == 3


ZONES = ["us-west-2a", "us-west-2b", "us-west-2c"]


def test_a_pod_subnet_larger_than_its_block_is_refused_naming_the_setting() -> None:
    with pytest.raises(SubnetSizing) as raised:
        plan_pod_subnets(N("100.64.0.0/20"), ZONES, 19)
    assert raised.value.cause == "A /19 pod subnet (podSubnetPrefixLength) is larger than the pod block 100.64.0.0/20."


def test_too_few_slots_suggest_the_prefix_length_that_fits() -> None:
    with pytest.raises(SubnetSizing) as raised:
        plan_pod_subnets(N("100.64.0.0/16"), ZONES, 17)
    assert raised.value.cause == (
        "3 pod subnets of /17 (podSubnetPrefixLength) do not fit in 100.64.0.0/16: it holds 2. "
        "Use podSubnetPrefixLength 18 or longer, or a larger podCidr. Nothing was changed."
    )
    assert plan_pod_subnets(N("100.64.0.0/16"), ZONES[:2], 17) == {
        "us-west-2a": N("100.64.0.0/17"),
        "us-west-2b": N("100.64.128.0/17"),
    }
    eight = [f"zone-{i}" for i in range(8)]
    assert len(plan_pod_subnets(N("100.64.0.0/16"), eight, 19)) == 8  # 2 ** 3 slots


def test_too_few_usable_addresses_for_a_node_are_refused_with_the_arithmetic() -> None:
    with pytest.raises(SubnetSizing) as raised:
        plan_pod_subnets(N("100.64.0.0/24"), ZONES, 26, min_addresses=60)
    assert raised.value.cause == (
        "Pod subnets of /26 (podSubnetPrefixLength) have 59 usable addresses (AWS reserves 5 of 64), fewer than "
        "the 60 a node needs. Use a shorter podSubnetPrefixLength or a larger podCidr. Nothing was changed."
    )
    with pytest.raises(
        SubnetSizing,
        match=r"\(the default share\) have 59 usable addresses \(AWS reserves 5 of 64\), "
        r"fewer than the 60 pod IPs of one m5\.large node\. Use",
    ):
        plan_pod_subnets(N("100.64.0.0/24"), ZONES, min_addresses=60, min_addresses_why="pod IPs of one m5.large node")
    assert len(plan_pod_subnets(N("100.64.0.0/24"), ZONES, 26, min_addresses=59)) == 3  # exactly enough


def test_no_free_slot_names_the_subnets_in_the_way_or_none() -> None:
    taken = [N("100.64.64.0/18"), N("100.64.0.0/18")]
    with pytest.raises(SubnetSizing) as raised:
        plan_pod_subnets(N("100.64.0.0/16"), [*ZONES, "us-west-2d"], taken=taken)
    assert raised.value.cause == (
        "No free /18 left in 100.64.0.0/16 for a pod subnet in us-west-2c: existing subnets "
        "(100.64.0.0/18, 100.64.64.0/18) occupy it. Nothing was changed."
    )
    adopted = {"us-west-2a": N("100.64.0.0/17")}  # an adopted pod subnet is in the way too
    with pytest.raises(SubnetSizing, match=r"in us-west-2b: existing subnets \(100\.64\.0\.0/17, 100\.64\.128\.0/17\)"):
        plan_pod_subnets(N("100.64.0.0/16"), ZONES[:2], 17, existing=adopted, taken=[N("100.64.128.0/17")])


def test_the_fixed_address_is_the_highest_free_one_and_none_free_is_said() -> None:
    subnet = N("100.64.0.0/28")  # .4 to .14 usable; .15 is the broadcast
    assert fixed_address(subnet) == IPv4Address("100.64.0.14")
    assert fixed_address(subnet, ["100.64.0.14"]) == IPv4Address("100.64.0.13")
    assert fixed_address(subnet, ["100.64.0.14", IPv4Address("100.64.0.13")]) == IPv4Address("100.64.0.12")
    with pytest.raises(SubnetSizing) as raised:
        fixed_address(subnet, [f"100.64.0.{i}" for i in range(4, 15)])
    assert raised.value.cause == "Subnet 100.64.0.0/28 has no free address for a fixed load-balancer IP."


def test_no_cidr_available_gives_an_example_refusal_of_each_range_and_what_to_do() -> None:
    blocks = [str(n) for n in N("100.64.0.0/10").subnets(new_prefix=12)]
    network = VpcNetwork(
        N("172.31.0.0/16"),
        (VpcBlock(N("172.31.0.0/16")), *(VpcBlock(N(b)) for b in blocks)),
        quota=50,
    )
    with pytest.raises(NoCidrAvailable) as raised:
        choose_pod_cidr(network)
    assert raised.value.cause == (
        "No default pod block passes AWS's rules: every /16 of 100.64.0.0/10 and 198.19.0.0/16 is refused (e.g. "
        "100.64.0.0/16: 100.64.0.0/16 overlaps the VPC's block 100.64.0.0/12 (associated); 198.19.0.0/16: "
        "198.19.0.0/16 is in 198.19.0.0/16, which AWS refuses because the VPC's primary block 172.31.0.0/16 is in "
        "172.16.0.0/12). Give a smaller podCidr that fits, e.g. a /20 in a free part of 100.64.0.0/10. Nothing was "
        "changed."
    )


def test_a_route_destination_equal_to_or_inside_the_block_is_named_with_its_relation() -> None:
    routes = (Route(N("100.64.0.0/16"), "tgw-1", "rtb-1"), Route(N("100.64.0.0/17"), "pcx-2", "rtb-2"))
    assert [r.rule for r in refusals(N("100.64.0.0/16"), vpc("172.31.0.0/16", routes=routes))] == [
        "100.64.0.0/16 is equal to the destination 100.64.0.0/16 of a route to tgw-1 in rtb-1; a block must be "
        "smaller than every route destination",
        "100.64.0.0/16 is larger than the destination 100.64.0.0/17 of a route to pcx-2 in rtb-2; a block must be "
        "smaller than every route destination",
    ]


def test_an_active_peering_after_an_inactive_one_still_refuses_an_overlap() -> None:
    peerings = (Peering("pcx-1", "rejected", (N("100.64.0.0/16"),)), Peering("pcx-2", "active", (N("100.64.0.0/16"),)))
    assert [r.rule for r in refusals(N("100.64.0.0/16"), vpc("172.31.0.0/16", peerings=peerings))] == [
        "100.64.0.0/16 overlaps 100.64.0.0/16 of the active VPC peering pcx-2"
    ]


def test_the_restriction_rules_say_which_primary_range_or_which_associated_blocks_refuse() -> None:
    ten = VpcNetwork(
        N("10.5.0.0/16"), (VpcBlock(N("10.5.0.0/16")), VpcBlock(N("10.1.0.0/16")), VpcBlock(N("10.0.128.0/17")))
    )
    assert [r.rule for r in refusals(N("10.0.0.0/24"), ten)] == [
        "10.0.0.0/24 is in 10.0.0.0/16, which AWS refuses because a block in 10.0.0.0/15 is associated "
        "(10.1.0.0/16, 10.0.128.0/17)"
    ]
    assert [r.rule for r in refusals(N("172.16.0.0/16"), vpc("100.64.0.0/16"))] == [
        "172.16.0.0/16 is in 172.16.0.0/12, which AWS refuses because the VPC's primary block 100.64.0.0/16 is in "
        "public or 100.64.0.0/10"
    ]
    # a primary in 198.19.0.0/16 refuses the RFC 1918 ranges only, not the rest of 198.19.0.0/16
    assert refusals(N("198.19.128.0/17"), vpc("198.19.0.0/17")) == []
