"""Report's cluster part: load-balancer checks' changes folded in, nodegroup warnings surfaced,
per-step durations from the recorded timings."""

from __future__ import annotations

from podcidr.models.migration import LoadBalancerCheck, Migration, StepTiming
from podcidr.steps.report import fold_changes, report_document, step_durations
from tests.unit.podcidr.steps.test_report import _migration


def _with_cluster_parts() -> Migration:
    migration = _migration()
    migration.nodegroups[0].warnings = ["custom AMI: check max pods"]
    migration.verification.load_balancers = [
        LoadBalancerCheck(kind="alb", changes=2, status="done", healthy_targets=3, targets_in_pod_cidr=True),
        LoadBalancerCheck(kind="public-nlb", changes=1, status="done"),
    ]
    migration.timings = {
        "ConfigureCni": StepTiming(
            started="2026-01-01T00:00:00.000Z", finished="2026-01-01T00:01:30.500Z", invocations=4
        ),
        "Broken": StepTiming(started="yesterday", finished="today"),
    }
    return migration


def test_load_balancer_changes_and_nodegroup_warnings_are_folded_once() -> None:
    folded = fold_changes(_with_cluster_parts())
    assert folded.changes == 5 + 3 + 2 + 3
    assert folded.warnings == ["custom AMI: check max pods"]
    again = fold_changes(folded)
    assert again.changes == folded.changes and again.warnings == folded.warnings


def test_the_report_keeps_verification_without_item_counters() -> None:
    document = report_document(_with_cluster_parts())
    checks = document["verification"]["loadBalancers"]
    assert [c["kind"] for c in checks] == ["alb", "public-nlb"]
    assert all("changes" not in c for c in checks)
    assert checks[0]["healthyTargets"] == 3 and checks[0]["targetsInPodCidr"] is True


def test_step_durations_span_the_wait_loop() -> None:
    assert step_durations(_with_cluster_parts()) == {"ConfigureCni": 90.5}


def test_step_durations_skip_only_the_unreadable_timings_and_never_go_negative() -> None:
    migration = _migration()
    migration.timings = {
        "Broken": StepTiming(started="yesterday", finished="today"),  # first: the others are still read
        "Plan": StepTiming(started="2026-01-01T00:00:00.000Z", finished="2026-01-01T00:00:00.250Z"),
        "Skewed": StepTiming(started="2026-01-01T00:00:02+00:00", finished="2026-01-01T00:00:01+00:00"),
    }
    assert step_durations(migration) == {"Plan": 0.25, "Skewed": 0.0}


def test_folding_leaves_its_input_as_it_was() -> None:
    """Report's handler folds the document it was given, then builds the report from the folded one."""
    migration = _with_cluster_parts()
    before = migration.model_copy(deep=True)
    fold_changes(migration)
    assert migration == before
