from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.scenario import ScenarioError, load_scenario, parse_scenario


def test_defaults_are_the_seed_topology() -> None:
    s = parse_scenario({})
    assert s.region == "ap-southeast-1"
    assert s.vpc.cidr == "172.31.0.0/16"
    assert [(x.name, x.az, x.cidr, x.public) for x in s.vpc.subnets] == [
        ("public-a", "ap-southeast-1a", "172.31.0.0/20", True),
        ("public-b", "ap-southeast-1b", "172.31.16.0/20", True),
        ("public-c", "ap-southeast-1c", "172.31.32.0/20", True),
        ("node-a", "ap-southeast-1a", "172.31.48.0/20", False),
        ("node-b", "ap-southeast-1b", "172.31.64.0/20", False),
        ("node-c", "ap-southeast-1c", "172.31.80.0/20", False),
    ]
    assert [n.subnet for n in s.vpc.nat_gateways] == ["public-a"]
    tables = s.route_tables()
    assert [(t.name, t.default_route, t.subnets) for t in tables] == [
        ("public", "internet-gateway", ["public-a", "public-b", "public-c"]),
        ("private", "nat-gateway", ["node-a", "node-b", "node-c"]),
    ]
    c = s.cluster
    assert (c.name, c.version, c.authentication_mode) == ("eksworkshop", "1.30", "API_AND_CONFIG_MAP")
    assert c.subnets == ["node-a", "node-b", "node-c"]
    assert (c.vpc_cni.addon, c.vpc_cni.version, c.load_balancer_controller) == (True, "v1.18.3-eksbuild.1", True)
    [ng] = c.nodegroups
    assert (ng.name, ng.instance_types, ng.min_size, ng.desired_size, ng.max_size) == (
        "managed-ng",
        ["t3.2xlarge"],
        3,
        3,
        6,
    )
    assert ng.subnets == c.subnets
    [w] = c.workloads
    assert (w.namespace, w.name, w.replicas) == ("default", "web", 3)
    assert s.timing.cidr_associate < 1 and s.faults == []


def test_default_layout_follows_region_and_vpc_cidr() -> None:
    s = parse_scenario({"region": "eu-west-1", "vpc": {"cidr": "10.20.0.0/16"}})
    assert s.vpc.subnets[3].cidr == "10.20.48.0/20" and s.vpc.subnets[3].az == "eu-west-1a"


def test_nat_per_az_gives_one_private_table_per_az() -> None:
    s = parse_scenario(
        {"vpc": {"natGateways": [{"subnet": "public-a"}, {"subnet": "public-b"}, {"subnet": "public-c"}]}}
    )
    private = [t for t in s.route_tables() if t.default_route == "nat-gateway"]
    assert [(t.nat_subnet, t.subnets) for t in private] == [
        ("public-a", ["node-a"]),
        ("public-b", ["node-b"]),
        ("public-c", ["node-c"]),
    ]


def test_yaml_file_with_every_key(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        """
region: ap-southeast-1
vpc:
  cidr: 172.31.0.0/16
  secondaryCidrs: [100.64.0.0/16]
  subnets:
    - {name: public-a, az: ap-southeast-1a, cidr: 172.31.0.0/20, public: true}
    - {name: node-a, az: ap-southeast-1a, cidr: 172.31.48.0/20}
    - {name: node-b, az: ap-southeast-1b, cidr: 172.31.64.0/20}
  natGateways: [{subnet: public-a}]
  routeTables:
    - {name: public, defaultRoute: internet-gateway, subnets: [public-a]}
    - {name: private-a, defaultRoute: nat-gateway, natSubnet: public-a, subnets: [node-a, node-b]}
  routes: [{destination: 10.0.0.0/8, target: transit-gateway}]
  peerings: [{cidr: 10.10.0.0/16, status: active}]
cluster:
  name: eksworkshop
  version: "1.30"
  subnets: [node-a, node-b]
  authenticationMode: API_AND_CONFIG_MAP
  vpcCni: {addon: true, version: v1.18.3-eksbuild.1}
  loadBalancerController: true
  nodegroups:
    - {name: managed-ng, subnets: [node-a], instanceTypes: [t3.2xlarge], minSize: 3, desiredSize: 3, maxSize: 6}
  workloads:
    - {namespace: default, name: web, replicas: 3}
timing: {cidrAssociate: 0.2, addonUpdate: 0.5, nodegroupCreate: 2, nodegroupDelete: 2, loadBalancer: 1}
faults:
  - {operation: ec2:CreateSubnet, when: after, times: 1, error: ThrottlingException}
"""
    )
    s = load_scenario(path)
    assert s.vpc.secondary_cidrs == ["100.64.0.0/16"]
    assert s.vpc.route_tables is not None and s.vpc.route_tables[1].nat_subnet == "public-a"
    assert s.vpc.routes[0].target == "transit-gateway" and s.vpc.peerings[0].status == "active"
    assert s.faults[0].when == "after" and s.faults[0].error == "ThrottlingException"
    assert load_scenario(None) == parse_scenario({})


