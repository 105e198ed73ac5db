"""FleetStateMachine on the twin with real clusters (issue #14 item 2): three small clusters in one
VPC, started and watched by `podcidr fleet`; a scenario fault for cluster b alone (EKS says it does not
exist) fails b's migration at Plan, and with haltOnFailure the fleet starts nothing after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from localcloud.scenario import parse_scenario
from localcloud.twin import Twin
from podcidr_cli import main as cli

pytestmark = pytest.mark.rehearsal

SMALL = {"nodegroups": [{"name": "ng", "minSize": 1, "desiredSize": 1, "maxSize": 2}], "workloads": []}


def test_podcidr_fleet_halts_after_a_failure_and_reports_each_cluster(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = parse_scenario(
        {
            "clusters": [
                {"name": "a", **SMALL},
                {"name": "b", **SMALL},
                {"name": "c", **SMALL},
            ],
            "faults": [
                {"operation": "eks:DescribeCluster", "cluster": "b", "times": 20, "error": "ResourceNotFoundException"}
            ],
        }
    )
    migration_input = tmp_path / "input.json"
    migration_input.write_text('{"pollSeconds": 1, "verify": {"loadBalancers": []}}')
    with Twin(scenario, state_machine="FleetStateMachine") as twin:
        assert twin.runner is not None and twin.runner.arn is not None
        args = ["fleet", "--cluster", "b", "--cluster", "a", "--cluster", "c", "--concurrency", "2"]
        args += ["--halt-on-failure", "--input", str(migration_input), "--watch", "--plain", "--poll", "0.5"]
        args += ["--endpoint-url", twin.endpoint_url, "--region", twin.region, "--name", "wave-1"]
        code = cli.main([*args, "--fleet-state-machine-arn", twin.runner.arn])
        sfn = twin.aws.admin_session().client("stepfunctions")
        fleet = sfn.describe_execution(
            executionArn=twin.runner.arn.replace(":stateMachine:", ":execution:") + ":wave-1"
        )
        machines = {m["name"]: m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"]}
        migrations = sfn.list_executions(
            stateMachineArn=next(a for n, a in machines.items() if n.endswith("-migration"))
        )
    out = capsys.readouterr().out
    assert code == 1, out
    assert fleet["status"] == "SUCCEEDED"
    report = json.loads(fleet["output"])
    outcomes = {c["clusterName"]: c for c in report["clusters"]}
    assert {name: c["outcome"] for name, c in outcomes.items()} == {
        "b": "failed",
        "a": "succeeded",
        "c": "notStarted",
    }
    assert outcomes["b"]["error"] == "ClusterNotFound" and "'b'" in outcomes["b"]["cause"]
    assert sorted(e["name"] for e in migrations["executions"]) == ["wave-1-a", "wave-1-b"]
    assert {e["name"]: e["status"] for e in migrations["executions"]} == {"wave-1-a": "SUCCEEDED", "wave-1-b": "FAILED"}
    # the watch showed each cluster's progress, then the outcome
    assert "b: FAILED MigrationFailed" in out and "a: RUNNING ReplaceNodegroup" in out
    assert "c: NOT STARTED" in out
    assert "succeeded 1, failed 1, not started 1" in out
