"""Plan on the seed's topology (built once for the module; Plan only reads it).

moto has no EKS add-ons: FakeEks (tests.fixtures.topology) answers DescribeAddon and adds the
clusterSecurityGroupId and accessConfig fields that real EKS reports; everything else is moto.
"""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Network
from typing import Any

import pytest

from podcidr import OWNER_TAG_KEY
from podcidr.errors import (
    CidrNotAllowed,
    ClusterNotActive,
    ClusterNotFound,
    CniConfigConflict,
    InvalidInput,
    SubnetSizing,
    UnsupportedCluster,
)
from podcidr.models.migration import Migration
from podcidr.models.plan import PlanOutcome
from podcidr.steps.plan import max_polls, plan
from tests.fixtures.topology import REGION, FakeEks, Topology, addon, client, seed_world

__all__ = ["seed_world"]  # the fixture

AZS = ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]


def run(document: dict[str, Any], polls: int = 0, **fake: Any) -> PlanOutcome:
    fake.setdefault("addon", addon())
    eks = FakeEks(client("eks"), **fake)
    return plan({"input": document, "polls": polls}, client("ec2"), eks, REGION)  # type: ignore[arg-type]


def planned(document: dict[str, Any], **fake: Any) -> Migration:
    outcome = run(document, **fake)
    assert outcome.status == "PLANNED"
    assert outcome.migration is not None
    return outcome.migration


def test_dry_run_plan_of_the_seed(seed_world: Topology) -> None:
    seed = seed_world
    outcome = run({"clusterName": "eksworkshop", "dryRun": True})
    assert (outcome.status, outcome.polls, outcome.poll_seconds) == ("PLANNED", 0, 30)
    m = outcome.migration
    assert m is not None
    node_ids = {seed.subnet(f"node-{z}"): z for z in "abc"}
    public_ids = {seed.subnet(f"public-{z}") for z in "abc"}

    assert (m.cluster_name, m.dry_run, m.region, m.vpc_id) == ("eksworkshop", True, REGION, seed.vpc_id)
    assert m.cluster_version == "1.30"
    assert m.authentication_mode == "API_AND_CONFIG_MAP"
    assert set(m.node_subnet_ids) == set(node_ids)
    assert m.pod_cidr.cidr == "100.64.0.0/16" and not m.pod_cidr.created

    assert [(s.availability_zone, s.cidr) for s in m.pod_subnets] == [
        ("ap-southeast-1a", "100.64.0.0/18"),
        ("ap-southeast-1b", "100.64.64.0/18"),
        ("ap-southeast-1c", "100.64.128.0/18"),
    ]
    for subnet in m.pod_subnets:
        assert subnet.route_table_id == seed.route_table_ids["private"]
        assert subnet.default_route_target == seed.nat_gateway_ids["public-a"]
        assert subnet.subnet_id is None and not subnet.created

    elb = {t.subnet_id for t in m.load_balancer_tags if t.key == "kubernetes.io/role/elb"}
    internal = {t.subnet_id for t in m.load_balancer_tags if t.key == "kubernetes.io/role/internal-elb"}
    assert elb == public_ids
    assert internal == set(node_ids)
    assert all(t.value == "1" and not t.present and not t.created for t in m.load_balancer_tags)

    assert [(e.name, e.availability_zone, e.security_groups) for e in m.eni_configs] == [
        (az, az, [seed.security_group_id]) for az in AZS
    ]

    assert m.cni.via == "addon"
    assert m.cni.version == "v1.18.3-eksbuild.1"
    assert m.cni.env == {
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true",
        "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone",
    }
    assert not m.cni.changed

    (replacement,) = m.nodegroups
    assert (replacement.replaced, replacement.by, replacement.max_pods) == ("managed-ng", "managed-ng-podcidr", 44)
    assert set(replacement.config.subnets) == set(node_ids)
    assert replacement.config.instance_types == ["t3.2xlarge"]
    assert replacement.config.scaling_config == {"minSize": 3, "desiredSize": 3, "maxSize": 6}
    assert replacement.config.disk_size == 100
    assert replacement.config.tags[OWNER_TAG_KEY] == "eksworkshop"

    kinds = [check.kind for check in m.verification.load_balancers]
    assert kinds == ["alb", "public-nlb", "private-nlb"]
    fixed = m.verification.load_balancers[2].fixed_addresses
    assert len(fixed) == 3
    subnets = {s["SubnetId"]: s["CidrBlock"] for s in client("ec2").describe_subnets()["Subnets"]}
    for address in fixed:
        assert address.subnet_id in node_ids
        assert IPv4Address(address.ip) in IPv4Network(subnets[address.subnet_id])
    assert [a.ip for a in fixed] == ["172.31.63.254", "172.31.79.254", "172.31.95.254"]

    assert len(m.skipped) == 4
    assert any("ENIConfig CRD" in s for s in m.skipped)
    assert any("Load Balancer Controller" in s for s in m.skipped)
    assert any("PodDisruptionBudgets" in s for s in m.skipped)
    assert any("aws-node env values another field manager than EKS holds" in s for s in m.skipped)
    assert m.changes == 0
    # the document crosses the state machine as JSON and comes back unchanged
    assert Migration.model_validate(json.loads(json.dumps(m.to_json()))) == m


