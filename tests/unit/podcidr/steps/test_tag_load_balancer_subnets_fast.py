"""TagLoadBalancerSubnets over a botocore-stubbed EC2 client, in milliseconds (`make mutate-fast`): the role tags
Plan listed added where missing (one CreateTags per key and value, each counted), left alone where the key is
present with any value, a lost answer's retry that tags only what is still missing, no call at all when nothing
is planned, and the refusal to tag a pod subnet (by its ID or its CIDR) before anything is tagged. The same step
against moto: test_tag_load_balancer_subnets.py."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from podcidr.errors import TransientAwsError
from podcidr.models.migration import LoadBalancerTag, Migration
from podcidr.steps.tag_load_balancer_subnets import tag_load_balancer_subnets
from tests.fixtures.stubbed_aws import all_answered, ec2_only, ec2_subnet
from tests.fixtures.vpc_topology import ELB, INTERNAL_ELB, Topology, seed_migration

VPC = "vpc-0a1b2c3d4e5f60718"
OWNER = "111122223333"
AZS = ("ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c")
PUBLIC = {"subnet-0pub3000000000000": "172.31.32.0/20", "subnet-0pub1000000000000": "172.31.0.0/20"}
NODES = {"subnet-0node200000000000": "172.31.64.0/20", "subnet-0node100000000000": "172.31.48.0/20"}
POD_SUBNETS = ["subnet-0pod1000000000000", "subnet-0pod2000000000000", "subnet-0pod3000000000000"]


def _migration(changes: int = 4) -> Migration:
    """As Plan lists the tags: public subnets then node subnets, each in the order found (not sorted)."""
    topology = Topology(VPC, "rtb-0main", "rtb-0public", list(PUBLIC), list(NODES), ["nat-0a"], ["rtb-0node"] * 3)
    migration = seed_migration(topology)
    for subnet, subnet_id in zip(migration.pod_subnets, POD_SUBNETS, strict=True):
        subnet.subnet_id = subnet_id
    migration.changes = changes
    return migration


def _subnet(subnet_id: str, cidr: str, tags: dict[str, str]) -> dict[str, Any]:
    """A Subnet as DescribeSubnets answers, in the AZ its CIDR's third octet gives."""
    index = int(cidr.split(".")[2]) // 16 % 3
    return ec2_subnet(
        subnet_id,
        cidr,
        vpc=VPC,
        owner=OWNER,
        zone=AZS[index],
        zone_id=f"apse1-az{index + 1}",
        free=4000,
        public=subnet_id in PUBLIC,
        tags=[{"Key": k, "Value": v} for k, v in tags.items()],
    )


def _describe(stub: Stubber, tags: dict[str, dict[str, str]], extra: dict[str, str] | None = None) -> None:
    """DescribeSubnets of the planned subnets (sorted IDs); `tags` by subnet, `extra` more subnets (ID: CIDR)."""
    cidrs = {**PUBLIC, **NODES, **(extra or {})}
    name = {"subnet-0node200000000000": "shop-nodes-b", "subnet-0pub3000000000000": "shop-public-c"}
    subnets = [_subnet(s, cidrs[s], {"Name": name.get(s, "shop"), **tags.get(s, {})}) for s in sorted(cidrs)]
    stub.add_response("describe_subnets", {"Subnets": subnets}, {"Filters": [], "SubnetIds": sorted(cidrs)})


def _create_tags(stub: Stubber, subnet_ids: list[str], key: str, value: str = "1") -> None:
    stub.add_response("create_tags", {}, {"Resources": subnet_ids, "Tags": [{"Key": key, "Value": value}]})


def test_tags_public_and_node_subnets_one_call_per_key() -> None:
    clients, stub = ec2_only()
    _describe(stub, {})
    _create_tags(stub, sorted(PUBLIC), ELB)
    _create_tags(stub, sorted(NODES), INTERNAL_ELB)

    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, _migration())

    assert tagged.changes == 4 + 2
    assert [(t.subnet_id, t.key, t.created) for t in tagged.load_balancer_tags] == [
        *((s, ELB, True) for s in PUBLIC),
        *((s, INTERNAL_ELB, True) for s in NODES),
    ]


