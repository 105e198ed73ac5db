"""RevokeClusterAccess (DESIGN.md step 13) over a botocore-stubbed EKS client, in milliseconds (`make
mutate-fast`): the entry this execution made is deleted and its changes taken back; one kept
(keepClusterAccess) is tagged `kept`, or kept with a warning saying how when the tag is refused; one that was
there before is left alone; a retry changes nothing. The same step against the twin's EKS:
test_ensure_cluster_access.py."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from podcidr.errors import TransientAwsError
from podcidr.models.migration import ClusterAccess, Migration
from podcidr.steps.revoke_cluster_access import mark_kept, revoke_cluster_access, temporary_access_changes, will_revoke
from tests.fixtures.stubbed_aws import all_answered, stubbed
from tests.fixtures.vpc_topology import Topology, seed_migration

CLUSTER = "shop"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/podcidr-ClusterFunctionsRole-1AB2C3"
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EXECUTION = "arn:aws:states:us-west-2:111122223333:execution:podcidr-migration:run-2"
ENTRY_ARN = (
    f"arn:aws:eks:us-west-2:{ACCOUNT}:access-entry/{CLUSTER}/role/{ACCOUNT}/podcidr-ClusterFunctionsRole-1AB2C3/"
    "a4c7b2e1-3d5f-4e6a-9b8c-0d1e2f3a4b5c"
)
WHEN = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)
KEY = {"clusterName": CLUSTER, "principalArn": ROLE}
KEPT_TAGS = {"resourceArn": ENTRY_ARN, "tags": {"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"}}
DENIED = "User: arn:aws:sts::111122223333:assumed-role/podcidr-fn/s is not authorized to perform: eks:TagResource"


def _migration(
    *, entry_created: bool = True, revoked: bool = False, keep: bool = False, changes: int = 7, counted: int = 2
) -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.cluster_name = CLUSTER
    migration.changes = changes
    migration.keep_cluster_access = keep
    migration.cluster_access = ClusterAccess(
        principal_arn=ROLE,
        policy_arn=ADMIN,
        created=counted > 0,
        entry_created=entry_created,
        changes=counted,
        revoked=revoked,
    )
    return migration


def _entry(tags: dict[str, str]) -> dict[str, Any]:
    return {
        "clusterName": CLUSTER,
        "principalArn": ROLE,
        "kubernetesGroups": [],
        "accessEntryArn": ENTRY_ARN,
        "createdAt": WHEN,
        "modifiedAt": WHEN,
        "username": f"arn:aws:sts::{ACCOUNT}:assumed-role/podcidr-ClusterFunctionsRole-1AB2C3/{{{{SessionName}}}}",
        "tags": tags,
        "type": "STANDARD",
    }


def _access(migration: Migration) -> ClusterAccess:
    assert migration.cluster_access is not None
    return migration.cluster_access


# --- whether it goes --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "goes"),
    [
        ({}, True),
        ({"entry_created": False}, False),
        ({"revoked": True}, False),
        ({"keep": True}, False),
    ],
    ids=["made-by-this-execution", "there-before", "revoked-already", "kept"],
)
def test_only_this_executions_entry_not_kept_nor_revoked_goes_with_its_changes(
    settings: dict[str, bool], goes: bool
) -> None:
    migration = _migration(**settings)
    assert will_revoke(migration) is goes
    assert temporary_access_changes(migration) == (2 if goes else 0)


def test_no_entry_recorded_means_nothing_to_revoke() -> None:
    migration = _migration()
    migration.cluster_access = None
    assert will_revoke(migration) is False
    assert temporary_access_changes(migration) == 0

    eks, stub = stubbed("eks")
    with all_answered(stub):
        assert revoke_cluster_access(migration, eks).changes == 7


# --- the entry this execution made --------------------------------------------------------------------


def test_the_entry_this_execution_made_is_deleted_and_its_changes_taken_back() -> None:
    eks, stub = stubbed("eks")
    stub.add_response("delete_access_entry", {}, KEY)
    migration = _migration(changes=7, counted=2)

    with all_answered(stub):
        revoked = revoke_cluster_access(migration, eks)

    assert revoked.changes == 5
    assert _access(revoked) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=True, entry_created=True, changes=0, revoked=True
    )

    # a retry (the answer to the state machine was lost) finds it revoked: no call, nothing taken back twice
    with all_answered(stub):
        assert revoke_cluster_access(revoked, eks).changes == 5


def test_changes_taken_back_never_go_below_zero() -> None:
    eks, stub = stubbed("eks")
    stub.add_response("delete_access_entry", {}, KEY)

    with all_answered(stub):
        assert revoke_cluster_access(_migration(changes=1, counted=2), eks).changes == 0


def test_an_entry_gone_already_is_revoked() -> None:
    """A lost DeleteAccessEntry answer: the retry finds nothing, and the entry counts as revoked."""
    eks, stub = stubbed("eks")
    stub.add_client_error(
        "delete_access_entry",
        "ResourceNotFoundException",
        "The specified principalArn could not be found. You can view your available access entries with "
        "'list-access-entries'.",
        404,
        expected_params=KEY,
    )

    with all_answered(stub):
        revoked = revoke_cluster_access(_migration(changes=3, counted=1), eks)

    assert revoked.changes == 2
    assert _access(revoked).revoked is True and _access(revoked).changes == 0


def test_a_refused_delete_is_raised_with_nothing_taken_back() -> None:
    eks, stub = stubbed("eks")
    stub.add_client_error("delete_access_entry", "AccessDeniedException", DENIED, 403, expected_params=KEY)
    migration = _migration(changes=7, counted=2)

    with all_answered(stub), pytest.raises(ClientError, match="AccessDeniedException"):
        revoke_cluster_access(migration, eks)

    assert migration.changes == 7
    assert _access(migration).revoked is False and _access(migration).changes == 2


def test_a_transient_fault_of_the_delete_is_raised_for_the_retry() -> None:
    eks, stub = stubbed("eks")
    stub.add_client_error("delete_access_entry", "ServerException", "Internal failure", 500, expected_params=KEY)
    migration = _migration()

    with all_answered(stub), pytest.raises(TransientAwsError):
        revoke_cluster_access(migration, eks)

    assert _access(migration).revoked is False


@pytest.mark.parametrize(("entry_created", "revoked"), [(False, False), (True, True)])
def test_an_entry_there_before_or_revoked_already_is_left_alone_even_if_kept(
    entry_created: bool, revoked: bool
) -> None:
    for keep in (False, True):
        eks, stub = stubbed("eks")
        migration = _migration(entry_created=entry_created, revoked=revoked, keep=keep, changes=4)
        with all_answered(stub):
            assert revoke_cluster_access(migration, eks).changes == 4
        assert _access(migration).revoked is revoked


# --- an entry kept (keepClusterAccess) ---------------------------------------------------------------


def test_a_kept_entry_is_tagged_kept_and_counted_not_deleted() -> None:
    eks, stub = stubbed("eks")
    tags = {"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}
    stub.add_response("describe_access_entry", {"accessEntry": _entry(tags)}, KEY)
    stub.add_response("tag_resource", {}, KEPT_TAGS)
    migration = _migration(keep=True, changes=7, counted=2)

    with all_answered(stub):
        kept = revoke_cluster_access(migration, eks)

    assert kept.changes == 8  # the kept entry and its tag are changes the migration leaves
    assert _access(kept).revoked is False and _access(kept).changes == 2
    assert kept.warnings == []


def test_a_kept_entry_tagged_kept_already_is_not_tagged_again() -> None:
    eks, stub = stubbed("eks")
    stub.add_response("describe_access_entry", {"accessEntry": _entry({"podcidr:execution": "kept"})}, KEY)
    migration = _migration(keep=True, changes=7)

    with all_answered(stub):
        assert revoke_cluster_access(migration, eks).changes == 7
    assert migration.warnings == []


@pytest.mark.parametrize(
    "tags",
    [{"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}, {"podcidr:cluster": CLUSTER}, {}],
    ids=["tagged-with-the-execution", "without-execution-tag", "untagged"],
)
def test_a_kept_entry_whose_tag_is_refused_is_kept_with_a_warning_saying_how_to_tag_it(tags: dict[str, str]) -> None:
    """The role may tag `kept` only an entry tagged with an execution's ARN (template.yaml
    RetagAnExecutionsAccessEntry): IAM refuses the others, as it refuses any tag where the role lacks the right."""
    eks, stub = stubbed("eks")
    stub.add_response("describe_access_entry", {"accessEntry": _entry(tags)}, KEY)
    stub.add_client_error("tag_resource", "AccessDeniedException", DENIED, 403, expected_params=KEPT_TAGS)
    migration = _migration(keep=True, changes=7)

    with all_answered(stub):
        kept = revoke_cluster_access(migration, eks)

    assert kept.changes == 7
    assert _access(kept).revoked is False
    assert kept.warnings == [
        f"the access entry of {ROLE} on cluster shop is kept (keepClusterAccess) but could not be tagged "
        f"podcidr:execution=kept (AccessDeniedException: {DENIED}); until it is, a later podcidr execution may "
        f"adopt it and revoke it at its end: aws eks tag-resource --resource-arn {ENTRY_ARN} "
        "--tags podcidr:execution=kept"
    ]


def test_a_kept_entry_that_cannot_be_read_is_kept_with_a_warning_naming_where_its_arn_is() -> None:
    eks, stub = stubbed("eks")
    stub.add_client_error("describe_access_entry", "AccessDeniedException", "not authorized", 403, expected_params=KEY)
    migration = _migration(keep=True, changes=7)

    with all_answered(stub):
        kept = revoke_cluster_access(migration, eks)

    assert kept.changes == 7
    assert kept.warnings == [
        f"the access entry of {ROLE} on cluster shop is kept (keepClusterAccess) but could not be tagged "
        "podcidr:execution=kept (AccessDeniedException: not authorized); until it is, a later podcidr execution "
        "may adopt it and revoke it at its end: aws eks tag-resource --resource-arn <accessEntryArn from aws eks "
        "describe-access-entry> --tags podcidr:execution=kept"
    ]


@pytest.mark.parametrize("method", ["describe_access_entry", "tag_resource"])
def test_a_transient_fault_while_marking_kept_is_raised_for_the_retry_not_warned(method: str) -> None:
    eks, stub = stubbed("eks")
    if method == "tag_resource":
        stub.add_response("describe_access_entry", {"accessEntry": _entry({})}, KEY)
    stub.add_client_error(method, "ThrottlingException", "Rate exceeded", 400)
    migration = _migration(keep=True, changes=7)

    with all_answered(stub), pytest.raises(TransientAwsError):
        revoke_cluster_access(migration, eks)

    assert migration.warnings == [] and migration.changes == 7


def test_mark_kept_says_whether_it_tagged() -> None:
    eks, stub = stubbed("eks")
    stub.add_response("tag_resource", {}, KEPT_TAGS)

    with all_answered(stub):
        assert mark_kept(eks, CLUSTER, _entry({"podcidr:cluster": CLUSTER})) is True  # type: ignore[arg-type]
        assert mark_kept(eks, CLUSTER, _entry({"podcidr:execution": "kept"})) is False  # type: ignore[arg-type]
