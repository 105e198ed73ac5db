"""ExtendVpcCidr against moto (association acts at once there) and a fake EC2 for the timed states."""

from __future__ import annotations

import math
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError

from podcidr import pod_cidr_tag_key
from podcidr.aws.clients import AwsClients
from podcidr.errors import CidrNotAllowed, CidrOverlap, CidrQuotaExceeded
from podcidr.steps.extend_vpc_cidr import extend_vpc_cidr, max_polls
from tests.fixtures.vpc_topology import (
    CLUSTER,
    POD_CIDR,
    Topology,
    as_state_machine_retries,
    lose_response,
    record_calls,
    seed_migration,
)


def _blocks(aws: AwsClients, vpc_id: str, cidr: str = POD_CIDR) -> list[dict[str, Any]]:
    vpc = aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    return [dict(a) for a in vpc["CidrBlockAssociationSet"] if a["CidrBlock"] == cidr]


def _vpc_tags(aws: AwsClients, vpc_id: str) -> dict[str, str]:
    vpc = aws.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
    return {t["Key"]: t["Value"] for t in vpc.get("Tags", [])}


def test_associates_the_planned_block_and_marks_the_vpc(aws: AwsClients, seed: Topology) -> None:
    calls = record_calls(aws.ec2)
    migration = extend_vpc_cidr(aws, seed_migration(seed))

    [block] = _blocks(aws, seed.vpc_id)
    assert migration.pod_cidr.association_id == block["AssociationId"]
    assert migration.pod_cidr.state == "associating"  # as AssociateVpcCidrBlock answers
    assert migration.pod_cidr.created is True
    assert migration.polls["ExtendVpcCidr"] == 1
    assert _vpc_tags(aws, seed.vpc_id)[pod_cidr_tag_key(CLUSTER)] == POD_CIDR

    # The wait loop's next check sees it associated and changes nothing more.
    checked = extend_vpc_cidr(aws, migration)
    assert checked.pod_cidr.state == "associated"
    assert checked.pod_cidr.association_id == block["AssociationId"]
    assert checked.pod_cidr.created is True
    assert calls.mutating == ["CreateTags", "AssociateVpcCidrBlock"]
    assert checked.changes == 2
    assert checked.polls["ExtendVpcCidr"] == 1


def test_rerun_adopts_the_block_with_zero_mutating_calls(aws: AwsClients, seed: Topology) -> None:
    extend_vpc_cidr(aws, seed_migration(seed))
    calls = record_calls(aws.ec2)
    replanned = seed_migration(seed)  # as Plan writes it on a re-run: the block it found
    [block] = _blocks(aws, seed.vpc_id)
    replanned.pod_cidr.association_id, replanned.pod_cidr.state = block["AssociationId"], "associated"

    again = extend_vpc_cidr(aws, replanned)

    assert calls.mutating == []
    assert again.changes == 0
    assert again.pod_cidr.created is False
    assert again.pod_cidr.state == "associated"
    assert again.pod_cidr.association_id == _blocks(aws, seed.vpc_id)[0]["AssociationId"]


def test_a_lost_association_response_converges_on_one_block(aws: AwsClients, seed: Topology) -> None:
    lost = lose_response(aws.ec2, "AssociateVpcCidrBlock")
    calls = record_calls(aws.ec2)

    migration = as_state_machine_retries(extend_vpc_cidr, aws, seed_migration(seed))

    assert lost() == 1
    assert len(_blocks(aws, seed.vpc_id)) == 1
    assert calls.mutating.count("AssociateVpcCidrBlock") == 1
    assert migration.pod_cidr.state == "associated"  # found by the retry
    assert migration.pod_cidr.created is True  # the plan had not seen it: this execution made it
    # The association is counted; the mark, written by the failed attempt, is found by the retry and
    # cannot be told from an earlier execution's (a lost attempt's other calls go uncounted).
    assert migration.changes == 1
    assert migration.pod_cidr.association_id == _blocks(aws, seed.vpc_id)[0]["AssociationId"]


