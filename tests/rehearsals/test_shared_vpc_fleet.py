"""Several clusters in one twin (scenario `clusters:`), two of them in one VPC (issue #14 item 1).

Each cluster has its own Kubernetes API, controllers and nodegroups; in a shared VPC the second
migration gets a pod block and pod subnets of its own and leaves everything the first made as it was."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud.cluster import ClusterFleet
from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

SMALL = {"nodegroups": [{"name": "ng", "minSize": 1, "desiredSize": 1, "maxSize": 2}], "workloads": []}
INPUT = {"pollSeconds": 1, "verify": {"loadBalancers": []}}


@pytest.fixture(scope="module")
def shared() -> Iterator[Twin]:
    scenario = parse_scenario({"clusters": [{"name": "a", **SMALL}, {"name": "b", **SMALL}]})
    with Twin(scenario) as twin:
        yield twin


def _fleet(twin: Twin) -> ClusterFleet:
    return next(c for c in twin.components if isinstance(c, ClusterFleet))


def _owned_by(state: dict[str, Any], cluster: str) -> dict[str, Any]:
    """What podcidr made for `cluster` in the VPC: its pod subnets (with tags and route tables)."""
    return {
        s["subnetId"]: (s["cidr"], s.get("routeTableId"), s["tags"])
        for s in state["subnets"]
        if s["tags"].get("podcidr:cluster") == cluster
    }


def test_each_cluster_has_its_own_api_controllers_and_nodegroups(shared: Twin) -> None:
    fleet = _fleet(shared)
    assert list(fleet.clusters) == ["a", "b"]
    eks = shared.aws.admin_session().client("eks")
    endpoints = {name: eks.describe_cluster(name=name)["cluster"]["endpoint"] for name in ("a", "b")}
    assert endpoints["a"] != endpoints["b"]
    vpcs = {eks.describe_cluster(name=name)["cluster"]["resourcesVpcConfig"]["vpcId"] for name in ("a", "b")}
    assert vpcs == {shared.aws.builts["a"].vpc_id}
    for name in ("a", "b"):
        assert eks.list_nodegroups(clusterName=name)["nodegroups"] == ["ng"]
        nodes = fleet.clusters[name].store.list("v1/nodes")
        assert [n["metadata"]["labels"]["eks.amazonaws.com/nodegroup"] for n in nodes] == ["ng"]
    assert shared.aws.builts["a"].cluster_security_group_id != shared.aws.builts["b"].cluster_security_group_id


def test_the_second_migration_in_a_shared_vpc_leaves_the_first_ones_work_alone(shared: Twin) -> None:
    first = shared.execute({"clusterName": "a", **INPUT})
    assert first.status == "SUCCEEDED", (first.error, first.cause)
    before = shared.state()
    a_subnets = _owned_by(before, "a")
    a_eniconfigs = before["clusters"]["a"]["eniConfigs"]
    assert first.output["podCidr"]["cidr"] == "100.64.0.0/16" and len(a_subnets) == 3
    routes_before = {t["routeTableId"]: t for t in before["routeTables"]}

    # b may not take a's block: podcidr refuses it by name, changing nothing
    taken = shared.execute({"clusterName": "b", **INPUT, "podCidr": "100.64.0.0/16"})
    assert (taken.status, taken.error) == ("FAILED", "CidrOverlap"), taken.cause
    assert "cluster 'a'" in (taken.cause or "")

    second = shared.execute({"clusterName": "b", **INPUT})
    assert second.status == "SUCCEEDED", (second.error, second.cause)
    # the next free /16: a's block overlaps 100.64.0.0/16 (AWS-FACTS 1: no two blocks of a VPC overlap)
    assert second.output["podCidr"]["cidr"] == "100.65.0.0/16"
    after = shared.state()
    assert _owned_by(after, "a") == a_subnets
    b_subnets = _owned_by(after, "b")
    assert len(b_subnets) == 3 and not set(b_subnets) & set(a_subnets)
    assert all(cidr.startswith("100.65.") for cidr, _, _ in b_subnets.values())
    assert after["clusters"]["a"]["eniConfigs"] == a_eniconfigs
    # the load-balancer tags a put on the shared node and public subnets are b's too: found, kept
    shared_tags = {s["subnetId"]: s["tags"] for s in before["subnets"] if "podcidr:cluster" not in s["tags"]}
    assert {s["subnetId"]: s["tags"] for s in after["subnets"] if s["subnetId"] in shared_tags} == shared_tags
    assert not any(t["created"] for t in second.output["loadBalancerTags"])
    assert {e["subnet"] for e in after["clusters"]["b"]["eniConfigs"]} == set(b_subnets)
    for table_id, table in routes_before.items():
        now = next(t for t in after["routeTables"] if t["routeTableId"] == table_id)
        added = [r for r in now["routes"] if r not in table["routes"]]
        assert all(r in now["routes"] for r in table["routes"])
        # the one new route is the VPC's local route of b's block, which AWS adds to every table
        assert added == [{"destination": "100.65.0.0/16", "target": "local", "state": "active"}]
        assert set(now["subnets"]) >= set(table["subnets"])
    blocks = {b["cidr"]: b["state"] for b in after["vpc"]["blocks"]}
    assert blocks["100.64.0.0/16"] == blocks["100.65.0.0/16"] == "associated"
    # both clusters' pods now draw from their own pod subnets
    for name, subnets in (("a", a_subnets), ("b", b_subnets)):
        pods = [p for p in after["clusters"][name]["pods"] if not p.get("hostNetwork")]
        prefixes = {cidr for cidr, _, _ in subnets.values()}
        assert pods and all(any(_in(p["ip"], c) for c in prefixes) for p in pods), pods


def _in(ip: str, cidr: str) -> bool:
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)
