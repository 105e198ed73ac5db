"""Responses as complete as AWS's (issue 10 item 2): every read the workflow makes returns every
member of its botocore output shape, but those tests/fixtures/response_shapes.py OMITTED lists with
a reason; and what the twin returns is AWS's, not moto's placeholders.

The twin's resources here are the workflow's: the seed's VPC, a nodegroup as real accounts have it
(CloudFormation tag, updateConfig, labels, taints), one with a launch template, an add-on update,
an access entry with its policy, an internal NLB with fixed addresses and an internet-facing ALB
with target groups and a target, and a Step Functions execution."""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from conftest import FAST_TIMING, wait_for

from localcloud.aws.server import LocalAws
from localcloud.scenario import parse_scenario
from tests.fixtures.response_shapes import OMITTED, READ_OPERATIONS, matches, missing_members, omitted

CLUSTER = "eksworkshop"
SCENARIO = {
    "timing": FAST_TIMING,
    "cluster": {
        "version": "1.30",
        "nodegroups": [
            {
                "name": "managed-ng",
                "labels": {"role": "web"},
                "taints": [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}],
                "tags": {"aws:cloudformation:stack-name": "eksctl-eksworkshop-nodegroup-managed-ng"},
                "updateConfig": {"maxUnavailable": 1, "updateStrategy": "DEFAULT"},
            }
        ],
    },
}


