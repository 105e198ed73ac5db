"""Where the verification pods may run (DESIGN.md steps 10-11): only on the replacement nodegroups' nodes,
tolerating their taints as Kubernetes spells them; unconstrained without a replaced nodegroup."""

from __future__ import annotations

from podcidr.models.migration import Migration, NodegroupConfig, NodegroupReplacement, Taint
from podcidr.steps.verification_placement import (
    replacement_affinity,
    replacement_nodegroups,
    replacement_tolerations,
    verification_placement,
)
from tests.fixtures.vpc_topology import Topology, seed_migration


def _replacement(by: str, *taints: Taint) -> NodegroupReplacement:
    config = NodegroupConfig(subnets=["s"], node_role="arn:aws:iam::1:role/n", scaling_config={}, taints=list(taints))
    return NodegroupReplacement(replaced=by.removesuffix("-podcidr"), by=by, config=config)


def _migration(*nodegroups: NodegroupReplacement) -> Migration:
    ids = ["s1", "s2", "s3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.nodegroups = list(nodegroups)
    return migration


def test_the_pods_go_only_to_the_replacements_sorted() -> None:
    migration = _migration(_replacement("web-podcidr"), _replacement("batch-podcidr"))
    assert replacement_nodegroups(migration) == ["batch-podcidr", "web-podcidr"]
    assert replacement_affinity(["batch-podcidr", "web-podcidr"]) == {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {
                                "key": "eks.amazonaws.com/nodegroup",
                                "operator": "In",
                                "values": ["batch-podcidr", "web-podcidr"],
                            }
                        ]
                    }
                ]
            }
        }
    }
    assert replacement_affinity([]) is None


def test_each_distinct_taint_is_tolerated_once_spelled_as_kubernetes_does() -> None:
    migration = _migration(
        _replacement(
            "web-podcidr",
            Taint(key="dedicated", value="web", effect="NO_SCHEDULE"),
            Taint(key="spot", effect="PREFER_NO_SCHEDULE"),
        ),
        _replacement(
            "batch-podcidr",
            Taint(key="dedicated", value="web", effect="NO_SCHEDULE"),
            Taint(key="drain", value="", effect="NO_EXECUTE"),
            Taint(key="odd", effect="Custom"),
        ),
    )
    assert replacement_tolerations(migration) == [
        {"key": "dedicated", "effect": "NoSchedule", "operator": "Equal", "value": "web"},
        {"key": "spot", "effect": "PreferNoSchedule", "operator": "Exists"},
        {"key": "drain", "effect": "NoExecute", "operator": "Exists"},
        {"key": "odd", "effect": "Custom", "operator": "Exists"},
    ]


def test_without_replacements_or_taints_the_placement_is_null_so_a_merge_patch_removes_it() -> None:
    assert verification_placement(_migration()) == {"affinity": None, "tolerations": None}
    placed = verification_placement(_migration(_replacement("web-podcidr")))
    assert placed["tolerations"] is None and placed["affinity"] is not None
