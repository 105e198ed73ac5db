"""ExtendVpcCidr over a botocore-stubbed EC2 client, in milliseconds (`make mutate-fast`): the exact requests
and answers of each path, with every member EC2 returns. The same step against moto and a fake EC2 for the timed
states: test_extend_vpc_cidr.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from podcidr import pod_cidr_tag_key
from podcidr.errors import CidrNotAllowed, CidrOverlap, CidrQuotaExceeded
from podcidr.models.migration import Migration
from podcidr.steps.extend_vpc_cidr import extend_vpc_cidr, max_polls
from tests.fixtures.stubbed_aws import all_answered, ec2_only
from tests.fixtures.vpc_topology import CLUSTER, POD_CIDR, Topology, seed_migration

VPC = "vpc-0a1b2c3d4e5f60718"
OWNER = "111122223333"
NODE_CIDR = "192.168.0.0/16"
MARK = {"Key": pod_cidr_tag_key(CLUSTER), "Value": POD_CIDR}


def _migration(association_id: str | None = None, changes: int = 0) -> Migration:
    tables = ["rtb-0node100000000000", "rtb-0node200000000000", "rtb-0node300000000000"]
    nats = ["nat-0aaa0000000000001", "nat-0aaa0000000000002", "nat-0aaa0000000000003"]
    topology = Topology(VPC, "rtb-0main00000000000a", "rtb-0public000000000a", [], [], nats, tables)
    migration = seed_migration(topology)
    migration.pod_cidr.association_id = association_id
    migration.changes = changes
    return migration


def _block(cidr: str, association_id: str, state: str = "associated") -> dict[str, Any]:
    return {"AssociationId": association_id, "CidrBlock": cidr, "CidrBlockState": {"State": state}}


def _vpc(blocks: list[dict[str, Any]], tags: list[dict[str, str]] | None = None) -> dict[str, Any]:
    vpc: dict[str, Any] = {
        "CidrBlock": NODE_CIDR,
        "DhcpOptionsId": "dopt-0123456789abcdef0",
        "State": "available",
        "VpcId": VPC,
        "OwnerId": OWNER,
        "InstanceTenancy": "default",
        "Ipv6CidrBlockAssociationSet": [],
        "CidrBlockAssociationSet": [_block(NODE_CIDR, "vpc-cidr-assoc-0primary000000000"), *blocks],
        "IsDefault": False,
    }
    if tags:
        vpc["Tags"] = tags
    return vpc


def test_a_block_the_plan_knew_and_marked_is_reported_as_it_is_with_nothing_asked_or_counted() -> None:
    clients, stub = ec2_only()
    stub.add_response(
        "describe_vpcs",
        {"Vpcs": [_vpc([_block(POD_CIDR, "vpc-cidr-assoc-0pod0000000000000")], [MARK])]},
        {"VpcIds": [VPC]},
    )
    with all_answered(stub):
        result = extend_vpc_cidr(clients, _migration("vpc-cidr-assoc-0pod0000000000000", changes=3))
    assert result.pod_cidr.model_dump() == {
        "cidr": POD_CIDR,
        "association_id": "vpc-cidr-assoc-0pod0000000000000",
        "state": "associated",
        "created": False,
    }
    assert (result.changes, result.polls) == (3, {})


ASSOC = "vpc-cidr-assoc-0pod0000000000000"
OTHER_ASSOC = "vpc-cidr-assoc-0pod0000000000001"
STEP = "ExtendVpcCidr"


def _looks(stub: Stubber, blocks: list[dict[str, Any]], tags: list[dict[str, str]] | None = None) -> None:
    stub.add_response("describe_vpcs", {"Vpcs": [_vpc(blocks, tags)]}, {"VpcIds": [VPC]})


def _marks(stub: Stubber) -> None:
    stub.add_response("create_tags", {}, {"Resources": [VPC], "Tags": [MARK]})


def _associates(stub: Stubber, association_id: str = ASSOC, state: str = "associating") -> None:
    stub.add_response(
        "associate_vpc_cidr_block",
        {"CidrBlockAssociation": _block(POD_CIDR, association_id, state), "VpcId": VPC},
        {"VpcId": VPC, "CidrBlock": POD_CIDR},
    )


def _refuses(stub: Stubber, code: str, message: str) -> None:
    stub.add_client_error(
        "associate_vpc_cidr_block", code, message, expected_params={"VpcId": VPC, "CidrBlock": POD_CIDR}
    )


def _extend(stub: Stubber, clients: Any, migration: Migration) -> Migration:
    with all_answered(stub):
        return extend_vpc_cidr(clients, migration)


def _pod_cidr(association_id: str | None, state: str | None, created: bool) -> dict[str, Any]:
    return {"cidr": POD_CIDR, "association_id": association_id, "state": state, "created": created}


# Adopting a block the VPC already has


def test_a_known_block_still_associating_is_reported_and_its_check_counted_after_the_others() -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, ASSOC, "associating")], [MARK])
    migration = _migration(ASSOC, changes=3)
    migration.polls = {"CreatePodSubnets": 5, STEP: 2}

    result = _extend(stub, clients, migration)

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associating", False)
    assert (result.changes, result.polls) == (3, {"CreatePodSubnets": 5, STEP: 3})


def test_an_unknown_associated_block_is_adopted_as_created_and_counted_with_the_mark_written_first() -> None:
    """A lost response's association: the plan did not see it, so this execution made it."""
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, ASSOC, "associated")])
    _marks(stub)

    result = _extend(stub, clients, _migration(changes=3))

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associated", True)
    assert (result.changes, result.polls) == (5, {})