class Reads:
    """The twin with the workflow's resources, and a call per read operation."""

    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        session = aws.admin_session()
        self.eks, self.ec2 = session.client("eks"), session.client("ec2")
        self.elbv2, self.sts, self.sfn = session.client("elbv2"), session.client("sts"), session.client("stepfunctions")
        built = aws.built
        self.node_subnets = [built.subnet_ids[n] for n in ("node-a", "node-b")]
        template = self.ec2.create_launch_template(
            LaunchTemplateName="nodes-lt",
            LaunchTemplateData={"InstanceType": "m5.large", "SecurityGroupIds": [built.cluster_security_group_id]},
        )["LaunchTemplate"]
        self.template_id = template["LaunchTemplateId"]
        self.eks.create_nodegroup(
            clusterName=CLUSTER,
            nodegroupName="lt-ng",
            nodeRole=built.node_role_arn,
            subnets=self.node_subnets,
            scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 2},
            launchTemplate={"id": self.template_id, "version": "1"},
        )
        self.update_id = self.eks.update_addon(
            clusterName=CLUSTER,
            addonName="vpc-cni",
            resolveConflicts="PRESERVE",
            configurationValues=json.dumps({"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}}),
        )["update"]["id"]
        iam = session.client("iam")
        self.role_arn = iam.create_role(RoleName="podcidr-functions", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        self.eks.create_access_entry(clusterName=CLUSTER, principalArn=self.role_arn)
        self.eks.associate_access_policy(
            clusterName=CLUSTER,
            principalArn=self.role_arn,
            policyArn="arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy",
            accessScope={"type": "cluster"},
        )
        public = [built.subnet_ids[n] for n in ("public-a", "public-b")]
        self.alb = self.elbv2.create_load_balancer(
            Name="k8s-web-alb", Subnets=public, Scheme="internet-facing", Type="application"
        )["LoadBalancers"][0]
        self.nlb = self.elbv2.create_load_balancer(
            Name="k8s-web-nlb",
            SubnetMappings=[{"SubnetId": self.node_subnets[0], "PrivateIPv4Address": "172.31.48.20"}],
            Scheme="internal",
            Type="network",
        )["LoadBalancers"][0]
        self.tcp = self.elbv2.create_target_group(
            Name="k8s-web-tcp", Protocol="TCP", Port=80, VpcId=built.vpc_id, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        self.http = self.elbv2.create_target_group(
            Name="k8s-web-http", Protocol="HTTP", Port=80, VpcId=built.vpc_id, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        self.elbv2.register_targets(TargetGroupArn=self.http, Targets=[{"Id": "172.31.48.30", "Port": 80}])
        machine = self.sfn.create_state_machine(
            name="shapes",
            roleArn=self.role_arn,
            definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": True}}}),
        )["stateMachineArn"]
        image = self.ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        self.ec2.run_instances(  # a node, as Plan finds self-managed capacity by its instances
            ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.2xlarge", SubnetId=self.node_subnets[0]
        )
        self.reservation_subnet = self.node_subnets[1]
        reserved = str(
            next(
                ipaddress.IPv4Network(
                    self.ec2.describe_subnets(SubnetIds=[self.reservation_subnet])["Subnets"][0]["CidrBlock"]
                ).subnets(new_prefix=28)
            )
        )
        self.ec2.create_subnet_cidr_reservation(
            SubnetId=self.reservation_subnet, Cidr=reserved, ReservationType="prefix", Description="kept for nodes"
        )
        self.execution = self.sfn.start_execution(stateMachineArn=machine, input="{}")["executionArn"]
        wait_for(lambda: self.sfn.describe_execution(executionArn=self.execution)["status"] != "RUNNING")

    def calls(self) -> dict[str, Callable[[], dict[str, Any]]]:
        built, eks, ec2, elbv2 = self.aws.built, self.eks, self.ec2, self.elbv2
        vpc = [{"Name": "vpc-id", "Values": [built.vpc_id]}]
        return {
            "DescribeCluster": lambda: eks.describe_cluster(name=CLUSTER),
            "ListNodegroups": lambda: eks.list_nodegroups(clusterName=CLUSTER),
            "DescribeNodegroup": lambda: _merged(
                eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName=name) for name in ("managed-ng", "lt-ng")
            ),
            "DescribeAddon": lambda: eks.describe_addon(clusterName=CLUSTER, addonName="vpc-cni"),
            "DescribeUpdate": lambda: eks.describe_update(name=CLUSTER, updateId=self.update_id, addonName="vpc-cni"),
            "ListUpdates": lambda: eks.list_updates(name=CLUSTER, addonName="vpc-cni"),
            "DescribeAccessEntry": lambda: eks.describe_access_entry(clusterName=CLUSTER, principalArn=self.role_arn),
            "ListAssociatedAccessPolicies": lambda: eks.list_associated_access_policies(
                clusterName=CLUSTER, principalArn=self.role_arn
            ),
            "ListFargateProfiles": lambda: eks.list_fargate_profiles(clusterName=CLUSTER),
            "DescribeInstances": lambda: _non_empty(ec2.describe_instances(Filters=vpc), "Reservations"),
            "DescribeVpcs": lambda: ec2.describe_vpcs(VpcIds=[built.vpc_id]),
            "DescribeSubnets": lambda: ec2.describe_subnets(Filters=vpc),
            "DescribeRouteTables": lambda: ec2.describe_route_tables(Filters=vpc),
            "DescribeNatGateways": lambda: ec2.describe_nat_gateways(Filters=vpc),
            "DescribeTransitGateways": lambda: ec2.describe_transit_gateways(),
            "DescribeVpcPeeringConnections": lambda: ec2.describe_vpc_peering_connections(),
            "DescribeInstanceTypes": lambda: ec2.describe_instance_types(InstanceTypes=["t3.2xlarge"]),
            "DescribeNetworkInterfaces": lambda: ec2.describe_network_interfaces(Filters=vpc),
            "DescribeLaunchTemplateVersions": lambda: ec2.describe_launch_template_versions(
                LaunchTemplateId=self.template_id
            ),
            "DescribeSecurityGroups": lambda: ec2.describe_security_groups(Filters=vpc),
            "GetSubnetCidrReservations": lambda: _non_empty(
                ec2.get_subnet_cidr_reservations(SubnetId=self.reservation_subnet), "SubnetIpv4CidrReservations"
            ),
            "DescribeLoadBalancers": lambda: elbv2.describe_load_balancers(),
            "DescribeTargetGroups": lambda: elbv2.describe_target_groups(),
            "DescribeTargetHealth": lambda: elbv2.describe_target_health(TargetGroupArn=self.http),
            "GetCallerIdentity": lambda: self.sts.get_caller_identity(),
            "DescribeExecution": lambda: self.sfn.describe_execution(executionArn=self.execution),
            "GetExecutionHistory": lambda: self.sfn.get_execution_history(executionArn=self.execution),
        }


def _non_empty(response: dict[str, Any], member: str) -> dict[str, Any]:
    """A response whose list is walked item by item: an empty list would check nothing."""
    assert response[member], f"no {member} to walk"
    return response


def _merged(responses: Any) -> dict[str, Any]:
    """Several responses of one operation walked as one: a member is missing if any response lacks it."""
    return {"_all": list(responses)}


@pytest.fixture(scope="module")
def reads() -> Iterator[Reads]:
    with LocalAws(parse_scenario(SCENARIO)) as aws:
        yield Reads(aws)


OPERATIONS = [(service, op) for service, ops in READ_OPERATIONS.items() for op in ops]


def _missing(reads: Reads, service: str, operation: str) -> list[str]:
    response = reads.calls()[operation]()
    responses = response.get("_all", [response])
    found: dict[str, None] = {}
    for one in responses:
        found.update(dict.fromkeys(missing_members(service, operation, one)))
    return list(found)


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_every_member_aws_returns_is_there(reads: Reads, service: str, operation: str) -> None:
    missing = _missing(reads, service, operation)
    unexplained = [path for path in missing if omitted(path) is None]
    assert unexplained == [], f"members AWS returns that the twin leaves out: {unexplained}"


@pytest.mark.parametrize(("service", "operation"), OPERATIONS)
def test_every_listed_omission_is_still_left_out(reads: Reads, service: str, operation: str) -> None:
    """The table stays true: an entry whose member the twin now returns in every case is removed."""
    missing = _missing(reads, service, operation)
    stale = [
        entry
        for entry in OMITTED
        if entry.startswith(f"{operation}:") and not any(matches(path, entry) for path in missing)
    ]
    assert stale == [], f"listed as omitted but returned: {stale}"


def test_a_nodegroup_reports_its_cluster_version_and_real_resources(reads: Reads) -> None:
    nodegroup = reads.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="managed-ng")["nodegroup"]
    assert nodegroup["version"] == "1.30"
    assert re.fullmatch(r"1\.30\.\d+-\d{8}", nodegroup["releaseVersion"])
    assert nodegroup["updateConfig"] == {"maxUnavailable": 1, "updateStrategy": "DEFAULT"}
    assert nodegroup["nodeRepairConfig"] == {"enabled": False} and nodegroup["health"] == {"issues": []}
    assert "remoteAccess" not in nodegroup and "remoteAccessSecurityGroup" not in nodegroup["resources"]
    [group] = nodegroup["resources"]["autoScalingGroups"]
    autoscaling = reads.aws.admin_session().client("autoscaling")
    assert autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group["name"]])["AutoScalingGroups"]


def test_a_launch_template_nodegroup_has_no_disk_size_and_names_its_template(reads: Reads) -> None:
    nodegroup = reads.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="lt-ng")["nodegroup"]
    assert "diskSize" not in nodegroup and "instanceTypes" not in nodegroup
    assert nodegroup["launchTemplate"] == {"id": reads.template_id, "name": "nodes-lt", "version": "1"}


