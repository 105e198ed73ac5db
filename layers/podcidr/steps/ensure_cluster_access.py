"""EnsureClusterAccess (DESIGN.md step 2): an access entry and an access policy for the role that
podcidr's cluster functions run as, before any VPC change.

Which role: the caller's own (STS GetCallerIdentity), since every function that talks to the
Kubernetes API shares that role (template.yaml `ClusterFunctionsRole`). An assumed-role ARN
(arn:aws:sts::<acct>:assumed-role/<name>/<session>) names no path; when CLUSTER_ROLE_ARN (the
role's full ARN, path included) is set and names the same role, it is used instead.

Which policy: AmazonEKSClusterAdminPolicy at cluster scope. The steps create and patch ENIConfigs
(cluster-scoped custom objects), read the ENIConfig CRD, patch the kube-system/aws-node DaemonSet,
create and delete a namespace: AmazonEKSAdminPolicy (the `admin` ClusterRole) grants none of the
cluster-scoped writes, and AmazonEKSEditPolicy / AmazonEKSViewPolicy less. A narrower choice would
be a custom ClusterRole bound through the entry's kubernetesGroups, which podcidr would have to
create inside the cluster before it can reach it.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import ClusterAccessDenied, TransientAwsError
from podcidr.models.migration import ClusterAccess, Migration

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_eks.type_defs import AccessEntryTypeDef
    from mypy_boto3_sts import STSClient

POLICY_NAME = "AmazonEKSClusterAdminPolicy"
OWNER_TAG = "podcidr:cluster"
EXECUTION_TAG = "podcidr:execution"
KEPT = "kept"
"""EXECUTION_TAG's value on an entry an execution kept (keepClusterAccess): never adopted, never revoked."""
"""The ARN of the execution the entry is for: the one that created it, or the last one that adopted it
(a podcidr entry an earlier run kept or left behind is re-tagged by the execution that finds it).
ExecutionEnded's clean-up of an execution removes only an entry still tagged with its ARN, so an
ended execution never takes away the entry a newer one relies on."""
_EXECUTION_ARN = re.compile(r"^arn:[^:]+:states:[^:]*:\d*:execution:.+$")
_ASSUMED_ROLE = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d+):assumed-role/(?P<name>[^/]+)/.+$")
_ROLE = re.compile(r"^arn:(?P<partition>[^:]+):iam::(?P<account>\d+):role/(?:.*/)?(?P<name>[^/]+)$")


def principal_arn(caller_arn: str, configured_role_arn: str | None = None) -> str:
    """The IAM principal an access entry names for the caller (never an STS session ARN)."""
    assumed = _ASSUMED_ROLE.match(caller_arn)
    if not assumed:
        return caller_arn  # an IAM user or role ARN is a principal as it is
    if configured_role_arn:
        role = _ROLE.match(configured_role_arn)
        if role and role["name"] == assumed["name"] and role["account"] == assumed["account"]:
            return configured_role_arn
    return f"arn:{assumed['partition']}:iam::{assumed['account']}:role/{assumed['name']}"


def is_execution_tag(value: str | None) -> bool:
    """Whether an entry's EXECUTION_TAG names an execution: only such an entry is podcidr's to re-tag,
    change or delete (template.yaml ChangeAnExecutionsAccessEntry); not `kept`, not a user's value."""
    return value is not None and _EXECUTION_ARN.match(value) is not None


def policy_arn(principal: str) -> str:
    partition = principal.split(":")[1]
    return f"arn:{partition}:eks::aws:cluster-access-policy/{POLICY_NAME}"


def _switch_hint(cluster_name: str) -> str:
    return (
        f"Switch the cluster to access entries with `aws eks update-cluster-config --name {cluster_name} "
        "--access-config authenticationMode=API_AND_CONFIG_MAP` (one-way: a cluster cannot go back to "
        "CONFIG_MAP; aws-auth entries keep working under API_AND_CONFIG_MAP), then run podcidr again. "
        "Nothing was changed."
    )