def test_an_unknown_associating_block_already_marked_counts_only_the_association_and_a_check() -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, ASSOC, "associating")], [{"Key": "team", "Value": "web"}, MARK])

    result = _extend(stub, clients, _migration())

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associating", True)
    assert (result.changes, result.polls) == (1, {STEP: 1})


@pytest.mark.parametrize(
    "tags",
    [
        [{"Key": pod_cidr_tag_key(CLUSTER), "Value": "100.65.0.0/16"}],  # the mark of another block
        [{"Key": pod_cidr_tag_key("other"), "Value": POD_CIDR}],  # another cluster's mark
        [{"Key": "team", "Value": "web"}],
    ],
)
def test_a_known_block_without_this_clusters_mark_of_it_is_marked_and_the_mark_counted(
    tags: list[dict[str, str]],
) -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, ASSOC)], tags)
    _marks(stub)

    result = _extend(stub, clients, _migration(ASSOC, changes=3))

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associated", False)
    assert (result.changes, result.polls) == (4, {})


def test_an_active_block_is_adopted_before_a_failed_one_listed_first() -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, OTHER_ASSOC, "failed"), _block(POD_CIDR, ASSOC, "associated")], [MARK])

    result = _extend(stub, clients, _migration(OTHER_ASSOC))

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associated", False)
    assert (result.changes, result.polls) == (0, {})


# Asking for the association


def test_an_absent_block_is_marked_then_asked_for_and_reported_as_aws_answers() -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block("100.65.0.0/16", OTHER_ASSOC)])  # another block: not the planned one
    _marks(stub)
    _associates(stub)

    migration = _migration(changes=3)
    result = _extend(stub, clients, migration)

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associating", True)
    assert (result.changes, result.polls) == (5, {STEP: 1})
    assert migration.pod_cidr.model_dump() == _pod_cidr(None, None, False)  # the input is left as it was
    assert (migration.changes, migration.polls) == (3, {})


def test_an_association_answered_associated_takes_no_check() -> None:
    clients, stub = ec2_only()
    _looks(stub, [], [MARK])
    _associates(stub, state="associated")

    result = _extend(stub, clients, _migration())

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associated", True)
    assert (result.changes, result.polls) == (1, {})


def test_a_failure_the_plan_did_not_record_is_asked_again() -> None:
    """An earlier execution's failed association: this execution asks for the block anew."""
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, OTHER_ASSOC, "failed")], [MARK])
    _associates(stub)

    result = _extend(stub, clients, _migration())

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associating", True)
    assert (result.changes, result.polls) == (1, {STEP: 1})


