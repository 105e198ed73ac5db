"""Validation as AWS documents it (issue 10 item 3), for the changes the workflow makes. Each test
names its source; where the twin's wording of a message is its own, the code is what is checked."""

from __future__ import annotations

import ipaddress
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.aws.server import LocalAws

CLUSTER = "eksworkshop"


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error.get("Message", ""))


@pytest.fixture(scope="module")
def ec2(aws: LocalAws) -> Any:
    return aws.admin_session().client("ec2")


@pytest.fixture(scope="module")
def eks(aws: LocalAws) -> Any:
    return aws.admin_session().client("eks")


@pytest.fixture(scope="module")
def elbv2(aws: LocalAws) -> Any:
    return aws.admin_session().client("elbv2")


# --- CreateSubnet (VPC user guide, "Subnet CIDR blocks"; EC2 API reference, CreateSubnet) ---------


def test_vpc_guide_subnet_sizes_are_16_to_28(aws: LocalAws, ec2: Any) -> None:
    az = f"{aws.region}a"
    code, message = _error(ec2.create_subnet, VpcId=aws.built.vpc_id, CidrBlock="172.31.200.0/30", AvailabilityZone=az)
    assert (code, message) == ("InvalidSubnet.Range", "The CIDR '172.31.200.0/30' is invalid.")


def test_ec2_reference_refuses_a_cidr_with_host_bits(aws: LocalAws, ec2: Any) -> None:
    code, _ = _error(ec2.create_subnet, VpcId=aws.built.vpc_id, CidrBlock="172.31.200.1/24")
    assert code == "InvalidParameterValue"


def test_ec2_reference_filter_names_are_case_sensitive(aws: LocalAws, ec2: Any) -> None:
    """Failed before: moto matched VPC-ID as vpc-id (a mutant of CreatePodSubnet's overlap read survived)."""
    vpc = [aws.built.vpc_id]
    code, message = _error(ec2.describe_subnets, Filters=[{"Name": "VPC-ID", "Values": vpc}])
    assert (code, message) == ("InvalidParameterValue", "The filter 'VPC-ID' is invalid")
    assert ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": vpc}])["Subnets"]
    assert ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["none"]}])["Subnets"] == []


def test_vpc_guide_a_subnet_lies_inside_an_associated_block(aws: LocalAws, ec2: Any) -> None:
    code, _ = _error(ec2.create_subnet, VpcId=aws.built.vpc_id, CidrBlock="100.64.0.0/24")
    assert code == "InvalidSubnet.Range"


def test_vpc_guide_subnets_of_a_vpc_do_not_overlap(aws: LocalAws, ec2: Any) -> None:
    node_a = aws.scenario.subnet("node-a").cidr
    code, message = _error(ec2.create_subnet, VpcId=aws.built.vpc_id, CidrBlock=node_a)
    assert (code, message) == ("InvalidSubnet.Conflict", f"The CIDR '{node_a}' conflicts with another subnet")


def test_ec2_reference_the_zone_is_one_of_the_region(aws: LocalAws, ec2: Any) -> None:
    code, _ = _error(
        ec2.create_subnet, VpcId=aws.built.vpc_id, CidrBlock="172.31.200.0/24", AvailabilityZone="us-east-1a"
    )
    assert code == "InvalidParameterValue"
    assert ec2.create_subnet(VpcId=aws.built.vpc_id, CidrBlock="172.31.200.0/28", AvailabilityZone=f"{aws.region}a")


# --- CreateNodegroup (EKS API reference, CreateNodegroup; AWS-FACTS section 7) ---------------------


def _nodegroup(aws: LocalAws, **overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "clusterName": CLUSTER,
        "nodegroupName": "checked",
        "nodeRole": aws.built.node_role_arn,
        "subnets": [aws.built.subnet_ids["node-a"]],
        "scalingConfig": {"minSize": 1, "desiredSize": 1, "maxSize": 2},
        "instanceTypes": ["m5.large"],
    }
    request.update(overrides)
    return request


