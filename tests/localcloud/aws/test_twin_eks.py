"""EKS fidelity: add-ons and their schema per version, updates, access entries, cluster config,
timed nodegroups and clusters, through boto3 (so botocore parses every response)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError
from conftest import FAST_TIMING, FrozenClock, wait_for

from localcloud.aws.server import LocalAws

CLUSTER = "eksworkshop"
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def _code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return str(caught.value.response["Error"]["Code"])


@pytest.fixture(scope="module")
def eks(aws: LocalAws) -> Any:
    return aws.admin_session().client("eks")


def _second_cluster(aws: LocalAws, name: str, mode: str, creating_for: float | None = None) -> None:
    session = aws.admin_session()
    session.client("eks").create_cluster(
        name=name,
        roleArn=aws.built.cluster_role_arn,
        resourcesVpcConfig={"subnetIds": [aws.built.subnet_ids["node-a"], aws.built.subnet_ids["node-b"]]},
    )
    aws.eks.register_cluster(
        name,
        authentication_mode=mode,
        cluster_security_group_id=aws.built.cluster_security_group_id,
        vpc_id=aws.built.vpc_id,
        service_ipv4_cidr="10.100.0.0/16",
        creating_for=creating_for,
    )


def test_describe_cluster_is_enriched(aws: LocalAws, eks: Any) -> None:
    cluster = eks.describe_cluster(name=CLUSTER)["cluster"]
    assert cluster["status"] == "ACTIVE"
    assert cluster["accessConfig"]["authenticationMode"] == "API_AND_CONFIG_MAP"
    sg = cluster["resourcesVpcConfig"]["clusterSecurityGroupId"]
    assert sg == aws.built.cluster_security_group_id
    ec2 = aws.admin_session().client("ec2")
    assert ec2.describe_security_groups(GroupIds=[sg])["SecurityGroups"][0]["VpcId"] == aws.built.vpc_id
    assert cluster["resourcesVpcConfig"]["vpcId"] == aws.built.vpc_id
    assert cluster["kubernetesNetworkConfig"]["ipFamily"] == "ipv4"
    assert cluster["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == "10.100.0.0/16"
    aws.eks.set_cluster_endpoint(CLUSTER, "https://127.0.0.1:9443", "Q0EtUEVN")
    cluster = eks.describe_cluster(name=CLUSTER)["cluster"]
    assert cluster["endpoint"] == "https://127.0.0.1:9443"
    assert cluster["certificateAuthority"]["data"] == "Q0EtUEVN"


def test_addon_describe_and_list(eks: Any) -> None:
    assert eks.list_addons(clusterName=CLUSTER)["addons"] == ["vpc-cni"]
    addon = eks.describe_addon(clusterName=CLUSTER, addonName="vpc-cni")["addon"]
    assert (addon["status"], addon["addonVersion"]) == ("ACTIVE", "v1.18.3-eksbuild.1")
    assert "configurationValues" not in addon
    assert _code(eks.describe_addon, clusterName=CLUSTER, addonName="coredns") == "ResourceNotFoundException"
    assert _code(eks.list_addons, clusterName="nope") == "ResourceNotFoundException"


def test_configuration_schema_per_version(eks: Any) -> None:
    old = json.loads(
        eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v1.12.6-eksbuild.2")["configurationSchema"]
    )
    new = json.loads(
        eks.describe_addon_configuration(addonName="vpc-cni", addonVersion="v1.18.3-eksbuild.1")["configurationSchema"]
    )
    old_props = old["definitions"]["VpcCni"]["properties"]
    new_props = new["definitions"]["VpcCni"]["properties"]
    assert "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG" in old_props["env"]["properties"]
    assert "ENI_CONFIG_LABEL_DEF" not in old_props["env"]["properties"] and "eniConfig" not in old_props
    assert "ENI_CONFIG_LABEL_DEF" in new_props["env"]["properties"]
    assert set(new_props["eniConfig"]["properties"]) == {"create", "region", "subnets"}
    versions = eks.describe_addon_versions(addonName="vpc-cni")["addons"][0]["addonVersions"]
    assert "v1.18.3-eksbuild.1" in [v["addonVersion"] for v in versions]


def test_update_addon_validates_values_against_the_version(eks: Any) -> None:
    bad = json.dumps({"env": {"NOT_A_CNI_SETTING": "1"}})
    assert _code(eks.update_addon, clusterName=CLUSTER, addonName="vpc-cni", configurationValues=bad) == (
        "InvalidParameterException"
    )
    not_string = json.dumps({"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": True}})
    assert _code(eks.update_addon, clusterName=CLUSTER, addonName="vpc-cni", configurationValues=not_string) == (
        "InvalidParameterException"
    )
    label = json.dumps({"env": {"ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}})
    # v1.12 has no ENI_CONFIG_LABEL_DEF
    assert (
        _code(
            eks.update_addon,
            clusterName=CLUSTER,
            addonName="vpc-cni",
            addonVersion="v1.12.6-eksbuild.2",
            configurationValues=label,
        )
        == "InvalidParameterException"
    )
    assert _code(eks.update_addon, clusterName=CLUSTER, addonName="vpc-cni", resolveConflicts="MERGE") == (
        "InvalidParameterException"
    )
    assert eks.describe_addon(clusterName=CLUSTER, addonName="vpc-cni")["addon"]["status"] == "ACTIVE"


def test_update_addon_progression(aws: LocalAws, eks: Any, frozen: FrozenClock) -> None:
    cluster = "addon-updates"  # its own cluster: the seed cluster's add-on stays as the scenario built it
    _second_cluster(aws, cluster, "API")
    aws.eks.install_addon(cluster, "vpc-cni", "v1.18.3-eksbuild.1")
    values = json.dumps(
        {"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}}
    )
    update = eks.update_addon(
        clusterName=cluster, addonName="vpc-cni", configurationValues=values, resolveConflicts="PRESERVE"
    )["update"]
    assert (update["status"], update["type"]) == ("InProgress", "AddonUpdate")
    assert {"type": "ResolveConflicts", "value": "PRESERVE"} in update["params"]
    assert {"type": "ConfigurationValues", "value": values} in update["params"]
    assert eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]["status"] == "UPDATING"
    assert _code(eks.update_addon, clusterName=cluster, addonName="vpc-cni") == "ResourceInUseException"
    assert eks.list_updates(name=cluster, addonName="vpc-cni")["updateIds"] == [update["id"]]

    def status() -> str:
        return str(eks.describe_update(name=cluster, updateId=update["id"], addonName="vpc-cni")["update"]["status"])

    assert status() == "InProgress"
    frozen.advance(FAST_TIMING["addonUpdate"])
    wait_for(lambda: status() == "Successful")
    addon = eks.describe_addon(clusterName=cluster, addonName="vpc-cni")["addon"]
    assert addon["status"] == "ACTIVE" and addon["configurationValues"] == values
    assert aws.eks.addon_configuration(cluster)["env"]["ENI_CONFIG_LABEL_DEF"] == "topology.kubernetes.io/zone"
    assert _code(eks.describe_update, name=cluster, updateId="0000") == "ResourceNotFoundException"


def test_list_updates_pages_as_eks_does(aws: LocalAws, eks: Any) -> None:
    """At most 100 IDs a page by default (maxResults 1 to 100), then nextToken."""
    cluster = "many-updates"
    _second_cluster(aws, cluster, "API")
    aws.eks.install_addon(cluster, "vpc-cni", "v1.18.3-eksbuild.1")
    made = [aws.eks._new_update(cluster, "AddonUpdate", [], addon="vpc-cni").id for _ in range(130)]
    first = eks.list_updates(name=cluster, addonName="vpc-cni")
    assert len(first["updateIds"]) == 100 and first["nextToken"]
    second = eks.list_updates(name=cluster, addonName="vpc-cni", nextToken=first["nextToken"])
    assert first["updateIds"] + second["updateIds"] == made and "nextToken" not in second
    assert len(eks.list_updates(name=cluster, addonName="vpc-cni", maxResults=7)["updateIds"]) == 7
    assert _code(eks.list_updates, name=cluster, addonName="vpc-cni", maxResults=101) == "InvalidParameterException"


def test_access_entry_lifecycle(aws: LocalAws, eks: Any) -> None:
    iam = aws.admin_session().client("iam")
    role = iam.create_role(RoleName="podcidr-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    entry = eks.create_access_entry(clusterName=CLUSTER, principalArn=role, type="STANDARD")["accessEntry"]
    assert entry["principalArn"] == role and entry["type"] == "STANDARD"
    assert entry["username"] == "arn:aws:sts::123456789012:assumed-role/podcidr-fn/{{SessionName}}"
    assert _code(eks.create_access_entry, clusterName=CLUSTER, principalArn=role) == "ResourceInUseException"
    assert role in eks.list_access_entries(clusterName=CLUSTER)["accessEntries"]
    assert eks.describe_access_entry(clusterName=CLUSTER, principalArn=role)["accessEntry"]["accessEntryArn"]
    associated = eks.associate_access_policy(
        clusterName=CLUSTER, principalArn=role, policyArn=ADMIN_POLICY, accessScope={"type": "cluster"}
    )["associatedAccessPolicy"]
    assert associated["policyArn"] == ADMIN_POLICY
    listed = eks.list_associated_access_policies(clusterName=CLUSTER, principalArn=role)["associatedAccessPolicies"]
    assert [p["policyArn"] for p in listed] == [ADMIN_POLICY]
    admins = eks.list_access_entries(clusterName=CLUSTER, associatedPolicyArn=ADMIN_POLICY)["accessEntries"]
    assert sorted(admins) == [role, "arn:aws:iam::123456789012:root"]  # and the cluster creator
    # the cluster twin's view: an STS assumed-role caller maps to the role's entry
    found = aws.eks.access_entry(CLUSTER, "arn:aws:sts::123456789012:assumed-role/podcidr-fn/session-1")
    assert found is not None and [p.policy_arn for p in found.policies.values()] == [ADMIN_POLICY]
    assert (
        _code(
            eks.associate_access_policy,
            clusterName=CLUSTER,
            principalArn=role,
            policyArn=ADMIN_POLICY,
            accessScope={"type": "namespace"},
        )
        == "InvalidParameterException"
    )
    eks.disassociate_access_policy(clusterName=CLUSTER, principalArn=role, policyArn=ADMIN_POLICY)
    assert eks.list_associated_access_policies(clusterName=CLUSTER, principalArn=role)["associatedAccessPolicies"] == []
    eks.delete_access_entry(clusterName=CLUSTER, principalArn=role)
    assert _code(eks.describe_access_entry, clusterName=CLUSTER, principalArn=role) == "ResourceNotFoundException"
    assert _code(eks.delete_access_entry, clusterName=CLUSTER, principalArn=role) == "ResourceNotFoundException"
    assert aws.eks.access_entry(CLUSTER, role) is None
    assert _code(eks.create_access_entry, clusterName="nope", principalArn=role) == "ResourceNotFoundException"


def test_config_map_mode_refuses_access_entries_and_switch_is_one_way(aws: LocalAws, eks: Any) -> None:
    _second_cluster(aws, "legacy", "CONFIG_MAP")
    iam = aws.admin_session().client("iam")
    role = iam.create_role(RoleName="podcidr-legacy", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    assert eks.describe_cluster(name="legacy")["cluster"]["accessConfig"]["authenticationMode"] == "CONFIG_MAP"
    assert _code(eks.create_access_entry, clusterName="legacy", principalArn=role) == "InvalidRequestException"
    assert _code(eks.list_access_entries, clusterName="legacy") == "InvalidRequestException"
    assert (
        _code(eks.update_cluster_config, name="legacy", accessConfig={"authenticationMode": "API"})
        == "InvalidParameterException"
    )
    update = eks.update_cluster_config(name="legacy", accessConfig={"authenticationMode": "API_AND_CONFIG_MAP"})
    assert update["update"]["status"] == "InProgress"
    wait_for(lambda: aws.eks.authentication_mode("legacy") == "API_AND_CONFIG_MAP")
    status = eks.describe_update(name="legacy", updateId=update["update"]["id"])["update"]["status"]
    assert status == "Successful"
    eks.create_access_entry(clusterName="legacy", principalArn=role)
    assert (
        _code(eks.update_cluster_config, name="legacy", accessConfig={"authenticationMode": "CONFIG_MAP"})
        == "InvalidParameterException"
    )


def test_creating_cluster_becomes_active(aws: LocalAws, eks: Any, frozen: FrozenClock) -> None:
    _second_cluster(aws, "fresh", "API", creating_for=0.3)
    assert eks.describe_cluster(name="fresh")["cluster"]["status"] == "CREATING"
    assert (
        _code(
            eks.create_nodegroup,
            clusterName="fresh",
            nodegroupName="ng",
            nodeRole=aws.built.node_role_arn,
            subnets=[aws.built.subnet_ids["node-a"]],
        )
        == "InvalidRequestException"
    )
    frozen.advance(0.3)
    wait_for(lambda: eks.describe_cluster(name="fresh")["cluster"]["status"] == "ACTIVE")


def test_nodegroup_creating_active_deleting_gone(aws: LocalAws, eks: Any, frozen: FrozenClock) -> None:
    events: list[tuple[str, str]] = []
    aws.eks.subscribe(lambda event, details: events.append((event, str(details.get("nodegroup")))))
    created = eks.create_nodegroup(
        clusterName=CLUSTER,
        nodegroupName="podcidr-ng",
        nodeRole=aws.built.node_role_arn,
        subnets=[aws.built.subnet_ids["node-a"]],
        instanceTypes=["t3.2xlarge"],
        scalingConfig={"minSize": 1, "desiredSize": 1, "maxSize": 2},
        labels={"role": "apps"},
    )["nodegroup"]
    assert created["status"] == "CREATING"
    assert _code(
        eks.create_nodegroup,
        clusterName=CLUSTER,
        nodegroupName="podcidr-ng",
        nodeRole=aws.built.node_role_arn,
        subnets=[aws.built.subnet_ids["node-a"]],
    ) == ("ResourceInUseException")

    def status() -> str:
        return str(eks.describe_nodegroup(clusterName=CLUSTER, nodegroupName="podcidr-ng")["nodegroup"]["status"])

    assert status() == "CREATING"
    info = {n.name: n for n in aws.eks.nodegroups(CLUSTER)}["podcidr-ng"]
    assert info.labels == {"role": "apps"} and info.instance_types == ["t3.2xlarge"]
    frozen.advance(FAST_TIMING["nodegroupCreate"])
    wait_for(lambda: status() == "ACTIVE")
    deleted = eks.delete_nodegroup(clusterName=CLUSTER, nodegroupName="podcidr-ng")["nodegroup"]
    assert deleted["status"] == "DELETING"
    assert status() == "DELETING"
    assert "podcidr-ng" in eks.list_nodegroups(clusterName=CLUSTER)["nodegroups"]
    frozen.advance(FAST_TIMING["nodegroupDelete"])
    wait_for(lambda: "podcidr-ng" not in eks.list_nodegroups(clusterName=CLUSTER)["nodegroups"])
    assert _code(eks.describe_nodegroup, clusterName=CLUSTER, nodegroupName="podcidr-ng") == "ResourceNotFoundException"
    assert [e for e in events if e[1] == "podcidr-ng"] == [
        ("nodegroup-creating", "podcidr-ng"),
        ("nodegroup-active", "podcidr-ng"),
        ("nodegroup-deleting", "podcidr-ng"),
        ("nodegroup-deleted", "podcidr-ng"),
    ]