def test_remote_access_makes_a_security_group_that_exists(reads: Reads) -> None:
    built = reads.aws.built
    reads.ec2.create_key_pair(KeyName="ops")
    reads.eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName="ssh-ng",
        nodeRole=built.node_role_arn,
        subnets=reads.node_subnets,
        scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 1},
        remoteAccess={"ec2SshKey": "ops"},
    )
    nodegroup = reads.eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="ssh-ng")["nodegroup"]
    group = nodegroup["resources"]["remoteAccessSecurityGroup"]
    assert reads.ec2.describe_security_groups(GroupIds=[group])["SecurityGroups"][0]["VpcId"] == built.vpc_id
    assert nodegroup["remoteAccess"] == {"ec2SshKey": "ops"}


def test_a_cluster_has_access_upgrade_network_and_endpoint_config(reads: Reads) -> None:
    cluster = reads.eks.describe_cluster(name=CLUSTER)["cluster"]
    assert cluster["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    assert cluster["upgradePolicy"]["supportType"] in ("STANDARD", "EXTENDED")
    assert cluster["kubernetesNetworkConfig"]["ipFamily"] == "ipv4"
    vpc_config = cluster["resourcesVpcConfig"]
    assert {"endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs"} <= set(vpc_config)


def test_load_balancer_arns_and_dns_names_are_awss(reads: Reads) -> None:
    region = reads.aws.region
    assert ":loadbalancer/app/k8s-web-alb/" in reads.alb["LoadBalancerArn"]
    assert re.fullmatch(rf"k8s-web-alb-\d{{10}}\.{region}\.elb\.amazonaws\.com", reads.alb["DNSName"])
    assert ":loadbalancer/net/k8s-web-nlb/" in reads.nlb["LoadBalancerArn"]
    assert re.fullmatch(rf"internal-k8s-web-nlb-[0-9a-f]{{16}}\.elb\.{region}\.amazonaws\.com", reads.nlb["DNSName"])
    [described] = reads.elbv2.describe_load_balancers(LoadBalancerArns=[reads.nlb["LoadBalancerArn"]])["LoadBalancers"]
    assert described["DNSName"] == reads.nlb["DNSName"] and described["Type"] == "network"


def test_a_launch_template_nodegroup_runs_the_templates_instance_type(reads: Reads) -> None:
    """Its nodes (the cluster twin reads EksStore.nodegroups) take the template's type, not a default."""
    [info] = [ng for ng in reads.aws.eks.nodegroups(CLUSTER) if ng.name == "lt-ng"]
    assert info.instance_types == ["m5.large"]