@pytest.mark.parametrize(
    ("what", "overrides"),
    [
        ("aws: tag keys are reserved (AWS tagging rules)", {"tags": {"aws:cloudformation:stack-name": "x"}}),
        (
            "min <= desired <= max (NodegroupScalingConfig)",
            {"scalingConfig": {"minSize": 1, "desiredSize": 3, "maxSize": 2}},
        ),
        ("instance types exist (CreateNodegroup instanceTypes)", {"instanceTypes": ["t9.enormous"]}),
        ("version at most the cluster's (EKS version skew)", {"version": "1.31"}),
        ("version at most three minors older (EKS version skew)", {"version": "1.26"}),
        ("releaseVersion of the version (AMI release versions)", {"releaseVersion": "1.29.10-20241109"}),
        ("updateConfig: one of maxUnavailable(Percentage)", {"updateConfig": {"updateStrategy": "DEFAULT"}}),
        (
            "updateStrategy DEFAULT or MINIMAL (NodegroupUpdateConfig)",
            {"updateConfig": {"maxUnavailable": 1, "updateStrategy": "FAST"}},
        ),
    ],
)
def test_eks_reference_create_nodegroup_refuses(aws: LocalAws, eks: Any, what: str, overrides: dict[str, Any]) -> None:
    code, _ = _error(eks.create_nodegroup, **_nodegroup(aws, **overrides))
    assert code == "InvalidParameterException", what
    assert "checked" not in eks.list_nodegroups(clusterName=CLUSTER)["nodegroups"]


def test_eks_reference_subnets_are_in_the_clusters_vpc(aws: LocalAws, ec2: Any, eks: Any) -> None:
    other = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=other, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
    code, _ = _error(eks.create_nodegroup, **_nodegroup(aws, subnets=[subnet]))
    assert code == "InvalidParameterException"
    code, _ = _error(eks.create_nodegroup, **_nodegroup(aws, subnets=["subnet-0000000000000000"]))
    assert code == "InvalidParameterException"


def test_eks_reference_a_launch_template_and_its_version_exist(aws: LocalAws, ec2: Any, eks: Any) -> None:
    template = ec2.create_launch_template(
        LaunchTemplateName="checked-lt", LaunchTemplateData={"InstanceType": "m5.large"}
    )
    template_id = template["LaunchTemplate"]["LaunchTemplateId"]
    code, _ = _error(eks.create_nodegroup, **_nodegroup(aws, launchTemplate={"id": "lt-0000000000000000"}))
    assert code == "InvalidParameterException"
    code, _ = _error(eks.create_nodegroup, **_nodegroup(aws, launchTemplate={"id": template_id, "version": "7"}))
    assert code == "InvalidParameterException"


def test_eks_launch_template_guide_no_disk_size_or_remote_access_beside_a_template(
    aws: LocalAws, ec2: Any, eks: Any
) -> None:
    template_id = ec2.describe_launch_templates(LaunchTemplateNames=["checked-lt"])["LaunchTemplates"][0][
        "LaunchTemplateId"
    ]
    with_template = {"launchTemplate": {"id": template_id}}
    assert (
        _error(eks.create_nodegroup, **_nodegroup(aws, diskSize=50, **with_template))[0] == "InvalidParameterException"
    )
    assert (
        _error(eks.create_nodegroup, **_nodegroup(aws, remoteAccess={"ec2SshKey": "k"}, **with_template))[0]
        == "InvalidParameterException"
    )
    # instanceTypes may come from the template
    request = _nodegroup(aws, nodegroupName="from-template", **with_template)
    del request["instanceTypes"]
    assert eks.create_nodegroup(**request)["nodegroup"]["launchTemplate"]["id"] == template_id


# --- UpdateAddon (EKS API reference; "Updating VPC-CNI can only go up or down 1 minor version at a time",
# --- terraform-aws-eks #2749, awsdocs/amazon-eks-user-guide #672) -------------------------------------------


def test_eks_vpc_cni_moves_one_minor_version_at_a_time(eks: Any) -> None:
    code, message = _error(
        eks.update_addon, clusterName=CLUSTER, addonName="vpc-cni", addonVersion="v1.16.4-eksbuild.2"
    )
    assert (code, message) == (
        "InvalidParameterException",
        "Updating VPC-CNI can only go up or down 1 minor version at a time",
    )


def test_eks_only_versions_listed_for_the_clusters_kubernetes_version(eks: Any) -> None:
    listed = eks.describe_addon_versions(addonName="vpc-cni", kubernetesVersion="1.30")["addons"][0]["addonVersions"]
    v1_12 = next(v for v in listed if v["addonVersion"].startswith("v1.12."))
    assert "1.31" not in [c["clusterVersion"] for c in v1_12["compatibilities"]]