def test_a_rerun_finds_every_tag_and_makes_no_call_but_the_describe() -> None:
    clients, stub = ec2_only()
    _describe(stub, {s: {ELB: "1"} for s in PUBLIC} | {s: {INTERNAL_ELB: "1"} for s in NODES})
    migration = _migration()
    migration.load_balancer_tags[0].created = True  # the first attempt's record stays

    with all_answered(stub):
        again = tag_load_balancer_subnets(clients, migration)

    assert again.changes == 4
    assert [t.created for t in again.load_balancer_tags] == [True, False, False, False]


def test_a_tag_already_present_with_any_value_is_left_alone() -> None:
    clients, stub = ec2_only()
    _describe(stub, {"subnet-0node100000000000": {INTERNAL_ELB: ""}, "subnet-0pub1000000000000": {ELB: "0"}})
    _create_tags(stub, ["subnet-0pub3000000000000"], ELB)
    _create_tags(stub, ["subnet-0node200000000000"], INTERNAL_ELB)

    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, _migration())

    assert tagged.changes == 4 + 2
    assert {t.subnet_id: t.created for t in tagged.load_balancer_tags} == {
        "subnet-0pub3000000000000": True,
        "subnet-0pub1000000000000": False,
        "subnet-0node200000000000": True,
        "subnet-0node100000000000": False,
    }


def test_the_other_role_tag_does_not_count_as_present() -> None:
    """A public subnet tagged internal-elb still lacks elb: only the planned key counts."""
    clients, stub = ec2_only()
    _describe(stub, {s: {INTERNAL_ELB: "1"} for s in PUBLIC} | {s: {INTERNAL_ELB: "1"} for s in NODES})
    _create_tags(stub, sorted(PUBLIC), ELB)

    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, _migration())

    assert tagged.changes == 4 + 1
    assert [t.created for t in tagged.load_balancer_tags] == [True, True, False, False]


def test_a_lost_tag_answer_converges_with_tags_once() -> None:
    """The first attempt's second CreateTags acted and its answer was lost (a 503 after acting): the state machine
    retries the step, which finds both batches tagged and calls nothing more."""
    clients, stub = ec2_only()
    migration = _migration()
    _describe(stub, {})
    _create_tags(stub, sorted(PUBLIC), ELB)
    stub.add_client_error(
        "create_tags",
        "ServiceUnavailable",
        "Service Unavailable",
        503,
        expected_params={"Resources": sorted(NODES), "Tags": [{"Key": INTERNAL_ELB, "Value": "1"}]},
    )
    with all_answered(stub), pytest.raises(TransientAwsError, match=r"^ec2:CreateTags failed with ServiceUnavailable"):
        tag_load_balancer_subnets(clients, migration)

    _describe(stub, {s: {ELB: "1"} for s in PUBLIC})
    _create_tags(stub, sorted(NODES), INTERNAL_ELB)
    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, migration)

    assert tagged.changes == 4 + 1
    assert [t.created for t in tagged.load_balancer_tags] == [False, False, True, True]


def test_no_planned_tags_makes_no_call_at_all() -> None:
    clients, stub = ec2_only()
    migration = _migration()
    migration.load_balancer_tags = []

    with all_answered(stub):
        result = tag_load_balancer_subnets(clients, migration)

    assert result == migration


def test_tagging_leaves_its_input_as_it_was() -> None:
    clients, stub = ec2_only()
    _describe(stub, {})
    _create_tags(stub, sorted(PUBLIC), ELB)
    _create_tags(stub, sorted(NODES), INTERNAL_ELB)
    migration = _migration()
    before = migration.model_copy(deep=True)

    with all_answered(stub):
        tag_load_balancer_subnets(clients, migration)

    assert migration == before


def test_a_planned_tag_on_a_pod_subnet_is_refused_before_any_tag() -> None:
    clients, stub = ec2_only()
    migration = _migration()
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id=POD_SUBNETS[1], key=INTERNAL_ELB))
    _describe(stub, {}, extra={POD_SUBNETS[1]: "100.64.64.0/18"})

    with all_answered(stub), pytest.raises(RuntimeError) as raised:
        tag_load_balancer_subnets(clients, migration)
    assert str(raised.value) == (
        f"refusing to tag {POD_SUBNETS[1]} with {INTERNAL_ELB}: it is a pod subnet, and load balancers must never "
        "be placed in pod subnets (the plan is wrong)"
    )


