"""The read-only policy README.md gives for `podcidr snapshot` is what the snapshot needs: a role with
exactly that policy (read from README.md, so the test follows the doc) and an access entry with
AmazonEKSViewPolicy takes the same snapshot as the account's root on a twin that enforces IAM, and
a role missing any one of its actions is refused with an error that names that action."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud.scenario import parse_scenario
from localcloud.twin import Twin
from podcidr_cli.snapshot import SnapshotError, take_snapshot
from tests.fixtures.workloads import data_db

pytestmark = pytest.mark.rehearsal
README = Path(__file__).resolve().parents[2] / "README.md"
VIEW = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
}
# Every read the snapshot can make happens on this account: a launch template, a Fargate profile,
# a security group of its own, self-managed nodes, a self-managed CNI (aws-node read in kube-system),
# a StatefulSet with volumes (its claims, and its EBS volumes' AZs).
SCENARIO = {
    "vpc": {"securityGroups": [{"name": "nodes-extra"}]},
    "cluster": {
        "vpcCni": {"addon": False, "version": "v1.18.3", "prefixDelegation": True},
        "nodegroups": [{"name": "managed-ng", "launchTemplate": {"securityGroups": ["nodes-extra"]}}],
        "selfManagedNodes": [{"name": "legacy", "count": 1}],
        "fargateProfiles": [{"name": "serverless", "namespaces": ["batch"]}],
        "workloads": [{"name": "web"}, data_db()],
    },
    "timing": {"accessEntry": 0},
}


def readme_policy() -> dict[str, Any]:
    """The JSON policy of README's 'Rehearsing your own account' section."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Rehearsing your own account") :]
    section = section[: section.index("\n## ")]
    (block,) = re.findall(r"```json\n(.*?)\n```", section, flags=re.DOTALL)
    return dict(json.loads(block))


def readme_actions() -> list[str]:
    return [a for s in readme_policy()["Statement"] for a in s["Action"]]


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin(parse_scenario(SCENARIO)) as running:
        yield running


def _reader(twin: Twin, name: str, policy: dict[str, Any]) -> boto3.Session:
    """A role with exactly `policy` and a view access entry, and a session with its credentials."""
    admin = twin.aws.admin_session()
    iam, eks = admin.client("iam"), admin.client("eks")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="snapshot", PolicyDocument=json.dumps(policy))
    cluster = twin.scenario.cluster.name
    eks.create_access_entry(clusterName=cluster, principalArn=arn, type="STANDARD")
    eks.associate_access_policy(clusterName=cluster, principalArn=arn, policyArn=VIEW, accessScope={"type": "cluster"})
    return twin.aws.assumed_session(arn, "snapshot")


def test_the_readme_policy_is_enough(twin: Twin) -> None:
    session = _reader(twin, "snapshot-reader", readme_policy())
    taken = take_snapshot(session, twin.endpoint_url, twin.scenario.cluster.name)
    assert taken == take_snapshot(twin.aws.admin_session(), twin.endpoint_url, twin.scenario.cluster.name)
    assert taken["cluster"]["fargateProfiles"] and taken["cluster"]["selfManagedNodes"]
    assert taken["cluster"]["nodegroups"][0]["launchTemplate"] == {"securityGroups": ["nodes-extra"]}
    assert taken["cluster"]["vpcCni"] == {"addon": False, "version": "v1.18.3", "prefixDelegation": True}
    [db] = [w for w in taken["cluster"]["workloads"] if w.get("kind") == "StatefulSet"]
    assert db["volumeClaim"]["size"] == "1Gi" and len(db["volumeClaim"]["zones"]) == db["replicas"]


@pytest.mark.parametrize("action", readme_actions())
def test_each_action_of_the_readme_policy_is_needed(twin: Twin, action: str) -> None:
    policy = readme_policy()
    for statement in policy["Statement"]:
        statement["Action"] = [a for a in statement["Action"] if a != action]
    session = _reader(twin, f"without-{action.replace(':', '-')}", policy)
    with pytest.raises(SnapshotError) as refused:
        take_snapshot(session, twin.endpoint_url, twin.scenario.cluster.name)
    message = str(refused.value)
    assert f"AWS refused {action} (" in message
    assert "is not authorized to perform: " + action in message
