"""template.yaml's triggers, API, alarm and the lock states, checked statically (no twin).

API Gateway's service integrations cannot run on the twin (moto's API Gateway does not execute
an OpenAPI `aws` integration nor its VTL mapping templates): their OpenAPI document, request
model and mapping templates are checked here instead.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from localcloud.template import Account, Template
from localcloud.triggers import events
from podcidr.errors import InvalidInput
from podcidr.models.input import ExecutionInput, parse_execution_input

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = Account("ap-southeast-1", "123456789012")


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(ROOT / "template.yaml")


def _rule(template: Template, machine: str, event: str) -> dict[str, Any]:
    resolver = template.resolver(ACCOUNT)
    props = template.resources[machine]["Properties"]["Events"][event]
    assert props["Type"] == "EventBridgeRule"
    return resolver.resolve(props["Properties"])  # type: ignore[no-any-return]


def _cloudtrail_event(
    tags: dict[str, str] | None, error_code: str | None = None, *, tags_in: str = "both", members: str = "documented"
) -> dict[str, Any]:
    error = (error_code, "refused") if error_code else None
    detail = events.cloudtrail_create_cluster(
        "123456789012", "ap-southeast-1", "eksworkshop", tags, members=members, error=error
    )
    if tags_in == "response":
        detail["requestParameters"].pop("tags", None)
    if tags_in == "request" and "responseElements" in detail:
        detail["responseElements"]["cluster"].pop("tags", None)
    return {
        "version": "0",
        "id": "1",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.eks",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "ap-southeast-1",
        "resources": [],
        "detail": detail,
    }


@pytest.mark.parametrize(
    ("tags", "error_code", "tags_in", "matches"),
    [
        ({"podcidr:enabled": "true"}, None, "both", True),
        ({"podcidr:enabled": "True", "team": "a"}, None, "both", True),
        ({"podcidr:enabled": "true"}, None, "request", True),
        ({"podcidr:enabled": "true"}, None, "response", True),
        ({"podcidr:enabled": "false"}, None, "both", False),
        ({"team": "a"}, None, "both", False),
        (None, None, "both", False),
        ({"podcidr:enabled": "true"}, "AccessDenied", "request", False),
    ],
)
def test_new_cluster_rule_matches_opted_in_creates_only(
    template: Template, tags: dict[str, str] | None, error_code: str | None, tags_in: str, matches: bool
) -> None:
    rule = _rule(template, "NewClusterStateMachine", "NewCluster")
    assert events.matching(rule["Pattern"], _cloudtrail_event(tags, error_code, tags_in=tags_in)) is matches


def test_new_cluster_rule_gives_the_record_to_the_machine_that_finds_the_name(template: Template) -> None:
    rule = _rule(template, "NewClusterStateMachine", "NewCluster")
    event = _cloudtrail_event({"podcidr:enabled": "true"})
    assert events.target_input(rule, event) == event["detail"]
    assert rule["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert rule["DeadLetterConfig"]["Arn"].endswith(":TriggerDeadLetterQueue")


def test_the_twin_s_record_is_in_the_eks_user_guide_s_shape() -> None:
    detail = _cloudtrail_event({"podcidr:enabled": "true"})["detail"]
    assert detail["requestParameters"]["clusterName"] == "eksworkshop" and "name" not in detail["requestParameters"]
    assert detail["responseElements"]["cluster"]["clusterName"] == "eksworkshop"
    assert detail["responseElements"]["cluster"]["status"] == "CREATING"
    failed = _cloudtrail_event({"podcidr:enabled": "true"}, "ResourceInUseException")["detail"]
    assert failed["errorCode"] == "ResourceInUseException" and "responseElements" not in failed


def test_custom_event_rule(template: Template) -> None:
    rule = _rule(template, "MigrationStateMachine", "MigrationRequested")
    event = {"source": "podcidr", "detail-type": "Migration Requested", "detail": {"clusterName": "x", "dryRun": True}}
    assert events.matching(rule["Pattern"], event)
    assert not events.matching(rule["Pattern"], {**event, "source": "other"})
    assert events.target_input(rule, event) == {"clusterName": "x", "dryRun": True}
    assert rule["EventBusName"] == "podcidr-migration-requests"  # the stack's own bus, never the default bus


def _bus_policy(template: Template, parameters: dict[str, str] | None = None) -> dict[str, Any]:
    resolver = template.resolver(ACCOUNT, parameters)
    props: dict[str, Any] = resolver.resolve(template.resources["MigrationRequestBusPolicy"]["Properties"])
    assert props["EventBusName"] == "podcidr-migration-requests"
    return props["Statement"]  # type: ignore[no-any-return]


def test_the_request_bus_lets_this_account_or_the_given_principals_put_events(template: Template) -> None:
    statement = _bus_policy(template)
    assert statement["Action"] == "events:PutEvents" and statement["Principal"] == {"AWS": ACCOUNT.account_id}
    assert statement["Resource"].endswith(":event-bus/podcidr-migration-requests")
    given = _bus_policy(template, {"MigrationRequestPrincipals": "111122223333,arn:aws:iam::444455556666:role/ops"})
    assert given["Principal"] == {"AWS": ["111122223333", "arn:aws:iam::444455556666:role/ops"]}


def test_status_change_rule_for_this_state_machine_only(template: Template) -> None:
    rule = _rule(template, "ExecutionEndedStateMachine", "ExecutionEnded")
    machine = template.resolver(ACCOUNT).ref("MigrationStateMachine")
    event = {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {"stateMachineArn": machine, "status": "ABORTED", "executionArn": machine + ":x"},
    }
    assert events.matching(rule["Pattern"], event)
    for status in ("SUCCEEDED", "FAILED", "TIMED_OUT"):
        assert events.matching(rule["Pattern"], {**event, "detail": {**event["detail"], "status": status}})
    assert not events.matching(rule["Pattern"], {**event, "detail": {**event["detail"], "status": "RUNNING"}})
    assert not events.matching(
        rule["Pattern"], {**event, "detail": {**event["detail"], "stateMachineArn": machine + "x"}}
    )


def test_alarm_on_failed_executions(template: Template) -> None:
    alarm = template.resolver(ACCOUNT).resolve(template.resources["ExecutionsFailedAlarm"]["Properties"])
    # ExecutionEnded's count: failed, timed-out and aborted migrations, not MigrationInProgress refusals
    assert (alarm["Namespace"], alarm["MetricName"]) == ("Podcidr", "MigrationsFailed")
    assert "Dimensions" not in alarm
    assert alarm["AlarmActions"] == [template.resolver(ACCOUNT).ref("NotificationTopic")]


def test_email_subscription_is_optional(template: Template) -> None:
    assert template.resources["NotificationEmailSubscription"]["Condition"] == "HasNotificationEmail"
    assert template.parameters["NotificationEmail"]["Default"] == ""


def test_default_input_parameter_accepts_one_line_json_objects(template: Template) -> None:
    pattern = template.parameters["DefaultInput"]["AllowedPattern"]
    assert re.fullmatch(pattern, '{"pollSeconds": 60}')
    assert re.fullmatch(pattern, "{}")
    assert not re.fullmatch(pattern, "[1]")
    assert not re.fullmatch(pattern, '{"a":\n1}')
    # Lockable? reads clusterName before the defaults are merged: a default cluster would be ignored
    assert not re.fullmatch(pattern, '{"clusterName": "prod", "dryRun": true}')


# --- the API --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi(template: Template) -> dict[str, Any]:
    document = template.resolver(ACCOUNT).resolve(template.resources["MigrationsApi"]["Properties"]["DefinitionBody"])
    return document  # type: ignore[no-any-return]


def test_openapi_document_is_valid(openapi: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(openapi)


def test_api_uses_iam_auth_and_service_integrations_only(openapi: dict[str, Any]) -> None:
    assert openapi["security"] == [{"sigv4": []}]
    assert openapi["components"]["securitySchemes"]["sigv4"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    post = openapi["paths"]["/migrations"]["post"]["x-amazon-apigateway-integration"]
    get = openapi["paths"]["/migrations/{id}"]["get"]["x-amazon-apigateway-integration"]
    assert post["type"] == get["type"] == "aws"
    assert post["uri"].endswith(":states:action/StartExecution")
    assert get["uri"].endswith(":states:action/GetExecutionHistory")
    assert post["credentials"] == get["credentials"]


def _render_request(template_text: str, body: Any, params: dict[str, str] | None = None) -> Any:
    """The request template rendered by the twin's VTL engine (localcloud.apigateway.vtl)."""
    from localcloud.apigateway.vtl import Input, render

    payload = Input(json.dumps(body), {"path": params or {}})
    return json.loads(render(template_text, payload=payload, context={}))


