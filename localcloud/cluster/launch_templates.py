"""What a nodegroup's launch template means for its nodes in the twin, as on AWS: the template's
security groups go on the nodes' primary ENIs (else EKS puts the cluster security group there),
and with an AMI in the template (a custom AMI) the kubelet's max pods is whatever the user data
sets, or the AMI's own default, which ignores custom networking (AWS-FACTS 2)."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import yaml

_KUBELET_MAX_PODS = re.compile(r"--max-pods(?:=|\s+)(\d+)")


@dataclass(frozen=True)
class TemplateData:
    security_groups: list[str]
    custom_ami: bool
    max_pods: int | None
    """Custom AMI: what its user data sets (None: the AMI's default)."""


def max_pods_of(user_data_b64: str | None) -> int | None:
    """What the kubelet gets from the user data (the twin's own reading, not the product's): AL2's
    bootstrap.sh `--max-pods`, or AL2023's NodeConfig `spec.kubelet.config.maxPods` (the last wins,
    as nodeadm merges NodeConfigs in order)."""
    if not user_data_b64:
        return None
    text = base64.b64decode(user_data_b64).decode("utf-8", "replace")
    found: int | None = None
    for match in _KUBELET_MAX_PODS.finditer(text):
        found = int(match.group(1))
    for chunk in re.split(r"^--\S*\s*$", text, flags=re.MULTILINE):
        body = chunk.split("\n\n", 1)[-1] if "Content-Type: application/node.eks.aws" in chunk else ""
        try:
            documents = list(yaml.safe_load_all(body)) if body else []
        except yaml.YAMLError:
            continue
        for document in documents:
            if isinstance(document, dict) and document.get("kind") == "NodeConfig":
                value = (((document.get("spec") or {}).get("kubelet") or {}).get("config") or {}).get("maxPods")
                if isinstance(value, int):
                    found = value
    return found


def template_data(ec2: Any, launch_template: dict[str, str] | None) -> TemplateData | None:
    if not launch_template:
        return None
    query: dict[str, Any] = (
        {"LaunchTemplateId": launch_template["id"]}
        if launch_template.get("id")
        else {"LaunchTemplateName": launch_template.get("name", "")}
    )
    query["Versions"] = [str(launch_template.get("version") or "$Default")]
    versions = ec2.describe_launch_template_versions(**query)["LaunchTemplateVersions"]
    if not versions:
        return None
    data = versions[0].get("LaunchTemplateData", {})
    custom = bool(data.get("ImageId"))
    return TemplateData(
        security_groups=list(data.get("SecurityGroupIds") or []),
        custom_ami=custom,
        max_pods=max_pods_of(data.get("UserData")) if custom else None,
    )
