"""EnsureClusterAccess (DESIGN.md step 2) over botocore-stubbed EKS and STS clients, in milliseconds (`make
mutate-fast`): the principal it names, the refusal of a ConfigMap-only cluster, the entry and policy it
creates (tagged with its execution), adopts (re-tagged) or only uses (not podcidr's, or kept), the changes it
counts, a lost response's retry, an entry deleted under it, and each refusal's message. The same step against
the twin's EKS: test_ensure_cluster_access.py."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from podcidr.errors import ClusterAccessDenied, TransientAwsError
from podcidr.models.migration import ClusterAccess, Migration
from podcidr.steps.ensure_cluster_access import (
    ensure_cluster_access,
    is_execution_tag,
    policy_arn,
    principal_arn,
)
from tests.fixtures.stubbed_aws import all_answered, stubbed
from tests.fixtures.vpc_topology import Topology, seed_migration

CLUSTER = "shop"
ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/podcidr-ClusterFunctionsRole-1AB2C3"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/podcidr-ClusterFunctionsRole-1AB2C3/podcidr-EnsureClusterAccess-9f8e"
ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EDIT = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"
EXECUTION = "arn:aws:states:us-west-2:111122223333:execution:podcidr-migration:run-2"
EARLIER = "arn:aws:states:us-west-2:111122223333:execution:podcidr-migration:run-1"
ENTRY_ARN = (
    f"arn:aws:eks:us-west-2:{ACCOUNT}:access-entry/{CLUSTER}/role/{ACCOUNT}/podcidr-ClusterFunctionsRole-1AB2C3/"
    "a4c7b2e1-3d5f-4e6a-9b8c-0d1e2f3a4b5c"
)
WHEN = datetime.datetime(2026, 11, 30, 9, 0, tzinfo=datetime.UTC)
OWNED = {"podcidr:cluster": CLUSTER}


@pytest.fixture(autouse=True)
def _no_configured_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLUSTER_ROLE_ARN", raising=False)


def _migration(changes: int = 0) -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.cluster_name = CLUSTER
    migration.authentication_mode = "unread"
    migration.changes = changes
    return migration


def _cluster(access_config: dict[str, Any] | None) -> dict[str, Any]:
    """DescribeCluster's answer, as EKS gives it (accessConfig only on a platform version with access entries)."""
    cluster: dict[str, Any] = {
        "name": CLUSTER,
        "arn": f"arn:aws:eks:us-west-2:{ACCOUNT}:cluster/{CLUSTER}",
        "createdAt": WHEN,
        "version": "1.30",
        "endpoint": "https://0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com",
        "roleArn": f"arn:aws:iam::{ACCOUNT}:role/eks-cluster",
        "resourcesVpcConfig": {
            "subnetIds": ["subnet-1", "subnet-2", "subnet-3"],
            "securityGroupIds": [],
            "clusterSecurityGroupId": "sg-0c1a2b3c4d5e6f708",
            "vpcId": "vpc-1",
            "endpointPublicAccess": True,
            "endpointPrivateAccess": True,
            "publicAccessCidrs": ["0.0.0.0/0"],
        },
        "kubernetesNetworkConfig": {"serviceIpv4Cidr": "10.100.0.0/16", "ipFamily": "ipv4"},
        "logging": {"clusterLogging": [{"types": ["api", "audit"], "enabled": False}]},
        "identity": {"oidc": {"issuer": "https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF"}},
        "status": "ACTIVE",
        "certificateAuthority": {"data": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg=="},
        "platformVersion": "eks.8",
        "tags": {},
        "upgradePolicy": {"supportType": "STANDARD"},
    }
    if access_config is not None:
        cluster["accessConfig"] = access_config
    return {"cluster": cluster}


def _mode(mode: str) -> dict[str, Any]:
    return _cluster({"bootstrapClusterCreatorAdminPermissions": True, "authenticationMode": mode})


def _entry(tags: dict[str, str], principal: str = ROLE) -> dict[str, Any]:
    return {
        "accessEntry": {
            "clusterName": CLUSTER,
            "principalArn": principal,
            "kubernetesGroups": [],
            "accessEntryArn": ENTRY_ARN,
            "createdAt": WHEN,
            "modifiedAt": WHEN,
            "tags": tags,
            "username": f"arn:aws:sts::{ACCOUNT}:assumed-role/podcidr-ClusterFunctionsRole-1AB2C3/{{{{SessionName}}}}",
            "type": "STANDARD",
        }
    }


def _associated(policy: str = ADMIN, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "policyArn": policy,
        "accessScope": scope or {"type": "cluster", "namespaces": []},
        "associatedAt": WHEN,
        "modifiedAt": WHEN,
    }


class Eks:
    """The stubbed EKS and STS clients, with the answers EnsureClusterAccess asks for, in its order."""

    def __init__(self, caller: str = SESSION, principal: str = ROLE) -> None:
        self.eks, self.stub = stubbed("eks")
        self.sts, sts_stub = stubbed("sts")
        self.principal = principal
        self.key = {"clusterName": CLUSTER, "principalArn": principal}
        self.sts_stub: Stubber = sts_stub
        self.caller = caller

    def cluster(self, answer: dict[str, Any] | None = None) -> Eks:
        self.stub.add_response("describe_cluster", answer or _mode("API_AND_CONFIG_MAP"), {"name": CLUSTER})
        self.sts_stub.add_response(
            "get_caller_identity", {"UserId": "AROAEXAMPLEID:podcidr", "Account": ACCOUNT, "Arn": self.caller}, {}
        )
        return self

    def found(self, tags: dict[str, str]) -> Eks:
        self.stub.add_response("describe_access_entry", _entry(tags, self.principal), self.key)
        return self

    def not_found(self) -> Eks:
        self.stub.add_client_error(
            "describe_access_entry",
            "ResourceNotFoundException",
            "The specified principalArn could not be found. You can view your available access entries with "
            "'list-access-entries'.",
            404,
            expected_params=self.key,
        )
        return self

    def created(self, tags: dict[str, str]) -> Eks:
        expected = {**self.key, "type": "STANDARD", "tags": tags}
        self.stub.add_response("create_access_entry", _entry(tags, self.principal), expected)
        return self

    def retagged(self, execution: str) -> Eks:
        expected = {"resourceArn": ENTRY_ARN, "tags": {"podcidr:cluster": CLUSTER, "podcidr:execution": execution}}
        self.stub.add_response("tag_resource", {}, expected)
        return self

    def policies(self, *items: dict[str, Any]) -> Eks:
        answer = {**self.key, "associatedAccessPolicies": list(items)}
        self.stub.add_response("list_associated_access_policies", answer, self.key)
        return self

    def associated(self) -> Eks:
        expected = {**self.key, "policyArn": ADMIN, "accessScope": {"type": "cluster"}}
        self.stub.add_response(
            "associate_access_policy", {**self.key, "associatedAccessPolicy": _associated()}, expected
        )
        return self

    def error(self, method: str, code: str, status: int, message: str = "", **expected: Any) -> Eks:
        self.stub.add_client_error(method, code, message, status, expected_params=expected or None)
        return self

    def run(self, migration: Migration, execution: str | None = EXECUTION) -> Migration:
        with all_answered(self.stub), all_answered(self.sts_stub):
            return ensure_cluster_access(migration, self.eks, self.sts, execution)


def _access(migration: Migration) -> ClusterAccess:
    assert migration.cluster_access is not None
    return migration.cluster_access


# --- the principal and the policy -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "configured", "expected"),
    [
        (SESSION, None, ROLE),
        (SESSION, f"arn:aws:iam::{ACCOUNT}:role/apps/podcidr/podcidr-ClusterFunctionsRole-1AB2C3", None),
        (SESSION, f"arn:aws:iam::{ACCOUNT}:role/podcidr-ClusterFunctionsRole-1AB2C3", ROLE),
        (SESSION, f"arn:aws:iam::{ACCOUNT}:role/apps/other-role", ROLE),  # names another role: ignored
        (SESSION, "arn:aws:iam::444455556666:role/apps/podcidr-ClusterFunctionsRole-1AB2C3", ROLE),  # other account
        (SESSION, f"arn:aws:iam::{ACCOUNT}:user/podcidr-ClusterFunctionsRole-1AB2C3", ROLE),  # not a role
        (
            "arn:aws-cn:sts::111122223333:assumed-role/podcidr-fn/s",
            None,
            "arn:aws-cn:iam::111122223333:role/podcidr-fn",
        ),
        (
            f"arn:aws:iam::{ACCOUNT}:user/alice",
            f"arn:aws:iam::{ACCOUNT}:role/alice",
            f"arn:aws:iam::{ACCOUNT}:user/alice",
        ),
        (f"arn:aws:iam::{ACCOUNT}:role/ops/deployer", None, f"arn:aws:iam::{ACCOUNT}:role/ops/deployer"),
    ],
)
def test_the_principal_is_the_callers_role_with_the_configured_path_never_its_session(
    caller: str, configured: str | None, expected: str | None
) -> None:
    assert principal_arn(caller, configured) == (expected or configured)


