"""Discovery against moto. DescribeAddon (which moto lacks) is answered by tests.fixtures.topology.FakeEks."""

from __future__ import annotations

from podcidr.aws import discovery
from tests.fixtures.topology import (
    REGION,
    FakeEks,
    NodegroupSpec,
    aws,
    build,
    client,
    nat_per_az_spec,
    seed_spec,
)

__all__ = ["aws"]  # the fixture


def clients() -> tuple[object, object]:
    return client("ec2"), client("eks")


def test_subnets_on_the_main_table(aws: None) -> None:
    spec = seed_spec()
    spec.route_tables = []  # every subnet on the main table (only a local route): all private
    topology = build(spec)
    ec2, _ = clients()
    subnets = discovery.describe_subnets(ec2, topology.vpc_id, discovery.describe_route_tables(ec2, topology.vpc_id))  # type: ignore[arg-type]
    assert all(s.route_table_id == topology.main_route_table_id and not s.explicit_route_table for s in subnets)
    assert not any(s.public for s in subnets)


def test_nat_per_az(aws: None) -> None:
    topology = build(nat_per_az_spec())
    ec2, _ = clients()
    tables = discovery.describe_route_tables(ec2, topology.vpc_id)  # type: ignore[arg-type]
    targets = {t.route_table_id: t.default_route_target for t in tables}
    for zone in "abc":
        assert targets[topology.route_table_ids[f"private-{zone}"]] == topology.nat_gateway_ids[f"public-{zone}"]
    assert len(discovery.describe_nat_gateways(ec2, topology.vpc_id)) == 3  # type: ignore[arg-type]


def test_transit_gateway_routes(aws: None) -> None:
    topology = build(seed_spec(extra_routes=[("10.0.0.0/8", "transit-gateway")]))
    ec2, eks = clients()
    cluster = discovery.describe_cluster(eks, "eksworkshop")  # type: ignore[arg-type]
    assert cluster is not None
    found = discovery.discover_topology(ec2, FakeEks(eks), cluster, REGION)  # type: ignore[arg-type]
    assert [t.transit_gateway_id for t in found.transit_gateways] == [topology.transit_gateway_id]
    private = found.route_table(topology.route_table_ids["private"])
    assert private is not None
    assert any(r.destination == "10.0.0.0/8" and r.target == topology.transit_gateway_id for r in private.routes)


def test_secondary_blocks_and_peerings_in_both_directions(aws: None) -> None:
    topology = build(seed_spec(secondary_cidrs=["100.64.0.0/16"]))
    ec2 = client("ec2")
    other = ec2.create_vpc(CidrBlock="10.10.0.0/16")["Vpc"]["VpcId"]
    third = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    unrelated = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    active = ec2.create_vpc_peering_connection(VpcId=topology.vpc_id, PeerVpcId=other)["VpcPeeringConnection"]
    ec2.accept_vpc_peering_connection(VpcPeeringConnectionId=active["VpcPeeringConnectionId"])
    incoming = ec2.create_vpc_peering_connection(VpcId=third, PeerVpcId=topology.vpc_id)["VpcPeeringConnection"]
    ec2.create_vpc_peering_connection(VpcId=unrelated, PeerVpcId=other)

    vpc = discovery.describe_vpc(ec2, topology.vpc_id)  # type: ignore[arg-type]
    assert {b.cidr for b in vpc.blocks} == {"172.31.0.0/16", "100.64.0.0/16"}
    assert all(b.state == "associated" and b.association_id for b in vpc.blocks)

    peerings = {p.peering_id: p for p in discovery.describe_peerings(ec2, topology.vpc_id)}  # type: ignore[arg-type]
    assert set(peerings) == {active["VpcPeeringConnectionId"], incoming["VpcPeeringConnectionId"]}
    mine = peerings[active["VpcPeeringConnectionId"]]
    assert mine.status == "active"
    assert mine.peer_cidrs(topology.vpc_id) == ("10.10.0.0/16",)
    theirs = peerings[incoming["VpcPeeringConnectionId"]]
    assert theirs.status == "pending-acceptance"
    assert theirs.requester_vpc_id == third
    assert theirs.peer_cidrs(topology.vpc_id) == ("10.20.0.0/16",)


def test_nodegroup_details_and_launch_template(aws: None) -> None:
    ec2 = client("ec2")
    template = ec2.create_launch_template(
        LaunchTemplateName="custom-ami", LaunchTemplateData={"ImageId": "ami-12345678", "InstanceType": "m5.large"}
    )["LaunchTemplate"]
    spec = seed_spec()
    spec.nodegroups = [
        NodegroupSpec(
            "lt-ng",
            ["node-a"],
            labels={"role": "web"},
            tags={"team": "a"},
            launch_template={"id": template["LaunchTemplateId"], "version": "1"},
            ami_type=None,
        ),
    ]
    topology = build(spec)
    _, eks = clients()
    (group,) = discovery.describe_nodegroups(eks, ec2, "eksworkshop")  # type: ignore[arg-type]
    assert group.labels == {"role": "web"}
    assert group.tags == {"team": "a"}
    assert group.subnets == (topology.subnet("node-a"),)
    assert group.launch_template is not None
    assert group.launch_template.template_id == template["LaunchTemplateId"]
    assert group.launch_template.image_id == "ami-12345678"
    assert group.launch_template.instance_type == "m5.large"


def test_instance_types_and_addresses(aws: None) -> None:
    seed = build(seed_spec())
    ec2, _ = clients()
    types = discovery.describe_instance_types(ec2, ["t3.2xlarge", "m5.large"])  # type: ignore[arg-type]
    assert (types["t3.2xlarge"].max_enis, types["t3.2xlarge"].ips_per_eni, types["t3.2xlarge"].vcpus) == (4, 15, 8)
    assert types["m5.large"].max_enis == 3
    ec2.create_network_interface(SubnetId=seed.subnet("node-a"), PrivateIpAddress="172.31.63.254")  # type: ignore[attr-defined]
    used = discovery.addresses_in_use(ec2, [seed.subnet("node-a"), seed.subnet("node-b")])  # type: ignore[arg-type]
    assert "172.31.63.254" in used[seed.subnet("node-a")]
    assert used[seed.subnet("node-b")] == set()
