"""A battery of bad inputs through the real state machine on one twin (issue 15): each is refused
with its error name and a Cause that says what to send instead, by ValidateInput before the lock
or by Plan, and the whole battery makes no mutating call. What the API's request model can express
is refused by the API too (400), without starting an execution.

One twin for the module; the executions run a few at a time (a refused input ends in seconds).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from localcloud import twin as twin_module
from localcloud.scenario import parse_scenario
from localcloud.stepfunctions import ExecutionResult
from localcloud.template import Template
from podcidr import OWNER_TAG_KEY, pod_cidr_tag_key
from tests.fixtures.bad_inputs import CLUSTER, MODEL_CASES, REFERENCE_CASES, BadInput
from tests.localcloud.apigateway.conftest import send
from tests.triggers.conftest import _cold_start_functions, _stop_executions, triggers_of

pytestmark = pytest.mark.rehearsal

CASES = MODEL_CASES + REFERENCE_CASES
AT_ONCE = 8
SCENARIO = {
    "vpc": {
        "securityGroups": [
            {"name": "pods-tagged", "tags": {f"kubernetes.io/cluster/{CLUSTER}": "owned"}},
            {"name": "pods-plain", "tags": {"team": "web"}},
        ]
    }
}


@pytest.fixture(scope="module")
def twin() -> Iterator[twin_module.Twin]:
    _cold_start_functions()
    template = Template.load()
    scenario = parse_scenario(SCENARIO)
    started = twin_module.Twin(
        scenario,
        template=template,
        components=twin_module.default_components(scenario, template),
        parameters={"DefaultInput": '{"pollSeconds": 1}'},
    ).start()
    yield started
    _stop_executions(started)
    started.stop()


def _other_cluster_pod_block(twin: twin_module.Twin, ec2: Any, vpc_id: str) -> None:
    """Another cluster of the VPC migrated by podcidr: its pod block and a pod subnet in it."""
    ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock="100.64.0.0/16")
    twin.aws.ec2.settle()
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": pod_cidr_tag_key("other"), "Value": "100.64.0.0/16"}])
    ec2.create_subnet(
        VpcId=vpc_id,
        CidrBlock="100.64.0.0/19",
        AvailabilityZone="ap-southeast-1a",
        TagSpecifications=[{"ResourceType": "subnet", "Tags": [{"Key": OWNER_TAG_KEY, "Value": "other"}]}],
    )


@pytest.fixture(scope="module")
def refs(twin: twin_module.Twin) -> dict[str, str]:
    """IDs the reference cases name, made through the admin session (not the workflow's calls)."""
    ec2 = twin.aws.admin_session().client("ec2")
    built = twin.aws.built
    elsewhere = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    other_group = ec2.create_security_group(GroupName="elsewhere", Description="x", VpcId=elsewhere)["GroupId"]
    second_plain = ec2.create_security_group(GroupName="pods-plain-2", Description="x", VpcId=built.vpc_id)["GroupId"]
    _other_cluster_pod_block(twin, ec2, built.vpc_id)
    return {
        "cluster_group": built.cluster_security_group_id,
        "tagged_group": built.security_group_ids["pods-tagged"],
        "untagged_group": built.security_group_ids["pods-plain"],
        "second_untagged_group": second_plain,
        "other_vpc_group": other_group,
    }


@pytest.fixture(scope="module")
def results(twin: twin_module.Twin, refs: dict[str, str]) -> dict[str, ExecutionResult]:
    runner = twin.runner
    assert runner is not None
    done: dict[str, ExecutionResult] = {}
    # refused before the lock: a few at a time; valid inputs take the cluster's lock: one at a time
    batches = [MODEL_CASES[i : i + AT_ONCE] for i in range(0, len(MODEL_CASES), AT_ONCE)]
    for batch in batches + [[case] for case in REFERENCE_CASES]:
        started = {case.id: runner.start(case.resolved(refs), name=f"bad-{case.id}") for case in batch}
        for case_id, arn in started.items():
            done[case_id] = runner.wait(arn, poll=0.3)
    return done


def _visited(result: ExecutionResult) -> list[str]:
    return [visit.name for visit in result.visits]


def test_the_battery_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_refused_with_its_name_and_what_to_send(case: BadInput, results: dict[str, ExecutionResult]) -> None:
    result = results[case.id]
    assert (result.status, result.error) == ("FAILED", case.error), result.cause
    assert case.hint in (result.cause or ""), result.cause
    assert "nothing was changed" in (result.cause or "").lower()
    visited = _visited(result)
    assert visited[-1] == "MigrationFailed"
    if case.locked:
        # a valid input: the lock was taken, Plan refused the references, the lock was released
        assert {"TakeLock", "Plan", "ReleaseLockOnFailure"} <= set(visited), visited
    else:
        # the lock table is never touched: nothing taken, nothing released
        assert not {"TakeLock", "ReleaseLockOnFailure"} & set(visited), visited
        assert case.where in visited, visited
        if case.where == "ValidateInput":
            assert "Plan" not in visited, visited


def test_the_battery_changed_nothing(twin: twin_module.Twin, results: dict[str, ExecutionResult]) -> None:
    assert len(results) == len(CASES)
    assert twin.aws.ledger.mutating_calls() == []
    assert triggers_of(twin).locks() == []
    state = twin.state()
    assert state["cluster"]["eniConfigs"] == []


@pytest.fixture(scope="module")
def api_url(twin: twin_module.Twin) -> str:
    cloudformation = twin.aws.admin_session().client("cloudformation")
    stack = cloudformation.describe_stacks(StackName="podcidr")["Stacks"][0]
    url = next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "MigrationsApiUrl")
    return f"{url}/migrations"


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda case: case.id)
def test_the_api_refuses_what_the_model_refuses(case: BadInput, twin: twin_module.Twin, api_url: str) -> None:
    before = _executions(twin)
    answer = send("POST", api_url, json.dumps(case.document))
    assert answer.status == 400, answer.text
    assert answer.json()["message"].startswith("The body is not a valid execution input")
    assert _executions(twin) == before


def _executions(twin: twin_module.Twin) -> int:
    sfn = twin.aws.admin_session().client("stepfunctions")
    assert twin.runner is not None and twin.runner.arn is not None
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=twin.runner.arn)
    return sum(len(page["executions"]) for page in pages)
