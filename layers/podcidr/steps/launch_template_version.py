"""The launch template version a custom-AMI replacement is created from: the old nodegroup's
version with the user data Plan wrote (max pods for custom networking). Looked for first (by its
description and user data), so a retry or a re-run adopts it instead of adding another version."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import NodegroupReplacementFailed

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

    from podcidr.steps.replace_nodegroups import NodegroupTask


def description(cluster: str, replacement: str) -> str:
    return f"podcidr:{cluster}:{replacement} max pods for custom networking"


def _versions(ec2: EC2Client, template: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    with transient_faults_retried("ec2:DescribeLaunchTemplateVersions"):
        for page in ec2.get_paginator("describe_launch_template_versions").paginate(**template):
            found.extend(dict(v) for v in page.get("LaunchTemplateVersions", []))
    return found


def ensure_version(task: NodegroupTask, ec2: EC2Client) -> int:
    """Point the replacement's launch template at the planned version; the mutating calls made (0 or 1)."""
    item, config = task.nodegroup, task.nodegroup.config
    user_data, launch_template = item.launch_template_user_data, config.launch_template
    if not user_data or not launch_template:
        return 0
    template = (
        {"LaunchTemplateId": launch_template["id"]}
        if launch_template.get("id")
        else {"LaunchTemplateName": launch_template["name"]}
    )
    wanted = description(task.cluster_name, item.by)
    try:
        for version in _versions(ec2, template):
            if (
                version.get("VersionDescription") == wanted
                and version.get("LaunchTemplateData", {}).get("UserData") == user_data
            ):
                launch_template["version"] = str(version["VersionNumber"])
                return 0
        with transient_faults_retried("ec2:CreateLaunchTemplateVersion"):
            made = ec2.create_launch_template_version(
                **template,  # type: ignore[arg-type]
                SourceVersion=launch_template.get("version") or "$Default",
                VersionDescription=wanted,
                LaunchTemplateData={"UserData": user_data},
            )["LaunchTemplateVersion"]
    except ClientError as error:
        if error_code(error).startswith("InvalidLaunchTemplate"):
            raise NodegroupReplacementFailed(
                f"The launch template of {item.replaced} ({launch_template}) cannot take a new version for "
                f"{item.by}: {error}. {item.replaced} is untouched."
            ) from error
        raise
    launch_template["version"] = str(made["VersionNumber"])
    return 1
