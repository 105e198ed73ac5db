"""The execution input: every field's validation, defaults, and unknown keys."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.errors import InvalidInput
from podcidr.models.input import DEFAULT_IMAGE, parse_execution_input


def test_only_cluster_name_is_required() -> None:
    parsed = parse_execution_input({"clusterName": "eksworkshop"})
    assert parsed.cluster_name == "eksworkshop"
    assert parsed.pod_cidr is None
    assert parsed.pod_subnet_prefix_length is None
    assert parsed.availability_zones is None
    assert parsed.eni_config_security_group_ids == []
    assert parsed.tag_load_balancer_subnets is True
    assert parsed.nodegroups is None
    assert parsed.replace_nodegroups is True
    assert parsed.verify.load_balancers == ["alb", "public-nlb", "private-nlb"]
    assert parsed.verify.image == DEFAULT_IMAGE
    assert parsed.verify.keep_workloads is False
    assert parsed.node_replacement.strategy == "drain"
    assert parsed.node_replacement.nodes_at_once == 1
    assert parsed.node_replacement.pod_eviction_timeout_seconds == 900
    assert parsed.dry_run is False
    assert parsed.poll_seconds == 30


def test_the_full_example_of_design_md() -> None:
    parsed = parse_execution_input(
        {
            "clusterName": "eksworkshop",
            "podCidr": "100.64.0.0/16",
            "podSubnetPrefixLength": 19,
            "availabilityZones": ["ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"],
            "eniConfigSecurityGroupIds": ["sg-0123456789abcdef0"],
            "tagLoadBalancerSubnets": True,
            "nodegroups": ["managed-ng"],
            "replaceNodegroups": True,
            "verify": {"loadBalancers": ["alb"], "image": "nginx:1.27", "keepWorkloads": True},
            "dryRun": True,
            "pollSeconds": 10,
        }
    )
    assert parsed.pod_subnet_prefix_length == 19
    assert parsed.verify.keep_workloads is True
    assert parsed.to_json()["podCidr"] == "100.64.0.0/16"


def invalid(document: Any) -> str:
    with pytest.raises(InvalidInput) as raised:
        parse_execution_input(document)
    return raised.value.cause


@pytest.mark.parametrize(
    ("document", "names"),
    [
        ({}, "'clusterName' is required"),
        ({"clusterName": ""}, "clusterName"),
        ({"clusterName": "-bad"}, "clusterName"),
        ({"clusterName": "a" * 101}, "clusterName"),
        ({"clusterName": "c", "podCidr": "100.64.0.0"}, "podCidr"),
        ({"clusterName": "c", "podCidr": "100.64.0.1/16"}, "host bits"),
        ({"clusterName": "c", "podCidr": "100.64.0.0/15"}, "/16 to /28"),
        ({"clusterName": "c", "podCidr": "100.64.0.0/29"}, "/16 to /28"),
        ({"clusterName": "c", "podCidr": "fd00::/64"}, "podCidr"),
        ({"clusterName": "c", "podSubnetPrefixLength": 15}, "podSubnetPrefixLength"),
        ({"clusterName": "c", "podSubnetPrefixLength": 29}, "podSubnetPrefixLength"),
        ({"clusterName": "c", "podCidr": "100.64.0.0/18", "podSubnetPrefixLength": 17}, "larger than podCidr"),
        ({"clusterName": "c", "availabilityZones": []}, "availabilityZones"),
        ({"clusterName": "c", "availabilityZones": ["apse1-az1"]}, "availability zone"),
        ({"clusterName": "c", "availabilityZones": ["ap-southeast-1a", "ap-southeast-1a"]}, "duplicate"),
        ({"clusterName": "c", "eniConfigSecurityGroupIds": ["sg-xyz"]}, "security group"),
        ({"clusterName": "c", "eniConfigSecurityGroupIds": [f"sg-0000000{i}" for i in range(6)]}, "eniConfig"),
        ({"clusterName": "c", "tagLoadBalancerSubnets": "maybe"}, "tagLoadBalancerSubnets"),
        ({"clusterName": "c", "nodegroups": ["bad name"]}, "nodegroup"),
        ({"clusterName": "c", "nodegroups": ["ng", "ng"]}, "duplicate"),
        ({"clusterName": "c", "replaceNodegroups": "yes please"}, "replaceNodegroups"),
        ({"clusterName": "c", "verify": {"loadBalancers": ["clb"]}}, "loadBalancers"),
        ({"clusterName": "c", "verify": {"image": ""}}, "image"),
        ({"clusterName": "c", "verify": {"keepWorkloads": "x"}}, "keepWorkloads"),
        ({"clusterName": "c", "nodeReplacement": {"strategy": "replace"}}, "nodeReplacement.strategy"),
        ({"clusterName": "c", "nodeReplacement": {"nodesAtOnce": 0}}, "nodeReplacement.nodesAtOnce"),
        ({"clusterName": "c", "nodeReplacement": {"nodesAtOnce": 451}}, "nodeReplacement.nodesAtOnce"),
        ({"clusterName": "c", "nodeReplacement": {"podEvictionTimeoutSeconds": -1}}, "podEvictionTimeoutSeconds"),
        ({"clusterName": "c", "nodeReplacement": {"nodesAtOnce": "2"}}, "nodeReplacement.nodesAtOnce"),
        ({"clusterName": "c", "nodeReplacement": None}, "nodeReplacement is null"),
        ({"clusterName": "c", "dryRun": "x"}, "dryRun"),
        ({"clusterName": "c", "keepClusterAccess": "true"}, "keepClusterAccess"),  # strict: a bool only
        ({"clusterName": "c", "keepClusterAccess": 1}, "keepClusterAccess"),
        ({"clusterName": "c", "pollSeconds": 0}, "pollSeconds"),
        ({"clusterName": "c", "pollSeconds": 301}, "pollSeconds"),
    ],
)
def test_invalid_fields(document: dict[str, Any], names: str) -> None:
    assert names in invalid(document)


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"clusterName": "c", "podCIDR": "100.64.0.0/16"}, "podCIDR"),
        ({"clusterName": "c", "cluster_name": "c"}, "cluster_name"),
        ({"clusterName": "c", "verify": {"keep": True}}, "verify.keep"),
        ({"clusterName": "c", "nodeReplacement": {"batch": 2}}, "nodeReplacement.batch"),
    ],
)
def test_unknown_keys_are_refused_by_name(document: dict[str, Any], key: str) -> None:
    assert f"unknown key '{key}'" in invalid(document)


def test_an_unknown_key_of_node_replacement_lists_its_keys() -> None:
    cause = invalid({"clusterName": "c", "nodeReplacement": {"batch": 2}})
    assert "the keys of nodeReplacement are strategy, nodesAtOnce, podEvictionTimeoutSeconds" in cause


@pytest.mark.parametrize("document", [None, [], "eksworkshop", 3])
def test_not_an_object(document: Any) -> None:
    assert "JSON object" in invalid(document)


def test_source_cidrs_that_together_cover_the_internet_are_refused() -> None:
    """A rule of the model alone (the API's schema checks each entry, not their union)."""
    cause = invalid({"clusterName": "c", "verify": {"sourceCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}})
    assert "together 0.0.0.0/1, 128.0.0.0/1 cover the whole internet" in cause


def test_source_cidrs_are_kept_as_given() -> None:
    parsed = parse_execution_input({"clusterName": "c", "verify": {"sourceCidrs": ["203.0.113.0/24", "10.0.0.0/8"]}})
    assert parsed.verify.source_cidrs == ["203.0.113.0/24", "10.0.0.0/8"]
    assert parse_execution_input({"clusterName": "c"}).verify.source_cidrs is None
