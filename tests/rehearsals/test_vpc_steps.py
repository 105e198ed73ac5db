"""Rehearsals of the VPC steps on the local twin (issue 4): real ASL, real handlers, twin AWS.

Three twins: the seed scenario run twice (the second execution must make no mutating call), the
seed scenario with a lost response on every mutating VPC operation, and a NAT and route table per
AZ. Each rehearsal takes tens of seconds; the assertions share them.
"""

from __future__ import annotations

import ipaddress
import logging
from collections import Counter
from typing import Any

import pytest

from localcloud.rehearse import Rehearsal, rehearse
from localcloud.scenario import parse_scenario

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"
INPUT = {"clusterName": CLUSTER, "pollSeconds": 1}
POD_CIDR = ipaddress.IPv4Network("100.64.0.0/16")
ROLE_TAGS = ("kubernetes.io/role/elb", "kubernetes.io/role/internal-elb")
TEMPORARY_ACCESS = ("eks:CreateAccessEntry", "eks:AssociateAccessPolicy", "eks:DeleteAccessEntry")
VPC_MUTATIONS = ("ec2:AssociateVpcCidrBlock", "ec2:CreateSubnet", "ec2:AssociateRouteTable", "ec2:CreateTags")


@pytest.fixture(autouse=True, scope="module")
def _quiet() -> None:
    for name in ("moto", "werkzeug", "botocore", "urllib3"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _run(scenario: dict[str, Any], repeat: int = 1) -> Rehearsal:
    return rehearse(parse_scenario(scenario), dict(INPUT), repeat=repeat)


@pytest.fixture(scope="module")
def seed_twice() -> Rehearsal:
    return _run({}, repeat=2)


@pytest.fixture(scope="module")
def with_lost_responses() -> Rehearsal:
    faults = [{"operation": op, "when": "after", "times": 1} for op in VPC_MUTATIONS if op != "ec2:CreateTags"]
    # CreateTags: the first is the VPC's pod-CIDR mark, the second a load-balancer tag batch.
    faults.append({"operation": "ec2:CreateTags", "when": "after", "times": 2})
    return _run({"faults": faults})


@pytest.fixture(scope="module")
def nat_per_az() -> Rehearsal:
    nats = [{"subnet": f"public-{letter}"} for letter in "abc"]
    return _run({"vpc": {"natGateways": nats}})


def _succeeded(rehearsal: Rehearsal, execution: int = -1) -> dict[str, Any]:
    result = rehearsal.results[execution]
    assert result.status == "SUCCEEDED", f"{result.error}: {result.cause}"
    output: dict[str, Any] = result.output
    return output


def _pod_subnets(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in state["subnets"] if ipaddress.IPv4Network(s["cidr"]).subnet_of(POD_CIDR)]


def _check_vpc(state: dict[str, Any]) -> None:
    """The VPC after the steps: one block, one /18 per AZ on its AZ's node table, the tags, no role tag on pods."""
    blocks = [b for b in state["vpc"]["blocks"] if b["cidr"] == str(POD_CIDR)]
    assert [b["state"] for b in blocks] == ["associated"]

    pods = _pod_subnets(state)
    assert sorted(s["availabilityZone"] for s in pods) == ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"]
    assert {ipaddress.IPv4Network(s["cidr"]).prefixlen for s in pods} == {18}
    nodes = {s["availabilityZone"]: s for s in state["subnets"] if s["name"].startswith("node-")}
    for pod in pods:
        assert pod["tags"]["podcidr:cluster"] == CLUSTER
        assert not set(ROLE_TAGS) & set(pod["tags"])
        assert pod["explicitRouteTable"] is True
        assert pod["routeTableId"] == nodes[pod["availabilityZone"]]["routeTableId"]
    tables = {t["routeTableId"]: t for t in state["routeTables"]}
    for pod in pods:
        assert sum(pod["subnetId"] in t["subnets"] for t in tables.values()) == 1  # one association

    for subnet in state["subnets"]:
        if subnet["name"].startswith("public-"):
            assert subnet["tags"].get("kubernetes.io/role/elb") == "1"
        if subnet["name"].startswith("node-"):
            assert subnet["tags"].get("kubernetes.io/role/internal-elb") == "1"


def _calls(state: dict[str, Any], execution: int) -> list[dict[str, Any]]:
    return [c for c in state["calls"] if c["execution"] == execution]


def test_the_seed_scenario_ends_with_the_vpc_ready(seed_twice: Rehearsal) -> None:
    report = _succeeded(seed_twice, 0)
    _check_vpc(seed_twice.state)
    assert report["podCidr"]["cidr"] == str(POD_CIDR) and report["podCidr"]["created"] is True
    assert all(s["created"] and s["routeTableId"] and s["subnetId"] for s in report["podSubnets"])
    assert all(t["created"] for t in report["loadBalancerTags"])
    mutating = Counter(c["operation"] for c in _calls(seed_twice.state, 1) if c["mutating"] and c["result"] == "ok")
    vpc_changes = {operation: count for operation, count in mutating.items() if operation.startswith("ec2:")}
    assert vpc_changes == {
        "ec2:CreateTags": 3,  # the VPC's pod-CIDR mark, elb, internal-elb
        "ec2:AssociateVpcCidrBlock": 1,
        "ec2:CreateSubnet": 3,
        "ec2:AssociateRouteTable": 3,
    }
    temporary = sum(mutating[op] for op in TEMPORARY_ACCESS)  # the access entry made and revoked: not counted
    assert report["changes"] == sum(mutating.values()) - temporary


def test_a_second_execution_makes_no_mutating_call(seed_twice: Rehearsal) -> None:
    report = _succeeded(seed_twice, 1)
    mutating = [c["operation"] for c in _calls(seed_twice.state, 2) if c["mutating"] and c["result"] == "ok"]
    assert sorted(mutating) == sorted(TEMPORARY_ACCESS)  # only the access entry for the run, removed at its end
    assert report["changes"] == 0
    assert report["podCidr"]["created"] is False
    assert not any(s["created"] for s in report["podSubnets"])
    assert not any(t["created"] for t in report["loadBalancerTags"])
    _check_vpc(seed_twice.state)


def test_lost_responses_still_end_with_one_of_everything(with_lost_responses: Rehearsal) -> None:
    _succeeded(with_lost_responses)
    state = with_lost_responses.state
    _check_vpc(state)
    assert len(_pod_subnets(state)) == 3
    # Every fault fired: each operation shows the injected failure in the ledger.
    failed = Counter(c["operation"] for c in state["calls"] if c["result"] != "ok")
    for operation in VPC_MUTATIONS:
        assert failed[operation] >= 1, f"no lost response on {operation}: {failed}"


def test_a_nat_and_route_table_per_az_routes_each_pod_subnet_to_its_own(nat_per_az: Rehearsal) -> None:
    _succeeded(nat_per_az)
    state = nat_per_az.state
    _check_vpc(state)
    tables = {t["routeTableId"]: t for t in state["routeTables"]}
    routes = {
        pod["availabilityZone"]: next(
            r["target"] for r in tables[pod["routeTableId"]]["routes"] if r["destination"] == "0.0.0.0/0"
        )
        for pod in _pod_subnets(state)
    }
    assert len(set(routes.values())) == 3  # three NAT gateways, one per AZ
    assert len({pod["routeTableId"] for pod in _pod_subnets(state)}) == 3
