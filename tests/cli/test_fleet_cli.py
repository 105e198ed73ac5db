"""`podcidr fleet`: its input checked as PlanFleet checks it (usage errors before any AWS call), the
migration machine read from the fleet's definition, the children's names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from podcidr_cli import fleet as fleet_cli
from podcidr_cli import main as cli

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
