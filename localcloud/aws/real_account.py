"""The parts of a scenario that make an account richer than the seed (DESIGN.md "Real accounts are
richer than the seed"), built through the admin session like the rest of `build_aws`:

- `vpc.ownerId`: the VPC belongs to another account (shared through RAM); DescribeVpcs says so.
- `vpc.securityGroups`: extra groups, named for launch templates.
- route tables whose default route goes to a NAT instance (an instance's ENI) or a firewall
  endpoint (a Gateway Load Balancer VPC endpoint, as AWS Network Firewall's endpoints are).
- nodegroup launch templates: security groups, a custom AMI and the user data that bootstraps it
  (AL2023 nodeadm NodeConfig, or AL2 bootstrap.sh), with the max pods it sets.
- capacity outside managed nodegroups: self-managed and Karpenter instances tagged as they are on
  AWS, and Fargate profiles.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from localcloud.scenario import LaunchTemplateSpec, NodegroupSpec, Scenario, VpcCniSpec

if TYPE_CHECKING:
    from localcloud.aws.build import BuiltAws

NAT_INSTANCE_AMI_NAME = "amzn-ami-vpc-nat"
CUSTOM_NODE_AMI_NAME = "custom-eks-node"
WINDOWS_AMI_NAME = "Windows_Server-2022-English-Core-EKS_Optimized-1.30"
FIREWALL_SERVICE = "com.amazonaws.vpce.{region}.vpce-svc-0123456789abcdef0"
MIME_BOUNDARY = "//"


def _tag_spec(kind: str, tags: dict[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


def _owned_by(resource: Any, owner_id: str) -> None:
    # moto derives OwnerId from the backend's account (a read-only property): this one resource
    # gets a subclass that answers the owner's account instead.
    cls = type(resource)
    resource.__class__ = type(f"Shared{cls.__name__}", (cls,), {"owner_id": property(lambda _self: owner_id)})


def share_vpc(aws: Any, vpc_id: str, owner_id: str | None) -> None:
    """A RAM-shared VPC: it and its subnets belong to another account, as DescribeVpcs and
    DescribeSubnets report to a participant (moto has no RAM sharing)."""
    if owner_id is None:
        return
    _owned_by(aws.ec2.backend.get_vpc(vpc_id), owner_id)


def share_subnets(aws: Any, subnet_ids: list[str], owner_id: str | None) -> None:
    if owner_id is None:
        return
    for subnet_id in subnet_ids:
        _owned_by(aws.ec2.backend.get_subnet(subnet_id), owner_id)


def addon_configuration(cni: VpcCniSpec) -> str:
    """The vpc-cni add-on's configurationValues the scenario implies ("" for none)."""
    return json.dumps({"env": {"ENABLE_PREFIX_DELEGATION": "true"}}) if cni.prefix_delegation else ""


def create_security_groups(ec2: Any, scenario: Scenario, vpc_id: str) -> dict[str, str]:
    ids = {}
    for group in scenario.vpc.security_groups:
        ids[group.name] = ec2.create_security_group(
            GroupName=group.name,
            Description=f"{group.name} (scenario)",
            VpcId=vpc_id,
            TagSpecifications=_tag_spec("security-group", {"Name": group.name, **group.tags}),
        )["GroupId"]
    return ids


def _image(ec2: Any, name: str) -> str:
    found = ec2.describe_images(Owners=["self"], Filters=[{"Name": "name", "Values": [name]}])["Images"]
    if found:
        return str(found[0]["ImageId"])
    return str(ec2.register_image(Name=name, Architecture="x86_64", RootDeviceName="/dev/xvda")["ImageId"])


def egress_target(ec2: Any, scenario: Scenario, built: BuiltAws, kind: str, subnet_name: str | None) -> dict[str, str]:
    """The CreateRoute target of a nat-instance or firewall default route, made in `subnet_name`
    (default: the first public subnet); one per subnet, shared by the tables that name it."""
    subnet_name = subnet_name or next(s.name for s in scenario.vpc.subnets if s.public)
    key = f"{kind}:{subnet_name}"
    if key not in built.egress_targets:
        subnet_id = built.subnet_ids[subnet_name]
        if kind == "nat-instance":
            instance = ec2.run_instances(
                ImageId=_image(ec2, NAT_INSTANCE_AMI_NAME),
                InstanceType="t3.micro",
                MinCount=1,
                MaxCount=1,
                SubnetId=subnet_id,
                TagSpecifications=_tag_spec("instance", {"Name": f"nat-instance-{subnet_name}"}),
            )["Instances"][0]
            eni = instance["NetworkInterfaces"][0]["NetworkInterfaceId"]
            ec2.modify_network_interface_attribute(NetworkInterfaceId=eni, SourceDestCheck={"Value": False})
            built.egress_targets[key] = {"NetworkInterfaceId": eni}
        else:
            endpoint = ec2.create_vpc_endpoint(
                VpcEndpointType="GatewayLoadBalancer",
                VpcId=built.vpc_id,
                ServiceName=FIREWALL_SERVICE.format(region=scenario.region),
                SubnetIds=[subnet_id],
                TagSpecifications=_tag_spec("vpc-endpoint", {"Name": f"firewall-{subnet_name}"}),
            )["VpcEndpoint"]["VpcEndpointId"]
            built.egress_targets[key] = {"VpcEndpointId": endpoint}
    return built.egress_targets[key]


