"""CIDR arithmetic for the pod block: AWS's rules for secondary VPC blocks, the default choice,
pod subnet sizing and fixed addresses. Pure: only `ipaddress`, no AWS calls.

The rules are those of AWS-FACTS section 1 (VPC user guide, "VPC CIDR blocks",
add-cidr-block-restrictions). moto enforces none of them but the quota, so they live here.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network

from podcidr.errors import (
    CidrNotAllowed,
    CidrOverlap,
    CidrQuotaExceeded,
    NoCidrAvailable,
    PodcidrError,
    SubnetSizing,
)

MIN_BLOCK_PREFIX = 16
MAX_BLOCK_PREFIX = 28
DEFAULT_BLOCK_QUOTA = 5
"""IPv4 blocks per VPC, the primary included (adjustable up to 50)."""
RESERVED_ADDRESSES = 5
"""AWS reserves the first four addresses and the last one of every subnet."""
COUNTING_STATES = frozenset({"associating", "associated"})
"""Association states of a block that occupy its addresses and count against the quota."""

RFC1918_10 = IPv4Network("10.0.0.0/8")
RFC1918_172 = IPv4Network("172.16.0.0/12")
RFC1918_192 = IPv4Network("192.168.0.0/16")
RFC1918 = (RFC1918_10, RFC1918_172, RFC1918_192)
CGNAT = IPv4Network("100.64.0.0/10")
BENCHMARK_198_19 = IPv4Network("198.19.0.0/16")
LINK_LOCAL = IPv4Network("169.254.0.0/16")
TEN_15 = IPv4Network("10.0.0.0/15")
TEN_16 = IPv4Network("10.0.0.0/16")
SEED_172_31 = IPv4Network("172.31.0.0/16")


def default_candidates() -> Iterator[IPv4Network]:
    """The default pod blocks in order of preference: every /16 of 100.64.0.0/10, then 198.19.0.0/16."""
    yield from CGNAT.subnets(new_prefix=16)
    yield BENCHMARK_198_19


def primary_range(primary: IPv4Network) -> str:
    """The row of the restriction table that the VPC's primary block selects."""
    for network in (*RFC1918, BENCHMARK_198_19):
        if primary.subnet_of(network):
            return str(network)
    return "public or 100.64.0.0/10"


@dataclass(frozen=True)
class VpcBlock:
    cidr: IPv4Network
    state: str = "associated"
    association_id: str | None = None

    @property
    def counts(self) -> bool:
        return self.state in COUNTING_STATES


@dataclass(frozen=True)
class Route:
    destination: IPv4Network
    target: str
    route_table_id: str


@dataclass(frozen=True)
class Peering:
    peering_id: str
    status: str
    """active, pending-acceptance, ..."""
    peer_cidrs: tuple[IPv4Network, ...] = ()
    """The other side's IPv4 blocks."""
    requested_by_this_vpc: bool = False


@dataclass(frozen=True)
class VpcNetwork:
    """What the rules need to know about a VPC."""

    primary: IPv4Network
    blocks: tuple[VpcBlock, ...]
    """Every IPv4 block of the VPC, the primary included."""
    routes: tuple[Route, ...] = ()
    """Non-local IPv4 routes of the VPC's route tables (local routes are the blocks themselves)."""
    peerings: tuple[Peering, ...] = ()
    quota: int = DEFAULT_BLOCK_QUOTA

    @property
    def counted_blocks(self) -> list[VpcBlock]:
        return [block for block in self.blocks if block.counts]

    @property
    def pending_requests(self) -> list[Peering]:
        return [p for p in self.peerings if p.status == "pending-acceptance" and p.requested_by_this_vpc]


@dataclass(frozen=True)
class Refusal:
    """One rule a candidate block breaks."""

    error: type[PodcidrError]
    rule: str


@dataclass
class _Findings:
    refusals: list[Refusal] = field(default_factory=list)

    def add(self, error: type[PodcidrError], rule: str) -> None:
        self.refusals.append(Refusal(error, rule))


def _restricted_ranges(primary: IPv4Network, counted: Sequence[IPv4Network]) -> list[tuple[IPv4Network, str]]:
    """The ranges the restriction table forbids, given the primary block's range."""
    row = primary_range(primary)
    why = f"the VPC's primary block {primary} is in {row}"
    if row == str(RFC1918_10):
        ranges = [(RFC1918_172, why), (RFC1918_192, why), (BENCHMARK_198_19, why)]
        in_ten_15 = [str(block) for block in counted if block.overlaps(TEN_15)]
        if in_ten_15:
            ranges.append((TEN_16, f"a block in 10.0.0.0/15 is associated ({', '.join(in_ten_15)})"))
        return ranges
    if row == str(RFC1918_172):
        return [(RFC1918_10, why), (RFC1918_192, why), (SEED_172_31, why), (BENCHMARK_198_19, why)]
    if row == str(RFC1918_192):
        return [(RFC1918_10, why), (RFC1918_172, why), (BENCHMARK_198_19, why)]
    if row == str(BENCHMARK_198_19):
        return [(network, why) for network in RFC1918]
    return [*((network, why) for network in RFC1918), (BENCHMARK_198_19, why)]


