"""The build of a scenario that uses every VPC key, and a CREATING cluster."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import wait_for

from localcloud.aws.server import LocalAws
from localcloud.scenario import parse_scenario

SCENARIO = {
    "vpc": {
        "cidr": "10.0.0.0/16",
        "secondaryCidrs": ["100.64.0.0/16"],
        "subnets": [
            {"name": "public-a", "az": "ap-southeast-1a", "cidr": "10.0.0.0/20", "public": True},
            {"name": "public-b", "az": "ap-southeast-1b", "cidr": "10.0.16.0/20", "public": True},
            {"name": "node-a", "az": "ap-southeast-1a", "cidr": "10.0.48.0/20", "tags": {"team": "x"}},
            {"name": "node-b", "az": "ap-southeast-1b", "cidr": "10.0.64.0/20"},
        ],
        "natGateways": [{"subnet": "public-a"}, {"subnet": "public-b"}],
        "routeTables": [
            {"name": "public", "defaultRoute": "internet-gateway", "subnets": ["public-a", "public-b"]},
            {"name": "private-a", "defaultRoute": "nat-gateway", "natSubnet": "public-a", "subnets": ["node-a"]},
            {"name": "private-b", "defaultRoute": "transit-gateway", "subnets": ["node-b"]},
        ],
        "routes": [{"destination": "10.128.0.0/9", "target": "transit-gateway", "routeTables": ["private-a"]}],
        "peerings": [
            {"cidr": "10.10.0.0/16", "status": "active"},
            {"cidr": "10.20.0.0/16", "status": "pending-acceptance"},
        ],
        "securityGroups": [{"name": "nodes", "tags": {"kubernetes.io/cluster/other": "owned"}}, {"name": "extra"}],
    },
    "cluster": {
        "name": "other",
        "status": "CREATING",
        "authenticationMode": "CONFIG_MAP",
        "vpcCni": {"addon": False, "version": "v1.12.6-eksbuild.2"},
        "nodegroups": [{"name": "managed-ng", "launchTemplate": {"securityGroups": ["nodes", "extra"]}}],
    },
    "timing": {"clusterCreate": 1.5, "nodegroupCreate": 0.3},
}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with LocalAws(parse_scenario(SCENARIO)) as twin:
        yield twin


def test_cluster_creating_then_active_with_its_nodegroups(aws: LocalAws) -> None:
    eks = aws.admin_session().client("eks")
    cluster = eks.describe_cluster(name="other")["cluster"]
    assert cluster["status"] == "CREATING"
    assert cluster["accessConfig"]["authenticationMode"] == "CONFIG_MAP"
    assert eks.list_nodegroups(clusterName="other")["nodegroups"] == []
    assert eks.list_addons(clusterName="other")["addons"] == []  # self-managed CNI
    wait_for(lambda: eks.describe_cluster(name="other")["cluster"]["status"] == "ACTIVE")
    assert eks.list_nodegroups(clusterName="other")["nodegroups"] == ["managed-ng"]
    wait_for(lambda: [n.status for n in aws.eks.nodegroups("other")] == ["ACTIVE"])
    template = eks.describe_nodegroup(clusterName="other", nodegroupName="managed-ng")["nodegroup"]["launchTemplate"]
    assert template["id"] == aws.built.launch_templates["managed-ng"]["id"]


def test_security_groups_and_launch_templates_are_built(aws: LocalAws) -> None:
    ec2 = aws.admin_session().client("ec2")
    ids = aws.built.security_group_ids
    groups = ec2.describe_security_groups(GroupIds=[ids["nodes"], ids["extra"]])["SecurityGroups"]
    tags = {g["GroupName"]: {t["Key"]: t["Value"] for t in g.get("Tags", [])} for g in groups}
    assert tags == {"nodes": {"Name": "nodes", "kubernetes.io/cluster/other": "owned"}, "extra": {"Name": "extra"}}
    assert all(g["VpcId"] == aws.built.vpc_id for g in groups)
    template = aws.built.launch_templates["managed-ng"]
    data = ec2.describe_launch_template_versions(LaunchTemplateId=template["id"], Versions=["1"])[
        "LaunchTemplateVersions"
    ][0]["LaunchTemplateData"]
    assert data["SecurityGroupIds"] == [ids["nodes"], ids["extra"]]


def test_vpc_keys_are_built(aws: LocalAws) -> None:
    state = aws.state()
    assert [(b["cidr"], b["state"]) for b in state["vpc"]["blocks"]] == [
        ("10.0.0.0/16", "associated"),
        ("100.64.0.0/16", "associated"),
    ]
    tables = {t["name"]: t for t in state["routeTables"]}
    subnets = {s["name"]: s for s in state["subnets"]}
    assert subnets["node-a"]["tags"] == {"Name": "node-a", "team": "x"}
    assert subnets["node-a"]["routeTableId"] == tables["private-a"]["routeTableId"]
    routes_a = {r["destination"]: r["target"] for r in tables["private-a"]["routes"]}
    assert routes_a["0.0.0.0/0"] == aws.built.nat_gateway_ids["public-a"]
    assert routes_a["10.128.0.0/9"] == aws.built.transit_gateway_id
    assert routes_a["100.64.0.0/16"] == "local"
    routes_b = {r["destination"]: r["target"] for r in tables["private-b"]["routes"]}
    assert routes_b["0.0.0.0/0"] == aws.built.transit_gateway_id
    assert {r["destination"]: r["target"] for r in tables["public"]["routes"]}["0.0.0.0/0"].startswith("igw-")
    ec2 = aws.admin_session().client("ec2")
    statuses = sorted(
        p["Status"]["Code"]
        for p in ec2.describe_vpc_peering_connections(VpcPeeringConnectionIds=aws.built.peering_ids)[
            "VpcPeeringConnections"
        ]
    )
    assert statuses == ["active", "pending-acceptance"]


def test_only_one_twin_is_live(aws: LocalAws) -> None:
    with pytest.raises(RuntimeError, match="another LocalAws"):
        LocalAws(parse_scenario({})).start()
