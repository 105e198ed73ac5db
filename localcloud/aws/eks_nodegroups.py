"""CreateNodegroup as EKS checks it, and nodegroups as DescribeNodegroup returns them.

Checks before moto acts (EKS API reference, CreateNodegroup; AWS-FACTS section 7), each refusal
an `InvalidParameterException` unless noted:

| rule | source |
|---|---|
| tag keys starting with `aws:` are reserved | AWS tagging rules ("reserved for internal use") |
| minSize <= desiredSize <= maxSize, maxSize >= 1 | NodegroupScalingConfig |
| subnets exist and are in the cluster's VPC | CreateNodegroup `subnets` |
| instance types exist (DescribeInstanceTypes knows them) | CreateNodegroup `instanceTypes` |
| the launch template and its version exist | LaunchTemplateSpecification |
| with a launch template: no diskSize, no remoteAccess | "Launch template and managed node group" (moto has these two) |
| version: not newer than the cluster's, at most three minors older | EKS version skew |
| releaseVersion belongs to the version | AMI release versions are `<k8s version>.<patch>-<date>` |
| updateConfig: one of maxUnavailable(Percentage); updateStrategy DEFAULT or MINIMAL | NodegroupUpdateConfig |

What moto leaves as placeholders is replaced by what EKS reports (`NodegroupRules.complete`): the
cluster's Kubernetes version and an AMI release of that version, `updateConfig` (EKS's default
`maxUnavailable: 1`, `updateStrategy: DEFAULT`), `nodeRepairConfig` (off), a fresh `health`, an Auto
Scaling group that exists in moto's autoscaling (named as EKS names them), a remote-access security
group that exists in EC2 only when remote access is asked without source groups, `diskSize` only
without a launch template.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from localcloud.aws.eks_errors import EksError

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws

AMI_RELEASE_DATE = "20241109"
PATCH_OF_MINOR = {"1.27": "16", "1.28": "15", "1.29": "10", "1.30": "6", "1.31": "2", "1.32": "0"}
"""The latest patch release of each minor version that the twin's AMI release versions name."""
DEFAULT_DISK_SIZE = 20
DEFAULT_UPDATE_CONFIG = {"maxUnavailable": 1, "updateStrategy": "DEFAULT"}
UPDATE_STRATEGIES = ("DEFAULT", "MINIMAL")
_VERSION = re.compile(r"^(\d+)\.(\d+)$")


def release_version_for(version: str) -> str:
    """An AMI release version of `version` as EKS reports it (1.30.6-20241109)."""
    return f"{version}.{PATCH_OF_MINOR.get(version, '0')}-{AMI_RELEASE_DATE}"


def _invalid(message: str) -> EksError:
    return EksError("InvalidParameterException", message)


def _minor(version: str) -> tuple[int, int] | None:
    match = _VERSION.fullmatch(version)
    return (int(match.group(1)), int(match.group(2))) if match else None