def test_a_full_vpc_is_a_quota_error(aws: AwsClients, seed: Topology) -> None:
    for third in range(1, 5):
        aws.ec2.associate_vpc_cidr_block(VpcId=seed.vpc_id, CidrBlock=f"100.{64 + third}.0.0/16")
    with pytest.raises(CidrQuotaExceeded, match="quota"):
        extend_vpc_cidr(aws, seed_migration(seed))


class FakeEc2:
    """Just enough EC2 for the timed association states moto does not have."""

    def __init__(self, vpc_id: str) -> None:
        self.vpc_id = vpc_id
        self.act_then_refuse = False
        """AssociateVpcCidrBlock acts, and its answer is a refusal (botocore retried a lost response)."""
        self.associations: list[dict[str, Any]] = []
        self.tags: dict[str, str] = {}
        self.mutating: list[str] = []

    def describe_vpcs(self, VpcIds: list[str]) -> dict[str, Any]:  # noqa: N803 (boto3's names)
        tags = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return {"Vpcs": [{"VpcId": self.vpc_id, "CidrBlockAssociationSet": self.associations, "Tags": tags}]}

    def associate_vpc_cidr_block(self, VpcId: str, CidrBlock: str) -> dict[str, Any]:  # noqa: N803
        self.mutating.append("AssociateVpcCidrBlock")
        association = {
            "AssociationId": f"vpc-cidr-assoc-{len(self.associations) + 1}",
            "CidrBlock": CidrBlock,
            "CidrBlockState": {"State": "associating"},
        }
        self.associations.append(association)
        if self.act_then_refuse:
            message = f"The CIDR '{CidrBlock}' conflicts with another CIDR block ({CidrBlock}) of the VPC."
            raise ClientError({"Error": {"Code": "InvalidVpc.Range", "Message": message}}, "AssociateVpcCidrBlock")
        return {"CidrBlockAssociation": association, "VpcId": VpcId}

    def create_tags(self, Resources: list[str], Tags: list[dict[str, str]]) -> None:  # noqa: N803
        self.mutating.append("CreateTags")
        self.tags.update({t["Key"]: t["Value"] for t in Tags})

    def set_state(self, state: str, message: str | None = None) -> None:
        self.associations[-1]["CidrBlockState"] = {"State": state, "StatusMessage": message}


def _fake_clients(ec2: FakeEc2) -> AwsClients:
    return AwsClients(ec2=cast(Any, ec2), eks=cast(Any, None), elbv2=cast(Any, None), sts=cast(Any, None))


@pytest.fixture
def fake(fake_aws_environment: None) -> FakeEc2:
    return FakeEc2("vpc-0123456789abcdef0")