def test_the_policy_is_cluster_admin_in_the_principals_partition() -> None:
    assert policy_arn(ROLE) == ADMIN
    assert (
        policy_arn("arn:aws-us-gov:iam::111122223333:role/podcidr-fn")
        == "arn:aws-us-gov:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    )


@pytest.mark.parametrize(
    ("value", "names_an_execution"),
    [
        (EXECUTION, True),
        ("arn:aws-us-gov:states:us-gov-west-1:111122223333:execution:podcidr-migration:run-9", True),
        (None, False),
        ("", False),
        ("kept", False),
        ("alice", False),
        ("arn:aws:states:us-west-2:111122223333:stateMachine:podcidr-migration", False),
        ("arn:aws:states:us-west-2:111122223333:execution:", False),
        ("arn:aws:lambda:us-west-2:111122223333:execution:podcidr-migration:run-2", False),
        ("note " + EXECUTION, False),
    ],
)
def test_only_an_execution_arn_is_an_execution_tag(value: str | None, names_an_execution: bool) -> None:
    assert is_execution_tag(value) is names_an_execution


# --- a ConfigMap-only cluster ----------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "mode"), [(_mode("CONFIG_MAP"), "CONFIG_MAP"), (_cluster(None), "CONFIG_MAP")])
def test_a_config_map_only_cluster_is_refused_with_the_way_out_before_any_other_call(
    answer: dict[str, Any], mode: str
) -> None:
    aws = Eks()
    aws.stub.add_response("describe_cluster", answer, {"name": CLUSTER})
    migration = _migration()

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(migration)

    assert raised.value.cause == (
        f"Cluster shop authenticates with the aws-auth ConfigMap only (authenticationMode {mode}), so podcidr "
        "cannot give its functions access to the Kubernetes API. Switch the cluster to access entries with "
        "`aws eks update-cluster-config --name shop --access-config authenticationMode=API_AND_CONFIG_MAP` "
        "(one-way: a cluster cannot go back to CONFIG_MAP; aws-auth entries keep working under "
        "API_AND_CONFIG_MAP), then run podcidr again. Nothing was changed."
    )
    assert migration.authentication_mode == mode
    assert migration.changes == 0 and migration.cluster_access is None


# --- a new entry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["API", "API_AND_CONFIG_MAP"])
def test_a_new_entry_and_policy_are_created_tagged_with_the_execution_and_counted(mode: str) -> None:
    aws = Eks().cluster(_mode(mode)).not_found()
    aws.created({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies().associated()

    migration = aws.run(_migration(changes=3))

    assert migration.authentication_mode == mode
    assert migration.changes == 5
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=True, entry_created=True, changes=2
    )


def test_without_an_execution_the_entry_is_asked_with_its_cluster_tag_only_which_iam_refuses() -> None:
    """Outside a state machine execution (a direct invocation without executionArn) the entry would carry no
    execution's ARN: the role may tag a new entry only with one (template.yaml TagAccessEntryAtCreation), so IAM
    refuses the create, and the refusal says so."""
    denied = "User: arn:aws:sts::111122223333:assumed-role/podcidr-fn/s is not authorized to perform: eks:TagResource"
    aws = Eks().cluster().not_found()
    aws.error("create_access_entry", "AccessDeniedException", 403, denied, **aws.key, type="STANDARD", tags=OWNED)

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(_migration(), execution=None)

    assert raised.value.cause == _denial("eks:CreateAccessEntry", "AccessDeniedException", denied)


def test_the_configured_role_arn_with_its_path_is_the_principal_of_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    with_path = f"arn:aws:iam::{ACCOUNT}:role/apps/podcidr/podcidr-ClusterFunctionsRole-1AB2C3"
    monkeypatch.setenv("CLUSTER_ROLE_ARN", with_path)
    aws = Eks(principal=with_path).cluster().not_found()
    aws.created({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies().associated()

    assert _access(aws.run(_migration())).principal_arn == with_path


def test_an_empty_configured_role_arn_is_no_configured_role(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLUSTER_ROLE_ARN", "")
    aws = Eks().cluster().not_found().created(OWNED).policies().associated()

    assert _access(aws.run(_migration(), execution=None)).principal_arn == ROLE


def test_a_lost_create_response_is_adopted_on_the_retry_and_not_counted() -> None:
    """The first CreateAccessEntry made the entry but its answer was lost: the retry finds it in use."""
    aws = Eks().cluster().not_found()
    aws.error(
        "create_access_entry",
        "ResourceInUseException",
        409,
        "The specified access entry resource is already in use on this cluster.",
        **aws.key,
        type="STANDARD",
        tags={"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION},
    )
    aws.found({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies().associated()

    migration = aws.run(_migration(changes=1))

    assert migration.changes == 2
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=True, entry_created=True, changes=1
    )


def test_a_lost_create_response_whose_policy_is_there_changes_nothing_and_is_still_this_executions() -> None:
    aws = Eks().cluster().not_found()
    aws.error("create_access_entry", "ResourceInUseException", 409, "in use")
    aws.found({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies(_associated())

    migration = aws.run(_migration())

    assert migration.changes == 0
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=False, entry_created=True, changes=0
    )


# --- an entry found --------------------------------------------------------------------------------


def test_a_rerun_finds_its_own_entry_and_policy_and_changes_nothing() -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies(_associated())

    migration = aws.run(_migration(changes=4))

    assert migration.changes == 4
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=False, entry_created=True, changes=0
    )


def test_an_entry_an_ended_execution_left_is_retagged_with_this_one_not_counted() -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER})
    aws.retagged(EXECUTION).policies(_associated(EDIT), _associated())

    migration = aws.run(_migration())

    assert migration.changes == 0  # bookkeeping, not a change to the cluster
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=False, entry_created=True, changes=0
    )


def test_an_adopted_entry_without_the_policy_gets_it_counted() -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER})
    aws.retagged(EXECUTION).policies().associated()

    migration = aws.run(_migration())

    assert migration.changes == 1
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=True, entry_created=True, changes=1
    )


@pytest.mark.parametrize(
    "policies",
    [
        [_associated(scope={"type": "namespace", "namespaces": ["kube-system"]})],
        [_associated(EDIT)],
        [],
    ],
    ids=["admin-in-a-namespace-only", "another-policy", "none"],
)
def test_the_policy_counts_only_at_cluster_scope(policies: list[dict[str, Any]]) -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION})
    aws.policies(*policies).associated()

    assert aws.run(_migration()).changes == 1