def test_start_request_template_passes_the_body_as_input(openapi: dict[str, Any], template: Template) -> None:
    integration = openapi["paths"]["/migrations"]["post"]["x-amazon-apigateway-integration"]
    body = {"clusterName": "eksworkshop", "verify": {"image": "it's/quoted\"image"}}
    request = _render_request(integration["requestTemplates"]["application/json"], body)
    assert request["stateMachineArn"] == template.resolver(ACCOUNT).ref("MigrationStateMachine")
    assert json.loads(request["input"]) == body
    assert integration["passthroughBehavior"] == "never"


def test_describe_request_template_names_the_execution(openapi: dict[str, Any], template: Template) -> None:
    integration = openapi["paths"]["/migrations/{id}"]["get"]["x-amazon-apigateway-integration"]
    request = _render_request(integration["requestTemplates"]["application/json"], None, {"id": "run-1's"})
    machine = template.resolver(ACCOUNT).get_att("MigrationStateMachine", "Name")
    assert request["executionArn"] == f"arn:aws:states:ap-southeast-1:123456789012:execution:{machine}:run-1's"
    assert request["reverseOrder"] is True


def test_describe_response_template_covers_every_end(openapi: dict[str, Any]) -> None:
    vtl = openapi["paths"]["/migrations/{id}"]["get"]["x-amazon-apigateway-integration"]["responses"]["default"]
    text = vtl["responseTemplates"]["application/json"]
    for kind in (
        "ExecutionSucceeded",
        "ExecutionFailed",
        "ExecutionAborted",
        "ExecutionTimedOut",
        "stateEnteredEventDetails",
    ):
        assert kind in text
    assert text.count("#if") + text.count("#foreach") == text.count("#end")