def test_failures_are_picked_latest_first_so_an_older_recorded_one_is_asked_again() -> None:
    clients, stub = ec2_only()
    _looks(
        stub,
        [_block(POD_CIDR, OTHER_ASSOC, "failed"), _block(POD_CIDR, "vpc-cidr-assoc-0pod0000000000002", "failing")],
        [MARK],
    )
    _associates(stub)

    result = _extend(stub, clients, _migration(OTHER_ASSOC))

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associating", True)


def test_a_refused_retry_that_finds_the_block_adopts_it() -> None:
    """botocore retried a lost answer: the retry is refused as an overlap with the block the first try added."""
    clients, stub = ec2_only()
    _looks(stub, [])
    _marks(stub)
    _refuses(stub, "InvalidVpc.Range", f"The CIDR '{POD_CIDR}' conflicts with another CIDR block ({POD_CIDR}).")
    _looks(stub, [_block(POD_CIDR, ASSOC, "associating")], [MARK])

    result = _extend(stub, clients, _migration(changes=3))

    assert result.pod_cidr.model_dump() == _pod_cidr(ASSOC, "associating", True)
    assert (result.changes, result.polls) == (5, {STEP: 1})


_QUOTA = (
    "AWS refused to add 100.64.0.0/16 to vpc-0a1b2c3d4e5f60718: {code}: {message}. The VPC holds as many IPv4 "
    "blocks as its quota allows; free one or raise the quota (Service Quotas, 'IPv4 CIDR blocks per VPC'), then "
    "run podcidr again."
)
_OVERLAP = (
    "AWS refused to add 100.64.0.0/16 to vpc-0a1b2c3d4e5f60718: {code}: {message}. Choose a podCidr that "
    "overlaps no block, route or peering of the VPC (or omit podCidr to let podcidr choose)."
)
_NOT_ALLOWED = (
    "AWS refused to add 100.64.0.0/16 to vpc-0a1b2c3d4e5f60718: {code}: {message}. The block breaks a rule for "
    "secondary VPC blocks (see the CIDR rules in README.md); choose another podCidr."
)


@pytest.mark.parametrize(
    ("code", "message", "error", "cause"),
    [
        ("CidrLimitExceeded", "This network has reached its maximum number of CIDR blocks", CidrQuotaExceeded, _QUOTA),
        ("InvalidVpc.Range", "The CIDR '100.64.0.0/16' conflicts with another subnet", CidrOverlap, _OVERLAP),
        ("InvalidVpc.Range", "The CIDR '100.64.0.0/16' would overlap a route", CidrOverlap, _OVERLAP),
        ("CidrConflict", "The CIDR is in use", CidrOverlap, _OVERLAP),
        ("InvalidParameterValue.Overlap", "The CIDR is in use", CidrOverlap, _OVERLAP),
        ("InvalidVpc.Range", "The CIDR '100.64.0.0/16' is restricted", CidrNotAllowed, _NOT_ALLOWED),
        ("InvalidParameterValue", "Value (100.64.0.0/16) for cidrBlock is invalid", CidrNotAllowed, _NOT_ALLOWED),
        ("InvalidCidrBlock", "The CIDR block is malformed", CidrNotAllowed, _NOT_ALLOWED),
    ],
)
@pytest.mark.parametrize(
    "found_again",
    [[], [_block(POD_CIDR, ASSOC, "failed")], [_block("100.65.0.0/16", ASSOC, "associating")]],
    ids=["absent", "failed", "another-block"],
)
def test_each_refusal_without_the_block_on_a_second_look_is_its_contract_error(
    code: str, message: str, error: type[Exception], cause: str, found_again: list[dict[str, Any]]
) -> None:
    """Overlaps are told apart by the code or by AWS's message (InvalidVpc.Range covers both kinds)."""
    clients, stub = ec2_only()
    _looks(stub, [], [MARK])
    _refuses(stub, code, message)
    _looks(stub, found_again, [MARK])

    with all_answered(stub), pytest.raises(error) as raised:
        extend_vpc_cidr(clients, _migration())
    assert str(raised.value) == cause.format(code=code, message=message)
    assert isinstance(raised.value.__cause__, ClientError)