@pytest.mark.parametrize(
    "tags",
    [
        {"team": "platform"},
        {},
        {"podcidr:cluster": CLUSTER},
        {"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"},
        {"podcidr:cluster": CLUSTER, "podcidr:execution": "alice"},
        {"podcidr:cluster": "other-cluster", "podcidr:execution": EARLIER},
    ],
    ids=["a-users", "untagged", "no-execution", "kept", "a-users-value", "another-clusters"],
)
def test_an_entry_not_an_executions_with_the_policy_is_used_as_it_is(tags: dict[str, str]) -> None:
    aws = Eks().cluster().found(tags).policies(_associated())

    migration = aws.run(_migration(changes=2))

    assert migration.changes == 2
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=False, entry_created=False, changes=0
    )


def test_an_executions_entry_found_without_an_execution_arn_is_used_not_retagged() -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER}).policies(_associated())

    assert _access(aws.run(_migration(), execution=None)).entry_created is False


@pytest.mark.parametrize(
    "tags",
    [{"team": "platform"}, {"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"}],
    ids=["a-users", "kept"],
)
def test_an_entry_not_an_executions_without_the_policy_is_refused_unchanged_with_the_way_out(
    tags: dict[str, str],
) -> None:
    aws = Eks().cluster().found(tags).policies(_associated(EDIT))
    migration = _migration()

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(migration)

    assert raised.value.cause == (
        f"The access entry of {ROLE} on cluster shop was not made by podcidr (or is kept by keepClusterAccess) and "
        "has no AmazonEKSClusterAdminPolicy at cluster scope; podcidr changes only its own entries. Associate the "
        f"policy (`aws eks associate-access-policy --cluster-name shop --principal-arn {ROLE} --policy-arn "
        f"{ADMIN} --access-scope type=cluster`) or delete that entry, then run podcidr again. Nothing in the VPC "
        "was changed."
    )
    assert migration.changes == 0 and migration.cluster_access is None


