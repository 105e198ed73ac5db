"""The state machine's Plan part on moto's Step Functions interpreter, with the real Plan handler.

moto's interpreter sends Lambda tasks to moto's Lambda, which cannot run code without Docker; here
its Lambda invocation is replaced by a direct call of functions/plan/app.py's handler (in-process,
against moto), answering as Lambda does: the handler's JSON, or FunctionError with errorType/errorMessage.
"""

from __future__ import annotations

import importlib
import json
import re
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

from localcloud.triggers.interpreter import patch_interpreter
from podcidr.aws.clients import AwsClients
from podcidr.errors import ERROR_NAMES
from tests.fixtures.topology import FakeEks, addon, build, client, mocked_aws, seed_spec

ROOT = Path(__file__).resolve().parents[2]
PLAN_ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:podcidr-PlanFunction"
ROLE = "arn:aws:iam::123456789012:role/podcidr-states"
LOCK_TABLE = "podcidr-locks"


def definition() -> dict[str, Any]:
    text = (ROOT / "statemachine" / "migration.asl.yaml").read_text()
    # As CloudFormation substitutes a DefinitionS3Location: in the text, before parsing.
    for name, value in {"PlanFunctionArn": PLAN_ARN, "LockTableName": LOCK_TABLE, "DefaultInput": "{}"}.items():
        text = text.replace("${" + name + "}", value)
    # The later steps' functions: ARNs of their own (these tests only reach Plan's part).
    text = re.sub(
        r"\$\{(\w+)FunctionArn\}", r"arn:aws:lambda:ap-southeast-1:123456789012:function:podcidr-\1Function", text
    )
    document: dict[str, Any] = yaml.safe_load(text)
    return document


def locks() -> list[dict[str, Any]]:
    return list(client("dynamodb").scan(TableName=LOCK_TABLE)["Items"])


class Context:
    function_name = "podcidr-PlanFunction"
    memory_limit_in_mb = 512
    invoked_function_arn = PLAN_ARN
    aws_request_id = "req"


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    patch_interpreter()  # the lock states' needs (localcloud.triggers.interpreter)
    with mocked_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            KeySchema=[{"AttributeName": "clusterName", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "clusterName", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        app = importlib.import_module("functions.plan.app")
        fake = FakeEks(client("eks"), addon=addon())
        clients = AwsClients(ec2=client("ec2"), eks=fake, elbv2=client("elbv2"), sts=client("sts"))
        monkeypatch.setattr(app, "container_clients", lambda: clients)
        calls: list[dict[str, Any]] = []

        def invoke(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
            assert parameters["FunctionName"] == PLAN_ARN
            event = json.loads(parameters["Payload"])
            calls.append(event)
            try:
                payload = app.handler(event, Context())
            except Exception as error:  # noqa: BLE001 - answered as Lambda answers an unhandled error
                trace = traceback.format_exception(error)
                payload = {"errorMessage": str(error), "errorType": type(error).__name__, "stackTrace": trace}
                return {"StatusCode": 200, "FunctionError": "Unhandled", "Payload": payload}
            return {"StatusCode": 200, "Payload": payload}

        monkeypatch.setattr(lambda_eval_utils, "_invoke_lambda_function", invoke)
        yield {"fake": fake, "calls": calls}


def execute(document: Any) -> dict[str, Any]:
    sfn = client("stepfunctions")
    arn = sfn.create_state_machine(name="migration", definition=json.dumps(definition()), roleArn=ROLE)[
        "stateMachineArn"
    ]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps(document))["executionArn"]
    for _ in range(300):
        described: dict[str, Any] = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.05)
    raise AssertionError("the execution did not finish")


def test_the_catch_names_every_contract_error() -> None:
    plan = definition()["States"]["Plan"]
    assert plan["Catch"][0]["ErrorEquals"] == list(ERROR_NAMES)
    assert plan["Catch"][-1]["ErrorEquals"] == ["States.ALL"]
    (retry,) = plan["Retry"]
    assert "TransientAwsError" in retry["ErrorEquals"]
    assert (retry["IntervalSeconds"], retry["MaxAttempts"], retry["BackoffRate"]) == (2, 6, 2.0)
    assert (retry["MaxDelaySeconds"], retry["JitterStrategy"]) == (60, "FULL")


def test_dry_run_ends_with_the_plan(world: dict[str, Any]) -> None:
    build(seed_spec())
    result = execute({"clusterName": "eksworkshop", "dryRun": True})
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output["podCidr"]["cidr"] == "100.64.0.0/16"
    assert output["dryRun"] is True and output["changes"] == 0
    given = {"clusterName": "eksworkshop", "dryRun": True}
    # ValidateInput (before the lock), then Plan
    assert world["calls"] == [{"input": given, "validateOnly": True}, {"input": given, "polls": 0}]
    assert locks() == []


def test_waits_while_the_cluster_is_creating(world: dict[str, Any]) -> None:
    build(seed_spec())
    fake: FakeEks = world["fake"]
    fake.status = "CREATING"
    calls: list[dict[str, Any]] = world["calls"]
    original = fake.describe_cluster

    def describe_cluster(name: str) -> dict[str, Any]:
        if len(calls) >= 3:
            fake.status = None  # ACTIVE from the second check on
        return original(name)

    fake.describe_cluster = describe_cluster  # type: ignore[method-assign]
    # A dry run: the changing steps after the plan have functions of their own, not served here.
    result = execute({"clusterName": "eksworkshop", "pollSeconds": 1, "dryRun": True})
    assert result["status"] == "SUCCEEDED", result
    assert [c.get("polls") for c in calls] == [None, 0, 1]  # ValidateInput, then Plan twice
    assert json.loads(result["output"])["dryRun"] is True


def test_a_contract_error_keeps_its_name_and_cause(world: dict[str, Any]) -> None:
    build(seed_spec())
    result = execute({"clusterName": "nope"})
    assert result["status"] == "FAILED", result
    assert result["error"] == "ClusterNotFound"
    assert result["cause"].startswith("No EKS cluster named 'nope'")
    assert locks() == []


def test_invalid_input_fails_before_any_lookup(world: dict[str, Any]) -> None:
    result = execute({"clusterName": "eksworkshop", "podCIDR": "100.64.0.0/16"})
    assert result["status"] == "FAILED"
    assert result["error"] == "InvalidInput"
    assert "unknown key 'podCIDR'" in result["cause"]


def test_an_unexpected_error_goes_to_step_failed(world: dict[str, Any]) -> None:
    build(seed_spec())
    world["fake"].addon = None

    def broken(**_: Any) -> Any:
        raise RuntimeError("boom")

    world["fake"].describe_addon = broken
    result = execute({"clusterName": "eksworkshop"})
    assert result["status"] == "FAILED"
    assert result["error"] == "RuntimeError"
    assert "boom" in result["cause"]
    assert locks() == []
