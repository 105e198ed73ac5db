"""The rehearse command itself (DESIGN.md "The rehearse command"), on the default scenario with the
real template, ASL and handlers: exit codes, progress, report, --state, --graph, --repeat, faults."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from localcloud.rehearse import EXIT_FAILED, EXIT_SUCCEEDED, EXIT_USAGE, main


def _run(*argv: str | Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([str(arg) for arg in argv], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def _json(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["rehearse", "--bogus"], "unrecognized arguments"),
        (["rehearse", "--repeat", "0"], "must be 1 or more"),
        (["rehearse", "--input", "/nonexistent/input.json"], "cannot read"),
        (["rehearse", "--graph", "graph.gif"], "use a .png, .svg"),
        (["launch"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    code, _, err = _run(*argv)
    assert code == EXIT_USAGE
    assert message in err


def test_bad_json_input_and_bad_scenario_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "input.json"
    bad.write_text("{not json")
    code, _, err = _run("rehearse", "--input", bad)
    assert (code, "not valid JSON" in err) == (EXIT_USAGE, True)

    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("vpc:\n  subnets:\n    - {name: a, az: ap-southeast-1a, cidr: 10.9.0.0/24}\n")
    code, _, err = _run("rehearse", "--scenario", scenario)
    assert code == EXIT_USAGE
    assert "vpc.subnets[0].cidr" in err and "outside every block" in err


@pytest.mark.rehearsal
def test_a_peering_that_is_no_vpc_block_is_a_scenario_error_not_a_traceback(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("vpc:\n  peerings: [{cidr: 100.64.0.0/10}]\n")
    code, _, err = _run("rehearse", "--scenario", scenario)
    assert code == 2
    assert "scenario key 'vpc.peerings[0].cidr'" in err and "/16 to /28" in err
    assert "Traceback" not in err


def test_dry_run_of_the_default_scenario(tmp_path: Path) -> None:
    state, graph, report = tmp_path / "state.json", tmp_path / "graph.png", tmp_path / "report.json"
    dry = _json(tmp_path, "input.json", {"clusterName": "eksworkshop", "dryRun": True})
    code, out, err = _run(
        "rehearse", "--input", dry, "--repeat", "2", "--state", state, "--graph", graph, "--report", report
    )
    assert code == EXIT_SUCCEEDED, out + err
    assert "Plan: entered (Task)" in out and "DryRunComplete: succeeded" in out
    assert "execution 1: SUCCEEDED" in out and "execution 2: SUCCEEDED" in out
    printed = json.loads(out.split("report:\n", 1)[1])
    assert printed["dryRun"] is True and printed["changes"] == 0
    assert printed["podCidr"]["cidr"] == "100.64.0.0/16"
    assert json.loads(report.read_text()) == printed

    document = json.loads(state.read_text())
    calls = document["calls"]
    assert calls, "the ledger holds the Plan function's calls"
    assert {call["execution"] for call in calls} == {1, 2}
    assert [call for call in calls if call["mutating"]] == []
    assert all(call["caller"].endswith("assumed-role/PlanFunctionRole/PlanFunction") for call in calls)
    assert "subnets" in document and "vpc" in document
    assert graph.read_bytes().startswith(b"\x89PNG")


@pytest.mark.rehearsal
def test_invalid_input_fails_with_invalid_input_and_exit_1(tmp_path: Path) -> None:
    bad = _json(tmp_path, "input.json", {"clusterName": "eksworkshop", "podCidrs": "100.64.0.0/16"})
    graph = tmp_path / "graph.svg"
    code, out, _ = _run("rehearse", "--input", bad, "--graph", graph)
    assert code == EXIT_FAILED
    assert "execution failed: InvalidInput" in out
    assert "unknown key 'podCidrs'" in out
    svg = graph.read_text()
    assert svg.lstrip().startswith("<?xml") and "MigrationFailed" in svg


@pytest.mark.rehearsal
def test_a_disallowed_cidr_fails_with_cidr_not_allowed(tmp_path: Path) -> None:
    bad = _json(tmp_path, "input.json", {"clusterName": "eksworkshop", "podCidr": "192.168.0.0/16", "dryRun": True})
    code, out, _ = _run("rehearse", "--input", bad)
    assert code == EXIT_FAILED
    assert "execution failed: CidrNotAllowed" in out


@pytest.mark.rehearsal
def test_a_fault_on_a_read_call_is_retried_and_the_execution_succeeds(tmp_path: Path) -> None:
    # podcidr's clients retry throttling themselves (botocore standard mode, max_attempts 4: five
    # attempts in all); five faults make the SDK give up, so the state machine's Retry takes over.
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(
        "faults:\n  - {operation: ec2:DescribeSubnets, when: before, times: 5, error: RequestLimitExceeded}\n"
    )
    state = tmp_path / "state.json"
    dry = _json(tmp_path, "input.json", {"clusterName": "eksworkshop", "dryRun": True})
    code, out, err = _run("rehearse", "--scenario", scenario, "--input", dry, "--state", state)
    assert code == EXIT_SUCCEEDED, out + err
    assert "Plan: attempt 1 failed: TransientAwsError" in out
    assert "Plan: retrying (attempt 2)" in out
    faulted = [c for c in json.loads(state.read_text())["calls"] if c["result"] == "RequestLimitExceeded"]
    assert [c["operation"] for c in faulted] == ["ec2:DescribeSubnets"] * 5
