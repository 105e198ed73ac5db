"""The podcidr command: arguments, input, history reading, rendering, exit codes (no AWS)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from podcidr_cli import main as cli
from podcidr_cli.history import STEPS, read_history, steps_of
from podcidr_cli.render import LiveProgress, render_failure, render_report

REPORT: dict[str, Any] = {
    "clusterName": "eksworkshop",
    "dryRun": False,
    "podCidr": {"cidr": "100.64.0.0/16", "associationId": "vpc-cidr-assoc-1", "created": True},
    "podSubnets": [
        {
            "availabilityZone": "ap-southeast-1a",
            "subnetId": "subnet-a",
            "cidr": "100.64.0.0/18",
            "routeTableId": "rtb-1",
            "created": True,
        }
    ],
    "loadBalancerTags": [{"subnetId": "subnet-p", "key": "kubernetes.io/role/elb", "created": True}],
    "eniConfigs": [
        {"name": "ap-southeast-1a", "subnet": "subnet-a", "securityGroups": ["sg-0123456789abcdef0"], "created": True}
    ],
    "cni": {"via": "addon", "env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true"}, "changed": True},
    "nodegroups": [{"replaced": "managed-ng", "by": "managed-ng-podcidr", "maxPods": 44}],
    "verification": {
        "loadBalancers": [
            {"kind": "alb", "dnsName": "k8s-web.elb.amazonaws.com", "healthyTargets": 3, "targetsInPodCidr": True}
        ],
        "pods": {"checked": 12, "inPodCidr": 12, "outside": []},
    },
    "changes": 17,
}


def plain_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, no_color=True, force_terminal=False, width=160), buffer


T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(i: int, kind: str, **details: Any) -> dict[str, Any]:
    return {"id": i, "type": kind, "timestamp": T0 + timedelta(seconds=i), **details}


def history(end: str | None = "ExecutionSucceeded") -> list[dict[str, Any]]:
    events = [
        event(1, "ExecutionStarted"),
        event(2, "TaskStateEntered", stateEnteredEventDetails={"name": "TakeLock"}),
        event(3, "TaskScheduled"),
        event(4, "TaskStateExited", stateExitedEventDetails={"name": "TakeLock"}),
        event(5, "TaskStateEntered", stateEnteredEventDetails={"name": "Plan"}),
        event(6, "LambdaFunctionScheduled"),
        event(7, "LambdaFunctionFailed", lambdaFunctionFailedEventDetails={"error": "TransientAwsError"}),
        event(8, "LambdaFunctionScheduled"),
        event(9, "TaskStateExited", stateExitedEventDetails={"name": "Plan"}),
        event(10, "TaskStateEntered", stateEnteredEventDetails={"name": "ExtendVpcCidr"}),
        event(11, "TaskScheduled"),
    ]
    if end == "ExecutionSucceeded":
        events.append(event(30, end, executionSucceededEventDetails={"output": json.dumps(REPORT)}))
    elif end == "ExecutionFailed":
        events.append(
            event(30, end, executionFailedEventDetails={"error": "CidrOverlap", "cause": "100.64.0.0/16 overlaps"})
        )
    elif end == "ExecutionAborted":
        events.append(event(30, end, executionAbortedEventDetails={}))
    return events


def test_history_progress_running() -> None:
    progress = read_history(history(end=None), list(STEPS))
    assert progress.status == "RUNNING"
    assert progress.current_state == "ExtendVpcCidr"
    assert progress.done == ["Plan"]
    assert progress.completed == 1
    assert progress.retries == 1
    assert progress.entered == ["TakeLock", "Plan", "ExtendVpcCidr"]


def test_history_progress_succeeded_and_failed() -> None:
    succeeded = read_history(history(), list(STEPS))
    assert succeeded.status == "SUCCEEDED" and succeeded.output == REPORT
    assert succeeded.completed == len(STEPS)
    assert succeeded.elapsed() == 29
    failed = read_history(history("ExecutionFailed"), list(STEPS))
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "CidrOverlap", "100.64.0.0/16 overlaps")


def test_steps_follow_the_definition_and_dry_run() -> None:
    definition = {"States": {"Start": {}, "Plan": {}, "ExtendVpcCidr": {}, "MigrationFailed": {}}}
    assert steps_of(definition) == ["Plan", "ExtendVpcCidr"]
    assert steps_of(definition, {"clusterName": "x", "dryRun": True}) == ["Plan"]
    assert steps_of(None) == list(STEPS)


def test_report_rendered_as_tables() -> None:
    console, buffer = plain_console()
    render_report(console, REPORT)
    text = buffer.getvalue()
    for expected in (
        "100.64.0.0/16",
        "Pod subnets",
        "subnet-a",
        "rtb-1",
        "kubernetes.io/role/elb=1",
        "ENIConfigs",
        "sg-0123456789abcdef0",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG",
        "managed-ng-podcidr",
        "k8s-web.elb.amazonaws.com",
        "12 checked, 12 in the pod CIDR",
    ):
        assert expected in text, expected
    rows = _table_rows(text)
    assert ["changes", "17"] in rows
    assert ["managed-ng", "managed-ng-podcidr", "44"] in rows
    assert ["alb", "k8s-web.elb.amazonaws.com", "3", "yes"] in rows


def _table_rows(text: str) -> list[list[str]]:
    """The cells of each table row a plain console drew (`| a | b |`)."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in text.splitlines() if "|" in line]


