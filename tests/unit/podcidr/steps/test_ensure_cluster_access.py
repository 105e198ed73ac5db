"""EnsureClusterAccess against the twin's EKS (access entries are not in moto)."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.errors import ClusterAccessDenied
from podcidr.steps.ensure_cluster_access import ensure_cluster_access, principal_arn
from podcidr.steps.revoke_cluster_access import revoke_cluster_access
from tests.fixtures.twin_aws import TwinAws
from tests.fixtures.vpc_topology import as_state_machine_retries

ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


@pytest.mark.parametrize(
    ("caller", "configured", "expected"),
    [
        (
            "arn:aws:sts::111122223333:assumed-role/podcidr-fn/session-1",
            None,
            "arn:aws:iam::111122223333:role/podcidr-fn",
        ),
        (
            "arn:aws:sts::111122223333:assumed-role/podcidr-fn/session-1",
            "arn:aws:iam::111122223333:role/apps/podcidr/podcidr-fn",
            "arn:aws:iam::111122223333:role/apps/podcidr/podcidr-fn",
        ),
        (
            "arn:aws:sts::111122223333:assumed-role/podcidr-fn/session-1",
            "arn:aws:iam::111122223333:role/other-role",
            "arn:aws:iam::111122223333:role/podcidr-fn",
        ),
        (
            "arn:aws-cn:sts::111122223333:assumed-role/podcidr-fn/s",
            None,
            "arn:aws-cn:iam::111122223333:role/podcidr-fn",
        ),
        ("arn:aws:iam::111122223333:user/alice", None, "arn:aws:iam::111122223333:user/alice"),
    ],
)
def test_principal_is_the_callers_role_never_its_session(caller: str, configured: str | None, expected: str) -> None:
    assert principal_arn(caller, configured) == expected


def test_creates_the_entry_and_policy_then_adopts_them(twin_aws: TwinAws) -> None:
    _forget_entry(twin_aws)
    twin_aws.local.ledger.clear()
    first = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts)

    assert first.cluster_access is not None
    assert first.cluster_access.principal_arn == twin_aws.role_arn
    assert first.cluster_access.policy_arn == ADMIN
    assert first.cluster_access.created is True
    assert first.changes == 2
    assert twin_aws.mutating() == ["eks:CreateAccessEntry", "eks:AssociateAccessPolicy"]
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None and entry.type == "STANDARD"
    assert entry.tags == {"podcidr:cluster": twin_aws.cluster}
    policies = twin_aws.local.eks.access_policies(twin_aws.cluster, twin_aws.role_arn)
    assert [(p.policy_arn, p.access_scope["type"]) for p in policies] == [(ADMIN, "cluster")]

    twin_aws.local.ledger.clear()
    again = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts)
    assert again.changes == 0
    assert again.cluster_access is not None and again.cluster_access.created is False
    assert twin_aws.mutating() == []


def test_a_lost_create_response_converges(twin_aws: TwinAws) -> None:
    _forget_entry(twin_aws)
    twin_aws.fault("eks:CreateAccessEntry", when="after", error="InternalFailure")
    twin_aws.fault("eks:AssociateAccessPolicy", when="after", error="InternalFailure")
    twin_aws.local.ledger.clear()

    result = as_state_machine_retries(
        ensure_cluster_access, twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts
    )

    assert result.cluster_access is not None
    assert [p.policy_arn for p in twin_aws.local.eks.access_policies(twin_aws.cluster, twin_aws.role_arn)] == [ADMIN]
    creates = [e for e in twin_aws.calls() if e.operation == "eks:CreateAccessEntry"]
    # the lost response is retried (by botocore, or by the Task's Retry) and the entry adopted, not duplicated
    assert [e.result for e in creates] == ["InternalFailure", "ResourceInUseException"]


def test_config_map_only_cluster_is_refused_with_the_way_out_and_no_change(twin_aws: TwinAws) -> None:
    extra = twin_aws.local.eks.extra(twin_aws.cluster)
    extra.authentication_mode = "CONFIG_MAP"
    twin_aws.local.ledger.clear()
    try:
        with pytest.raises(ClusterAccessDenied) as raised:
            ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts)
    finally:
        extra.authentication_mode = "API_AND_CONFIG_MAP"
    assert "authenticationMode=API_AND_CONFIG_MAP" in raised.value.cause
    assert f"--name {twin_aws.cluster}" in raised.value.cause
    assert "one-way" in raised.value.cause
    assert twin_aws.mutating() == []


def _forget_entry(twin_aws: TwinAws) -> None:
    twin_aws.local.eks.extra(twin_aws.cluster).access_entries.pop(twin_aws.role_arn, None)


def test_the_entry_this_execution_created_is_revoked_and_uncounted(twin_aws: TwinAws) -> None:
    _forget_entry(twin_aws)
    ensured = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts)
    assert ensured.cluster_access is not None and ensured.cluster_access.entry_created is True
    twin_aws.local.ledger.clear()

    revoked = revoke_cluster_access(ensured, twin_aws.clients.eks)

    assert revoked.cluster_access is not None and revoked.cluster_access.revoked is True
    assert twin_aws.mutating() == ["eks:DeleteAccessEntry"]
    assert twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn) is None
    assert revoked.changes == 0  # the temporary entry is not a change the migration leaves
    twin_aws.local.ledger.clear()
    assert revoke_cluster_access(revoked, twin_aws.clients.eks).cluster_access.revoked is True  # type: ignore[union-attr]
    assert twin_aws.mutating() == []


def test_an_entry_that_existed_before_or_asked_to_be_kept_stays(twin_aws: TwinAws) -> None:
    _forget_entry(twin_aws)
    ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts)
    found = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts)
    assert found.cluster_access is not None and found.cluster_access.entry_created is False
    twin_aws.local.ledger.clear()
    assert revoke_cluster_access(found, twin_aws.clients.eks).cluster_access.revoked is False  # type: ignore[union-attr]

    _forget_entry(twin_aws)
    first = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:keeps"
    kept = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, first)
    kept.keep_cluster_access = True
    assert revoke_cluster_access(kept, twin_aws.clients.eks).cluster_access.revoked is False  # type: ignore[union-attr]
    assert twin_aws.mutating() == ["eks:CreateAccessEntry", "eks:AssociateAccessPolicy", "eks:TagResource"]
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None and entry.tags == {"podcidr:cluster": twin_aws.cluster, "podcidr:execution": "kept"}

    # failed before: the next run adopted the kept entry and revoked it at its end (DESIGN step 13: an
    # entry that was there before the execution stays)
    twin_aws.local.ledger.clear()
    later = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, first + "-2")
    assert later.cluster_access is not None and later.cluster_access.entry_created is False
    assert revoke_cluster_access(later, twin_aws.clients.eks).cluster_access.revoked is False  # type: ignore[union-attr]
    assert twin_aws.mutating() == []
    assert entry.tags == {"podcidr:cluster": twin_aws.cluster, "podcidr:execution": "kept"}


def test_the_entry_it_creates_names_the_execution_for_the_clean_up_after_a_stop(twin_aws: TwinAws) -> None:
    """ExecutionEnded's clean-up of a stopped execution revokes the entry only if that execution made it."""
    execution = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:run-1"
    _forget_entry(twin_aws)
    ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, execution)
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None
    assert entry.tags == {"podcidr:cluster": twin_aws.cluster, "podcidr:execution": execution}

    # a newer execution that finds it (the first one stopped, its lock taken over) makes it its own, so
    # the ended one's clean-up leaves it alone; and removes it at its own end
    later = ensure_cluster_access(
        twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, execution + "-later"
    )
    assert entry.tags == {"podcidr:cluster": twin_aws.cluster, "podcidr:execution": execution + "-later"}
    assert later.cluster_access is not None and later.cluster_access.entry_created is True
    assert later.changes == 0  # bookkeeping, not a change to the cluster
    twin_aws.local.ledger.clear()
    again = ensure_cluster_access(
        twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, execution + "-later"
    )
    assert again.cluster_access is not None and again.cluster_access.entry_created is True
    assert twin_aws.mutating() == []  # a retry: tagged already


