"""The scenario key `clusters:` (several clusters in one twin; `cluster:` is shorthand for one)."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.scenario import ScenarioError, parse_scenario


def test_clusters_share_the_scenario_vpc_unless_they_have_their_own() -> None:
    scenario = parse_scenario(
        {
            "clusters": [
                {"name": "a"},
                {"name": "b", "nodegroups": [{"name": "ng", "desiredSize": 1, "minSize": 1}]},
                {"name": "c", "vpc": {"cidr": "10.1.0.0/16"}},
            ]
        }
    )
    a, b, c = scenario.members()
    assert [m.cluster.name for m in (a, b, c)] == ["a", "b", "c"]
    assert a.vpc is b.vpc is scenario.vpc and c.vpc is not scenario.vpc
    assert c.vpc.cidr == "10.1.0.0/16" and [s.cidr for s in c.vpc.subnets][:1] == ["10.1.0.0/20"]
    assert c.cluster.subnets == ["node-a", "node-b", "node-c"]  # derived from its own VPC
    assert [g.name for g in b.cluster.nodegroups] == ["ng"] and b.cluster.nodegroups[0].subnets == b.cluster.subnets
    assert scenario.cluster.name == "a"  # the first: rehearse's default input, up's kubeconfig
    assert [m.cluster.name for m in parse_scenario({}).members()] == ["eksworkshop"]


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"cluster": {"name": "x"}, "clusters": [{"name": "a"}]}, "clusters"),
        ({"clusters": [{"name": "a"}, {"name": "a"}]}, "clusters"),
        ({"clusters": [{"name": "a"}, {"name": "b", "subnets": ["nope"]}]}, "clusters[1].subnets[0]"),
        ({"clusters": [{"name": "a", "vpc": {"cidr": "10.0.0.0/8"}}]}, "clusters[0].vpc.cidr"),
        ({"clusters": [{"name": "a", "bogus": 1}]}, "clusters[0].bogus"),
        ({"clusters": [{"name": "a", "vpc": {"subnetz": []}}]}, "clusters[0].vpc.subnetz"),
        (
            {"clusters": [{"name": "a", "nodegroups": [{"name": "ng", "minSize": 2, "desiredSize": 1}]}]},
            "clusters[0].nodegroups[0].desiredSize",
        ),
    ],
)
def test_clusters_are_validated_naming_the_key(document: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document)
    assert caught.value.key == key, str(caught.value)