def test_a_refusal_of_no_known_kind_is_raised_as_is() -> None:
    clients, stub = ec2_only()
    _looks(stub, [], [MARK])
    _refuses(stub, "UnauthorizedOperation", "You are not authorized to perform this operation.")
    _looks(stub, [], [MARK])

    with all_answered(stub), pytest.raises(ClientError) as raised:
        extend_vpc_cidr(clients, _migration())
    assert raised.value.response["Error"] == {
        "Code": "UnauthorizedOperation",
        "Message": "You are not authorized to perform this operation.",
    }


# A failed association the plan recorded


@pytest.mark.parametrize(
    ("state", "status", "said"),
    [
        ("failed", "The CIDR block is restricted for this VPC", "The CIDR block is restricted for this VPC"),
        ("failing", None, "no status message"),
    ],
)
def test_a_failed_association_the_plan_recorded_is_cidr_not_allowed_before_any_change(
    state: str, status: str | None, said: str
) -> None:
    clients, stub = ec2_only()
    failed = _block(POD_CIDR, ASSOC, state)
    if status:
        failed["CidrBlockState"]["StatusMessage"] = status
    _looks(stub, [failed])  # unmarked: no mark is written either

    with all_answered(stub), pytest.raises(CidrNotAllowed) as raised:
        extend_vpc_cidr(clients, _migration(ASSOC))
    assert str(raised.value) == (
        f"AWS did not associate 100.64.0.0/16 with vpc-0a1b2c3d4e5f60718: the association {ASSOC} is {state} "
        f"({said}). Choose another podCidr, or fix what the message names, and run podcidr again."
    )


def test_the_latest_failure_is_the_one_compared_with_the_plans() -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, OTHER_ASSOC, "failed"), _block(POD_CIDR, ASSOC, "failed")], [MARK])

    with all_answered(stub), pytest.raises(CidrNotAllowed, match=f"the association {ASSOC} is failed"):
        extend_vpc_cidr(clients, _migration(ASSOC))


# The wait loop's ceiling


# The contract (docs/architecture.md): 15 minutes of polls `pollSeconds` apart, at least 3, at most 90 checks.
@pytest.mark.parametrize(
    ("poll_seconds", "ceiling"),
    [(1, 90), (7, 90), (10, 90), (11, 82), (30, 30), (60, 15), (61, 15), (299, 4), (300, 3), (900, 3), (3600, 3)],
)
def test_the_ceiling_is_fifteen_minutes_of_checks_between_three_and_ninety(poll_seconds: int, ceiling: int) -> None:
    assert max_polls(poll_seconds) == ceiling


@pytest.mark.parametrize(("poll_seconds", "ceiling"), [(1, 90), (30, 30), (300, 3)])
def test_the_last_check_under_the_ceiling_still_waits(poll_seconds: int, ceiling: int) -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, ASSOC, "associating")], [MARK])
    migration = _migration(ASSOC).model_copy(update={"poll_seconds": poll_seconds, "polls": {STEP: ceiling - 1}})

    assert _extend(stub, clients, migration).polls == {STEP: ceiling}


def test_past_the_ceiling_it_gives_up_saying_where_to_look() -> None:
    clients, stub = ec2_only()
    _looks(stub, [_block(POD_CIDR, ASSOC, "associating")], [MARK])
    migration = _migration(ASSOC).model_copy(update={"poll_seconds": 300, "polls": {STEP: 3}})

    with all_answered(stub), pytest.raises(CidrNotAllowed) as raised:
        extend_vpc_cidr(clients, migration)
    assert str(raised.value) == (
        "100.64.0.0/16 is still associating on vpc-0a1b2c3d4e5f60718 (association vpc-cidr-assoc-0pod0000000000000) "
        "after 4 checks 300s apart: AWS has not made the block usable. Look at the VPC's CIDRs in the console; run "
        "podcidr again once it shows associated (the block will be adopted)."
    )
