"""The AZs the test pods may run in: those every test load balancer serves (Target.NotInUse elsewhere)."""

from __future__ import annotations

import pytest

from podcidr.errors import UnsupportedCluster
from podcidr.models.discovery import SubnetInfo
from podcidr.steps.plan_checks.verification_zones import discoverable_public_zones, served_zones


def _subnet(subnet_id: str, zone: str, tags: dict[str, str], free: int = 250) -> SubnetInfo:
    return SubnetInfo(
        subnet_id=subnet_id,
        availability_zone=zone,
        cidr="10.0.0.0/24",
        available_ips=free,
        tags=tags,
        route_table_id=None,
        explicit_route_table=False,
        public=True,
    )


def test_public_zones_are_those_the_controller_discovers() -> None:
    subnets = [
        _subnet("subnet-a", "az-a", {"kubernetes.io/role/elb": "1"}),
        _subnet("subnet-b", "az-b", {}),  # tagged by TagLoadBalancerSubnets
        _subnet("subnet-c", "az-c", {"kubernetes.io/role/elb": "1", "kubernetes.io/cluster/other": "shared"}),
        _subnet("subnet-d", "az-d", {"kubernetes.io/role/elb": "", "kubernetes.io/cluster/mine": "owned"}),
        _subnet("subnet-e", "az-e", {"kubernetes.io/role/elb": "0"}),
        _subnet("subnet-f", "az-f", {"kubernetes.io/role/elb": "1"}, free=7),  # the controller drops it
        _subnet("subnet-g", "az-g", {"kubernetes.io/role/elb": "1"}, free=8),
    ]
    assert discoverable_public_zones(subnets, {"subnet-b"}, "mine") == {"az-a", "az-b", "az-d", "az-g"}


def test_the_test_pods_run_where_every_load_balancer_and_their_nodes_are() -> None:
    kinds = ["alb", "public-nlb", "private-nlb"]
    assert served_zones(kinds, {"a", "b"}, {"a", "b", "c"}, set(), "mine") == ["a", "b"]
    assert served_zones(kinds, {"a", "b"}, {"a", "b", "c"}, {"b", "c"}, "mine") == ["b"]
    assert served_zones(["private-nlb"], {"a"}, {"b", "c"}, set(), "mine") == ["b", "c"]
    assert served_zones([], {"a"}, {"b"}, set(), "mine") == []


def test_load_balancers_sharing_no_zone_are_refused_before_any_change() -> None:
    with pytest.raises(UnsupportedCluster, match=r"share no Availability Zone \(alb in a; private-nlb in b, c\)"):
        served_zones(["alb", "private-nlb"], {"a"}, {"b", "c"}, set(), "mine")
    with pytest.raises(UnsupportedCluster, match="the test pods' nodes in c"):
        served_zones(["alb"], {"a", "b"}, {"b"}, {"c"}, "mine")


def test_load_balancers_sharing_no_zone_with_the_test_pods_nodes_are_refused_naming_each() -> None:
    with pytest.raises(UnsupportedCluster) as refused:
        served_zones(["alb", "private-nlb"], {"a", "b"}, {"b", "c"}, {"c", "d"}, "mine")
    assert str(refused.value) == (
        "The test load balancers of cluster 'mine' share no Availability Zone (alb in a, b; private-nlb in b, c; the "
        "test pods' nodes in c, d): a load balancer sends nothing to targets in an AZ it does not enable "
        "(Target.NotInUse), so the verification could never pass. Add a public subnet (kubernetes.io/role/elb) in a "
        "node AZ, or leave the internet-facing kinds out of verify.loadBalancers. Nothing was changed."
    )
