"""EventBridge PutTargets as AWS answers it: a target's `Input` is parsed as strict JSON
(EventBridge API reference, Target.Input: "Valid JSON text passed to the target"), and a target
whose Input is not JSON is refused with ValidationException "JSON syntax error in input for target
<Id>" (AWS's wording: ansible-collections/community.aws#201), so CloudFormation fails the rule."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from localcloud.aws.server import LocalAws


@pytest.fixture(scope="module")
def events(aws: LocalAws) -> Any:
    client = aws.admin_session().client("events")
    client.put_rule(Name="defaults-check", EventPattern='{"source": ["podcidr"]}', State="DISABLED")
    return client


def _target(text: str) -> dict[str, str]:
    return {"Id": "Defaults", "Arn": "arn:aws:sqs:ap-southeast-1:123456789012:queue", "Input": text}


@pytest.mark.parametrize(
    "text",
    [
        "{dryRun: true}",  # YAML flow syntax, not JSON
        "{'dryRun': true}",
        '{"dryRun": True}',
        '{"dryRun": true,}',
        '{"pollSeconds": NaN}',
        "",
    ],
)
def test_a_target_whose_input_is_not_json_is_refused(events: Any, text: str) -> None:
    with pytest.raises(ClientError) as refused:
        events.put_targets(Rule="defaults-check", Targets=[_target(text)])
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("JSON syntax error in input for target Defaults: ")
    assert events.list_targets_by_rule(Rule="defaults-check")["Targets"] == []  # nothing was put


def test_a_target_whose_input_is_json_is_put(events: Any) -> None:
    answer = events.put_targets(Rule="defaults-check", Targets=[_target('{"dryRun": true, "verify": {"pods": 3}}')])
    assert answer["FailedEntryCount"] == 0
    (target,) = events.list_targets_by_rule(Rule="defaults-check")["Targets"]
    assert target["Input"] == '{"dryRun": true, "verify": {"pods": 3}}'
