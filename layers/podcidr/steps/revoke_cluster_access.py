"""RevokeClusterAccess (DESIGN.md step 13): the access entry EnsureClusterAccess created for the
cluster functions' role is removed at the end of every execution, success or failure, unless the
input's `keepClusterAccess` is true or the entry was there before the execution. A kept entry is
tagged `podcidr:execution: kept`, so that no later execution adopts it (and revokes it at its end) and
no clean-up after an ended execution takes it for that execution's.

The temporary entry is not a change the migration leaves behind: when it is revoked, the calls
EnsureClusterAccess counted for it are taken back from `changes` (and DeleteAccessEntry is not
counted), so a re-run of a migrated cluster still reports 0 changes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.models.migration import Migration
from podcidr.steps.ensure_cluster_access import EXECUTION_TAG, KEPT, OWNER_TAG

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_eks.type_defs import AccessEntryTypeDef


def will_revoke(migration: Migration) -> bool:
    """Whether the access entry is this execution's and goes at its end."""
    access = migration.cluster_access
    return access is not None and access.entry_created and not access.revoked and not migration.keep_cluster_access


def temporary_access_changes(migration: Migration) -> int:
    """The changes counted so far for an access entry that this execution will revoke (not lasting ones)."""
    access = migration.cluster_access
    return access.changes if access is not None and will_revoke(migration) else 0


def revoke_cluster_access(migration: Migration, eks: EKSClient) -> Migration:
    access = migration.cluster_access
    if access is not None and access.entry_created and not access.revoked and migration.keep_cluster_access:
        _mark_kept(migration, eks, access.principal_arn)
        return migration
    if access is None or not will_revoke(migration):
        return migration
    try:
        with transient_faults_retried("eks:DeleteAccessEntry"):
            eks.delete_access_entry(clusterName=migration.cluster_name, principalArn=access.principal_arn)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":  # gone already (a lost response's retry): revoked
            raise
    access.revoked = True
    migration.changes = max(0, migration.changes - access.changes)
    access.changes = 0
    return migration


def _mark_kept(migration: Migration, eks: EKSClient, principal: str) -> None:
    """A migration that is done stays done: an entry that cannot be tagged kept is kept all the same, with a
    warning saying how to tag it (a transient fault is still raised, for the state machine's retry)."""
    entry_arn = "<accessEntryArn from aws eks describe-access-entry>"
    try:
        with transient_faults_retried("eks:DescribeAccessEntry"):
            entry = eks.describe_access_entry(clusterName=migration.cluster_name, principalArn=principal)["accessEntry"]
        entry_arn = entry["accessEntryArn"]
        if mark_kept(eks, migration.cluster_name, entry):
            migration.changes += 1
    except ClientError as error:
        migration.warnings.append(
            f"the access entry of {principal} on cluster {migration.cluster_name} is kept (keepClusterAccess) but "
            f"could not be tagged podcidr:execution=kept ({error_code(error)}: "
            f"{error.response.get('Error', {}).get('Message', '')}); until it is, a later podcidr execution may "
            f"adopt it and revoke it at its end: aws eks tag-resource --resource-arn {entry_arn} "
            f"--tags podcidr:execution=kept"
        )


def mark_kept(eks: EKSClient, cluster: str, entry: AccessEntryTypeDef) -> bool:
    """Tags the entry kept; False if it was already (a retry)."""
    if (entry.get("tags") or {}).get(EXECUTION_TAG) == KEPT:
        return False
    with transient_faults_retried("eks:TagResource"):
        # podcidr:cluster too: the role may tag only with it (template.yaml RetagAnExecutionsAccessEntry)
        eks.tag_resource(resourceArn=entry["accessEntryArn"], tags={OWNER_TAG: cluster, EXECUTION_TAG: KEPT})
    return True
