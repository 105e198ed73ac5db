"""The launch template version a custom-AMI replacement is created from (ReplaceNodegroups), over a
botocore-stubbed EC2 client: adopted when a retry or re-run finds it, else created once from the old
nodegroup's version with Plan's user data; a refused template fails with the old nodegroup untouched."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.errors import NodegroupReplacementFailed, TransientAwsError
from podcidr.models.migration import NodegroupConfig, NodegroupReplacement
from podcidr.steps.launch_template_version import description, ensure_version
from podcidr.steps.replace_nodegroups import NodegroupTask
from tests.fixtures.stubbed_aws import all_answered, stubbed

USER_DATA = "TUlNRS1WZXJzaW9uOiAxLjAKbWF4LXBvZHM6IDExMAo="
WANTED = "podcidr:shop:web-podcidr max pods for custom networking"


def _task(template: dict[str, str] | None, user_data: str | None = USER_DATA) -> NodegroupTask:
    config = NodegroupConfig(
        subnets=["subnet-1"],
        node_role="arn:aws:iam::111122223333:role/n",
        scaling_config={"desiredSize": 2},
        launch_template=template,
    )
    item = NodegroupReplacement(replaced="web", by="web-podcidr", config=config, launch_template_user_data=user_data)
    return NodegroupTask(cluster_name="shop", poll_seconds=30, nodegroup=item)


def _version(number: int, text: str | None, user_data: str | None) -> dict[str, Any]:
    version: dict[str, Any] = {"VersionNumber": number, "LaunchTemplateData": {}}
    if text is not None:
        version["VersionDescription"] = text
    if user_data is not None:
        version["LaunchTemplateData"]["UserData"] = user_data
    return version


def test_the_description_names_cluster_and_replacement() -> None:
    assert description("shop", "web-podcidr") == WANTED


def test_a_version_made_earlier_is_adopted_without_another() -> None:
    task = _task({"id": "lt-0abc", "version": "3"})
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_launch_template_versions",
        {
            "LaunchTemplateVersions": [
                _version(3, "web nodes", "b2xk"),
                _version(4, WANTED, "b3RoZXI="),  # same description, other user data (an older plan)
                _version(5, "something else", USER_DATA),
                _version(6, WANTED, USER_DATA),
            ]
        },
        {"LaunchTemplateId": "lt-0abc"},
    )
    with all_answered(stub):
        assert ensure_version(task, ec2) == 0
    assert task.nodegroup.config.launch_template == {"id": "lt-0abc", "version": "6"}


def test_otherwise_one_version_is_created_from_the_old_nodegroups() -> None:
    task = _task({"name": "web-nodes", "version": "3"})
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_launch_template_versions",
        {"LaunchTemplateVersions": [_version(3, None, None)]},
        {"LaunchTemplateName": "web-nodes"},
    )
    stub.add_response(
        "create_launch_template_version",
        {"LaunchTemplateVersion": {"VersionNumber": 7, "LaunchTemplateName": "web-nodes"}},
        {
            "LaunchTemplateName": "web-nodes",
            "SourceVersion": "3",
            "VersionDescription": WANTED,
            "LaunchTemplateData": {"UserData": USER_DATA},
        },
    )
    with all_answered(stub):
        assert ensure_version(task, ec2) == 1
    assert task.nodegroup.config.launch_template == {"name": "web-nodes", "version": "7"}


def test_without_a_version_the_default_one_is_the_source() -> None:
    task = _task({"id": "lt-0abc"})
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_launch_template_versions", {"LaunchTemplateVersions": []}, {"LaunchTemplateId": "lt-0abc"}
    )
    stub.add_response(
        "create_launch_template_version",
        {"LaunchTemplateVersion": {"VersionNumber": 2}},
        {
            "LaunchTemplateId": "lt-0abc",
            "SourceVersion": "$Default",
            "VersionDescription": WANTED,
            "LaunchTemplateData": {"UserData": USER_DATA},
        },
    )
    with all_answered(stub):
        assert ensure_version(task, ec2) == 1
    assert task.nodegroup.config.launch_template == {"id": "lt-0abc", "version": "2"}


@pytest.mark.parametrize("template, user_data", [(None, USER_DATA), ({"id": "lt-0abc"}, None), ({}, USER_DATA)])
def test_nothing_is_asked_without_user_data_or_a_launch_template(
    template: dict[str, str] | None, user_data: str | None
) -> None:
    ec2, stub = stubbed("ec2")
    with all_answered(stub):
        assert ensure_version(_task(template, user_data), ec2) == 0


@pytest.mark.parametrize("code", ["InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException"])
def test_a_template_that_cannot_take_a_version_fails_with_the_old_nodegroup_untouched(code: str) -> None:
    task = _task({"id": "lt-0abc", "version": "3"})
    ec2, stub = stubbed("ec2")
    stub.add_client_error(
        "describe_launch_template_versions", code, "The specified launch template does not exist.", 400
    )
    with pytest.raises(NodegroupReplacementFailed) as failed:
        ensure_version(task, ec2)
    assert str(failed.value).startswith(
        "The launch template of web ({'id': 'lt-0abc', 'version': '3'}) cannot take a new version for web-podcidr: "
    )
    assert str(failed.value).endswith(". web is untouched.") and code in str(failed.value)


def test_other_faults_are_raised_as_they_are() -> None:
    task = _task({"id": "lt-0abc"})
    ec2, stub = stubbed("ec2")
    stub.add_response(
        "describe_launch_template_versions", {"LaunchTemplateVersions": []}, {"LaunchTemplateId": "lt-0abc"}
    )
    stub.add_client_error("create_launch_template_version", "RequestLimitExceeded", "slow down", 503)
    with pytest.raises(TransientAwsError, match="ec2:CreateLaunchTemplateVersion"):
        ensure_version(task, ec2)


def test_a_refusal_other_than_the_templates_is_raised_as_it_is() -> None:
    from botocore.exceptions import ClientError

    ec2, stub = stubbed("ec2")
    stub.add_client_error("describe_launch_template_versions", "UnauthorizedOperation", "not authorized", 403)
    with pytest.raises(ClientError, match="UnauthorizedOperation"):
        ensure_version(_task({"id": "lt-0abc"}), ec2)