def refusals(candidate: IPv4Network, vpc: VpcNetwork) -> list[Refusal]:
    """Every rule of AWS-FACTS section 1 that associating `candidate` with the VPC would break."""
    findings = _Findings()
    counted = vpc.counted_blocks
    counted_cidrs = [block.cidr for block in counted]

    for peering in vpc.pending_requests:
        findings.add(
            CidrNotAllowed,
            f"VPC peering request {peering.peering_id} from this VPC is pending-acceptance; "
            "AWS accepts no new block until it is accepted, rejected or deleted",
        )
    if len(counted) >= vpc.quota:
        findings.add(
            CidrQuotaExceeded,
            f"the VPC already holds {len(counted)} IPv4 blocks ({', '.join(map(str, counted_cidrs))}), "
            f"its quota is {vpc.quota}; remove an unused block or raise the 'IPv4 CIDR blocks per VPC' quota",
        )
    if not MIN_BLOCK_PREFIX <= candidate.prefixlen <= MAX_BLOCK_PREFIX:
        findings.add(
            CidrNotAllowed,
            f"{candidate} is a /{candidate.prefixlen}; a VPC block must be /{MIN_BLOCK_PREFIX} to /{MAX_BLOCK_PREFIX}",
        )
    if candidate.overlaps(LINK_LOCAL):
        findings.add(CidrNotAllowed, f"{candidate} is in 169.254.0.0/16, which AWS reserves")
    for restricted, why in _restricted_ranges(vpc.primary, counted_cidrs):
        if candidate.overlaps(restricted):
            findings.add(CidrNotAllowed, f"{candidate} is in {restricted}, which AWS refuses because {why}")
    for block in counted:
        if candidate.overlaps(block.cidr):
            findings.add(CidrOverlap, f"{candidate} overlaps the VPC's block {block.cidr} ({block.state})")
    for route in vpc.routes:
        if candidate.supernet_of(route.destination):
            relation = "equal to" if candidate == route.destination else "larger than"
            findings.add(
                CidrOverlap,
                f"{candidate} is {relation} the destination {route.destination} of a route to "
                f"{route.target} in {route.route_table_id}; a block must be smaller than every route destination",
            )
    for peering in vpc.peerings:
        if peering.status != "active":
            continue
        for peer_cidr in peering.peer_cidrs:
            if candidate.overlaps(peer_cidr):
                findings.add(
                    CidrOverlap, f"{candidate} overlaps {peer_cidr} of the active VPC peering {peering.peering_id}"
                )
    return findings.refusals


def passing_defaults(vpc: VpcNetwork, limit: int = 3) -> list[IPv4Network]:
    """Up to `limit` default candidates that pass every rule."""
    found: list[IPv4Network] = []
    for candidate in default_candidates():
        if not refusals(candidate, vpc):
            found.append(candidate)
            if len(found) == limit:
                break
    return found


def _suggestion(vpc: VpcNetwork) -> str:
    passing = passing_defaults(vpc)
    if passing:
        return f"Blocks that pass every rule: {', '.join(map(str, passing))} (or omit podCidr to let podcidr choose)."
    return "No default candidate (100.64.0.0/10 by /16, then 198.19.0.0/16) passes either."


def check_pod_cidr(candidate: IPv4Network, vpc: VpcNetwork) -> None:
    """Raise the typed error of the first broken rule (its cause lists every broken rule), or pass."""
    broken = refusals(candidate, vpc)
    if not broken:
        return
    error = broken[0].error
    rules = "; ".join(refusal.rule for refusal in broken)
    raise error(f"Cannot associate {candidate} with the VPC: {rules}. {_suggestion(vpc)} Nothing was changed.")


