"""Plan on twins of real accounts (DESIGN.md "Real accounts are richer than the seed"): each test
builds its scenario in the twin's AWS and runs Plan with a workflow role's clients, as in Lambda.
A refusal must come from Plan with no mutating call, and its Cause must say what was found and
what to do."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from localcloud.cluster.scenario_objects import self_managed_prefix_delegation
from podcidr.errors import (
    ClusterEndpointUnreachable,
    ClusterNotActive,
    InvalidInput,
    PodcidrError,
    SubnetSizing,
    UnsupportedCluster,
)
from podcidr.models.input import parse_execution_input
from podcidr.models.migration import Migration
from podcidr.models.plan import PlanOutcome
from podcidr.steps.cluster_preflight import cluster_preflight
from podcidr.steps.plan import plan
from podcidr.steps.plan_checks.endpoint import FUNCTIONS_SUBNETS_ENV
from tests.fixtures.twin_aws import TwinAws, start_twin_aws, start_twin_cluster


@contextmanager
def twin(scenario: dict[str, Any]) -> Iterator[TwinAws]:
    generator = start_twin_aws(scenario)
    try:
        yield next(generator)
    finally:
        generator.close()


def run(aws: TwinAws, **extra: Any) -> PlanOutcome:
    event = {"input": {"clusterName": aws.cluster, **extra}, "polls": extra.pop("_polls", 0)}
    return plan(event, aws.clients.ec2, aws.clients.eks, aws.local.scenario.region)


def planned(aws: TwinAws, **extra: Any) -> Migration:
    outcome = run(aws, **extra)
    assert outcome.status == "PLANNED" and outcome.migration is not None
    return outcome.migration


def refused(aws: TwinAws, error: type[PodcidrError], **extra: Any) -> str:
    with pytest.raises(error) as caught:
        run(aws, **extra)
    assert aws.mutating() == []
    assert "Nothing was changed" in caught.value.cause
    return caught.value.cause


# --- #11.3 the cluster endpoint ---------------------------------------------------------------------


def test_private_only_endpoint_is_refused_unless_the_functions_are_in_the_vpc(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario = {"cluster": {"endpoint": {"publicAccess": False, "privateAccess": True}}}
    with twin(scenario) as aws:
        monkeypatch.delenv(FUNCTIONS_SUBNETS_ENV, raising=False)
        cause = refused(aws, ClusterEndpointUnreachable)
        assert "endpointPublicAccess=false" in cause and "private only" in cause
        assert "ClusterFunctionsSubnetIds" in cause and aws.local.built.vpc_id in cause

        node_subnets = [aws.local.built.subnet_ids[n] for n in ("node-a", "node-b")]
        monkeypatch.setenv(FUNCTIONS_SUBNETS_ENV, ",".join(node_subnets))
        assert planned(aws).pod_cidr.cidr == "100.64.0.0/16"

        elsewhere = aws.local.admin_session().client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        other = aws.local.admin_session().client("ec2").create_subnet(VpcId=elsewhere, CidrBlock="10.9.0.0/24")
        monkeypatch.setenv(FUNCTIONS_SUBNETS_ENV, other["Subnet"]["SubnetId"])
        assert "outside" in refused(aws, ClusterEndpointUnreachable)


def test_public_endpoint_limited_by_cidrs_is_refused_for_functions_outside_the_vpc(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(FUNCTIONS_SUBNETS_ENV, raising=False)
    scenario = {"cluster": {"endpoint": {"publicAccessCidrs": ["203.0.113.0/24"]}}}
    with twin(scenario) as aws:
        cause = refused(aws, ClusterEndpointUnreachable)
        assert "publicAccessCidrs=203.0.113.0/24" in cause and "no fixed address" in cause
        assert "0.0.0.0/0" in cause


# --- #11.5 ownership and routing -------------------------------------------------------------------


def test_a_vpc_shared_from_another_account_is_refused() -> None:
    with twin({"vpc": {"ownerId": "111122223333"}}) as aws:
        cause = refused(aws, UnsupportedCluster)
        assert "owned by account 111122223333" in cause and "RAM" in cause


def test_each_pod_subnet_gets_its_azs_node_route_table_whatever_the_default_route() -> None:
    scenario = {
        "vpc": {
            "routeTables": [
                {"name": "public", "defaultRoute": "internet-gateway", "subnets": ["public-a", "public-b", "public-c"]},
                {"name": "private-a", "defaultRoute": "nat-instance", "subnets": ["node-a"]},
                {"name": "private-b", "defaultRoute": "firewall", "natSubnet": "public-b", "subnets": ["node-b"]},
                {"name": "private-c", "defaultRoute": "none", "subnets": ["node-c"]},
            ]
        }
    }
    with twin(scenario) as aws:
        m = planned(aws)
        built = aws.local.built
        tables = {s.availability_zone[-1]: (s.route_table_id, s.default_route_target) for s in m.pod_subnets}
        assert tables["a"][0] == built.route_table_ids["private-a"] and tables["a"][1].startswith("eni-")
        assert tables["b"][0] == built.route_table_ids["private-b"] and tables["b"][1].startswith("vpce-")
        assert tables["c"] == (built.route_table_ids["private-c"], None)
        assert any("no default route" in w and "ap-southeast-1c" in w for w in m.warnings)


# --- #11.6 capacity that is not a managed nodegroup ------------------------------------------------

UNMANAGED = {
    "cluster": {
        "selfManagedNodes": [{"name": "legacy", "subnets": ["node-a"], "instanceType": "m5.large", "count": 2}],
        "karpenterNodes": [{"nodePool": "default", "subnets": ["node-b"], "instanceType": "m5.large", "count": 1}],
        "fargateProfiles": [{"name": "serverless", "namespaces": ["batch"]}],
    }
}


def test_unmanaged_capacity_is_refused_then_listed_when_ignored() -> None:
    with twin(UNMANAGED) as aws:
        cause = refused(aws, UnsupportedCluster)
        for found in ("self-managed nodes", "Karpenter NodePool 'default'", "Fargate profile 'serverless'", "batch"):
            assert found in cause
        assert '"ignoreUnmanagedCapacity": true' in cause

        m = planned(aws, ignoreUnmanagedCapacity=True)
        listed = {(c.kind, c.name, c.nodes) for c in m.unmanaged_capacity}
        assert listed == {
            ("self-managed", "eksworkshop-legacy", 2),
            ("karpenter", "default", 1),
            ("fargate", "serverless", 0),
        }
        assert [g.replaced for g in m.nodegroups] == ["managed-ng"]
        assert m.to_json()["unmanagedCapacity"][0]["kind"] in ("self-managed", "karpenter", "fargate")


def test_windows_nodes_and_auto_mode_are_unmanaged_capacity() -> None:
    scenario = {
        "cluster": {
            "autoMode": True,
            "selfManagedNodes": [{"name": "win", "subnets": ["node-a"], "os": "windows"}],
        }
    }
    with twin(scenario) as aws:
        cause = refused(aws, UnsupportedCluster)
        assert "Windows nodes 'eksworkshop-win'" in cause and "EKS Auto Mode" in cause


def test_ignore_unmanaged_capacity_is_a_strict_boolean() -> None:
    with pytest.raises(InvalidInput, match="ignoreUnmanagedCapacity"):
        parse_execution_input({"clusterName": "c", "ignoreUnmanagedCapacity": "true"})


# --- #11.7 prefix delegation ------------------------------------------------------------------------


def test_prefix_delegation_enters_max_pods_and_subnet_sizing() -> None:
    with twin({"cluster": {"vpcCni": {"prefixDelegation": True}}}) as aws:
        m = planned(aws, podSubnetPrefixLength=22)
        # t3.2xlarge: 4 ENIs x 15 addresses; (4 - 1) * (14 * 16) + 2 = 674, capped at 110 (8 vCPUs)
        assert [g.max_pods for g in m.nodegroups] == [110]
        # one node takes 3 * (14 * 16 + 1) = 675 addresses from its pod subnet: a /23 (507) is too small
        with pytest.raises(SubnetSizing, match=r"675 addresses one t3\.2xlarge node"):
            run(aws, podSubnetPrefixLength=23)
        assert aws.mutating() == []


# --- #11.9 new clusters -----------------------------------------------------------------------------


def test_plan_waits_while_nodegroups_are_creating_up_to_a_bound() -> None:
    with twin({"timing": {"nodegroupCreate": 3600}}) as aws:
        eks = aws.local.admin_session().client("eks")
        built = aws.local.built
        eks.create_nodegroup(
            clusterName=aws.cluster,
            nodegroupName="late-ng",
            nodeRole=built.node_role_arn,
            subnets=[built.subnet_ids["node-a"]],
            instanceTypes=["t3.large"],
        )
        outcome = run(aws, pollSeconds=30)
        assert outcome.to_json() == {"status": "NODEGROUPS_CREATING", "polls": 1, "pollSeconds": 30, "migration": None}
        with pytest.raises(ClusterNotActive, match=r"late-ng.*still CREATING after 60 checks"):
            plan(
                {"input": {"clusterName": aws.cluster, "pollSeconds": 30}, "polls": 60},
                aws.clients.ec2,
                aws.clients.eks,
                aws.local.scenario.region,
            )
        assert aws.mutating() == []


# --- #11.10 YAML configurationValues ------------------------------------------------------------------


def test_yaml_configuration_values_are_accepted() -> None:
    with twin({}) as aws:
        values = "env:\n  WARM_IP_TARGET: '5'\n  ENABLE_PREFIX_DELEGATION: 'true'\n"
        aws.local.eks.install_addon(aws.cluster, "vpc-cni", "v1.18.3-eksbuild.1", values)
        m = planned(aws)
        assert m.cni.current_configuration_values == values
        assert [g.max_pods for g in m.nodegroups] == [110]


# --- #11.7 custom AMIs ------------------------------------------------------------------------------


def test_custom_ami_user_data_gets_the_custom_networking_max_pods_or_plan_says_what_to_set() -> None:
    scenario = {
        "cluster": {
            "nodegroups": [
                {"name": "al2023-ng", "launchTemplate": {"customAmi": True, "maxPods": 58}},
                {"name": "al2-ng", "launchTemplate": {"customAmi": True, "amiFamily": "AL2", "maxPods": 58}},
            ]
        }
    }
    with twin(scenario) as aws:
        m = planned(aws)
        by_name = {g.replaced: g for g in m.nodegroups}
        al2023 = base64.b64decode(by_name["al2023-ng"].launch_template_user_data or "").decode()
        assert "maxPods: 44" in al2023 and "maxPods: 58" not in al2023 and "application/node.eks.aws" in al2023
        al2 = base64.b64decode(by_name["al2-ng"].launch_template_user_data or "").decode()
        assert "--max-pods=44" in al2 and "--max-pods=58" not in al2 and "--use-max-pods false" in al2
        assert not any("custom AMI" in w for w in m.warnings)

    opaque = {"cluster": {"nodegroups": [{"name": "ng", "launchTemplate": {"customAmi": True, "userData": "echo hi"}}]}}
    with twin(opaque) as aws:
        cause = refused(aws, UnsupportedCluster)
        assert "cannot edit" in cause and "maxPods: 44" in cause and "--max-pods=44" in cause


def test_a_self_managed_cnis_prefix_delegation_is_read_at_cluster_preflight() -> None:
    """Plan cannot read a self-managed aws-node; it records what prefix delegation would mean, and
    ClusterPreflight, which reads aws-node, applies it (max pods) or refuses pod subnets too small for
    one node's prefixes, before any VPC change (#11.7)."""
    generator = start_twin_cluster({"cluster": {"vpcCni": {"addon": False, "version": "v1.18.3"}}})
    try:
        aws = next(generator)
        self_managed_prefix_delegation(aws.store)
        aws.grant_access()
        fits = planned(aws, podSubnetPrefixLength=22, verify={"loadBalancers": []})
        assert [g.max_pods for g in fits.nodegroups] == [44]
        checked = cluster_preflight(fits, aws.kube())
        assert [g.max_pods for g in checked.nodegroups] == [110]

        too_small = planned(aws, podSubnetPrefixLength=23, verify={"loadBalancers": []})
        with pytest.raises(SubnetSizing, match=r"ENABLE_PREFIX_DELEGATION=true.*675 addresses"):
            cluster_preflight(too_small, aws.kube())
        assert aws.mutating() == [] and aws.kube_mutating() == []
    finally:
        generator.close()
