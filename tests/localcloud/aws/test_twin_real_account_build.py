"""The build of the keys that make an account richer than the seed (DESIGN.md "Real accounts are
richer than the seed"): what AWS would answer about each, read back through the AWS APIs."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from localcloud.aws.server import LocalAws
from localcloud.scenario import parse_scenario

SCENARIO = {
    "vpc": {
        "ownerId": "111122223333",
        "securityGroups": [{"name": "nodes-extra", "tags": {"team": "web"}}],
        "routeTables": [
            {"name": "public", "defaultRoute": "internet-gateway", "subnets": ["public-a", "public-b", "public-c"]},
            {"name": "private-a", "defaultRoute": "nat-instance", "subnets": ["node-a"]},
            {"name": "private-b", "defaultRoute": "firewall", "natSubnet": "public-b", "subnets": ["node-b"]},
            {"name": "private-c", "defaultRoute": "none", "subnets": ["node-c"]},
        ],
    },
    "cluster": {
        "endpoint": {"publicAccess": True, "privateAccess": True, "publicAccessCidrs": ["203.0.113.0/24"]},
        "autoMode": True,
        "vpcCni": {"prefixDelegation": True},
        "nodegroups": [
            {
                "name": "managed-ng",
                "launchTemplate": {"securityGroups": ["nodes-extra"], "customAmi": True, "maxPods": 58},
            },
            {"name": "al2-ng", "launchTemplate": {"customAmi": True, "amiFamily": "AL2", "maxPods": 29}},
        ],
        "selfManagedNodes": [
            {"name": "legacy", "subnets": ["node-a"], "count": 2},
            {"name": "win", "subnets": ["node-b"], "os": "windows"},
        ],
        "karpenterNodes": [{"nodePool": "default", "subnets": ["node-c"], "count": 1}],
        "fargateProfiles": [{"name": "serverless", "namespaces": ["batch"]}],
    },
}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(parse_scenario(SCENARIO)) as twin:
        yield twin


def test_a_shared_vpc_and_its_subnets_report_their_owner(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    assert ec2.describe_vpcs(VpcIds=[aws.built.vpc_id])["Vpcs"][0]["OwnerId"] == "111122223333"
    subnet = ec2.describe_subnets(SubnetIds=[aws.built.subnet_ids["node-a"]])["Subnets"][0]
    assert subnet["OwnerId"] == "111122223333"


def test_default_routes_to_a_nat_instance_a_firewall_endpoint_or_none(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    tables = {
        name: ec2.describe_route_tables(RouteTableIds=[table_id])["RouteTables"][0]
        for name, table_id in aws.built.route_table_ids.items()
    }

    def default(name: str) -> dict[str, str] | None:
        return next((r for r in tables[name]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"), None)

    nat = default("private-a")
    assert nat is not None and nat["NetworkInterfaceId"].startswith("eni-")
    interface = ec2.describe_network_interfaces(NetworkInterfaceIds=[nat["NetworkInterfaceId"]])["NetworkInterfaces"]
    assert interface[0]["SubnetId"] == aws.built.subnet_ids["public-a"] and interface[0]["SourceDestCheck"] is False
    firewall = default("private-b")
    assert firewall is not None and any(str(v).startswith("vpce-") for v in firewall.values())
    assert default("private-c") is None


def test_endpoint_access_and_auto_mode_in_describe_cluster(aws: LocalAws) -> None:
    cluster = aws.admin_session().client("eks").describe_cluster(name="eksworkshop")["cluster"]
    config = cluster["resourcesVpcConfig"]
    assert (config["endpointPublicAccess"], config["endpointPrivateAccess"]) == (True, True)
    assert config["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert cluster["computeConfig"]["enabled"] is True


def test_prefix_delegation_is_in_the_addon_configuration(aws: LocalAws) -> None:
    addon = aws.admin_session().client("eks").describe_addon(clusterName="eksworkshop", addonName="vpc-cni")["addon"]
    assert '"ENABLE_PREFIX_DELEGATION": "true"' in addon["configurationValues"]


def test_launch_templates_carry_groups_a_custom_ami_and_its_user_data(aws: LocalAws) -> None:
    eks = aws.admin_session().client("eks")
    ec2 = aws.admin_session().client("ec2")
    group = eks.describe_nodegroup(clusterName="eksworkshop", nodegroupName="managed-ng")["nodegroup"]
    assert group["amiType"] == "CUSTOM" and group["launchTemplate"]["id"].startswith("lt-")
    version = ec2.describe_launch_template_versions(LaunchTemplateId=group["launchTemplate"]["id"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert version["SecurityGroupIds"] == [aws.built.security_group_ids["nodes-extra"]]
    assert version["ImageId"].startswith("ami-")
    user_data = base64.b64decode(version["UserData"]).decode()
    assert "application/node.eks.aws" in user_data and "maxPods: 58" in user_data
    al2 = eks.describe_nodegroup(clusterName="eksworkshop", nodegroupName="al2-ng")["nodegroup"]["launchTemplate"]
    al2_data = ec2.describe_launch_template_versions(LaunchTemplateId=al2["id"])["LaunchTemplateVersions"][0]
    assert "/etc/eks/bootstrap.sh eksworkshop" in base64.b64decode(al2_data["LaunchTemplateData"]["UserData"]).decode()
    assert "--max-pods=29" in base64.b64decode(al2_data["LaunchTemplateData"]["UserData"]).decode()


def test_unmanaged_capacity_is_tagged_as_on_aws(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    reservations = ec2.describe_instances(
        Filters=[{"Name": "tag-key", "Values": ["kubernetes.io/cluster/eksworkshop"]}]
    )
    instances = [i for r in reservations["Reservations"] for i in r["Instances"]]
    tags = [{t["Key"]: t["Value"] for t in i["Tags"]} for i in instances]
    assert sum(1 for t in tags if t.get("Name") == "eksworkshop-legacy") == 2
    assert sum(1 for t in tags if t.get("karpenter.sh/nodepool") == "default") == 1
    windows = [i for i in instances if i.get("Platform") == "windows"]
    assert len(windows) == 1
    profile = (
        aws.admin_session()
        .client("eks")
        .describe_fargate_profile(clusterName="eksworkshop", fargateProfileName="serverless")["fargateProfile"]
    )
    assert profile["selectors"] == [{"namespace": "batch"}]
