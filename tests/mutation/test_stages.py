"""`make mutate`'s two stages: what the second stage runs (mutation/pending.py) and how the score combines them
(mutation/score.py), over mutants directories laid out as mutmut 3.7 keeps them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mutation.pending import not_killed, pending
from mutation.score import combined, main

KILLED, SURVIVED, NO_TESTS, TIMEOUT = 1, 0, 33, -24


def _mutants(root: Path, codes: dict[str, int | None]) -> Path:
    meta = root / "src" / "podcidr" / "steps" / "plan.py.meta"
    meta.parent.mkdir(parents=True)
    meta.write_text(json.dumps({"exit_code_by_key": codes, "durations_by_key": {}}))
    return root


def _name(n: int) -> str:
    return f"podcidr.steps.plan.x_plan__mutmut_{n}"


def test_the_full_stage_runs_what_the_fast_stage_ran_and_left_and_has_no_result_for(tmp_path: Path) -> None:
    fast = _mutants(
        tmp_path / "fast",
        {_name(1): KILLED, _name(2): SURVIVED, _name(3): NO_TESTS, _name(4): None, _name(5): TIMEOUT, _name(6): 0},
    )
    full = _mutants(tmp_path / "full", {_name(2): None, _name(3): None, _name(6): KILLED})
    assert pending(fast, full, []) == [_name(2), _name(3)]


def test_patterns_narrow_the_full_stage_as_mutmut_s_globs_do(tmp_path: Path) -> None:
    fast = _mutants(tmp_path / "fast", {_name(2): SURVIVED, _name(13): SURVIVED})
    full = _mutants(tmp_path / "full", {})
    assert pending(fast, full, ["podcidr.steps.plan.x_plan__mutmut_1*"]) == [_name(13)]
    assert pending(fast, full, ["podcidr.steps.cidr*"]) == []


def test_again_names_the_fast_stages_own_survivors_and_no_tests_within_the_patterns(tmp_path: Path) -> None:
    fast = _mutants(
        tmp_path / "fast",
        {_name(1): KILLED, _name(2): SURVIVED, _name(3): NO_TESTS, _name(4): None, _name(5): TIMEOUT, _name(12): 0},
    )
    assert not_killed(fast, []) == [_name(2), _name(3), _name(12)]
    assert not_killed(fast, ["podcidr.steps.plan.x_plan__mutmut_1*"]) == [_name(12)]


def test_a_mutant_killed_by_either_stage_is_killed_and_one_no_moto_test_reaches_keeps_its_fast_result(
    tmp_path: Path,
) -> None:
    fast = _mutants(
        tmp_path / "fast",
        {
            _name(1): KILLED,
            _name(2): SURVIVED,
            _name(3): NO_TESTS,
            _name(4): NO_TESTS,
            _name(5): SURVIVED,
            _name(6): SURVIVED,
        },
    )
    full = _mutants(
        tmp_path / "full",
        {_name(2): KILLED, _name(3): SURVIVED, _name(4): NO_TESTS, _name(5): None, _name(6): NO_TESTS},
    )
    assert combined(str(fast), str(full)) == {
        "podcidr/steps/plan.py": {
            _name(1): "killed",
            _name(2): "killed",
            _name(3): "survived",
            _name(4): "no tests",
            _name(5): "not run",
            _name(6): "survived",
        }
    }
    assert combined(str(fast), None)["podcidr/steps/plan.py"][_name(5)] == "survived"


def test_the_score_counts_the_mutants_a_test_ran_against(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fast = _mutants(tmp_path / "fast", {_name(1): KILLED, _name(2): SURVIVED, _name(3): TIMEOUT, _name(4): NO_TESTS})
    assert main(str(fast)) == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "mutation score: 66.7% (2 killed of 3 mutants a selected test ran against); "
        "no tests: 1 (no selected test reaches them); not run: 0"
    )


def test_a_meta_file_cut_short_by_a_stopped_run_is_said_and_left_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fast = _mutants(tmp_path / "fast", {_name(1): KILLED})
    cut = fast / "src" / "podcidr" / "cidr.py.meta"
    cut.write_text('{"exit_code_by_key": {"podcidr.cidr.x_f__mutmut_1": 0,')
    assert main(str(fast)) == 0
    out, err = capsys.readouterr()
    assert "cidr.py.meta: unreadable" in err
    assert "podcidr/cidr.py" not in out
    assert "1 killed of 1" in out
