"""What the clean-up's mark on the lock item needs from the twin, answered as AWS does: DynamoDB's
condition expressions (string comparisons of ISO 8601 times, attribute_not_exists on a missing item,
UpdateItem creating the item), the Step Functions dynamodb:updateItem integration and its error name,
and a Wait until a timestamp with milliseconds (it ends at that time, not before)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud import twin as twin_module
from localcloud.triggers.interpreter import iso8601
from tests.triggers.conftest import start_twin, stop_twin, triggers_of

pytestmark = pytest.mark.rehearsal

ROLE = "arn:aws:iam::123456789012:role/StepFunctionsRole"
ENDED = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:ended"
NEWER = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:newer"
MARK = "attribute_not_exists(executionArn) OR executionArn = :ended"
TAKE = (
    "(attribute_not_exists(executionArn) OR executionArn = :execution) "
    "AND (attribute_not_exists(cleaningUntil) OR cleaningUntil < :now)"
)


@pytest.fixture(scope="module")
def twin() -> Iterator[twin_module.Twin]:
    started = start_twin()
    yield started
    stop_twin(started)


@pytest.fixture
def table(twin: twin_module.Twin) -> Iterator[tuple[Any, str]]:
    dynamodb = twin.aws.admin_session().client("dynamodb", endpoint_url=twin.endpoint_url)
    name = triggers_of(twin).tables[0]
    yield dynamodb, name
    for item in dynamodb.scan(TableName=name)["Items"]:
        dynamodb.delete_item(TableName=name, Key={"clusterName": item["clusterName"]})


def _mark(dynamodb: Any, table: str, cluster: str, until: str) -> None:
    dynamodb.update_item(
        TableName=table,
        Key={"clusterName": {"S": cluster}},
        UpdateExpression="SET cleaningFor = :ended, cleaningUntil = :until",
        ConditionExpression=MARK,
        ExpressionAttributeValues={":ended": {"S": ENDED}, ":until": {"S": until}},
    )


def _take(dynamodb: Any, table: str, cluster: str, now: str) -> None:
    dynamodb.put_item(
        TableName=table,
        Item={"clusterName": {"S": cluster}, "executionArn": {"S": NEWER}},
        ConditionExpression=TAKE,
        ExpressionAttributeValues={":execution": {"S": NEWER}, ":now": {"S": now}},
    )


def test_a_mark_on_a_missing_item_creates_it_and_blocks_a_take_until_it_expires(table: tuple[Any, str]) -> None:
    dynamodb, name = table
    _mark(dynamodb, name, "a", "2026-11-30T16:40:00.500Z")
    item = dynamodb.get_item(TableName=name, Key={"clusterName": {"S": "a"}}, ConsistentRead=True)["Item"]
    assert item == {
        "clusterName": {"S": "a"},
        "cleaningFor": {"S": ENDED},
        "cleaningUntil": {"S": "2026-11-30T16:40:00.500Z"},
    }
    for now in ("2026-11-30T16:40:00.499Z", "2026-11-30T16:40:00.500Z", "2026-11-30T09:59:59.999Z"):
        with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):
            _take(dynamodb, name, "a", now)
    _take(dynamodb, name, "a", "2026-11-30T16:40:00.501Z")  # expired: never blocks
    with pytest.raises(dynamodb.exceptions.ConditionalCheckFailedException):  # a newer holder: no mark
        _mark(dynamodb, name, "a", "2026-11-30T16:50:00.000Z")
    _take(dynamodb, name, "b", "2026-11-30T16:40:00.000Z")  # no item: no mark


def test_the_update_item_integration_fails_with_dynamodbs_error_name(
    twin: twin_module.Twin, table: tuple[Any, str]
) -> None:
    dynamodb, name = table
    dynamodb.put_item(TableName=name, Item={"clusterName": {"S": "held"}, "executionArn": {"S": NEWER}})
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    states = {
        "Mark": {
            "Type": "Task",
            "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": name,
                "Key": {"clusterName": {"S.$": "$.cluster"}},
                "UpdateExpression": "SET cleaningFor = :ended, cleaningUntil = :until",
                "ConditionExpression": MARK,
                "ExpressionAttributeValues": {":ended": {"S": ENDED}, ":until": {"S.$": "$$.State.EnteredTime"}},
            },
            "ResultPath": None,
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "Next": "Refused"}],
            "End": True,
        },
        "Refused": {"Type": "Fail", "Error": "Refused"},
    }
    arn = sfn.create_state_machine(
        name="mark", definition=json.dumps({"StartAt": "Mark", "States": states}), roleArn=ROLE
    )["stateMachineArn"]
    assert _run(twin, arn, {"cluster": "free"}).status == "SUCCEEDED"
    assert dynamodb.get_item(TableName=name, Key={"clusterName": {"S": "free"}})["Item"]["cleaningFor"]["S"] == ENDED
    assert _run(twin, arn, {"cluster": "held"}).error == "Refused"


def test_a_wait_until_a_timestamp_with_milliseconds_ends_at_that_time(twin: twin_module.Twin) -> None:
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    states = {
        "Until": {"Type": "Wait", "TimestampPath": "$.until", "Next": "After"},
        "After": {"Type": "Pass", "Parameters": {"entered.$": "$$.State.EnteredTime"}, "End": True},
    }
    arn = sfn.create_state_machine(
        name="wait-until", definition=json.dumps({"StartAt": "Until", "States": states}), roleArn=ROLE
    )["stateMachineArn"]
    until = iso8601(datetime.now(UTC) + timedelta(seconds=1, milliseconds=900))
    result = _run(twin, arn, {"until": until})
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert result.output["entered"] >= until


def _run(twin: twin_module.Twin, arn: str, execution_input: Any) -> Any:
    from localcloud.stepfunctions import StateMachineRunner
    from localcloud.template import Account, Template

    spec = Template.load().state_machine(Account(twin.region, str(twin.aws.account_id)))
    runner = StateMachineRunner(twin.aws.admin_session(), twin.endpoint_url, spec)
    runner.arn = arn
    return runner.run(execution_input, poll=0.1)


def test_conditional_writes_that_exclude_each_other_never_both_succeed(table: tuple[Any, str]) -> None:
    """Two starts of ExecutionEnded claim one notification at the same time: one claim fails, as on DynamoDB."""
    from concurrent.futures import ThreadPoolExecutor

    dynamodb, name = table

    def claim(key: str) -> bool:
        try:
            dynamodb.update_item(
                TableName=name,
                Key={"clusterName": {"S": key}},
                UpdateExpression="SET notifiedFor = :ended",
                ConditionExpression="attribute_not_exists(notifiedFor) OR notifiedFor <> :ended",
                ExpressionAttributeValues={":ended": {"S": ENDED}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    keys = [f"race-{n}" for n in range(40) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        won = list(pool.map(claim, keys))
    assert sum(won) == 40