def _topology(vpc_id: str) -> Topology:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    return Topology(vpc_id, "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3)


def test_reports_associating_and_counts_polls_until_associated(fake: FakeEc2) -> None:
    clients = _fake_clients(fake)
    first = extend_vpc_cidr(clients, seed_migration(_topology(fake.vpc_id)))
    assert (first.pod_cidr.state, first.pod_cidr.created, first.polls["ExtendVpcCidr"]) == ("associating", True, 1)

    second = extend_vpc_cidr(clients, first)
    assert second.polls["ExtendVpcCidr"] == 2 and second.pod_cidr.state == "associating"

    fake.set_state("associated")
    done = extend_vpc_cidr(clients, second)
    assert done.pod_cidr.state == "associated"
    assert done.pod_cidr.created is True
    assert done.changes == 2  # the mark and the association, once each
    assert fake.mutating == ["CreateTags", "AssociateVpcCidrBlock"]


# 7 s: 15 minutes would be 129 checks, but every wait stops after POLLS_PER_WAIT (90) checks.
@pytest.mark.parametrize(("poll_seconds", "ceiling"), [(30, 30), (300, 3), (7, 90)])
def test_gives_up_past_the_poll_ceiling(fake: FakeEc2, poll_seconds: int, ceiling: int) -> None:
    """The contract's ceiling (docs/architecture.md): 15 minutes of polls, `poll_seconds` apart."""
    assert ceiling == min(math.ceil(15 * 60 / poll_seconds), 90)  # 15 minutes of polls, at most 90 checks
    clients = _fake_clients(fake)
    migration = seed_migration(_topology(fake.vpc_id)).model_copy(update={"poll_seconds": poll_seconds})
    for _ in range(ceiling):
        migration = extend_vpc_cidr(clients, migration)
    assert (migration.pod_cidr.state, migration.polls["ExtendVpcCidr"]) == ("associating", ceiling)
    with pytest.raises(CidrNotAllowed, match=f"still associating .* after {ceiling + 1} checks {poll_seconds}s apart"):
        extend_vpc_cidr(clients, migration)


def test_the_ceiling_is_never_fewer_than_three_polls() -> None:
    assert [max_polls(s) for s in (900, 3600)] == [3, 3]


def test_a_failed_association_is_cidr_not_allowed_with_aws_message(fake: FakeEc2) -> None:
    clients = _fake_clients(fake)
    migration = extend_vpc_cidr(clients, seed_migration(_topology(fake.vpc_id)))
    fake.set_state("failed", "The CIDR block is restricted for this VPC")

    with pytest.raises(CidrNotAllowed, match="restricted for this VPC") as raised:
        extend_vpc_cidr(clients, migration)
    assert "failed" in raised.value.cause
    assert fake.mutating.count("AssociateVpcCidrBlock") == 1


def test_a_failure_left_by_an_earlier_execution_is_asked_again(fake: FakeEc2) -> None:
    clients = _fake_clients(fake)
    extend_vpc_cidr(clients, seed_migration(_topology(fake.vpc_id)))
    fake.set_state("failed", "transient failure")

    fresh = extend_vpc_cidr(clients, seed_migration(_topology(fake.vpc_id)))

    assert fresh.pod_cidr.association_id == "vpc-cidr-assoc-2"
    assert fresh.pod_cidr.created is True
    assert fake.mutating == ["CreateTags", "AssociateVpcCidrBlock", "AssociateVpcCidrBlock"]


def test_a_retry_refused_as_an_overlap_with_its_own_block_adopts_it(fake: FakeEc2) -> None:
    fake.act_then_refuse = True

    migration = extend_vpc_cidr(_fake_clients(fake), seed_migration(_topology(fake.vpc_id)))

    assert migration.pod_cidr.association_id == "vpc-cidr-assoc-1"
    assert (migration.pod_cidr.state, migration.pod_cidr.created, migration.changes) == ("associating", True, 2)


def test_a_refusal_without_the_block_is_cidr_not_allowed(fake: FakeEc2) -> None:
    def refuse(VpcId: str, CidrBlock: str) -> dict[str, Any]:  # noqa: N803
        message = f"The CIDR '{CidrBlock}' is restricted. Use a CIDR from the same private address range."
        raise ClientError({"Error": {"Code": "InvalidVpc.Range", "Message": message}}, "AssociateVpcCidrBlock")

    fake.associate_vpc_cidr_block = refuse  # type: ignore[method-assign]
    with pytest.raises(CidrNotAllowed, match="is restricted"):
        extend_vpc_cidr(_fake_clients(fake), seed_migration(_topology(fake.vpc_id)))


_QUOTA = (
    "AWS refused to add 100.64.0.0/16 to vpc-0123456789abcdef0: {code}: {message}. The VPC holds as many IPv4 "
    "blocks as its quota allows; free one or raise the quota (Service Quotas, 'IPv4 CIDR blocks per VPC'), then "
    "run podcidr again."
)
_OVERLAP = (
    "AWS refused to add 100.64.0.0/16 to vpc-0123456789abcdef0: {code}: {message}. Choose a podCidr that "
    "overlaps no block, route or peering of the VPC (or omit podCidr to let podcidr choose)."
)
_NOT_ALLOWED = (
    "AWS refused to add 100.64.0.0/16 to vpc-0123456789abcdef0: {code}: {message}. The block breaks a rule for "
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
def test_each_synchronous_refusal_is_its_contract_error_saying_what_to_do(
    fake: FakeEc2, code: str, message: str, error: type[Exception], cause: str
) -> None:
    """Overlaps are told apart by the code or by AWS's message (InvalidVpc.Range covers both kinds)."""

    def refuse(VpcId: str, CidrBlock: str) -> dict[str, Any]:  # noqa: N803
        raise ClientError({"Error": {"Code": code, "Message": message}}, "AssociateVpcCidrBlock")

    fake.associate_vpc_cidr_block = refuse  # type: ignore[method-assign]
    with pytest.raises(error) as raised:
        extend_vpc_cidr(_fake_clients(fake), seed_migration(_topology(fake.vpc_id)))
    assert raised.value.cause == cause.format(code=code, message=message)  # type: ignore[attr-defined]


def test_a_refusal_of_no_known_kind_is_raised_as_is(fake: FakeEc2) -> None:
    def refuse(VpcId: str, CidrBlock: str) -> dict[str, Any]:  # noqa: N803
        raise ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no"}}, "AssociateVpcCidrBlock")

    fake.associate_vpc_cidr_block = refuse  # type: ignore[method-assign]
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        extend_vpc_cidr(_fake_clients(fake), seed_migration(_topology(fake.vpc_id)))


def test_extending_leaves_its_input_as_it_was(fake: FakeEc2) -> None:
    """A retried Task is given the same input again: the step answers with a copy."""
    migration = seed_migration(_topology(fake.vpc_id))
    before = migration.model_copy(deep=True)
    extended = extend_vpc_cidr(_fake_clients(fake), migration)
    assert extended.pod_cidr.association_id == "vpc-cidr-assoc-1"
    assert migration == before


def test_a_block_plan_did_not_see_is_adopted_and_counted_with_the_mark(aws: AwsClients, seed: Topology) -> None:
    """A lost response's association (active, unknown to the plan) counts as this execution's change,
    on top of the VPC mark it adds."""
    aws.ec2.associate_vpc_cidr_block(VpcId=seed.vpc_id, CidrBlock=POD_CIDR)
    calls = record_calls(aws.ec2)

    migration = extend_vpc_cidr(aws, seed_migration(seed))

    assert calls.mutating == ["CreateTags"]
    assert (migration.pod_cidr.created, migration.changes) == (True, 2)
    assert migration.pod_cidr.association_id == _blocks(aws, seed.vpc_id)[0]["AssociationId"]


def test_a_failed_association_says_what_to_do(fake: FakeEc2) -> None:
    clients = _fake_clients(fake)
    migration = extend_vpc_cidr(clients, seed_migration(_topology(fake.vpc_id)))
    fake.set_state("failed")  # no StatusMessage
    with pytest.raises(CidrNotAllowed) as raised:
        extend_vpc_cidr(clients, migration)
    assert raised.value.cause == (
        "AWS did not associate 100.64.0.0/16 with vpc-0123456789abcdef0: the association vpc-cidr-assoc-1 is failed "
        "(no status message). Choose another podCidr, or fix what the message names, and run podcidr again."
    )


def test_past_the_ceiling_it_says_where_to_look(fake: FakeEc2) -> None:
    clients = _fake_clients(fake)
    migration = seed_migration(_topology(fake.vpc_id)).model_copy(update={"poll_seconds": 300})
    for _ in range(3):
        migration = extend_vpc_cidr(clients, migration)
    with pytest.raises(CidrNotAllowed) as raised:
        extend_vpc_cidr(clients, migration)
    assert raised.value.cause == (
        "100.64.0.0/16 is still associating on vpc-0123456789abcdef0 (association vpc-cidr-assoc-1) after 4 checks "
        "300s apart: AWS has not made the block usable. Look at the VPC's CIDRs in the console; run podcidr again "
        "once it shows associated (the block will be adopted)."
    )