@pytest.mark.parametrize("code", ["NotFoundException", "ResourceNotFoundException"])
def test_an_entry_deleted_between_its_read_and_its_retag_is_created_again_as_this_executions(code: str) -> None:
    """An ended execution's clean-up deleted it meanwhile: made anew, not refused."""
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER})
    aws.error("tag_resource", code, 404, f"Resource {ENTRY_ARN} not found")
    aws.created({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies().associated()

    migration = aws.run(_migration(changes=3))

    assert migration.changes == 5
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=True, entry_created=True, changes=2
    )


def test_an_entry_deleted_and_made_again_meanwhile_is_adopted_uncounted() -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER})
    aws.error("tag_resource", "NotFoundException", 404, f"Resource {ENTRY_ARN} not found")
    aws.error("create_access_entry", "ResourceInUseException", 409, "in use")
    aws.found({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION}).policies(_associated())

    migration = aws.run(_migration())

    assert migration.changes == 0
    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=False, entry_created=True, changes=0
    )


# --- refusals and faults ----------------------------------------------------------------------------


def _denial(operation: str, code: str, message: str) -> str:
    return (
        f"{operation} for {ROLE} on cluster shop failed with {code}: {message}. podcidr needs an access entry with "
        "AmazonEKSClusterAdminPolicy for its cluster functions' role. Nothing in the VPC was changed."
    )


