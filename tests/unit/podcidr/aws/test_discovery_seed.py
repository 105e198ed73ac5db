"""Discovery against moto, on the seed's topology built once for the module.

DescribeAddon (which moto lacks) is answered by tests.fixtures.topology.FakeEks.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from podcidr.aws import discovery
from podcidr.errors import TransientAwsError
from tests.fixtures.topology import (
    REGION,
    FakeEks,
    Topology,
    addon,
    client,
    seed_world,
)

__all__ = ["seed_world"]  # the fixture


@pytest.fixture
def seed(seed_world: Topology) -> Topology:
    return seed_world


def clients() -> tuple[object, object]:
    return client("ec2"), client("eks")


def test_cluster(seed: Topology) -> None:
    """Each field read from where EKS puts it: values unlike the fake's defaults, so a field read from
    the wrong key (or left at its default) shows."""
    _, eks = clients()
    fake = FakeEks(
        eks,
        cluster_security_group_id="sg-0fedcba9876543210",
        authentication_mode="API",
        status="UPDATING",
        ip_family="IPV6",
    )
    cluster = discovery.describe_cluster(fake, "eksworkshop")  # type: ignore[arg-type]
    assert cluster is not None
    assert cluster.name == "eksworkshop"
    assert cluster.status == "UPDATING"
    assert cluster.version == "1.30"
    assert cluster.cluster_security_group_id == "sg-0fedcba9876543210"
    assert cluster.authentication_mode == "API"
    assert cluster.ip_family == "ipv6"
    assert set(cluster.subnet_ids) == {seed.subnet(n) for n in ("node-a", "node-b", "node-c")}


def test_the_fake_adds_fields_where_eks_s_api_has_them() -> None:
    """FakeEks's additions to moto's DescribeCluster are members of EKS's own output shapes."""
    shape = client("eks").meta.service_model.operation_model("DescribeCluster").output_shape.members["cluster"]
    assert "clusterSecurityGroupId" in shape.members["resourcesVpcConfig"].members
    assert "authenticationMode" in shape.members["accessConfig"].members
    assert "ipFamily" in shape.members["kubernetesNetworkConfig"].members
    assert "status" in shape.members


def test_cluster_fields_moto_lacks_are_optional(seed: Topology) -> None:
    ec2, eks = clients()
    cluster = discovery.describe_cluster(eks, "eksworkshop")  # type: ignore[arg-type]
    assert cluster is not None
    assert cluster.cluster_security_group_id is None
    assert cluster.authentication_mode is None
    assert discovery.with_vpc_id(ec2, cluster).vpc_id == seed.vpc_id  # type: ignore[arg-type]


def test_missing_cluster(seed: Topology) -> None:
    _, eks = clients()
    assert discovery.describe_cluster(eks, "nope") is None  # type: ignore[arg-type]


def test_topology_of_the_seed(seed: Topology) -> None:
    ec2, eks = clients()
    cluster = discovery.describe_cluster(FakeEks(eks, addon=addon()), "eksworkshop")  # type: ignore[arg-type]
    assert cluster is not None
    topology = discovery.discover_topology(ec2, FakeEks(eks, addon=addon()), cluster, REGION)  # type: ignore[arg-type]

    assert topology.vpc.vpc_id == seed.vpc_id
    assert topology.vpc.primary_cidr == "172.31.0.0/16"
    assert [(b.cidr, b.state) for b in topology.vpc.blocks] == [("172.31.0.0/16", "associated")]

    by_id = {s.subnet_id: s for s in topology.subnets}
    for name in ("public-a", "public-b", "public-c"):
        subnet = by_id[seed.subnet(name)]
        assert subnet.public and subnet.route_table_id == seed.route_table_ids["public"]
        assert subnet.explicit_route_table
    for name, az in (("node-a", "1a"), ("node-b", "1b"), ("node-c", "1c")):
        subnet = by_id[seed.subnet(name)]
        assert not subnet.public
        assert subnet.availability_zone == f"ap-southeast-{az}"
        assert subnet.route_table_id == seed.route_table_ids["private"]
        assert subnet.available_ips > 4000
        assert subnet.tags["Name"] == name
    assert by_id[seed.subnet("node-a")].cidr == "172.31.48.0/20"

    private = topology.route_table(seed.route_table_ids["private"])
    assert private is not None
    assert private.default_route_target == seed.nat_gateway_ids["public-a"]
    assert not private.main
    main = topology.route_table(seed.main_route_table_id)
    assert main is not None and main.main
    assert any(r.target == "local" and r.destination == "172.31.0.0/16" for r in main.routes)

    assert [g.nat_gateway_id for g in topology.nat_gateways] == [seed.nat_gateway_ids["public-a"]]
    assert topology.transit_gateways == ()
    assert topology.peerings == ()

    (group,) = topology.nodegroups
    assert group.name == "managed-ng"
    assert group.instance_types == ("t3.2xlarge",)
    assert group.scaling_config == {"minSize": 3, "maxSize": 6, "desiredSize": 3}
    assert group.disk_size == 100
    assert group.capacity_type == "ON_DEMAND"
    assert group.ami_type == "AL2_x86_64"
    assert set(group.subnets) == {seed.subnet(n) for n in ("node-a", "node-b", "node-c")}
    assert group.node_role.endswith(":role/eks-node")

    assert topology.cni.via == "addon"
    assert topology.cni.version == "v1.18.3-eksbuild.1"


def test_self_managed_cni(seed: Topology) -> None:
    _, eks = clients()
    assert discovery.describe_cni(FakeEks(eks), "eksworkshop").via == "daemonset"  # type: ignore[arg-type]
    cni = discovery.describe_cni(FakeEks(eks, addon=addon("v1.15.1-eksbuild.1", '{"env":{}}')), "eksworkshop")  # type: ignore[arg-type]
    assert (cni.via, cni.version, cni.configuration_values) == ("addon", "v1.15.1-eksbuild.1", '{"env":{}}')


def test_throttling_becomes_transient(seed: Topology) -> None:
    class Throttled:
        def describe_cluster(self, name: str) -> None:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}, "ResponseMetadata": {}},
                "DescribeCluster",
            )

    with pytest.raises(TransientAwsError):
        discovery.describe_cluster(Throttled(), "eksworkshop")  # type: ignore[arg-type]


def test_other_errors_pass_through(seed: Topology) -> None:
    class Denied:
        def describe_addon(self, clusterName: str, addonName: str) -> None:  # noqa: N803
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeAddon")

    with pytest.raises(ClientError):
        discovery.describe_cni(Denied(), "eksworkshop")  # type: ignore[arg-type]