def test_a_real_run_skips_nothing(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop"})
    assert not m.dry_run and m.skipped == []


def test_explicit_cidr_and_prefix(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop", "podCidr": "100.70.0.0/16", "podSubnetPrefixLength": 19})
    assert m.pod_cidr.cidr == "100.70.0.0/16"
    assert [s.cidr for s in m.pod_subnets] == ["100.70.0.0/19", "100.70.32.0/19", "100.70.64.0/19"]


def test_no_load_balancer_tags_when_asked(seed_world: Topology) -> None:
    assert planned({"clusterName": "eksworkshop", "tagLoadBalancerSubnets": False}).load_balancer_tags == []


def test_given_security_groups(seed_world: Topology) -> None:
    extra = client("ec2").create_security_group(GroupName="pods-extra", Description="x", VpcId=seed_world.vpc_id)
    given = [seed_world.security_group_id, extra["GroupId"]]
    m = planned({"clusterName": "eksworkshop", "eniConfigSecurityGroupIds": given})
    assert all(e.security_groups == given for e in m.eni_configs)


def test_fields_moto_lacks(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop"}, cluster_security_group_id=None, authentication_mode=None)
    assert m.cluster_security_group_id is None
    assert m.authentication_mode == "CONFIG_MAP"
    assert all(e.security_groups == [seed_world.security_group_id] for e in m.eni_configs)
    assert any("authenticationMode" in w for w in m.warnings)
    assert any("cluster security group" in w for w in m.warnings)


def test_no_verification_no_fixed_addresses(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop", "verify": {"loadBalancers": []}, "dryRun": True})
    assert m.verification.load_balancers == []
    assert not any("Load Balancer Controller" in s for s in m.skipped)


def test_without_replacing_nodegroups(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop", "replaceNodegroups": False})
    assert m.nodegroups == []
    assert any("replaceNodegroups is false" in w for w in m.warnings)


# CREATING is no warning: Plan waits for it (test_plan_real_accounts.py, ..._creating_up_to_a_bound).
def test_an_updating_nodegroup_is_a_warning(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop"}, nodegroup_status="UPDATING")
    assert [r.replaced for r in m.nodegroups] == ["managed-ng"]  # still replaced: a warning, not a refusal
    assert "Nodegroup 'managed-ng' is UPDATING, not ACTIVE." in m.warnings


@pytest.mark.parametrize("status", ["CREATE_FAILED", "DELETING", "DELETE_FAILED"])
def test_a_nodegroup_going_away_is_left_alone_or_refused_when_named(seed_world: Topology, status: str) -> None:
    m = planned({"clusterName": "eksworkshop"}, nodegroup_status=status)
    assert m.nodegroups == []  # failed before: it was replaced, recreating capacity going away
    assert f"Nodegroup 'managed-ng' is {status}: it is not replaced." in m.warnings
    with pytest.raises(InvalidInput) as refused:
        planned({"clusterName": "eksworkshop", "nodegroups": ["managed-ng"]}, nodegroup_status=status)
    assert f"managed-ng: {status}" in refused.value.cause and "Leave it out of nodegroups" in refused.value.cause


@pytest.mark.parametrize("status", ["ACTIVE", "DEGRADED"])
def test_an_active_or_degraded_nodegroup_is_no_warning(seed_world: Topology, status: str) -> None:
    m = planned({"clusterName": "eksworkshop"}, nodegroup_status=status)
    assert [r.replaced for r in m.nodegroups] == ["managed-ng"]
    assert not any("Nodegroup" in w for w in m.warnings), m.warnings


# --- the CNI ---------------------------------------------------------------------------------


def test_self_managed_cni(seed_world: Topology) -> None:
    m = planned({"clusterName": "eksworkshop", "dryRun": True}, addon=None)
    assert (m.cni.via, m.cni.version, m.cni.current_configuration_values) == ("daemonset", None, None)
    assert any("aws-node DaemonSet" in s for s in m.skipped)


def test_cni_already_configured(seed_world: Topology) -> None:
    values = json.dumps(
        {"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}}
    )
    m = planned({"clusterName": "eksworkshop"}, addon=addon(configuration_values=values))
    assert m.cni.status == "CONFIGURED" and not m.cni.changed
    assert m.cni.current_configuration_values == values


def test_cni_partly_configured(seed_world: Topology) -> None:
    values = json.dumps({"env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}, "init": {"env": {}}})
    m = planned({"clusterName": "eksworkshop"}, addon=addon(configuration_values=values))
    assert m.cni.status is None
    assert m.cni.current_configuration_values == values


def test_cni_addon_too_old(seed_world: Topology) -> None:
    with pytest.raises(UnsupportedCluster, match=r"v1\.12\.6-eksbuild\.2.*v1\.15"):
        run({"clusterName": "eksworkshop"}, addon=addon("v1.12.6-eksbuild.2"))


@pytest.mark.parametrize("status", ["UPDATING", "CREATING", "CREATE_FAILED", "UPDATE_FAILED"])
def test_an_addon_not_active_is_a_warning(seed_world: Topology, status: str) -> None:
    m = planned({"clusterName": "eksworkshop"}, addon=addon(status=status))
    assert m.cni.via == "addon"  # planned all the same: ConfigureCni waits for the add-on
    assert f"The vpc-cni add-on is {status}; ConfigureCni waits for it to settle." in m.warnings


@pytest.mark.parametrize("status", ["ACTIVE", "DEGRADED"])
def test_an_active_or_degraded_addon_is_no_warning(seed_world: Topology, status: str) -> None:
    m = planned({"clusterName": "eksworkshop"}, addon=addon(status=status))
    assert not any("vpc-cni add-on" in w for w in m.warnings), m.warnings


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ('{"env": {"ENI_CONFIG_LABEL_DEF": "example.com/zone"}}', "ENI_CONFIG_LABEL_DEF=example.com/zone"),
        ("env: [unclosed\n", "neither JSON nor YAML"),
        ("env:\n  ENI_CONFIG_LABEL_DEF: example.com/zone\n", "ENI_CONFIG_LABEL_DEF=example.com/zone"),
        ('{"eniConfig": {"create": true, "region": "ap-southeast-1"}}', "eniConfig.create"),
        ('["env"]', "not an object"),
    ],
)
def test_cni_config_conflicts(seed_world: Topology, values: str, match: str) -> None:
    with pytest.raises(CniConfigConflict, match=match):
        run({"clusterName": "eksworkshop"}, addon=addon(configuration_values=values))


def test_yaml_configuration_values_are_read_as_configure_cni_reads_them(seed_world: Topology) -> None:
    values = "env:\n  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true'\n  ENI_CONFIG_LABEL_DEF: topology.kubernetes.io/zone\n"
    outcome = run({"clusterName": "eksworkshop"}, addon=addon(configuration_values=values))
    assert outcome.migration is not None
    assert outcome.migration.cni.status == "CONFIGURED"
    assert outcome.migration.cni.current_configuration_values == values


# --- the cluster -----------------------------------------------------------------------------


def test_cluster_not_found(seed_world: Topology) -> None:
    with pytest.raises(ClusterNotFound, match="'nope'"):
        run({"clusterName": "nope"})


def test_cluster_creating_asks_to_wait(seed_world: Topology) -> None:
    outcome = run({"clusterName": "eksworkshop", "pollSeconds": 20}, polls=3, status="CREATING")
    assert outcome.to_json() == {"status": "CLUSTER_CREATING", "polls": 4, "pollSeconds": 20, "migration": None}


def test_cluster_creating_past_the_ceiling(seed_world: Topology) -> None:
    assert max_polls(30) == 80  # 40 minutes of polls 30 s apart
    assert max_polls(300) == 8  # 40 minutes at the largest pollSeconds: no minimum of more checks
    last = run({"clusterName": "eksworkshop"}, polls=79, status="CREATING")
    assert last.to_json() == {"status": "CLUSTER_CREATING", "polls": 80, "pollSeconds": 30, "migration": None}
    with pytest.raises(ClusterNotActive, match="still CREATING"):
        run({"clusterName": "eksworkshop"}, polls=80, status="CREATING")


@pytest.mark.parametrize("status", ["FAILED", "DELETING", "UPDATING"])
def test_cluster_not_active(seed_world: Topology, status: str) -> None:
    with pytest.raises(ClusterNotActive, match=status):
        run({"clusterName": "eksworkshop"}, status=status)


def test_ipv6_cluster(seed_world: Topology) -> None:
    with pytest.raises(UnsupportedCluster, match="ipv6"):
        run({"clusterName": "eksworkshop"}, ip_family="ipv6")


# --- input checks that need the cluster --------------------------------------------------------


def test_unknown_availability_zone(seed_world: Topology) -> None:
    with pytest.raises(InvalidInput, match="ap-southeast-1z"):
        run({"clusterName": "eksworkshop", "availabilityZones": ["ap-southeast-1a", "ap-southeast-1z"]})


def test_availability_zones_must_cover_the_nodes(seed_world: Topology) -> None:
    with pytest.raises(InvalidInput, match=r"leaves out ap-southeast-1c.*managed-ng"):
        run({"clusterName": "eksworkshop", "availabilityZones": ["ap-southeast-1a", "ap-southeast-1b"]})


def test_unknown_nodegroup(seed_world: Topology) -> None:
    with pytest.raises(InvalidInput, match=r"'other-ng'.*managed-ng"):
        run({"clusterName": "eksworkshop", "nodegroups": ["managed-ng", "other-ng"]})


def test_invalid_input_and_event(seed_world: Topology) -> None:
    with pytest.raises(InvalidInput, match="unknown key 'podCIDR'"):
        run({"clusterName": "eksworkshop", "podCIDR": "100.64.0.0/16"})
    ec2, eks = client("ec2"), client("eks")
    with pytest.raises(InvalidInput):
        plan({"input": {"clusterName": "eksworkshop"}, "polls": -1}, ec2, eks, REGION)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        plan(["not", "an", "event"], ec2, eks, REGION)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="JSON object"):
        plan({"polls": 0}, ec2, eks, REGION)  # type: ignore[arg-type]


# --- the pod block and its subnets -----------------------------------------------------------


def test_pod_cidr_not_allowed(seed_world: Topology) -> None:
    with pytest.raises(CidrNotAllowed) as raised:
        run({"clusterName": "eksworkshop", "podCidr": "10.0.0.0/16"})
    assert "172.16.0.0/12" in raised.value.cause and "100.64.0.0/16" in raised.value.cause


def test_pod_subnets_too_small_for_a_node(seed_world: Topology) -> None:
    with pytest.raises(SubnetSizing, match=r"11 usable addresses.*45.*t3\.2xlarge"):
        run({"clusterName": "eksworkshop", "podCidr": "100.64.0.0/24", "podSubnetPrefixLength": 28})


def test_pod_subnet_prefix_too_big(seed_world: Topology) -> None:
    with pytest.raises(SubnetSizing, match="do not fit"):
        run({"clusterName": "eksworkshop", "podCidr": "100.64.0.0/16", "podSubnetPrefixLength": 17})