def test_an_entry_podcidr_did_not_make_is_never_claimed(twin_aws: TwinAws) -> None:
    _forget_entry(twin_aws)
    twin_aws.local.admin_session().client("eks").create_access_entry(
        clusterName=twin_aws.cluster, principalArn=twin_aws.role_arn, type="STANDARD", tags={"team": "platform"}
    )
    twin_aws.local.ledger.clear()
    # failed before: podcidr associated its policy with the user's entry (ClusterFunctionsRole may no longer
    # change an entry that is not an execution's: template.yaml ChangeAnExecutionsAccessEntry)
    with pytest.raises(ClusterAccessDenied, match=r"was not made by podcidr.*associate-access-policy"):
        ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, "arn:run-3")
    assert twin_aws.mutating() == []
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None and entry.tags == {"team": "platform"} and not entry.policies

    twin_aws.local.admin_session().client("eks").associate_access_policy(
        clusterName=twin_aws.cluster, principalArn=twin_aws.role_arn, policyArn=ADMIN, accessScope={"type": "cluster"}
    )
    found = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, "arn:run-3")
    assert found.cluster_access is not None and found.cluster_access.entry_created is False
    assert twin_aws.mutating() == []
    assert entry.tags == {"team": "platform"}
    _forget_entry(twin_aws)