def test_report_of_a_dry_run_without_the_changing_parts() -> None:
    console, buffer = plain_console()
    render_report(console, {"clusterName": "c", "dryRun": True, "podCidr": {"cidr": "100.64.0.0/16"}, "plan": {"x": 1}})
    text = buffer.getvalue()
    assert "dry run" in text and "yes" in text and "Also in the report" in text


def test_failure_rendered_with_error_and_cause() -> None:
    console, buffer = plain_console()
    render_failure(console, "FAILED", "MigrationInProgress", "Cluster c is being migrated by execution arn:x")
    assert "MigrationInProgress" in buffer.getvalue() and "arn:x" in buffer.getvalue()


def test_plain_progress_prints_one_line_per_state() -> None:
    console, buffer = plain_console()
    with LiveProgress(console, "Migrating c") as live:
        live.update(read_history(history(end=None)[:6], list(STEPS)))
        live.update(read_history(history(end=None), list(STEPS)))
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "Migrating c"
    assert [line.split("] ")[1].split()[0] for line in lines[1:]] == ["TakeLock", "Plan", "ExtendVpcCidr"]


# --- arguments, input, exit codes ----------------------------------------------------------------


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert cli.main(["start"]) == 2  # --cluster is required
    assert cli.main(["frobnicate"]) == 2
    assert cli.main(["--help"]) == 0


def _args(tmp_path: Path, document: Any = None, **extra: Any) -> Any:
    argv = ["start", "--cluster", "eksworkshop", "--region", "ap-southeast-1"]
    if document is not None:
        path = tmp_path / "input.json"
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        argv += ["--input", str(path)]
    for key, value in extra.items():
        argv += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return cli.parser().parse_args(argv)


def test_execution_input_from_cluster_file_and_dry_run(tmp_path: Path) -> None:
    assert cli.execution_input(_args(tmp_path)) == {"clusterName": "eksworkshop"}
    document = cli.execution_input(_args(tmp_path, {"podCidr": "100.64.0.0/16"}, dry_run=True))
    assert document == {"podCidr": "100.64.0.0/16", "clusterName": "eksworkshop", "dryRun": True}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "is not JSON"),
        ([1, 2], "must hold a JSON object"),
        ({"clusterName": "other"}, "names cluster 'other'"),
        ({"podCidrr": "100.64.0.0/16"}, "unknown key 'podCidrr'"),
    ],
)
def test_bad_input_is_a_usage_error(tmp_path: Path, document: Any, message: str) -> None:
    with pytest.raises(cli.UsageError, match=message):
        cli.execution_input(_args(tmp_path, document))


def test_bad_input_exits_2_before_any_aws_call(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"pollSeconds": 0}))
    code = cli.main(
        [
            "start",
            "--cluster",
            "c",
            "--input",
            str(path),
            "--region",
            "eu-west-1",
            "--endpoint-url",
            "http://127.0.0.1:1",
        ]
    )
    assert code == 2
    assert "pollSeconds" in capsys.readouterr().err


def test_execution_names_are_valid() -> None:
    name = cli.execution_name("my.cluster" + "x" * 100, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert name.endswith("-20260102T030405Z") and len(name) <= 80 and "." not in name


@pytest.mark.parametrize(("end", "code"), [("ExecutionSucceeded", 0), ("ExecutionFailed", 1), ("ExecutionAborted", 1)])
def test_outcome_exit_codes(end: str, code: int) -> None:
    console, _ = plain_console()
    assert cli.outcome(console, read_history(history(end), list(STEPS))) == code
