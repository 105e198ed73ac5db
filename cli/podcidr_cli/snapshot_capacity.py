"""The snapshot's compute side, read as Plan reads it (podcidr.aws.discovery, podcidr.aws.capacity):
the VPC's security groups, the managed nodegroups with their launch templates, and the capacity
that is not a managed nodegroup (self-managed and Karpenter instances, Fargate profiles), written
with the scenario's keys (localcloud/scenario.py).

Security groups: every group of the VPC but those AWS makes (`default`, the cluster security group
EKS makes, and the groups EKS and the load balancer controller make, tagged `eks:...` or
`elbv2.k8s.aws/cluster`), which the twin makes again itself.
"""

from __future__ import annotations

import base64
import binascii
from collections import Counter
from collections.abc import Callable
from typing import Any

from podcidr.aws.capacity import AUTOSCALING_TAG, NODEGROUP_TAG, NODEPOOL_TAG, cluster_instances
from podcidr.models.discovery import LaunchTemplateInfo, NodegroupInfo
from podcidr.user_data import BOOTSTRAP, NODE_CONFIG_TYPE, max_pods_set
from podcidr_cli.snapshot_common import Names, paginate, tag, tag_map

Tags = Callable[[dict[str, Any]], dict[str, str]]
"""The tags a resource keeps in the file (the snapshot's rule: no Name, no aws:, anonymized)."""

DEFAULT_UPDATE_CONFIG = {"maxUnavailable": 1, "updateStrategy": "DEFAULT"}
"""What DescribeNodegroup reports for a nodegroup created without updateConfig."""
_MADE_BY_AWS = ("eks:", "aws:eks:", "elbv2.k8s.aws/cluster")


def security_groups(
    ec2: Any, vpc_id: str, cluster_security_group: str | None, names: Names, tags: Tags
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """`vpc.securityGroups`, and group ID -> the name the file gives it."""
    found = paginate(
        ec2, "describe_security_groups", "SecurityGroups", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}]
    )
    written: list[dict[str, Any]] = []
    by_id: dict[str, str] = {}
    for group in sorted(found, key=lambda g: str(g["GroupName"])):
        made_by_aws = any(key.startswith(_MADE_BY_AWS) for key in tag_map(group))
        if group["GroupName"] == "default" or group["GroupId"] == cluster_security_group or made_by_aws:
            continue
        name = names.name("security-group", str(group["GroupName"]))
        by_id[str(group["GroupId"])] = name
        written.append({"name": name, "tags": tags(group)})
    return written, by_id


def nodegroup(
    group: NodegroupInfo,
    cluster_version: str,
    subnet_names: dict[str, str],
    group_names: dict[str, str],
    names: Names,
) -> dict[str, Any]:
    scaling = group.scaling_config
    labels = dict(group.labels)
    if names.anonymize:
        labels = {key: names.name("label-value", value) for key, value in sorted(labels.items())}
    entry: dict[str, Any] = {
        "name": names.name("nodegroup", group.name),
        "subnets": [subnet_names[s] for s in group.subnets if s in subnet_names],
        "instanceTypes": list(group.instance_types),
        "minSize": scaling.get("minSize", 0),
        "desiredSize": scaling.get("desiredSize", 0),
        "maxSize": scaling.get("maxSize", 1),
        "labels": labels,
    }
    template = group.launch_template
    custom_ami = template is not None and bool(template.image_id)
    if group.ami_type and not custom_ami:  # CUSTOM: the twin derives it from the template's AMI
        entry["amiType"] = group.ami_type
    if group.capacity_type:
        entry["capacityType"] = group.capacity_type
    if group.version and group.version != cluster_version:
        entry["version"] = group.version
    if group.taints:
        entry["taints"] = [_taint(t, names) for t in group.taints]
    tags = _nodegroup_tags(group.tags, names)
    if tags:
        entry["tags"] = tags
    update = {k: v for k, v in (group.update_config or {}).items() if v is not None}
    if update and {**DEFAULT_UPDATE_CONFIG, **update} != DEFAULT_UPDATE_CONFIG:
        if update.get("updateStrategy") == DEFAULT_UPDATE_CONFIG["updateStrategy"]:
            del update["updateStrategy"]  # EKS's default, reported whether given or not
        entry["updateConfig"] = update
    if template is not None:
        entry["launchTemplate"] = launch_template(template, group_names, names)
        if not entry["instanceTypes"] and template.instance_type:
            entry["instanceTypes"] = [template.instance_type]
    if not entry["instanceTypes"]:
        del entry["instanceTypes"]  # named nowhere: the scenario's default stands in
    return entry


def _taint(taint: dict[str, str], names: Names) -> dict[str, str]:
    written = {"key": str(taint["key"]), "effect": str(taint["effect"])}
    if taint.get("value") is not None:
        written["value"] = names.name("label-value", str(taint["value"])) if names.anonymize else str(taint["value"])
    return written


