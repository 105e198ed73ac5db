"""ClusterFunctionsRole and access entries, as the twin's IAM evaluates template.yaml (aws:ResourceTag/* from
the entry's tags in the twin's EKS, aws:RequestTag/* and aws:TagKeys from the request): the role changes,
re-tags or deletes only an entry tagged with an execution's ARN, never an admin's entry for the same role
nor one kept by keepClusterAccess."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

ACCOUNT = "123456789012"
CLUSTER = "eksworkshop"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ClusterFunctionsRole"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
RUN = f"arn:aws:states:ap-southeast-1:{ACCOUNT}:execution:podcidr-migration:run-1"
LATER = f"arn:aws:states:ap-southeast-1:{ACCOUNT}:execution:podcidr-migration:run-2"
NOT_PODCIDRS = {
    "untagged": {},
    "kept": {"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"},
    "a user's tags": {"team": "platform"},
    "a user's podcidr tags": {"podcidr:cluster": CLUSTER, "podcidr:execution": "alice"},
}


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin(parse_scenario({}), components=[]) as running:
        yield running


@pytest.fixture
def admin(twin: Twin) -> Iterator[Any]:
    eks = twin.aws.admin_session().client("eks")
    yield eks
    if ROLE in eks.list_access_entries(clusterName=CLUSTER)["accessEntries"]:
        eks.delete_access_entry(clusterName=CLUSTER, principalArn=ROLE)


@pytest.fixture
def role(twin: Twin) -> Any:
    return twin.aws.workflow_session(ROLE).client("eks")


def _entry(admin: Any, tags: dict[str, str]) -> str:
    found = admin.create_access_entry(clusterName=CLUSTER, principalArn=ROLE, **({"tags": tags} if tags else {}))
    return str(found["accessEntry"]["accessEntryArn"])


def _refused(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as refused:
        call(**kwargs)
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    return str(refused.value)


@pytest.mark.parametrize("tags", NOT_PODCIDRS.values(), ids=NOT_PODCIDRS.keys())
def test_the_role_may_not_delete_retag_or_change_an_entry_that_is_not_an_executions(
    admin: Any, role: Any, tags: dict[str, str]
) -> None:
    arn = _entry(admin, tags)
    assert "eks:DeleteAccessEntry" in _refused(role.delete_access_entry, clusterName=CLUSTER, principalArn=ROLE)
    if "podcidr:execution" in tags:
        assert "eks:TagResource" in _refused(
            role.tag_resource, resourceArn=arn, tags={"podcidr:cluster": CLUSTER, "podcidr:execution": RUN}
        )
    # else the role may tag it with an execution (TagAccessEntryAtCreation: EKS authorizes a create's tags as
    # TagResource on an entry with no podcidr tag yet, and no condition tells the create from a later call)
    _refused(role.tag_resource, resourceArn=arn, tags={"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"})
    _refused(
        role.associate_access_policy,
        clusterName=CLUSTER,
        principalArn=ROLE,
        policyArn=ADMIN_POLICY,
        accessScope={"type": "cluster"},
    )
    found = admin.describe_access_entry(clusterName=CLUSTER, principalArn=ROLE)["accessEntry"]
    assert found.get("tags", {}) == tags
    assert role.describe_access_entry(clusterName=CLUSTER, principalArn=ROLE)["accessEntry"]["accessEntryArn"] == arn


def test_the_role_creates_adopts_keeps_and_deletes_an_executions_entry(admin: Any, role: Any) -> None:
    role.create_access_entry(
        clusterName=CLUSTER, principalArn=ROLE, tags={"podcidr:cluster": CLUSTER, "podcidr:execution": RUN}
    )
    role.associate_access_policy(
        clusterName=CLUSTER, principalArn=ROLE, policyArn=ADMIN_POLICY, accessScope={"type": "cluster"}
    )
    arn = role.describe_access_entry(clusterName=CLUSTER, principalArn=ROLE)["accessEntry"]["accessEntryArn"]
    role.tag_resource(resourceArn=arn, tags={"podcidr:cluster": CLUSTER, "podcidr:execution": LATER})  # adopted
    role.tag_resource(resourceArn=arn, tags={"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"})  # kept
    assert admin.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "podcidr:cluster": CLUSTER,
        "podcidr:execution": "kept",
    }
    _refused(role.delete_access_entry, clusterName=CLUSTER, principalArn=ROLE)  # kept: no longer the role's
    admin.tag_resource(resourceArn=arn, tags={"podcidr:execution": RUN})
    role.delete_access_entry(clusterName=CLUSTER, principalArn=ROLE)
    assert ROLE not in admin.list_access_entries(clusterName=CLUSTER)["accessEntries"]


@pytest.mark.parametrize(
    "tags",
    [
        {"podcidr:cluster": CLUSTER},
        {"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"},
        {"podcidr:cluster": CLUSTER, "podcidr:execution": RUN, "team": "platform"},
    ],
    ids=["no execution", "kept", "a key of another's"],
)
def test_an_entry_is_created_only_for_an_execution_with_podcidrs_own_tag_keys(
    admin: Any, role: Any, tags: dict[str, str]
) -> None:
    assert "eks:CreateAccessEntry" in _refused(
        role.create_access_entry, clusterName=CLUSTER, principalArn=ROLE, tags=tags
    )
    assert ROLE not in admin.list_access_entries(clusterName=CLUSTER)["accessEntries"]


def test_an_executions_entry_is_retagged_with_podcidrs_keys_only(admin: Any, role: Any) -> None:
    arn = _entry(admin, {"podcidr:cluster": CLUSTER, "podcidr:execution": RUN})
    _refused(role.tag_resource, resourceArn=arn, tags={"podcidr:cluster": CLUSTER, "team": "platform"})
    _refused(role.tag_resource, resourceArn=arn, tags={"podcidr:cluster": CLUSTER, "podcidr:execution": "alice"})
    _refused(role.tag_resource, resourceArn=arn, tags={"podcidr:execution": LATER})  # podcidr:cluster required
    _refused(role.untag_resource, resourceArn=arn, tagKeys=["podcidr:execution"])
    assert admin.list_tags_for_resource(resourceArn=arn)["tags"] == {
        "podcidr:cluster": CLUSTER,
        "podcidr:execution": RUN,
    }


def test_creating_an_entry_with_its_tags_is_authorized_as_tagging_the_new_entry(twin: Twin, admin: Any) -> None:
    """EKS checks eks:TagResource on the new entry for a create's tags: a role allowed CreateAccessEntry alone
    is refused a tagged create (failed before: the twin authorized CreateAccessEntry on the cluster only,
    so a template without TagAccessEntryAtCreation passed the rehearsals and failed on AWS)."""
    iam = twin.aws.admin_session().client("iam")
    name = "create-only"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="create",
        PolicyDocument=(
            '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "eks:CreateAccessEntry", '
            '"Resource": "*"}]}'
        ),
    )
    creator = twin.aws.workflow_session(arn).client("eks")
    tags = {"podcidr:cluster": CLUSTER, "podcidr:execution": RUN}
    assert "eks:TagResource" in _refused(creator.create_access_entry, clusterName=CLUSTER, principalArn=arn, tags=tags)
    creator.create_access_entry(clusterName=CLUSTER, principalArn=arn)  # untagged: the create alone
    admin.delete_access_entry(clusterName=CLUSTER, principalArn=arn)