def test_a_planned_pod_subnet_is_refused_by_its_id_whatever_its_cidr() -> None:
    """The plan names it a pod subnet: refused even if its CIDR (as EC2 gives it) is outside the pod block."""
    clients, stub = ec2_only()
    migration = _migration()
    migration.pod_subnets[0].subnet_id = "subnet-0node100000000000"
    _describe(stub, {})

    with all_answered(stub), pytest.raises(RuntimeError, match=r"^refusing to tag subnet-0node100000000000 with "):
        tag_load_balancer_subnets(clients, migration)


def test_a_planned_tag_on_a_subnet_inside_the_pod_block_is_refused_by_its_cidr() -> None:
    """A subnet of the pod block is refused even when the plan does not list it as a pod subnet."""
    clients, stub = ec2_only()
    migration = _migration()
    stray = "subnet-0stray00000000000"
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id=stray, key=ELB))
    _describe(stub, {}, extra={stray: "100.64.250.0/24"})

    with all_answered(stub), pytest.raises(RuntimeError) as raised:
        tag_load_balancer_subnets(clients, migration)
    assert str(raised.value) == (
        f"refusing to tag {stray} with {ELB}: it is a pod subnet, and load balancers must never be placed in pod "
        "subnets (the plan is wrong)"
    )


def test_a_subnet_beside_the_pod_block_is_tagged() -> None:
    """Only subnets inside the pod block are pod subnets: one in another secondary block is tagged."""
    clients, stub = ec2_only()
    migration = _migration()
    beside = "subnet-0beside0000000000"
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id=beside, key=INTERNAL_ELB))
    _describe(stub, {}, extra={beside: "100.65.0.0/24"})
    _create_tags(stub, sorted(PUBLIC), ELB)
    _create_tags(stub, sorted([*NODES, beside]), INTERNAL_ELB)

    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, migration)

    assert tagged.changes == 4 + 2
    assert all(t.created for t in tagged.load_balancer_tags)


def test_a_subnet_with_two_planned_tags_is_described_once_and_gets_the_missing_one() -> None:
    clients, stub = ec2_only()
    migration = _migration()
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id="subnet-0pub1000000000000", key=INTERNAL_ELB))
    _describe(stub, {s: {ELB: "1"} for s in PUBLIC} | {s: {INTERNAL_ELB: "1"} for s in NODES})
    _create_tags(stub, ["subnet-0pub1000000000000"], INTERNAL_ELB)

    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, migration)

    assert tagged.changes == 4 + 1
    assert [t.created for t in tagged.load_balancer_tags] == [False, False, False, False, True]


def test_an_ipv6_only_subnet_is_tagged() -> None:
    """An IPv6-only subnet has no IPv4 CidrBlock (DescribeSubnets leaves it out): it is no pod subnet."""
    clients, stub = ec2_only()
    migration = _migration()
    ipv6_only = "subnet-0ipv6only00000000"
    migration.load_balancer_tags.append(LoadBalancerTag(subnet_id=ipv6_only, key=ELB))
    subnet = _subnet(ipv6_only, "172.31.96.0/20", {"Name": "shop-ipv6"})
    del subnet["CidrBlock"]
    subnet |= {
        "Ipv6Native": True,
        "AssignIpv6AddressOnCreation": True,
        "EnableDns64": True,
        "AvailableIpAddressCount": 0,
        "Ipv6CidrBlockAssociationSet": [
            {
                "AssociationId": "subnet-cidr-assoc-0a1b2c3d4e5f60718",
                "Ipv6CidrBlock": "2600:1f18:abc:de00::/64",
                "Ipv6CidrBlockState": {"State": "associated"},
                "Ipv6AddressAttribute": "public",
                "IpSource": "amazon",
            }
        ],
    }
    subnets = [_subnet(s, c, {"Name": "shop"}) for s, c in sorted({**PUBLIC, **NODES}.items())]
    subnets = sorted([*subnets, subnet], key=lambda s: str(s["SubnetId"]))
    ids = sorted([*PUBLIC, *NODES, ipv6_only])
    stub.add_response("describe_subnets", {"Subnets": subnets}, {"Filters": [], "SubnetIds": ids})
    _create_tags(stub, sorted([*PUBLIC, ipv6_only]), ELB)
    _create_tags(stub, sorted(NODES), INTERNAL_ELB)

    with all_answered(stub):
        tagged = tag_load_balancer_subnets(clients, migration)

    assert tagged.changes == 4 + 2
    assert all(t.created for t in tagged.load_balancer_tags)