def _nodegroup_tags(tags: dict[str, str], names: Names) -> dict[str, str]:
    if not names.anonymize:
        return dict(tags)
    # CloudFormation's stack tags matter (the replacement is made outside the stack); their values name it
    return {
        key: names.name("stack", value) if key.startswith("aws:cloudformation:") else value
        for key, value in sorted(tags.items())
        if key.startswith(("kubernetes.io/", "aws:cloudformation:"))
    }


def launch_template(template: LaunchTemplateInfo, group_names: dict[str, str], names: Names) -> dict[str, Any]:
    """`launchTemplate`: its security groups (by the file's names; the cluster security group, which
    the scenario cannot name, left out), a custom AMI and how its user data sets max pods."""
    written: dict[str, Any] = {
        "securityGroups": [group_names[g] for g in template.security_group_ids if g in group_names],
    }
    if not template.image_id:
        return written
    written["customAmi"] = True
    text = _decoded(template.user_data)
    if BOOTSTRAP in text:
        written["amiFamily"] = "AL2"
    elif NODE_CONFIG_TYPE in text or "kind: NodeConfig" in text:
        written["amiFamily"] = "AL2023"
    elif text and not names.anonymize:
        written["userData"] = text  # neither bootstrap: kept as it is, for Plan to refuse as it would
    max_pods = max_pods_set(template.user_data)
    if max_pods is not None:
        written["maxPods"] = max_pods
    return written


def _decoded(user_data: str | None) -> str:
    try:
        return base64.b64decode(user_data or "", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def unmanaged_capacity(
    ec2: Any, eks: Any, cluster_name: str, subnet_names: dict[str, str], names: Names
) -> dict[str, list[dict[str, Any]]]:
    """`selfManagedNodes`, `karpenterNodes` and `fargateProfiles` (only the non-empty ones)."""
    self_managed: dict[str, list[dict[str, Any]]] = {}
    karpenter: dict[str, list[dict[str, Any]]] = {}
    for instance in cluster_instances(ec2, cluster_name):
        tags = tag_map(instance)
        if NODEGROUP_TAG in tags:
            continue
        if NODEPOOL_TAG in tags:
            karpenter.setdefault(tags[NODEPOOL_TAG], []).append(instance)
        else:
            own = tags.get(AUTOSCALING_TAG) or tag(instance, "Name") or str(instance["InstanceId"])
            self_managed.setdefault(own.removeprefix(f"{cluster_name}-"), []).append(instance)
    found: dict[str, list[dict[str, Any]]] = {}
    if self_managed:
        found["selfManagedNodes"] = [
            {
                "name": names.name("self-managed", name),
                **_instances(instances, subnet_names),
                "os": "windows" if any(str(i.get("Platform", "")).lower() == "windows" for i in instances) else "linux",
            }
            for name, instances in sorted(self_managed.items())
        ]
    if karpenter:
        found["karpenterNodes"] = [
            {"nodePool": names.name("node-pool", pool), **_instances(instances, subnet_names)}
            for pool, instances in sorted(karpenter.items())
        ]
    profiles = fargate_profiles(eks, cluster_name, subnet_names, names)
    if profiles:
        found["fargateProfiles"] = profiles
    return found


def _instances(instances: list[dict[str, Any]], subnet_names: dict[str, str]) -> dict[str, Any]:
    """Where and what: the subnets in launch order, the commonest instance type, how many."""
    ordered = sorted(instances, key=lambda i: (str(i.get("LaunchTime", "")), str(i["InstanceId"])))
    subnets = [subnet_names[i["SubnetId"]] for i in ordered if i.get("SubnetId") in subnet_names]
    ((instance_type, _),) = Counter(str(i["InstanceType"]) for i in ordered).most_common(1)
    return {"subnets": list(dict.fromkeys(subnets)), "instanceType": instance_type, "count": len(ordered)}


def fargate_profiles(eks: Any, cluster_name: str, subnet_names: dict[str, str], names: Names) -> list[dict[str, Any]]:
    profiles = []
    for name in sorted(paginate(eks, "list_fargate_profiles", "fargateProfileNames", clusterName=cluster_name)):
        profile = eks.describe_fargate_profile(clusterName=cluster_name, fargateProfileName=name)["fargateProfile"]
        namespaces = sorted({str(s["namespace"]) for s in profile.get("selectors") or [] if s.get("namespace")})
        profiles.append(
            {
                "name": names.name("fargate-profile", str(name)),
                "namespaces": [n if n == "default" else names.name("namespace", n) for n in namespaces],
                "subnets": [subnet_names[s] for s in profile.get("subnets") or [] if s in subnet_names],
            }
        )
    return profiles