def test_eks_configuration_values_are_checked_against_that_versions_schema(eks: Any) -> None:
    unknown = json.dumps({"env": {"NOT_A_SETTING": "1"}})
    code, message = _error(eks.update_addon, clusterName=CLUSTER, addonName="vpc-cni", configurationValues=unknown)
    assert code == "InvalidParameterException" and "Json schema validation failed" in message


# --- CreateAccessEntry (EKS API reference: principalArn of an existing IAM principal) -------------------


def test_eks_reference_an_access_entry_needs_a_principal_that_exists(aws: LocalAws, eks: Any) -> None:
    missing = f"arn:aws:iam::{aws.account_id}:role/nobody"
    assert _error(eks.create_access_entry, clusterName=CLUSTER, principalArn=missing)[0] == "InvalidParameterException"


# --- ELBv2 fixed private addresses (ELBv2 API reference SubnetMapping.PrivateIPv4Address; Load Balancer
# --- Controller annotations guide: internal only, one per subnet, inside it; AWS-FACTS section 3) -------


def _nlb(aws: LocalAws, elbv2: Any, mappings: list[dict[str, str]], **kwargs: Any) -> tuple[str, str]:
    return _error(
        elbv2.create_load_balancer,
        Name="checked-nlb",
        SubnetMappings=mappings,
        Scheme=kwargs.get("scheme", "internal"),
        Type=kwargs.get("kind", "network"),
    )


def test_elbv2_fixed_addresses_are_checked(aws: LocalAws, elbv2: Any) -> None:
    subnet = aws.built.subnet_ids["node-a"]
    other = aws.built.subnet_ids["node-b"]
    network = ipaddress.IPv4Network(aws.scenario.subnet("node-a").cidr)
    inside, second, reserved = (str(network[n]) for n in (50, 51, 1))
    cases = {
        "internal only": _nlb(
            aws, elbv2, [{"SubnetId": subnet, "PrivateIPv4Address": inside}], scheme="internet-facing"
        ),
        "network load balancers only": _nlb(
            aws, elbv2, [{"SubnetId": subnet, "PrivateIPv4Address": inside}], kind="application"
        ),
        "inside its subnet": _nlb(aws, elbv2, [{"SubnetId": other, "PrivateIPv4Address": inside}]),
        "not reserved": _nlb(aws, elbv2, [{"SubnetId": subnet, "PrivateIPv4Address": reserved}]),
        "one per subnet": _nlb(
            aws,
            elbv2,
            [
                {"SubnetId": subnet, "PrivateIPv4Address": inside},
                {"SubnetId": subnet, "PrivateIPv4Address": second},
            ],
        ),
    }
    assert {what: code for what, (code, _) in cases.items()} == dict.fromkeys(cases, "InvalidConfigurationRequest")


def test_elbv2_a_fixed_address_in_use_is_refused(aws: LocalAws, ec2: Any, elbv2: Any) -> None:
    subnet = aws.built.subnet_ids["node-a"]
    address = str(ipaddress.IPv4Network(aws.scenario.subnet("node-a").cidr)[60])
    ec2.create_network_interface(SubnetId=subnet, PrivateIpAddress=address)
    code, message = _nlb(aws, elbv2, [{"SubnetId": subnet, "PrivateIPv4Address": address}])
    assert code == "InvalidConfigurationRequest" and "already in use" in message


# --- ELBv2 DescribeTags (ELBv2 API reference, DescribeTags: LoadBalancerNotFound, TargetGroupNotFound) ----


def test_elbv2_describe_tags_fails_whole_when_one_load_balancer_is_gone(aws: LocalAws, elbv2: Any) -> None:
    subnets = [aws.built.subnet_ids["node-a"], aws.built.subnet_ids["node-b"]]
    kept, gone = (
        elbv2.create_load_balancer(Name=name, Subnets=subnets, Scheme="internal", Type="network")["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        for name in ("tagged-kept", "tagged-gone")
    )
    elbv2.delete_load_balancer(LoadBalancerArn=gone)
    code, _ = _error(elbv2.describe_tags, ResourceArns=[kept, gone])
    assert code == "LoadBalancerNotFound"
    assert [d["ResourceArn"] for d in elbv2.describe_tags(ResourceArns=[kept])["TagDescriptions"]] == [kept]
    elbv2.delete_load_balancer(LoadBalancerArn=kept)