def test_bad_bodies_are_refused_with_400_and_a_message(openapi: dict[str, Any]) -> None:
    post = openapi["paths"]["/migrations"]["post"]
    validator = openapi["x-amazon-apigateway-request-validators"][post["x-amazon-apigateway-request-validator"]]
    assert validator["validateRequestBody"] is True
    response = openapi["x-amazon-apigateway-gateway-responses"]["BAD_REQUEST_BODY"]
    assert response["statusCode"] == 400
    assert "$context.error.validationErrorString" in response["responseTemplates"]["application/json"]


# The request model is the execution input contract: the same keys, required keys and limits.

VALID = [
    {"clusterName": "eksworkshop"},
    {
        "clusterName": "eks-1",
        "podCidr": "100.64.0.0/16",
        "podSubnetPrefixLength": 19,
        "availabilityZones": ["ap-southeast-1a", "ap-southeast-1b"],
        "eniConfigSecurityGroupIds": ["sg-0123456789abcdef0"],
        "tagLoadBalancerSubnets": True,
        "nodegroups": ["managed-ng"],
        "replaceNodegroups": False,
        "verify": {"loadBalancers": ["alb"], "image": "nginx:1", "keepWorkloads": True},
        "dryRun": True,
        "pollSeconds": 5,
    },
]
INVALID = [
    {},
    {"clusterName": "x", "extra": 1},
    {"clusterName": "-bad"},
    {"clusterName": "x", "podCidr": "100.64.0.0/8"},
    {"clusterName": "x", "podCidr": "300.64.0.0/16"},
    {"clusterName": "x", "podSubnetPrefixLength": 29},
    {"clusterName": "x", "availabilityZones": []},
    {"clusterName": "x", "availabilityZones": ["a", "a"]},
    {"clusterName": "x", "eniConfigSecurityGroupIds": ["sg-1"]},
    {"clusterName": "x", "verify": {"loadBalancers": ["nlb"]}},
    {"clusterName": "x", "verify": {"unknown": True}},
    {"clusterName": "x", "pollSeconds": 0},
    [],
]


@pytest.mark.parametrize("document", VALID)
def test_model_accepts_valid_inputs(openapi: dict[str, Any], document: Any) -> None:
    jsonschema.Draft4Validator(openapi["components"]["schemas"]["ExecutionInput"]).validate(document)
    parse_execution_input(document)


