"""Report: folds the Map items' changes into the document's count."""

from __future__ import annotations

from podcidr.models.migration import DrainState, Migration, NodegroupConfig, NodegroupReplacement
from podcidr.steps.report import fold_changes, report_document
from tests.fixtures.vpc_topology import Topology, seed_migration


def _migration() -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.changes = 5
    for subnet in migration.pod_subnets:
        subnet.changes = 1
    migration.nodegroups = [
        NodegroupReplacement(
            replaced="managed-ng",
            by="managed-ng-pods",
            config=NodegroupConfig(subnets=ids, node_role="arn:aws:iam::1:role/n", scaling_config={"minSize": 3}),
            changes=2,
        )
    ]
    return migration


def test_fold_adds_the_items_changes_once() -> None:
    folded = fold_changes(_migration())
    assert folded.changes == 5 + 3 + 2
    assert fold_changes(folded).changes == 10  # folding again adds nothing


def test_the_report_has_the_contract_keys_and_no_item_counters() -> None:
    document = report_document(_migration())
    assert document["changes"] == 10
    for key in ("clusterName", "dryRun", "podCidr", "podSubnets", "loadBalancerTags", "eniConfigs", "cni"):
        assert key in document
    assert all("changes" not in s for s in document["podSubnets"])
    assert all("changes" not in n for n in document["nodegroups"])
    assert Migration.model_validate(document).changes == 10  # still a migration document


def test_a_drain_s_progress_is_not_part_of_the_report() -> None:
    """`draining` is where a drain stands between two invocations (DrainState): internal, dropped."""
    migration = _migration()
    migration.nodegroups[0].draining = DrainState(started=1.0, batch=["ip-10-0-0-1"])
    assert "draining" in migration.to_json()["nodegroups"][0]
    assert all("draining" not in n for n in report_document(migration)["nodegroups"])
