"""PlanFleet and ReportFleet's logic (podcidr.steps.fleet)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from podcidr.errors import InvalidInput
from podcidr.models.fleet import MAX_CLUSTERS
from podcidr.steps import fleet
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


def test_each_outcome_keeps_its_cluster_name() -> None:
    report = report_fleet(
        [
            {"clusterName": "shop", "outcome": "succeeded", "executionArn": "arn:...:execution:m:w-shop"},
            {"clusterName": "pay", "outcome": "failed", "failure": {"Error": "States.Timeout", "Cause": "late"}},
        ],
        _described({}),
    ).to_json()
    assert [c["clusterName"] for c in report["clusters"]] == ["shop", "pay"]


def test_a_caught_failure_without_a_migration_is_reported_as_it_came_without_describing() -> None:
    def describe(arn: str) -> dict[str, Any]:
        raise AssertionError(f"no migration to describe: {arn}")

    report = report_fleet(
        [{"clusterName": "a", "outcome": "failed", "failure": {"Error": "States.TaskFailed", "Cause": "not JSON"}}],
        describe,
    ).to_json()
    assert [(c["error"], c["cause"], c["executionArn"]) for c in report["clusters"]] == [
        ("States.TaskFailed", "not JSON", None)
    ]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (
            None,
            'The fleet input must be a JSON object such as {"clusters": ["a", "b"], "concurrency": 2}. '
            "Nothing was started.",
        ),
        (
            {"clusters": ["a"] * (MAX_CLUSTERS + 1)},
            f"A fleet migrates at most {MAX_CLUSTERS} clusters (every cluster's outcome is kept in one Step Functions "
            f"state of 256 KiB); {MAX_CLUSTERS + 1} were given: split them into several fleets. Nothing was started.",
        ),
        (
            {"clusters": ["a", 5], "concurrency": "2", "extra": 1},
            "The fleet input is not valid: clusters.1: Input should be a valid string; concurrency: Input should be "
            "a valid integer; extra: Extra inputs are not permitted (the keys are clusters, concurrency, "
            "haltOnFailure, input). Nothing was started.",
        ),
        (
            {"clusters": ["ok", "not ok", "-x"]},
            "Not EKS cluster names: 'not ok', '-x'. Nothing was started.",
        ),
        (
            {"clusters": ["b", "a", "b", "c", "a", "a"]},
            "Clusters named more than once: a, b; a cluster is migrated by one execution at a time. "
            "Nothing was started.",
        ),
        (
            {"clusters": ["a"], "input": {"clusterName": "x"}},
            "The fleet's `input` may not set clusterName: each cluster's is its own. Nothing was started.",
        ),
        (
            {"clusters": ["a", "b"], "input": {"dryRun": "yes"}},
            "The fleet's `input` gives cluster 'a' a migration input that is not valid: The execution input is not "
            "valid: 'dryRun' must be a boolean (true or false, without quotes), found string 'yes'. See the "
            "execution input contract in README.md; nothing was changed. Nothing was started.",
        ),
    ],
    ids=[
        "not-an-object",
        "too-many",
        "invalid-keys",
        "not-cluster-names",
        "named-twice",
        "sets-clustername",
        "bad-input",
    ],
)
def test_each_refusal_says_what_was_found_and_what_to_do(document: object, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        plan_fleet(document, "w")
    assert str(refused.value) == message


_LARGE_INPUT = {
    "verify": {"sourceCidrs": [f"10.{n // 256}.{n % 256}.0/24" for n in range(60)]},
    "nodegroups": [f"nodegroup-{n:02}-{'x' * 50}" for n in range(30)],
}


def test_a_state_too_large_is_refused_with_its_size_in_kib_and_the_fleet_size_that_fits() -> None:
    """80 clusters take 253,963 bytes, under the 256 KiB limit but past its room: 248 KiB (248.01...),
    3,175 bytes a cluster, of which 77 fit the 240 KiB of room."""
    clusters = [f"cluster-{n:03}" for n in range(80)]
    with pytest.raises(InvalidInput) as refused:
        plan_fleet({"clusters": clusters, "input": _LARGE_INPUT}, "w" * 10)
    assert str(refused.value) == (
        "The fleet's state would take 248 KiB (its input with one migration input per cluster), more than a Step "
        "Functions state holds (256 KiB): split the clusters into fleets of at most 77, or make the shared `input` "
        "smaller. Nothing was started."
    )


def _state_size(document: dict[str, Any]) -> int:
    """What the Map's input holds (the fleet's input beside the plan), in bytes of UTF-8 JSON."""
    plan = plan_fleet(document, "wave")
    return len(json.dumps(document).encode()) + len(json.dumps(plan.to_json()).encode())


def test_a_state_that_fills_the_room_exactly_is_planned_one_byte_more_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The room is the 256 KiB limit less the margin the Map's context takes: the fleet's own input counts."""
    document = {"clusters": [f"cluster-{n:03}" for n in range(60)], "input": _LARGE_INPUT}
    size = _state_size(document)
    assert 180 * 1024 < size < fleet.STATE_LIMIT - fleet.STATE_MARGIN  # planned as it is
    monkeypatch.setattr(fleet, "STATE_MARGIN", fleet.STATE_LIMIT - size)
    assert len(plan_fleet(document, "wave").items) == 60
    monkeypatch.setattr(fleet, "STATE_MARGIN", fleet.STATE_LIMIT - size + 1)
    with pytest.raises(InvalidInput, match=r"^The fleet's state would take \d+ KiB .* at most 59, "):
        plan_fleet(document, "wave")


def test_a_name_of_exactly_80_characters_is_kept_and_a_longer_one_ends_with_a_digest_of_it() -> None:
    fleet_name = "f" * 70
    assert child_execution_name(fleet_name, "c" * 9) == f"{fleet_name}-{'c' * 9}"
    whole = f"{fleet_name}-{'c' * 10}"
    digest = hashlib.sha256(whole.encode()).hexdigest()[:12]
    assert child_execution_name(fleet_name, "c" * 10) == f"{whole[:67]}-{digest}"


def test_a_cause_that_fills_its_share_exactly_is_kept_whole() -> None:
    arns = [f"arn:m:w-{n}" for n in range(MAX_CLUSTERS)]
    room = CAUSES_LIMIT // MAX_CLUSTERS
    describe = _described({arn: {"status": "FAILED", "error": "DrainBlocked", "cause": "y" * room} for arn in arns})
    report = report_fleet([_ended(f"c{n}", arn) for n, arn in enumerate(arns)], describe).to_json()
    assert all(c["cause"] == "y" * room for c in report["clusters"])


def test_a_long_cause_caught_without_a_migration_says_it_is_whole_in_the_fleets_history() -> None:
    """A Catch's failure (a StartExecution refused, ...) has no child to read: its whole Cause is in the fleet's
    own execution history."""
    failure = {"Error": "StepFunctions.ExecutionLimitExceeded", "Cause": "z" * 32_000}
    results = [{"clusterName": f"c{n}", "outcome": "failed", "failure": failure} for n in range(MAX_CLUSTERS)]
    causes = [c["cause"] for c in report_fleet(results, _described({})).to_json()["clusters"]]
    tail = "... (cut; the whole Cause is in the fleet execution's history)"
    assert causes[0] == "z" * (CAUSES_LIMIT // MAX_CLUSTERS - len(tail)) + tail