DENIED = "User: arn:aws:sts::111122223333:assumed-role/podcidr-fn/s is not authorized to perform this action"


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 403), ("InvalidParameterException", 400), ("InvalidRequestException", 400)],
)
def test_a_refused_create_says_which_call_and_why_and_counts_nothing(code: str, status: int) -> None:
    aws = Eks().cluster().not_found().error("create_access_entry", code, status, DENIED)
    migration = _migration()

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(migration)

    assert raised.value.cause == _denial("eks:CreateAccessEntry", code, DENIED)
    assert migration.changes == 0 and migration.cluster_access is None


@pytest.mark.parametrize(("code", "status"), [("AccessDeniedException", 403), ("InvalidRequestException", 400)])
def test_a_refused_read_of_the_entry_says_so(code: str, status: int) -> None:
    aws = Eks().cluster().error("describe_access_entry", code, status, DENIED)

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(_migration())

    assert raised.value.cause == _denial("eks:DescribeAccessEntry", code, DENIED)


def test_a_refused_retag_says_so_with_the_entrys_principal() -> None:
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER})
    aws.error("tag_resource", "AccessDeniedException", 403, DENIED)

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(_migration())

    assert raised.value.cause == _denial("eks:TagResource", "AccessDeniedException", DENIED)


def test_a_refused_association_says_so_and_counts_only_the_entry() -> None:
    aws = Eks().cluster().not_found().created({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION})
    aws.policies().error("associate_access_policy", "AccessDeniedException", 403, DENIED)
    migration = _migration()

    with pytest.raises(ClusterAccessDenied) as raised:
        aws.run(migration)

    assert raised.value.cause == _denial("eks:AssociateAccessPolicy", "AccessDeniedException", DENIED)
    assert migration.changes == 1  # the entry is made: the retry finds it in use and goes on


def _before(aws: Eks, method: str) -> Eks:
    """The answers EnsureClusterAccess gets before it calls `method`."""
    if method == "describe_cluster":
        return aws
    aws.cluster()
    if method == "tag_resource":
        aws.found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER})
    elif method != "describe_access_entry":
        aws.not_found()
        if method != "create_access_entry":
            aws.created({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION})
        if method == "associate_access_policy":
            aws.policies()
    return aws


@pytest.mark.parametrize(
    ("method", "code", "status"),
    [
        ("describe_cluster", "ResourceNotFoundException", 404),
        ("create_access_entry", "ResourceLimitExceededException", 400),
        ("create_access_entry", "ResourceNotFoundException", 404),
        ("tag_resource", "BadRequestException", 400),
        ("list_associated_access_policies", "AccessDeniedException", 403),
        ("associate_access_policy", "ResourceNotFoundException", 404),
    ],
)
def test_other_errors_are_raised_as_aws_gave_them(method: str, code: str, status: int) -> None:
    aws = _before(Eks(), method).error(method, code, status, "no")

    with pytest.raises(ClientError) as raised:
        aws.run(_migration())

    assert raised.value.response["Error"]["Code"] == code


