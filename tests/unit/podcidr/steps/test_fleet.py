"""PlanFleet and ReportFleet's logic (podcidr.steps.fleet)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from podcidr.errors import InvalidInput
from podcidr.models.fleet import MAX_CLUSTERS
from podcidr.steps.fleet import CAUSES_LIMIT, MAX_EXECUTION_NAME, child_execution_name, plan_fleet, report_fleet


def test_the_plan_merges_the_input_under_each_cluster() -> None:
    plan = plan_fleet({"clusters": ["a", "b"], "concurrency": 2, "input": {"dryRun": True}}, "wave")
    assert [item.to_json() for item in plan.items] == [
        {"clusterName": "a", "executionName": "wave-a", "input": {"dryRun": True, "clusterName": "a"}},
        {"clusterName": "b", "executionName": "wave-b", "input": {"dryRun": True, "clusterName": "b"}},
    ]
    assert (plan.concurrency, plan.halt_on_failure) == (2, False)
    assert plan_fleet({"clusters": ["a"]}, "w").concurrency == 1


@pytest.mark.parametrize("document", [None, [], "a", {"clusters": "a"}, {"clusters": ["a"], "concurrency": "2"}])
def test_what_is_not_a_fleet_input_is_refused(document: object) -> None:
    with pytest.raises(InvalidInput, match="Nothing was started"):
        plan_fleet(document, "w")


def test_long_names_are_cut_and_stay_unique() -> None:
    fleet = "f" * 70
    first, second = child_execution_name(fleet, "x" * 40 + "1"), child_execution_name(fleet, "x" * 40 + "2")
    assert len(first) == len(second) == MAX_EXECUTION_NAME and first != second


def _described(responses: dict[str, dict[str, Any]]) -> Callable[[str], dict[str, Any]]:
    """DescribeExecution's responses by ARN; an ARN not listed is refused as IAM would."""

    def describe(arn: str) -> dict[str, Any]:
        if arn not in responses:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeExecution")
        return responses[arn]

    return describe


def _ended(cluster: str, arn: str, status: str = "FAILED") -> dict[str, Any]:
    """A Map iteration's result for a child that did not succeed: its ARN only (fleet.asl.yaml)."""
    failure = {"Error": "States.TaskFailed", "executionArn": arn, "status": status}
    return {"clusterName": cluster, "outcome": "failed", "failure": failure}


def test_the_report_reads_a_failed_childs_error_and_cause() -> None:
    describe = _described(
        {
            "arn:m:w-b": {"executionArn": "arn:m:w-b", "status": "FAILED", "error": "CidrOverlap", "cause": "taken"},
            "arn:m:w-c": {"executionArn": "arn:m:w-c", "status": "ABORTED"},
        }
    )
    report = report_fleet(
        [
            {"clusterName": "a", "outcome": "succeeded", "executionArn": "arn:m:w-a"},
            _ended("b", "arn:m:w-b"),
            _ended("c", "arn:m:w-c", "ABORTED"),
            {
                "clusterName": "d",
                "outcome": "failed",
                "failure": {"Error": "StepFunctions.AccessDeniedException", "Cause": "no"},
            },
            {"clusterName": "e", "outcome": "notStarted"},
            _ended("f", "arn:m:w-f", "TIMED_OUT"),
        ],
        describe,
    ).to_json()
    assert [(c["outcome"], c["error"], c["cause"], c["executionArn"]) for c in report["clusters"]] == [
        ("succeeded", None, None, "arn:m:w-a"),
        ("failed", "CidrOverlap", "taken", "arn:m:w-b"),
        ("failed", "ABORTED", "the migration ended ABORTED", "arn:m:w-c"),
        ("failed", "StepFunctions.AccessDeniedException", "no", None),
        ("notStarted", None, None, None),
        (
            "failed",
            "TIMED_OUT",
            "the migration ended TIMED_OUT; its cause could not be read (AccessDeniedException): "
            "aws stepfunctions describe-execution --execution-arn arn:m:w-f",
            "arn:m:w-f",
        ),
    ]
    assert (report["succeeded"], report["failed"], report["notStarted"]) == (1, 4, 1)


def test_long_causes_are_cut_to_share_what_the_fleets_output_holds() -> None:
    """A hundred failures of 32 KB causes would not fit the fleet's 256 KiB output: each is cut to its share."""
    arns = [f"arn:m:w-{n}" for n in range(MAX_CLUSTERS)]
    describe = _described({arn: {"status": "FAILED", "error": "DrainBlocked", "cause": "y" * 32_000} for arn in arns})
    report = report_fleet([_ended(f"c{n}", arn) for n, arn in enumerate(arns)], describe).to_json()
    causes = [c["cause"] for c in report["clusters"]]
    assert all(len(cause) == CAUSES_LIMIT // MAX_CLUSTERS for cause in causes)
    assert causes[7].endswith("... (cut; the whole Cause is in execution arn:m:w-7)") and causes[7].startswith("yyy")
    assert len(json.dumps(report)) < 256 * 1024
    one = report_fleet([_ended("c0", arns[0])], describe).to_json()["clusters"][0]["cause"]
    assert one == "y" * 32_000  # alone, it is whole


def test_a_fleet_whose_state_would_pass_the_payload_limit_is_refused_before_anything_starts() -> None:
    """The fleet's state (its input, the Map's items and each cluster's outcome) is one Step Functions
    payload: past 256 KiB the fleet would fail with States.DataLimitExceeded after starting migrations."""
    clusters = [f"cluster-{n:03}" for n in range(MAX_CLUSTERS)]
    assert plan_fleet({"clusters": clusters}, "wave").items[-1].cluster_name == clusters[-1]
    with pytest.raises(InvalidInput, match=f"at most {MAX_CLUSTERS} clusters"):
        plan_fleet({"clusters": [*clusters, "one-more"]}, "wave")
    large_input = {
        "verify": {"sourceCidrs": [f"10.{n // 256}.{n % 256}.0/24" for n in range(60)]},
        "nodegroups": [f"nodegroup-{n:02}-{'x' * 50}" for n in range(30)],
    }
    with pytest.raises(InvalidInput, match=r"256 KiB.*split the clusters into fleets of at most \d+"):
        plan_fleet({"clusters": clusters, "input": large_input}, "wave")
    few = plan_fleet({"clusters": clusters[:5], "input": large_input}, "wave")
    assert len(few.items) == 5