class NodegroupRules:
    """The checks and completion above, over moto's EC2, IAM and autoscaling backends."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws

    @property
    def _ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.aws.account_id][self.aws.region]

    @property
    def _autoscaling(self) -> Any:
        from moto.autoscaling.models import autoscaling_backends

        return autoscaling_backends[self.aws.account_id][self.aws.region]

    # -- CreateNodegroup's checks ------------------------------------------------------------------

    def check_create(self, cluster: Any, body: dict[str, Any]) -> None:
        """Raise EksError where EKS refuses the request; `cluster` is moto's (ACTIVE, existing)."""
        vpc_id = cluster_vpc_id(self._ec2, cluster)
        for key in body.get("tags") or {}:
            if str(key).lower().startswith("aws:"):
                raise _invalid(
                    f"The tag key '{key}' is not valid: tag keys starting with 'aws:' are reserved for internal use."
                )  # (unverified wording)
        scaling = body.get("scalingConfig") or {}
        low, desired, high = (scaling.get(k) for k in ("minSize", "desiredSize", "maxSize"))
        if high is not None and int(high) < 1:
            raise _invalid("Maximum size must be greater than or equal to 1.")  # (unverified wording)
        if low is not None and high is not None and int(low) > int(high):
            raise _invalid("Minimum capacity cannot be greater than maximum capacity.")  # (unverified wording)
        if desired is not None and (
            (low is not None and int(desired) < int(low)) or (high is not None and int(desired) > int(high))
        ):
            raise _invalid(
                "Desired capacity must be greater than or equal to minimum capacity and less than or equal to "
                "maximum capacity."
            )  # (unverified wording)
        self._check_subnets(body.get("subnets") or [], vpc_id)
        template = body.get("launchTemplate")
        if template:
            if body.get("diskSize") is not None:
                raise _invalid("Disk size must be specified within the launch template.")
            if body.get("remoteAccess"):
                raise _invalid("Remote access configuration cannot be specified with a launch template.")
            self._check_launch_template(template)
        for kind in body.get("instanceTypes") or []:
            if not self._instance_type_exists(str(kind)):
                raise _invalid(f"Instance type {kind} is not supported.")  # (unverified wording)
        self._check_version(cluster, body)
        self._check_update_config(body.get("updateConfig"))

    def _check_subnets(self, subnet_ids: list[str], vpc_id: str | None) -> None:
        if not subnet_ids:
            raise _invalid("Subnets are required.")  # (unverified wording)
        for subnet_id in subnet_ids:
            subnet = self._subnet(subnet_id)
            if subnet is None:
                raise _invalid(f"The subnet ID '{subnet_id}' does not exist")  # (unverified wording)
            if vpc_id and subnet.vpc_id != vpc_id:
                raise _invalid(
                    f"Subnet {subnet_id} is not in the cluster's VPC {vpc_id}; all subnets must be in the same VPC "
                    "as the cluster."
                )  # (unverified wording)

    def _subnet(self, subnet_id: str) -> Any:
        for per_az in self._ec2.subnets.values():
            if subnet_id in per_az:
                return per_az[subnet_id]
        return None

    def _instance_type_exists(self, name: str) -> bool:
        from moto.ec2.models.instance_types import INSTANCE_TYPES

        return name in INSTANCE_TYPES

    def _check_launch_template(self, spec: dict[str, Any]) -> None:
        templates = self._ec2.launch_templates
        template = None
        if spec.get("id"):
            template = templates.get(spec["id"])
        elif spec.get("name"):
            template = next((t for t in templates.values() if t.name == spec["name"]), None)
        else:
            raise _invalid("Either launch template ID or name must be specified.")  # (unverified wording)
        if template is None:
            raise _invalid(f"Launch template {spec.get('id') or spec.get('name')} does not exist")  # (unverified)
        version = spec.get("version")
        if version is not None and str(version) not in ("$Default", "$Latest"):
            numbers = {str(v.number) for v in template.versions}
            if str(version) not in numbers:
                raise _invalid(
                    f"Launch template version {version} does not exist for launch template {template.id}"
                )  # (unverified wording)

    def _check_version(self, cluster: Any, body: dict[str, Any]) -> None:
        version = body.get("version")
        control = _minor(str(cluster.version))
        if version is not None:
            node = _minor(str(version))
            if node is None or control is None or node[0] != control[0] or not control[1] - 3 <= node[1] <= control[1]:
                raise _invalid(
                    f"Requested Nodegroup version {version} is invalid. The version must match the cluster version "
                    f"{cluster.version} or be within three minor versions below it."
                )  # (unverified wording)
        release = body.get("releaseVersion")
        if release is not None:
            effective = str(version or cluster.version)
            if not str(release).startswith(effective + "."):
                raise _invalid(
                    f"Requested release version {release} is not valid for kubernetes version {effective}."
                )  # (unverified wording)

    def _check_update_config(self, update: Any) -> None:
        if update is None:
            return
        count = sum(1 for key in ("maxUnavailable", "maxUnavailablePercentage") if update.get(key) is not None)
        if count != 1:
            raise _invalid("Exactly one of maxUnavailable and maxUnavailablePercentage must be specified.")
        strategy = update.get("updateStrategy")
        if strategy is not None and strategy not in UPDATE_STRATEGIES:
            raise _invalid(f"updateStrategy {strategy} is not one of {', '.join(UPDATE_STRATEGIES)}")

    # -- what DescribeNodegroup reports ----------------------------------------------------------

    def complete(self, cluster: Any, moto_ng: Any, body: dict[str, Any]) -> None:
        """Replace moto's placeholders on a nodegroup just created from `body` (CreateNodegroup's)."""
        moto_ng.version = str(body.get("version") or cluster.version)
        moto_ng.release_version = str(body.get("releaseVersion") or release_version_for(moto_ng.version))
        moto_ng.health = {"issues": []}
        moto_ng.update_config = {**DEFAULT_UPDATE_CONFIG, **(body.get("updateConfig") or {})}
        if "maxUnavailablePercentage" in (body.get("updateConfig") or {}):
            moto_ng.update_config.pop("maxUnavailable", None)
        moto_ng.node_repair_config = dict(body.get("nodeRepairConfig") or {"enabled": False})
        template = body.get("launchTemplate")
        if template:
            moto_ng.disk_size = None
            if not body.get("instanceTypes"):
                moto_ng.instance_types = None
            moto_ng.launch_template = {
                **{k: v for k, v in (moto_ng.launch_template or {}).items() if v is not None},
                "version": str(template.get("version") or "$Default"),
            }
        else:
            moto_ng.disk_size = int(body.get("diskSize") or DEFAULT_DISK_SIZE)
        remote = body.get("remoteAccess")
        moto_ng.remote_access = dict(remote) if remote else None
        resources: dict[str, Any] = {"autoScalingGroups": [{"name": self._auto_scaling_group(cluster, moto_ng)}]}
        if remote and not remote.get("sourceSecurityGroups"):
            resources["remoteAccessSecurityGroup"] = self._remote_access_group(cluster, moto_ng)
        moto_ng.resources = resources

    def _auto_scaling_group(self, cluster: Any, moto_ng: Any) -> str:
        """An Auto Scaling group named as EKS names it (eks-<nodegroup>-<uuid>), present in moto's
        autoscaling with the nodegroup's sizes; it launches nothing (the cluster twin runs the
        nodes), so its capacity is held at zero in moto."""
        name = f"eks-{moto_ng.nodegroup_name}-{moto_ng.uuid}"
        subnets = ",".join(moto_ng.subnets)
        template = self._ec2.create_launch_template(
            name=f"eks-{moto_ng.uuid}",
            description="EKS managed nodegroup launch template (twin)",
            template_data={"InstanceType": (moto_ng.instance_types or ["t3.medium"])[0]},
            tag_spec={},
        )
        self._autoscaling.create_auto_scaling_group(
            name=name,
            availability_zones=[],
            desired_capacity=0,
            max_size=0,
            min_size=0,
            launch_config_name=None,
            launch_template={"LaunchTemplateId": template.id, "Version": "$Default"},
            mixed_instances_policy=None,
            vpc_zone_identifier=subnets,
            default_cooldown=300,
            health_check_period=15,
            health_check_type="EC2",
            load_balancers=[],
            target_group_arns=[],
            placement_group=None,
            termination_policies=[],
            tags=[
                {
                    "resource_id": name,
                    "resource_type": "auto-scaling-group",
                    "key": "eks:nodegroup-name",
                    "value": moto_ng.nodegroup_name,
                    "propagate_at_launch": True,
                },
                {
                    "resource_id": name,
                    "resource_type": "auto-scaling-group",
                    "key": "eks:cluster-name",
                    "value": cluster.name,
                    "propagate_at_launch": True,
                },
            ],
        )
        return name

    def _remote_access_group(self, cluster: Any, moto_ng: Any) -> str:
        subnet = self._subnet(moto_ng.subnets[0])
        group = self._ec2.create_security_group(
            name=f"eks-remoteAccess-{moto_ng.uuid}",
            description="Security group for all nodes in the nodeGroup to allow SSH access",
            vpc_id=subnet.vpc_id,
            tags={
                "eks": "remoteAccess",
                "eks:nodegroup-name": moto_ng.nodegroup_name,
                "eks:cluster-name": cluster.name,
            },
        )
        return str(group.id)

    def template_instance_types(self, moto_ng: Any) -> list[str]:
        """The instance type a nodegroup without `instanceTypes` gets from its launch template."""
        spec = moto_ng.launch_template or {}
        template = self._ec2.launch_templates.get(spec.get("id") or "")
        if template is None:
            return []
        chosen = template.get_version(str(spec.get("version") or "$Default"))  # $Default, $Latest or a number
        return [chosen.instance_type] if chosen.instance_type else []

    def remove(self, moto_ng: Any) -> None:
        """A deleted nodegroup's Auto Scaling group and remote-access group go with it."""
        for group in (moto_ng.resources or {}).get("autoScalingGroups") or []:
            self._autoscaling.autoscaling_groups.pop(group.get("name"), None)
        sg = (moto_ng.resources or {}).get("remoteAccessSecurityGroup")
        if sg and any(sg in groups for groups in self._ec2.groups.values()):
            self._ec2.delete_security_group(group_id=sg)


_MEMBERS = {
    "version": "version",
    "releaseVersion": "release_version",
    "health": "health",
    "updateConfig": "update_config",
    "nodeRepairConfig": "node_repair_config",
    "diskSize": "disk_size",
    "instanceTypes": "instance_types",
    "launchTemplate": "launch_template",
    "remoteAccess": "remote_access",
    "resources": "resources",
}


def completed_members(document: dict[str, Any], moto_ng: Any) -> dict[str, Any]:
    """`document` (a nodegroup as moto serialized it before `complete`) with the completed members."""
    out = dict(document)
    for member, attribute in _MEMBERS.items():
        value = getattr(moto_ng, attribute, None)
        if value is None:
            out.pop(member, None)
        else:
            out[member] = value
    return out


def cluster_vpc_id(ec2_backend: Any, moto_cluster: Any) -> str | None:
    """The VPC of the cluster's first subnet (moto's cluster does not record its VPC)."""
    for subnet_id in (moto_cluster.resources_vpc_config or {}).get("subnetIds") or []:
        for per_az in ec2_backend.subnets.values():
            if subnet_id in per_az:
                return str(per_az[subnet_id].vpc_id)
    return None
