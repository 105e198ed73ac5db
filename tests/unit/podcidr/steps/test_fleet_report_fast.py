"""ReportFleet's reading of each cluster's result (podcidr.steps.fleet), beside test_fleet.py: the survivors of
the fifth mutation run (docs/mutation-testing.md)."""

from __future__ import annotations

from podcidr.steps.fleet import report_fleet


def test_each_outcome_keeps_its_cluster_name() -> None:
    report = report_fleet(
        [
            {"clusterName": "shop", "outcome": "succeeded", "executionArn": "arn:...:execution:m:w-shop"},
            {"clusterName": "pay", "outcome": "failed", "failure": {"Error": "States.Timeout", "Cause": "late"}},
        ]
    ).to_json()
    assert [c["clusterName"] for c in report["clusters"]] == ["shop", "pay"]


def test_a_task_failure_whose_cause_is_no_child_description_is_reported_as_it_came() -> None:
    report = report_fleet(
        [
            {"clusterName": "a", "outcome": "failed", "failure": {"Error": "States.TaskFailed", "Cause": "not JSON"}},
            {
                "clusterName": "b",
                "outcome": "failed",
                "failure": {"Error": "States.Timeout", "Cause": '{"ExecutionArn": "arn:x", "Status": "RUNNING"}'},
            },
        ]
    ).to_json()
    assert [(c["error"], c["cause"], c["executionArn"]) for c in report["clusters"]] == [
        ("States.TaskFailed", "not JSON", None),
        ("States.Timeout", '{"ExecutionArn": "arn:x", "Status": "RUNNING"}', None),
    ]