@pytest.mark.parametrize(
    ("method", "code", "status"),
    [
        ("describe_cluster", "ServiceUnavailableException", 503),
        ("describe_access_entry", "ThrottlingException", 400),
        ("create_access_entry", "ServerException", 500),
        ("tag_resource", "ThrottlingException", 400),
        ("list_associated_access_policies", "ServerException", 500),
        ("associate_access_policy", "ThrottlingException", 400),
    ],
)
def test_transient_faults_are_raised_for_the_state_machines_retry(method: str, code: str, status: int) -> None:
    aws = _before(Eks(), method).error(method, code, status)

    with pytest.raises(TransientAwsError):
        aws.run(_migration())


def test_a_transient_fault_of_sts_is_raised_for_the_retry() -> None:
    aws = Eks()
    aws.stub.add_response("describe_cluster", _mode("API"), {"name": CLUSTER})
    aws.sts_stub.add_client_error("get_caller_identity", "Throttling", "Rate exceeded", 400)

    with pytest.raises(TransientAwsError):
        aws.run(_migration())


# --- an entry made or deleted by someone else between two calls ---------------------------------------


def test_an_entry_someone_else_made_between_the_read_and_the_create_is_not_taken_for_this_executions() -> None:
    """CreateAccessEntry's ResourceInUseException says only that an entry exists: read it again. Not tagged as this
    execution's, it was not made by a lost answer of this execution's create; without the policy it is refused as
    any entry podcidr did not make, and it is never revoked at the end."""
    aws = Eks().cluster().not_found()
    aws.error("create_access_entry", "ResourceInUseException", 409, "in use")
    aws.found({"team": "platform"}).policies()

    with pytest.raises(ClusterAccessDenied) as refused:
        aws.run(_migration())
    assert str(refused.value).startswith(
        f"The access entry of {ROLE} on cluster {CLUSTER} was not made by podcidr (or is kept by keepClusterAccess)"
    )


def test_an_entry_someone_else_made_with_the_policy_between_the_read_and_the_create_is_used_not_revoked() -> None:
    aws = Eks().cluster().not_found()
    aws.error("create_access_entry", "ResourceInUseException", 409, "in use")
    aws.found({"podcidr:cluster": CLUSTER, "podcidr:execution": EARLIER}).policies(_associated())

    migration = aws.run(_migration())

    assert _access(migration) == ClusterAccess(
        principal_arn=ROLE, policy_arn=ADMIN, created=False, entry_created=False, changes=0
    )


def test_an_entry_in_use_then_gone_on_the_second_read_is_a_transient_fault() -> None:
    aws = Eks().cluster().not_found()
    aws.error("create_access_entry", "ResourceInUseException", 409, "in use")
    aws.not_found()

    with pytest.raises(TransientAwsError) as fault:
        aws.run(_migration())
    assert str(fault.value) == (
        f"eks:CreateAccessEntry for {ROLE} on cluster {CLUSTER} answered ResourceInUseException, then "
        "eks:DescribeAccessEntry found no such entry: it was deleted meanwhile; the step's retry makes it again. If "
        "this repeats, look for an entry of the same role under another ARN (with its IAM path): `aws eks "
        f"list-access-entries --cluster-name {CLUSTER}`."
    )


def test_an_entry_deleted_before_its_policies_are_listed_is_a_transient_fault_the_retry_makes_again() -> None:
    """An ended execution's clean-up may delete the entry between its adoption and ListAssociatedAccessPolicies."""
    aws = Eks().cluster().found({"podcidr:cluster": CLUSTER, "podcidr:execution": EXECUTION})
    aws.error(
        "list_associated_access_policies",
        "ResourceNotFoundException",
        404,
        "The specified principalArn could not be found.",
        **aws.key,
    )

    with pytest.raises(TransientAwsError) as fault:
        aws.run(_migration())
    assert str(fault.value) == (
        f"eks:ListAssociatedAccessPolicies found no access entry of {ROLE} on cluster {CLUSTER}: it was deleted "
        "since it was read; the step's retry makes it again."
    )