def user_data(cluster: str, template: LaunchTemplateSpec) -> str:
    """The user data a custom AMI's launch template carries, as eksctl or Terraform write it."""
    if template.user_data is not None:
        return template.user_data
    if template.ami_family == "AL2":
        max_pods = ""
        if template.max_pods:
            max_pods = f" --use-max-pods false --kubelet-extra-args '--max-pods={template.max_pods}'"
        return f"#!/bin/bash\nset -ex\n/etc/eks/bootstrap.sh {cluster}{max_pods}\n"
    kubelet = f"\n    kubelet:\n      config:\n        maxPods: {template.max_pods}" if template.max_pods else ""
    node_config = (
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  cluster:\n"
        f"    name: {cluster}\n    apiServerEndpoint: https://example.eks.amazonaws.com\n"
        "    certificateAuthority: Y2VydGlmaWNhdGU=\n    cidr: 10.100.0.0/16" + kubelet.replace("\n    ", "\n  ", 1)
    )
    return (
        f'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="{MIME_BOUNDARY}"\n\n'
        f"--{MIME_BOUNDARY}\nContent-Type: application/node.eks.aws\n\n{node_config}\n\n--{MIME_BOUNDARY}--\n"
    )


def create_launch_template(
    ec2: Any, scenario: Scenario, group: NodegroupSpec, security_groups: dict[str, str]
) -> dict[str, str] | None:
    """The nodegroup's launch template ({"id", "version"} for CreateNodegroup), or None."""
    template = group.launch_template
    if template is None:
        return None
    data: dict[str, Any] = {}
    if template.security_groups:
        data["SecurityGroupIds"] = [security_groups[name] for name in template.security_groups]
    if template.custom_ami:
        data["ImageId"] = _image(ec2, CUSTOM_NODE_AMI_NAME)
        data["UserData"] = base64.b64encode(user_data(scenario.cluster.name, template).encode()).decode()
    created = ec2.create_launch_template(
        LaunchTemplateName=f"{scenario.cluster.name}-{group.name}",
        LaunchTemplateData=data,
        TagSpecifications=_tag_spec("launch-template", {"Name": f"{scenario.cluster.name}-{group.name}"}),
    )["LaunchTemplate"]
    return {"id": str(created["LaunchTemplateId"]), "version": str(created["LatestVersionNumber"])}


def launch_unmanaged_capacity(
    aws: Any, ec2: Any, scenario: Scenario, built: BuiltAws, security_group: str
) -> list[str]:
    """Self-managed and Karpenter instances, tagged as on AWS (kubernetes.io/cluster/<name>; Karpenter's
    karpenter.sh/nodepool); their instance IDs."""
    cluster = scenario.cluster.name
    launched = []
    specs: list[tuple[str, list[str], str, int, dict[str, str], str]] = []
    for node in scenario.cluster.self_managed_nodes:
        tags = {"Name": f"{cluster}-{node.name}", f"kubernetes.io/cluster/{cluster}": "owned"}
        specs.append((node.name, node.subnets, node.instance_type, node.count, tags, node.os))
    for pool in scenario.cluster.karpenter_nodes:
        tags = {
            "Name": f"{cluster}-karpenter-{pool.node_pool}",
            f"kubernetes.io/cluster/{cluster}": "owned",
            "karpenter.sh/nodepool": pool.node_pool,
            "karpenter.k8s.aws/ec2nodeclass": "default",
            "eks:eks-cluster-name": cluster,
        }
        specs.append((pool.node_pool, pool.subnets, pool.instance_type, pool.count, tags, "linux"))
    for _name, subnets, instance_type, count, tags, os in specs:
        for i in range(count):
            instance = ec2.run_instances(
                ImageId=_image(ec2, WINDOWS_AMI_NAME if os == "windows" else CUSTOM_NODE_AMI_NAME),
                InstanceType=instance_type,
                MinCount=1,
                MaxCount=1,
                SubnetId=built.subnet_ids[subnets[i % len(subnets)]],
                SecurityGroupIds=[security_group],
                TagSpecifications=_tag_spec("instance", tags),
            )["Instances"][0]
            launched.append(str(instance["InstanceId"]))
            if os == "windows":
                # moto takes an instance's platform from a public AMI it knows; a registered image has none.
                aws.ec2.backend.get_instance(instance["InstanceId"]).platform = "windows"
    return launched


def create_fargate_profiles(eks: Any, iam: Any, scenario: Scenario, built: BuiltAws) -> None:
    if not scenario.cluster.fargate_profiles:
        return
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "eks-fargate-pods.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(
        RoleName=f"{scenario.cluster.name}-fargate-pod-execution", AssumeRolePolicyDocument=json.dumps(trust)
    )["Role"]["Arn"]
    for profile in scenario.cluster.fargate_profiles:
        eks.create_fargate_profile(
            fargateProfileName=profile.name,
            clusterName=scenario.cluster.name,
            podExecutionRoleArn=role,
            subnets=[built.subnet_ids[name] for name in profile.subnets],
            selectors=[{"namespace": namespace} for namespace in profile.namespaces],
        )