def choose_pod_cidr(vpc: VpcNetwork) -> IPv4Network:
    """The first /16 of 100.64.0.0/10, then 198.19.0.0/16, that passes every rule."""
    first_refusals: dict[IPv4Network, list[Refusal]] = {}
    for candidate in default_candidates():
        broken = refusals(candidate, vpc)
        if not broken:
            return candidate
        first_refusals[candidate] = broken
    # Rules that refuse every candidate alike (pending peering, quota) deserve their own name.
    common = [r for r in first_refusals[IPv4Network("100.64.0.0/16")] if r.error in (CidrQuotaExceeded, CidrNotAllowed)]
    common = [r for r in common if all(r.rule in {x.rule for x in rs} for rs in first_refusals.values())]
    if common:
        raise common[0].error(
            "No pod block can be added to the VPC: " + "; ".join(r.rule for r in common) + ". Nothing was changed."
        )
    examples = [
        f"{candidate}: {broken[0].rule}"
        for candidate, broken in first_refusals.items()
        if candidate in (IPv4Network("100.64.0.0/16"), BENCHMARK_198_19)
    ]
    raise NoCidrAvailable(
        "No default pod block passes AWS's rules: every /16 of 100.64.0.0/10 and 198.19.0.0/16 is refused "
        f"(e.g. {'; '.join(examples)}). Give a smaller podCidr that fits, e.g. a /20 in a free part of "
        "100.64.0.0/10. Nothing was changed."
    )


# --- pod subnets -------------------------------------------------------------------------------


def usable_addresses(subnet: IPv4Network) -> int:
    return max(subnet.num_addresses - RESERVED_ADDRESSES, 0)


def default_subnet_prefix(block: IPv4Network, zones: int) -> int:
    """The largest equal power-of-two share of `block` per AZ (3 AZs of a /16 -> /18)."""
    if zones < 1:
        raise SubnetSizing("No availability zone to put pod subnets in.")
    return block.prefixlen + math.ceil(math.log2(zones))


def plan_pod_subnets(
    block: IPv4Network,
    zones: Sequence[str],
    prefix: int | None = None,
    *,
    existing: Mapping[str, IPv4Network] | None = None,
    taken: Iterable[IPv4Network] = (),
    min_addresses: int = 0,
    min_addresses_why: str = "",
) -> dict[str, IPv4Network]:
    """One aligned pod subnet per AZ in `block`.

    `existing`: pod subnets already there (adopted), by AZ; they are kept as they are.
    `taken`: every other subnet of the VPC; a new pod subnet overlaps none of them.
    `min_addresses`: the usable addresses a pod subnet needs at least (e.g. one node's pod IPs).
    """
    existing = dict(existing or {})
    taken_list = [*taken, *existing.values()]
    wanted = [zone for zone in zones if zone not in existing]
    size = prefix if prefix is not None else default_subnet_prefix(block, len(zones))
    how = "podSubnetPrefixLength" if prefix is not None else "the default share"
    if size < block.prefixlen:
        raise SubnetSizing(f"A /{size} pod subnet ({how}) is larger than the pod block {block}.")
    slots = 2 ** (size - block.prefixlen)
    if slots < len(zones):
        fits = block.prefixlen + math.ceil(math.log2(len(zones)))
        raise SubnetSizing(
            f"{len(zones)} pod subnets of /{size} ({how}) do not fit in {block}: it holds {slots}. "
            f"Use podSubnetPrefixLength {fits} or longer, or a larger podCidr. Nothing was changed."
        )
    if size > MAX_BLOCK_PREFIX:
        raise SubnetSizing(
            f"Pod subnets of /{size} ({how} of {block} for {len(zones)} AZs) are smaller than the smallest "
            f"subnet AWS allows (/{MAX_BLOCK_PREFIX}); use a larger podCidr. Nothing was changed."
        )
    usable = usable_addresses(IPv4Network(f"{block.network_address}/{size}"))
    if usable < min_addresses:
        raise SubnetSizing(
            f"Pod subnets of /{size} ({how}) have {usable} usable addresses (AWS reserves 5 of "
            f"{2 ** (32 - size)}), fewer than the {min_addresses} {min_addresses_why or 'a node needs'}. "
            "Use a shorter podSubnetPrefixLength or a larger podCidr. Nothing was changed."
        )
    planned: dict[str, IPv4Network] = {}
    free = (s for s in block.subnets(new_prefix=size) if not any(s.overlaps(t) for t in taken_list))
    for zone in wanted:
        slot = next(free, None)
        if slot is None:
            raise SubnetSizing(
                f"No free /{size} left in {block} for a pod subnet in {zone}: existing subnets "
                f"({', '.join(sorted(map(str, taken_list))) or 'none'}) occupy it. Nothing was changed."
            )
        planned[zone] = slot
    result = {**existing, **planned}
    return {zone: result[zone] for zone in zones}


# --- fixed addresses ---------------------------------------------------------------------------


def fixed_address(subnet: IPv4Network, in_use: Iterable[IPv4Address | str] = ()) -> IPv4Address:
    """The highest address of `subnet` that AWS does not reserve and nothing uses."""
    used = {IPv4Address(a) for a in in_use}
    first_usable = int(subnet.network_address) + 4
    address = int(subnet.broadcast_address) - 1
    while address >= first_usable:
        candidate = IPv4Address(address)
        if candidate not in used:
            return candidate
        address -= 1
    raise SubnetSizing(f"Subnet {subnet} has no free address for a fixed load-balancer IP.")