@pytest.mark.parametrize("document", INVALID)
def test_model_refuses_what_the_contract_refuses(openapi: dict[str, Any], document: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft4Validator(openapi["components"]["schemas"]["ExecutionInput"]).validate(document)
    with pytest.raises(InvalidInput):
        parse_execution_input(document)


def test_model_has_the_contract_keys(openapi: dict[str, Any]) -> None:
    schema = openapi["components"]["schemas"]["ExecutionInput"]
    keys = {field.alias or name for name, field in ExecutionInput.model_fields.items()}
    assert set(schema["properties"]) == keys
    assert schema["required"] == ["clusterName"]
    assert schema["additionalProperties"] is False
    verify_keys = {f.alias or n for n, f in ExecutionInput.model_fields["verify"].annotation.model_fields.items()}  # type: ignore[union-attr]
    assert set(schema["properties"]["verify"]["properties"]) == verify_keys


# --- the lock states ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asl(template: Template) -> dict[str, Any]:
    from localcloud.stepfunctions import load_definition

    spec = template.state_machine(ACCOUNT, "MigrationStateMachine")
    return load_definition(spec.definition_path, spec.substitutions)


def test_lock_is_taken_first_on_a_string_cluster_name(asl: dict[str, Any]) -> None:
    states = asl["States"]
    assert states[asl["StartAt"]]["Next"] == "Lockable?"
    choices = states["Lockable?"]["Choices"]
    assert choices[0] == {"Variable": "$.input.clusterName", "IsPresent": False, "Next": "Plan"}
    assert choices[1]["IsString"] is True and choices[1]["Next"] == "ApplyDefaults"
    assert states["ApplyDefaults"]["Next"] == "ValidateInput"
    validate = states["ValidateInput"]
    assert validate["Parameters"] == {"input.$": "$.input", "validateOnly": True}
    assert validate["ResultPath"] is None and validate["Next"] == "TakeLock"
    assert validate["Catch"][0]["Next"] == "ExplainFailure" and "InvalidInput" in validate["Catch"][0]["ErrorEquals"]
    take = states["TakeLock"]
    assert take["Resource"] == "arn:aws:states:::dynamodb:putItem"
    assert take["Parameters"]["ConditionExpression"] == (
        "(attribute_not_exists(executionArn) OR executionArn = :execution)"
        " AND (attribute_not_exists(cleaningUntil) OR cleaningUntil < :now)"
    )
    assert take["Parameters"]["ExpressionAttributeValues"][":now"] == {"S.$": "$$.State.EnteredTime"}
    assert take["Parameters"]["Item"]["executionArn"] == {"S.$": "$$.Execution.Id"}
    assert take["Catch"][0]["ErrorEquals"] == ["DynamoDB.ConditionalCheckFailedException"]
    assert states["DescribeLockHolder"]["Resource"] == "arn:aws:states:::aws-sdk:sfn:describeExecution"
    assert states["MigrationInProgress"] == {
        **states["MigrationInProgress"],
        "Type": "Fail",
        "Error": "MigrationInProgress",
    }


def test_every_failure_releases_the_lock_first(asl: dict[str, Any]) -> None:
    states = asl["States"]
    fails = [name for name, state in states.items() if state["Type"] == "Fail"]
    assert sorted(fails) == ["MigrationFailed", "MigrationInProgress"]
    for name, state in states.items():
        for target in [state.get("Next"), state.get("Default"), *[c.get("Next") for c in state.get("Choices", [])]]:
            # past the lock, only the naming of what the way to failure left behind
            if target == "MigrationFailed":
                assert name in {"WorkloadsLeftBehind?", "NameWorkloadsLeftBehind"}, name
            if target in {
                "AccessLeftBehind?",
                "NameAccessLeftBehind",
                "WorkloadsLeftBehind?",
                "NameWorkloadsLeftBehind",
            }:
                assert name in {
                    "LockHeld?",
                    "ReleaseLockOnFailure",
                    "AccessLeftBehind?",
                    "NameAccessLeftBehind",
                    "WorkloadsLeftBehind?",
                }, name
        for catch in state.get("Catch", []):
            assert catch["Next"] not in fails or name.startswith("ReleaseLock"), name
    successes = [name for name, state in states.items() if state["Type"] == "Succeed"]
    for name, state in states.items():
        if state.get("Next") in successes:
            assert state["Resource"] == "arn:aws:states:::dynamodb:deleteItem", name
            assert state["Parameters"]["ConditionExpression"] == "executionArn = :execution"


def test_default_input_is_substituted_as_a_json_string(template: Template) -> None:
    from localcloud.stepfunctions import load_definition

    spec = template.state_machine(ACCOUNT, "MigrationStateMachine", {"DefaultInput": '{"pollSeconds": 7}'})
    definition = load_definition(spec.definition_path, spec.substitutions)
    assert json.loads(definition["States"]["Start"]["Parameters"]["defaults"]) == {"pollSeconds": 7}
    text = (ROOT / "statemachine" / "migration.asl.yaml").read_text()
    # As CloudFormation does for DefinitionS3Location: substitute in the text, then parse.
    import yaml

    parsed = yaml.safe_load(text.replace("${DefaultInput}", '{"verify": {"image": "a:b"}, "x": "#y"}'))
    assert json.loads(parsed["States"]["Start"]["Parameters"]["defaults"]) == {"verify": {"image": "a:b"}, "x": "#y"}


# --- linters --------------------------------------------------------------------------------------


def test_cfn_lint_clean() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"  # pinned in requirements-dev.lock, beside this Python
    assert cfn_lint.exists(), f"cfn-lint is not installed beside {sys.executable}: run make setup"
    result = subprocess.run(
        [str(cfn_lint), str(ROOT / "template.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_api_role_trust_has_no_source_account_condition(template: Template) -> None:
    # API Gateway is reported not to set aws:SourceAccount when it assumes integration credentials
    # (AWS-FACTS 9): with that condition every API call would answer 500.
    [statement] = template.resources["MigrationsApiRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "Condition" not in statement