def ensure_cluster_access(
    migration: Migration, eks: EKSClient, sts: STSClient, execution_arn: str | None = None
) -> Migration:
    name = migration.cluster_name
    with transient_faults_retried("eks:DescribeCluster"):
        cluster = eks.describe_cluster(name=name)["cluster"]
    mode = cluster.get("accessConfig", {}).get("authenticationMode", "CONFIG_MAP")
    migration.authentication_mode = mode
    if mode not in ("API", "API_AND_CONFIG_MAP"):
        raise ClusterAccessDenied(
            f"Cluster {name} authenticates with the aws-auth ConfigMap only (authenticationMode {mode}), "
            "so podcidr cannot give its functions access to the Kubernetes API. " + _switch_hint(name)
        )

    with transient_faults_retried("sts:GetCallerIdentity"):
        caller = sts.get_caller_identity()["Arn"]
    principal = principal_arn(caller, os.environ.get("CLUSTER_ROLE_ARN") or None)
    policy = policy_arn(principal)
    created = False
    counted = 0

    try:
        with transient_faults_retried("eks:DescribeAccessEntry"):
            found = eks.describe_access_entry(clusterName=name, principalArn=principal)["accessEntry"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise _denied(name, principal, "eks:DescribeAccessEntry", error) from error
        entry_created = True  # not there before: this execution makes it (a lost response's retry included)
        if _create_entry(eks, name, principal, execution_arn):
            migration.changes += 1
            counted += 1
            created = True
        else:
            entry_created = _made_meanwhile_by_this_execution(eks, name, principal, execution_arn)
    else:
        try:
            entry_created = _adopt_entry(eks, found, name, execution_arn)
        except _EntryGone:
            # deleted since it was read (an ended execution's clean-up): made anew, as this execution's
            entry_created = True
            if _create_entry(eks, name, principal, execution_arn):
                migration.changes += 1
                counted += 1
                created = True
            else:
                entry_created = _made_meanwhile_by_this_execution(eks, name, principal, execution_arn)

    try:
        with transient_faults_retried("eks:ListAssociatedAccessPolicies"):
            associated = eks.list_associated_access_policies(clusterName=name, principalArn=principal)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise
        raise TransientAwsError(
            f"eks:ListAssociatedAccessPolicies found no access entry of {principal} on cluster {name}: it was "
            "deleted since it was read; the step's retry makes it again."
        ) from error
    has_policy = any(
        item["policyArn"] == policy and item.get("accessScope", {}).get("type") == "cluster"
        for item in associated.get("associatedAccessPolicies", [])
    )
    if not has_policy and not entry_created:
        raise ClusterAccessDenied(
            f"The access entry of {principal} on cluster {name} was not made by podcidr (or is kept by "
            f"keepClusterAccess) and has no {POLICY_NAME} at cluster scope; podcidr changes only its own entries. "
            f"Associate the policy (`aws eks associate-access-policy --cluster-name {name} --principal-arn "
            f"{principal} --policy-arn {policy} --access-scope type=cluster`) or delete that entry, then run "
            "podcidr again. Nothing in the VPC was changed."
        )
    if not has_policy:
        try:
            with transient_faults_retried("eks:AssociateAccessPolicy"):
                eks.associate_access_policy(
                    clusterName=name, principalArn=principal, policyArn=policy, accessScope={"type": "cluster"}
                )
        except ClientError as error:
            raise _denied(name, principal, "eks:AssociateAccessPolicy", error) from error
        migration.changes += 1
        counted += 1
        created = True

    migration.cluster_access = ClusterAccess(
        principal_arn=principal, policy_arn=policy, created=created, entry_created=entry_created, changes=counted
    )
    return migration


def _create_entry(eks: EKSClient, name: str, principal: str, execution_arn: str | None) -> bool:
    tags = {OWNER_TAG: name, **({EXECUTION_TAG: execution_arn} if execution_arn else {})}
    try:
        with transient_faults_retried("eks:CreateAccessEntry"):
            eks.create_access_entry(clusterName=name, principalArn=principal, type="STANDARD", tags=tags)
    except ClientError as error:
        if error_code(error) == "ResourceInUseException":
            return False  # created meanwhile (a lost response of an earlier attempt): adopt it
        raise _denied(name, principal, "eks:CreateAccessEntry", error) from error
    return True


def _made_meanwhile_by_this_execution(eks: EKSClient, name: str, principal: str, execution_arn: str | None) -> bool:
    """CreateAccessEntry answered ResourceInUseException: an entry exists that was not there when read. It is this
    execution's (a lost answer of an earlier attempt of its create) only if it carries the tags that create sends;
    else someone else made it meanwhile, and it is treated as any entry podcidr did not make."""
    try:
        with transient_faults_retried("eks:DescribeAccessEntry"):
            entry = eks.describe_access_entry(clusterName=name, principalArn=principal)["accessEntry"]
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            raise _denied(name, principal, "eks:DescribeAccessEntry", error) from error
        raise TransientAwsError(
            f"eks:CreateAccessEntry for {principal} on cluster {name} answered ResourceInUseException, then "
            "eks:DescribeAccessEntry found no such entry: it was deleted meanwhile; the step's retry makes it again. "
            f"If this repeats, look for an entry of the same role under another ARN (with its IAM path): `aws eks "
            f"list-access-entries --cluster-name {name}`."
        ) from error
    tags = entry.get("tags") or {}
    return tags.get(OWNER_TAG) == name and tags.get(EXECUTION_TAG) == execution_arn


def _adopt_entry(eks: EKSClient, entry: AccessEntryTypeDef, name: str, execution_arn: str | None) -> bool:
    """A podcidr entry found, left by an execution that ended: this execution's from now on, tagged with
    its ARN, revoked at its end. An entry podcidr did not make, one kept (keepClusterAccess), or one whose
    execution tag names no execution, is left as it is (the role may not change it: template.yaml)."""
    tags = entry.get("tags") or {}
    if tags.get(OWNER_TAG) != name or not execution_arn or not is_execution_tag(tags.get(EXECUTION_TAG)):
        return False
    if tags.get(EXECUTION_TAG) != execution_arn:
        try:
            with transient_faults_retried("eks:TagResource"):
                # podcidr:cluster too: the role may tag only with it (template.yaml RetagAnExecutionsAccessEntry)
                eks.tag_resource(
                    resourceArn=entry["accessEntryArn"], tags={OWNER_TAG: name, EXECUTION_TAG: execution_arn}
                )
        except ClientError as error:
            if error_code(error) in ("NotFoundException", "ResourceNotFoundException"):
                raise _EntryGone from error
            raise _denied(name, entry.get("principalArn", "-"), "eks:TagResource", error) from error
    return True


class _EntryGone(Exception):
    """The entry read a moment ago is gone (EKS TagResource answers NotFoundException)."""


def _denied(name: str, principal: str, operation: str, error: ClientError) -> ClusterAccessDenied | ClientError:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", "")
    if code in ("AccessDeniedException", "InvalidParameterException", "InvalidRequestException"):
        return ClusterAccessDenied(
            f"{operation} for {principal} on cluster {name} failed with {code}: {message}. "
            "podcidr needs an access entry with AmazonEKSClusterAdminPolicy for its cluster functions' role. "
            "Nothing in the VPC was changed."
        )
    return error
