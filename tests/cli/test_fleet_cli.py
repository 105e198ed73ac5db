"""`podcidr fleet`: its input checked as PlanFleet checks it (usage errors before any AWS call), the
migration machine read from the fleet's definition, the children's names."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from podcidr_cli import fleet as fleet_cli
from podcidr_cli import main as cli
from tests.fixtures.twin_aws import TwinAws, twin_aws

__all__ = ["twin_aws"]  # the fixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--cluster", "a"], "more than once: a"),
        (["--concurrency", "0"], "concurrency"),
        (["--concurrency", "41"], "concurrency"),
    ],
)
def test_a_bad_fleet_is_a_usage_error_before_any_aws_call(
    extra: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # no endpoint, no stack: a usage error must come first
    code = cli.main(["fleet", "--cluster", "a", *extra, "--region", "ap-southeast-1", "--endpoint-url", "http://0:1"])
    assert code == 2
    assert said in capsys.readouterr().err


def test_an_input_file_that_is_not_a_migration_input_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = tmp_path / "input.json"
    document.write_text('{"podCidr": "10.0.0.0/8"}')
    code = cli.main(["fleet", "--cluster", "a", "--input", str(document), "--region", "ap-southeast-1"])
    assert code == 2 and "cluster 'a'" in capsys.readouterr().err


def test_the_migration_machine_is_read_from_the_fleet_definition() -> None:
    definition = yaml.safe_load((ROOT / "statemachine" / "fleet.asl.yaml").read_text())
    assert fleet_cli.migration_machine(definition) == "${MigrationStateMachineArn}"
    assert fleet_cli.migration_machine({"States": {}}) is None
    arn = "arn:aws:states:ap-southeast-1:123456789012:stateMachine:podcidr-migration"
    assert fleet_cli.child_arn(arn, "wave-1", "a") == (
        "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:wave-1-a"
    )


def test_clusters_are_selected_by_their_tags() -> None:
    import boto3
    from moto import mock_aws

    with mock_aws():
        eks = boto3.client("eks", region_name="ap-southeast-1")
        config = {"subnetIds": []}
        role = "arn:aws:iam::123456789012:role/eks"
        eks.create_cluster(name="web-1", roleArn=role, resourcesVpcConfig=config, tags={"wave": "1", "team": "web"})
        eks.create_cluster(name="web-2", roleArn=role, resourcesVpcConfig=config, tags={"wave": "2", "team": "web"})
        eks.create_cluster(name="db-1", roleArn=role, resourcesVpcConfig=config, tags={"wave": "1"})
        assert fleet_cli.clusters_tagged(eks, {"wave": "1"}) == ["db-1", "web-1"]
        assert fleet_cli.clusters_tagged(eks, {"wave": "1", "team": "web"}) == ["web-1"]
        assert fleet_cli.clusters_tagged(eks, {"team": "none"}) == []


def test_clusters_must_be_named_or_selected(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["fleet", "--region", "ap-southeast-1"]) == 2
    assert "--cluster NAME" in capsys.readouterr().err
    assert cli.main(["fleet", "--tag", "novalue", "--region", "ap-southeast-1"]) == 2
    assert "KEY=VALUE" in capsys.readouterr().err


def test_the_fleet_machine_is_named_by_its_own_option_never_by_the_migration_machines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    migration = "arn:aws:states:ap-southeast-1:123456789012:stateMachine:podcidr-migration"
    fleet = "arn:aws:states:ap-southeast-1:123456789012:stateMachine:podcidr-fleet"
    code = cli.main(["fleet", "--cluster", "a", "--state-machine-arn", migration, "--region", "ap-southeast-1"])
    assert code == 2 and "--fleet-state-machine-arn" in capsys.readouterr().err
    args = cli.parser().parse_args(["fleet", "--cluster", "a", "--fleet-state-machine-arn", fleet])
    args.region = "ap-southeast-1"
    assert cli.Aws(args).state_machine_arn(fleet_cli.FLEET_OUTPUT_KEY) == fleet


def _watching(twin: TwinAws, monkeypatch: pytest.MonkeyPatch) -> cli.Aws:
    """The CLI as a user with credentials runs it (the twin throttles and counts a role's calls)."""
    assert twin.session is not None
    credentials = twin.session.get_credentials().get_frozen_credentials()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", credentials.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", credentials.secret_key)
    monkeypatch.setenv("AWS_SESSION_TOKEN", credentials.token or "")
    args = cli.parser().parse_args(["fleet", "--cluster", "a", "--endpoint-url", twin.local.endpoint_url])
    args.region = twin.local.region
    return cli.Aws(args)


def _ended_child(twin: TwinAws, name: str) -> str:
    sfn = twin.local.admin_session().client("stepfunctions")
    role = twin.local.admin_session().client("iam").create_role(RoleName=f"r-{name}", AssumeRolePolicyDocument="{}")
    machine = sfn.create_state_machine(
        name=name,
        definition='{"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}}',
        roleArn=role["Role"]["Arn"],
    )["stateMachineArn"]
    arn: str = sfn.start_execution(stateMachineArn=machine, name="wave-1-a")["executionArn"]
    for _ in range(100):
        if sfn.describe_execution(executionArn=arn)["status"] == "SUCCEEDED":
            return arn
        time.sleep(0.1)
    raise AssertionError("the child did not end")


def test_a_throttled_history_read_is_retried_while_watching(twin_aws: TwinAws, monkeypatch: pytest.MonkeyPatch) -> None:
    """Failed before: the first ThrottlingException ended `podcidr fleet --watch` ("AWS said") while the
    fleet ran on (review finding)."""
    arn = _ended_child(twin_aws, "throttled")
    twin_aws.fault("states:GetExecutionHistory", error="ThrottlingException", times=6)
    events = _watching(twin_aws, monkeypatch).history(arn)
    assert twin_aws.local.faults.remaining().get("states:GetExecutionHistory", 0) == 0
    assert [e["type"] for e in events][-1] == "ExecutionSucceeded"


def test_a_migration_that_ended_is_not_read_again(twin_aws: TwinAws, monkeypatch: pytest.MonkeyPatch) -> None:
    arn = _ended_child(twin_aws, "ended-once")
    machine = arn.replace(":execution:", ":stateMachine:").rsplit(":", 1)[0]
    aws = _watching(twin_aws, monkeypatch)
    ended: dict[str, fleet_cli.ClusterRow] = {}
    first = fleet_cli.read_rows(aws, machine, "wave-1", ["a", "b"], halted=False, ended=ended)
    twin_aws.local.ledger.clear()
    again = fleet_cli.read_rows(aws, machine, "wave-1", ["a", "b"], halted=False, ended=ended)
    assert (
        [(r.cluster, r.status) for r in first]
        == [("a", "SUCCEEDED"), ("b", "WAITING")]
        == [(r.cluster, r.status) for r in again]
    )
    # only b's, which has not started yet
    assert [e.result for e in twin_aws.calls() if e.operation == "states:GetExecutionHistory"] == [
        "ExecutionDoesNotExist"
    ]
