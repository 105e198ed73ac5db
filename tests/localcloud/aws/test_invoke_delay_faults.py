"""`lambda:InvokeFunction <function>` faults with a `delay` (the twin's scenario key, docs/rehearsal.md):
one function's invocation is slowed, never failed; the key goes with that operation only."""

from __future__ import annotations

import pytest

from localcloud.aws.faults import Faults
from localcloud.scenario import FaultSpec, ScenarioError, parse_scenario


def test_a_delay_fault_names_a_function_and_is_taken_before_or_after_its_handler() -> None:
    scenario = parse_scenario(
        {
            "faults": [
                {"operation": "lambda:InvokeFunction DeployVerificationWorkloadFunction", "delay": 30},
                {"operation": "lambda:InvokeFunction ReportFunction", "delay": 2, "when": "after", "times": 2},
            ]
        }
    )
    faults = Faults(scenario.faults)
    deploy = "lambda:InvokeFunction DeployVerificationWorkloadFunction"
    assert faults.take(deploy, workflow=False, when="after") is None
    taken = faults.take(deploy, workflow=False, when="before")
    assert taken is not None and taken.delay == 30
    assert faults.take(deploy, workflow=False, when="before") is None  # times: 1
    assert faults.take("lambda:InvokeFunction ReportFunction", workflow=False, when="before") is None
    assert faults.take("*", workflow=True) is None


@pytest.mark.parametrize(
    "fault",
    [
        {"operation": "lambda:InvokeFunction ReportFunction"},
        {"operation": "ec2:CreateSubnet", "delay": 5},
        {"operation": "lambda:InvokeFunction Report Function", "delay": 5},
    ],
)
def test_delay_goes_with_one_functions_invocations_only(fault: dict[str, object]) -> None:
    with pytest.raises(ScenarioError):
        parse_scenario({"faults": [fault]})


def test_a_delay_is_bounded_by_lambdas_longest_timeout() -> None:
    with pytest.raises(ValueError, match="delay"):
        FaultSpec.model_validate({"operation": "lambda:InvokeFunction ReportFunction", "delay": 901})