def test_unreadable_or_invalid_yaml(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("vpc: [unclosed")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(bad)


_NODES = [
    {"name": "public-a", "az": "ap-southeast-1a", "cidr": "172.31.0.0/20", "public": True},
    {"name": "node-a", "az": "ap-southeast-1a", "cidr": "172.31.48.0/20"},
    {"name": "node-b", "az": "ap-southeast-1b", "cidr": "172.31.64.0/20"},
]


@pytest.mark.parametrize(
    ("document", "key"),
    [
        (
            {"vpc": {"subnets": [*_NODES, {"name": "x", "az": "ap-southeast-1a", "cidr": "10.0.0.0/24"}]}},
            "vpc.subnets[3].cidr",
        ),
        (
            {"vpc": {"subnets": [*_NODES, {"name": "node-a", "az": "ap-southeast-1c", "cidr": "172.31.96.0/20"}]}},
            "vpc.subnets",
        ),
        (
            {"vpc": {"subnets": [*_NODES, {"name": "y", "az": "ap-southeast-1c", "cidr": "172.31.48.0/24"}]}},
            "vpc.subnets[3].cidr",
        ),
        (
            {"vpc": {"subnets": [*_NODES, {"name": "z", "az": "eu-west-1a", "cidr": "172.31.96.0/20"}]}},
            "vpc.subnets[3].az",
        ),
        ({"cluster": {"subnets": ["node-a", "nope"]}}, "cluster.subnets[1]"),
        ({"cluster": {"subnets": ["node-a"]}}, "cluster.subnets"),
        ({"cluster": {"nodegroups": [{"name": "ng", "subnets": ["public-a"]}]}}, "cluster.nodegroups[0].subnets[0]"),
        ({"cluster": {"nodegroups": [{"name": "ng"}, {"name": "ng"}]}}, "cluster.nodegroups"),
        (
            {"cluster": {"nodegroups": [{"name": "ng", "minSize": 4, "desiredSize": 3}]}},
            "cluster.nodegroups[0].desiredSize",
        ),
        ({"vpc": {"natGateways": [{"subnet": "node-a"}]}}, "vpc.natGateways[0].subnet"),
        ({"vpc": {"natGateways": [{"subnet": "nowhere"}]}}, "vpc.natGateways[0].subnet"),
        ({"vpc": {"routeTables": [{"name": "t", "subnets": ["ghost"]}]}}, "vpc.routeTables[0].subnets[0]"),
        (
            {"vpc": {"routeTables": [{"name": "t", "defaultRoute": "nat-gateway", "natSubnet": "public-b"}]}},
            "vpc.routeTables[0].natSubnet",
        ),
        (
            {"vpc": {"routeTables": [{"name": "t", "subnets": ["node-a"]}, {"name": "u", "subnets": ["node-a"]}]}},
            "vpc.routeTables[1].subnets[0]",
        ),
        ({"vpc": {"routeTables": [{"name": "t"}, {"name": "t"}]}}, "vpc.routeTables"),
        ({"vpc": {"routes": [{"destination": "10.0.0.0/8", "routeTables": ["nope"]}]}}, "vpc.routes[0].routeTables[0]"),
        ({"vpc": {"secondaryCidrs": ["172.31.128.0/17"]}}, "vpc.secondaryCidrs[0]"),
        ({"vpc": {"secondaryCidrs": ["10.0.0.0/8"]}}, "vpc.secondaryCidrs[0]"),
        ({"vpc": {"peerings": [{"cidr": "172.31.0.0/16"}]}}, "vpc.peerings[0].cidr"),
        ({"cluster": {"vpcCni": {"version": "1.18"}}}, "cluster.vpcCni.version"),
        ({"cluster": {"authenticationMode": "OPEN"}}, "cluster.authenticationMode"),
        ({"faults": [{"operation": "CreateSubnet"}]}, "faults[0].operation"),
        ({"faults": [{"operation": "ec2:CreateSubnet", "when": "during"}]}, "faults[0].when"),
        ({"cluster": {"workloads": [{"name": "web"}, {"name": "web"}]}}, "cluster.workloads"),
        ({"surprise": True}, "surprise"),
        ({"vpc": {"peerings": [{"cidr": "100.64.0.0/10"}]}}, "vpc.peerings[0].cidr"),
        ({"vpc": {"ownerId": "not-an-account"}}, "vpc.ownerId"),
        ({"vpc": {"securityGroups": [{"name": "x"}, {"name": "x"}]}}, "vpc.securityGroups"),
        (
            {"vpc": {"routeTables": [{"name": "t", "defaultRoute": "nat-instance", "natSubnet": "node-a"}]}},
            "vpc.routeTables[0].natSubnet",
        ),
        ({"vpc": {"routeTables": [{"name": "t", "defaultRoute": "dragon"}]}}, "vpc.routeTables[0].defaultRoute"),
        ({"cluster": {"endpoint": {"publicAccess": False}}}, "cluster.endpoint"),
        ({"cluster": {"endpoint": {"publicAccessCidrs": ["1.2.3.4/33"]}}}, "cluster.endpoint.publicAccessCidrs[0]"),
        ({"cluster": {"vpcCni": {"addon": False, "version": "1.18"}}}, "cluster.vpcCni.version"),
        ({"cluster": {"vpcCni": {"addon": True, "version": "v1.18.3"}}}, "cluster.vpcCni.version"),
        (
            {"cluster": {"nodegroups": [{"name": "ng", "launchTemplate": {"securityGroups": ["ghost"]}}]}},
            "cluster.nodegroups[0].launchTemplate.securityGroups[0]",
        ),
        (
            {"cluster": {"nodegroups": [{"name": "ng", "launchTemplate": {"maxPods": 58}}]}},
            "cluster.nodegroups[0].launchTemplate",
        ),
        (
            {"cluster": {"selfManagedNodes": [{"name": "s", "subnets": ["ghost"]}]}},
            "cluster.selfManagedNodes[0].subnets[0]",
        ),
        ({"cluster": {"karpenterNodes": [{"count": 0}]}}, "cluster.karpenterNodes[0].count"),
        (
            {"cluster": {"fargateProfiles": [{"name": "f", "namespaces": ["a"], "subnets": ["public-a"]}]}},
            "cluster.fargateProfiles[0].subnets[0]",
        ),
        ({"cluster": {"fargateProfiles": [{"name": "f", "namespaces": []}]}}, "cluster.fargateProfiles[0].namespaces"),
        (
            {"cluster": {"workloads": [{"name": "w", "pdb": {"minAvailable": 1, "maxUnavailable": 1}}]}},
            "cluster.workloads[0].pdb",
        ),
        ({"cluster": {"workloads": [{"name": "w", "exposedBy": ["alb", "alb"]}]}}, "cluster.workloads[0].exposedBy"),
        ({"cluster": {"workloads": [{"name": "w", "exposedBy": ["clb"]}]}}, "cluster.workloads[0].exposedBy[0]"),
        ({"cluster": {"workloads": [{"name": "w", "kind": "Job"}]}}, "cluster.workloads[0].kind"),
        ({"cluster": {"workloads": [{"name": "w", "volumeClaim": {}}]}}, "cluster.workloads[0].volumeClaim"),
        (
            {"cluster": {"workloads": [{"name": "w", "kind": "StatefulSet", "volumeClaim": {"size": "1GB"}}]}},
            "cluster.workloads[0].volumeClaim.size",
        ),
        (
            {
                "cluster": {
                    "workloads": [
                        {
                            "name": "w",
                            "kind": "StatefulSet",
                            "replicas": 1,
                            "volumeClaim": {"zones": ["ap-southeast-1a", "ap-southeast-1b"]},
                        }
                    ]
                }
            },
            "cluster.workloads[0].volumeClaim.zones",
        ),
        (
            {
                "cluster": {
                    "workloads": [{"name": "w", "kind": "StatefulSet", "volumeClaim": {"zones": ["us-east-1a"]}}]
                }
            },
            "cluster.workloads[0].volumeClaim.zones[0]",
        ),
        ({"cluster": {"workloads": [{"name": "w", "probe": True}]}}, "cluster.workloads[0].probe"),
        (
            {"cluster": {"workloads": [{"name": "w", "pdb": {"minAvailable": "150%"}}]}},
            "cluster.workloads[0].pdb.minAvailable",
        ),
        (
            {"cluster": {"workloads": [{"name": "w", "pdb": {"maxUnavailable": -1}}]}},
            "cluster.workloads[0].pdb.maxUnavailable",
        ),
        ({"timing": {"targetRegistration": -1}}, "timing.targetRegistration"),
    ],
)
def test_contradictions_are_refused_naming_the_key(document: dict[str, object], key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document)
    assert caught.value.key == key, str(caught.value)
    assert key in str(caught.value)


def test_probes_percentages_and_target_registration() -> None:
    scenario = parse_scenario(
        {
            "cluster": {
                "workloads": [
                    {"name": "web", "exposedBy": ["nlb"], "probe": True, "pdb": {"maxUnavailable": "25%"}},
                    {"name": "api"},
                ]
            },
            "timing": {"targetRegistration": 3},
        }
    )
    web, api = scenario.cluster.workloads
    assert web.probe and not api.probe and web.pdb is not None and web.pdb.max_unavailable == "25%"
    assert scenario.timing.target_registration == 3
    assert not parse_scenario({}).cluster.workloads[0].probe  # the seed's workload has no probe
    assert parse_scenario({}).timing.target_registration is None  # the load balancer's delay then


def test_kubernetes_faults_are_accepted() -> None:
    s = parse_scenario({"faults": [{"operation": "kubernetes:patch DaemonSet", "error": "Conflict"}]})
    assert s.faults[0].operation == "kubernetes:patch DaemonSet"
