"""Nodegroups as real accounts have them (issue 11 item 1; AWS-FACTS section 7), on the twin's EKS:
made by CloudFormation (an `aws:cloudformation:stack-name` tag), with an `updateConfig` that
holds the string `updateStrategy`, labels, taints and a version below the cluster's. Plan must read
every member DescribeNodegroup returns, and the replacement's CreateNodegroup must be one EKS
accepts, carrying over what it accepts (never an `aws:` tag)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.aws.server import LocalAws
from localcloud.scenario import parse_scenario
from podcidr.aws.clients import AwsClients
from podcidr.models.discovery import NodegroupInfo
from podcidr.models.migration import NodegroupReplacement
from podcidr.steps.plan import _release_of_version, plan
from podcidr.steps.replace_nodegroups import NodegroupTask, create_request

CLUSTER = "eksworkshop"
STACK_TAG = "aws:cloudformation:stack-name"
UPDATE_CONFIG = {"maxUnavailable": 1, "updateStrategy": "DEFAULT"}
TAINTS = [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}]
SCENARIO = {
    "cluster": {
        "version": "1.30",
        "nodegroups": [
            {
                "name": "managed-ng",
                "version": "1.29",
                "labels": {"role": "web"},
                "taints": TAINTS,
                "tags": {STACK_TAG: "eksctl-eksworkshop-nodegroup-managed-ng", "team": "web"},
                "updateConfig": UPDATE_CONFIG,
            }
        ],
    }
}


@pytest.fixture(scope="module")
def twin() -> Iterator[tuple[LocalAws, AwsClients]]:
    with LocalAws(parse_scenario(SCENARIO)) as local:
        iam = local.admin_session().client("iam")
        role = iam.create_role(RoleName="podcidr-plan", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        yield local, AwsClients.create(local.workflow_session(role))


@pytest.fixture(scope="module")
def replacement(twin: tuple[LocalAws, AwsClients]) -> NodegroupReplacement:
    local, clients = twin
    outcome = plan({"input": {"clusterName": CLUSTER, "dryRun": True}}, clients.ec2, clients.eks, local.region)
    assert outcome.migration is not None
    [planned] = outcome.migration.nodegroups
    return planned


def test_the_twin_reports_the_nodegroup_as_eks_does(twin: tuple[LocalAws, AwsClients]) -> None:
    _, clients = twin
    nodegroup = clients.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="managed-ng")["nodegroup"]
    assert nodegroup["updateConfig"] == UPDATE_CONFIG
    assert nodegroup["tags"][STACK_TAG] == "eksctl-eksworkshop-nodegroup-managed-ng"
    assert nodegroup["version"] == "1.29" and nodegroup["releaseVersion"].startswith("1.29.")
    assert nodegroup["taints"] == TAINTS and nodegroup["labels"] == {"role": "web"}


def test_plan_reads_update_strategy_as_a_string_and_keeps_it(replacement: NodegroupReplacement) -> None:
    assert replacement.config.update_config == UPDATE_CONFIG


def test_plan_never_carries_an_aws_tag_to_the_replacement(replacement: NodegroupReplacement) -> None:
    assert not any(key.startswith("aws:") for key in replacement.config.tags)
    assert replacement.config.tags["team"] == "web"


def test_the_replacement_is_created_by_eks_with_what_it_accepts(
    twin: tuple[LocalAws, AwsClients], replacement: NodegroupReplacement
) -> None:
    _, clients = twin
    task = NodegroupTask(cluster_name=CLUSTER, poll_seconds=1, nodegroup=replacement)
    request = create_request(task)
    assert not any(key.startswith("aws:") for key in request["tags"])
    clients.eks.create_nodegroup(**request)
    created: dict[str, Any] = clients.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=replacement.by)[
        "nodegroup"
    ]
    assert created["updateConfig"] == UPDATE_CONFIG
    assert created["labels"] == {"role": "web"} and created["taints"] == TAINTS
    assert created["version"] == "1.29" and created["nodeRepairConfig"] == {"enabled": False}
    assert created["tags"]["team"] == "web" and STACK_TAG not in created["tags"]


def test_a_document_from_before_still_never_sends_an_aws_tag(replacement: NodegroupReplacement) -> None:
    """A migration document planned by an older version may still hold the tag (a redrive)."""
    old = replacement.model_copy(deep=True)
    old.config.tags[STACK_TAG] = "eksctl-eksworkshop-nodegroup-managed-ng"
    request = create_request(NodegroupTask(cluster_name=CLUSTER, poll_seconds=1, nodegroup=old))
    assert STACK_TAG not in request["tags"]


@pytest.mark.parametrize(
    ("version", "release", "kept"),
    [
        ("1.29", "1.29.10-20241109", "1.29.10-20241109"),
        ("1.30", "1.19.8-20210414", None),  # moto's placeholder on a 1.30 nodegroup: EKS would refuse it
        (None, "1.29.10-20241109", None),
    ],
)
def test_a_release_version_is_pinned_only_with_its_own_version(
    version: str | None, release: str, kept: str | None
) -> None:
    group = NodegroupInfo(
        name="ng",
        status="ACTIVE",
        subnets=(),
        node_role="r",
        scaling_config={},
        version=version,
        release_version=release,
    )
    assert _release_of_version(group) == kept