@pytest.mark.parametrize(
    "tags", [{"podcidr:cluster": "eksworkshop"}, {"podcidr:cluster": "eksworkshop", "podcidr:execution": "alice"}]
)
def test_a_podcidr_tagged_entry_naming_no_execution_is_used_not_retagged(
    twin_aws: TwinAws, tags: dict[str, str]
) -> None:
    """Only an entry tagged with an execution's ARN is adopted: the role may re-tag no other."""
    _forget_entry(twin_aws)
    admin = twin_aws.local.admin_session().client("eks")
    admin.create_access_entry(clusterName=twin_aws.cluster, principalArn=twin_aws.role_arn, type="STANDARD", tags=tags)
    admin.associate_access_policy(
        clusterName=twin_aws.cluster, principalArn=twin_aws.role_arn, policyArn=ADMIN, accessScope={"type": "cluster"}
    )
    twin_aws.local.ledger.clear()
    execution = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:run-4"
    found = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, execution)
    assert found.cluster_access is not None and found.cluster_access.entry_created is False
    assert twin_aws.mutating() == []
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None and entry.tags == tags
    _forget_entry(twin_aws)


def test_an_entry_deleted_between_its_read_and_its_adoption_is_created_again(twin_aws: TwinAws) -> None:
    """The ended execution's clean-up may delete the entry right after this execution read it: TagResource
    then finds nothing (ResourceNotFoundException), and the entry is made anew, not refused."""
    execution = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:run-1"
    _forget_entry(twin_aws)
    ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, execution)
    eks = twin_aws.clients.eks
    describe = eks.describe_access_entry

    def read_then_deleted(**kwargs: Any) -> Any:
        found = describe(**kwargs)
        _forget_entry(twin_aws)  # the clean-up's DeleteAccessEntry lands now
        return found

    eks.describe_access_entry = read_then_deleted  # type: ignore[method-assign]
    try:
        later = ensure_cluster_access(twin_aws.migration(), eks, twin_aws.clients.sts, execution + "-later")
    finally:
        eks.describe_access_entry = describe  # type: ignore[method-assign]
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None
    assert entry.tags == {"podcidr:cluster": twin_aws.cluster, "podcidr:execution": execution + "-later"}
    assert later.cluster_access is not None and later.cluster_access.entry_created is True


def test_an_entry_asked_to_be_kept_that_cannot_be_tagged_is_kept_with_a_warning(twin_aws: TwinAws) -> None:
    """A finished migration does not end FAILED because the kept tag was refused (review finding)."""
    _forget_entry(twin_aws)
    execution = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:keeps-untagged"
    kept = ensure_cluster_access(twin_aws.migration(), twin_aws.clients.eks, twin_aws.clients.sts, execution)
    kept.keep_cluster_access = True
    twin_aws.fault("eks:TagResource", error="AccessDeniedException")
    twin_aws.local.ledger.clear()

    revoked = revoke_cluster_access(kept, twin_aws.clients.eks)

    assert revoked.cluster_access is not None and revoked.cluster_access.revoked is False
    entry = twin_aws.local.eks.access_entry(twin_aws.cluster, twin_aws.role_arn)
    assert entry is not None and entry.tags["podcidr:execution"] == execution
    (warning,) = revoked.warnings
    assert "could not be tagged podcidr:execution=kept (AccessDeniedException" in warning
    assert f"aws eks tag-resource --resource-arn {entry.arn} --tags podcidr:execution=kept" in warning
