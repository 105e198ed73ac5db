"""The migrations API end to end on the twin: template.yaml's OpenAPI document, its validator,
mapping templates and Step Functions integrations, called as a client calls them (SigV4)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.credentials import Credentials

from localcloud.scenario import FaultSpec
from localcloud.twin import Twin
from tests.localcloud.apigateway.conftest import send

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"


def _sfn(twin: Twin) -> Any:
    return twin.aws.admin_session().client("stepfunctions")


def _executions(twin: Twin) -> list[str]:
    assert twin.runner is not None and twin.runner.arn is not None
    return [e["executionArn"] for e in _sfn(twin).list_executions(stateMachineArn=twin.runner.arn)["executions"]]


def _wait_for_end(twin: Twin, arn: str) -> Any:
    assert twin.runner is not None
    return twin.runner.wait(arn)


def _held_creating(twin: Twin) -> Callable[[], None]:
    """The cluster CREATING until the test calls the function returned (no timer to race)."""
    with twin.aws.clock.lock:
        cluster = twin.aws.eks.backend.clusters[CLUSTER]
        cluster.status = "CREATING"

    def activate() -> None:
        with twin.aws.clock.lock:
            cluster.status = "ACTIVE"

    return activate


def test_stack_output_is_where_the_twin_serves_the_api(twin: Twin, api_url: str) -> None:
    assert api_url.startswith(f"{twin.endpoint_url}/restapis/")
    assert api_url.endswith("/v1/_user_request_")
    assert send("GET", f"{api_url}/migrations/nothing-here").status == 404  # answered by the API, not moto


def _started_and_seen_running(twin: Twin, api_url: str) -> dict[str, Any]:
    """POST a dry run, then GET it while it runs (the cluster held CREATING: it cannot end meanwhile)."""
    body = {"clusterName": CLUSTER, "dryRun": True}
    started = send("POST", f"{api_url}/migrations", json.dumps(body))
    assert started.status == 202, started.text
    assert started.headers["Content-Type"] == "application/json"
    document: dict[str, Any] = started.json()
    assert set(document) == {"id", "executionArn", "startDate"}
    assert document["executionArn"] == f"{twin.runner.arn.replace(':stateMachine:', ':execution:')}:{document['id']}"  # type: ignore[union-attr]
    assert isinstance(document["startDate"], float)
    execution = _sfn(twin).describe_execution(executionArn=document["executionArn"])
    assert json.loads(execution["input"]) == body

    running = send("GET", f"{api_url}/migrations/{document['id']}")
    assert running.status == 200, running.text
    assert running.json()["status"] == "RUNNING"
    seen_state = running.json()["currentState"]
    deadline = time.monotonic() + 30
    while seen_state is None and time.monotonic() < deadline:
        time.sleep(0.2)
        seen_state = send("GET", f"{api_url}/migrations/{document['id']}").json()["currentState"]
    assert seen_state in {
        "Plan",
        "ClusterReady?",
        "WaitForClusterActive",
        "Start",
        "Lockable?",
        "ApplyDefaults",
        "ValidateInput",
        "TakeLock",
    }
    return document


def test_signed_post_starts_a_migration_that_runs_and_get_follows_it_to_its_report(twin: Twin, api_url: str) -> None:
    activate = _held_creating(twin)  # Plan waits while the cluster is CREATING: the migration stays RUNNING
    try:
        document = _started_and_seen_running(twin, api_url)
    finally:
        activate()
    result = _wait_for_end(twin, document["executionArn"])
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    ended = send("GET", f"{api_url}/migrations/{document['id']}").json()
    assert ended == {
        "id": document["id"],
        "status": "SUCCEEDED",
        "currentState": "DryRunComplete",
        "report": result.output,
        "error": None,
        "cause": None,
    }
    assert ended["report"]["clusterName"] == CLUSTER and ended["report"]["dryRun"] is True


def test_failed_migration_shows_its_error_and_cause_and_got_its_input_intact(twin: Twin, api_url: str) -> None:
    # Quotes, a backslash, a slash, non-ASCII and a character beyond the BMP survive the request
    # template ($util.escapeJavaScript(...).replaceAll("\\'", "'")) into the execution's input.
    body = {"clusterName": "no-such-cluster", "verify": {"image": 'registry.example/it\'s\\"x"/nginx:1.27-é€😀'}}
    started = send("POST", f"{api_url}/migrations", json.dumps(body, ensure_ascii=False))
    assert started.status == 202, started.text
    arn = started.json()["executionArn"]
    assert json.loads(_sfn(twin).describe_execution(executionArn=arn)["input"]) == body
    result = _wait_for_end(twin, arn)
    assert result.status == "FAILED"
    failed = send("GET", f"{api_url}/migrations/{started.json()['id']}").json()
    assert failed["status"] == "FAILED"
    assert failed["error"] == "ClusterNotFound" == result.error
    assert failed["cause"] == result.cause and "no-such-cluster" in failed["cause"]
    assert failed["report"] is None
    assert failed["currentState"] == "MigrationFailed"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"dryRun": True}, 'object has missing required properties ([\\"clusterName\\"])'),
        ({"clusterName": CLUSTER, "podCidrs": "100.64.0.0/16"}, '[\\"podCidrs\\"]'),
        (
            {"clusterName": CLUSTER, "pollSeconds": "30"},
            'instance type (string) does not match any allowed primitive type (allowed: [\\"integer\\"])',
        ),
        ({"clusterName": CLUSTER, "pollSeconds": 0}, "lower than the required minimum (minimum: 1, found: 0)"),
        (
            {"clusterName": CLUSTER, "verify": {"loadBalancers": ["clb"]}},
            'instance value (\\"clb\\") not found in enum',
        ),
        ({"clusterName": "bad name"}, 'does not match input string \\"bad name\\"'),
        ('{"clusterName": "eksworkshop",}', "the body is not JSON"),
        ("", "the body is not JSON"),
    ],
)
def test_body_that_is_not_an_execution_input_is_refused_with_400_and_starts_nothing(
    twin: Twin, api_url: str, body: Any, named: str
) -> None:
    before = _executions(twin)
    refused = send("POST", f"{api_url}/migrations", body if isinstance(body, str) else json.dumps(body))
    assert refused.status == 400
    assert refused.headers["x-amzn-ErrorType"] == "BadRequestException"
    message = json.loads(refused.text)["message"]  # the gateway response is JSON whatever the errors say
    assert message.startswith("The body is not a valid execution input (see the input contract in README.md): [")
    assert named.replace('\\"', '"') in message
    assert _executions(twin) == before


def test_unsigned_request_is_refused_with_403(twin: Twin, api_url: str) -> None:
    before = _executions(twin)
    refused = send("POST", f"{api_url}/migrations", json.dumps({"clusterName": CLUSTER}), credentials=None)
    assert refused.status == 403
    assert refused.json() == {"message": "Missing Authentication Token"}
    assert send("GET", f"{api_url}/migrations/x", credentials=None).status == 403
    assert _executions(twin) == before


@pytest.mark.parametrize(
    ("credentials", "service", "region", "message"),
    [
        (
            Credentials("AKIATWINADMIN0000000", "not-the-secret"),
            "execute-api",
            "ap-southeast-1",
            "signature we calculated",
        ),
        (Credentials("AKIANOBODY0000000000", "secret"), "execute-api", "ap-southeast-1", "security token included"),
        (None, "states", "ap-southeast-1", "scoped to correct service: 'execute-api'"),
        (None, "execute-api", "us-east-1", "scoped to a valid region"),
    ],
)
def test_request_not_signed_by_a_known_identity_for_this_api_is_refused_with_403(
    api_url: str, credentials: Credentials | None, service: str, region: str, message: str
) -> None:
    from tests.localcloud.apigateway.conftest import ADMIN

    refused = send(
        "POST",
        f"{api_url}/migrations",
        json.dumps({"clusterName": CLUSTER}),
        credentials=credentials or ADMIN,
        service=service,
        region=region,
    )
    assert refused.status == 403
    assert message in refused.json()["message"]


def test_identity_without_execute_api_invoke_gets_access_denied(twin: Twin, api_url: str) -> None:
    session = twin.aws.admin_session()
    iam = session.client("iam")
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
    }
    role = iam.create_role(RoleName="api-caller", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]

    def assumed() -> Credentials:
        issued = session.client("sts").assume_role(RoleArn=role, RoleSessionName="tester")["Credentials"]
        return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])

    denied = send("GET", f"{api_url}/migrations/some-id", credentials=assumed())
    assert denied.status == 403
    assert denied.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert denied.json()["message"] == (
        f"User: arn:aws:sts::{twin.aws.account_id}:assumed-role/api-caller/tester is not authorized to perform: "
        f"execute-api:Invoke on resource: arn:aws:execute-api:{twin.region}:{twin.aws.account_id}:"
        f"{api_url.split('/restapis/')[1].split('/')[0]}/v1/GET/migrations/some-id"
    )
    allow = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "execute-api:Invoke",
                "Resource": "arn:aws:execute-api:*:*:*/v1/GET/migrations/*",
            }
        ],
    }
    iam.put_role_policy(RoleName="api-caller", PolicyName="invoke", PolicyDocument=json.dumps(allow))
    assert send("GET", f"{api_url}/migrations/some-id", credentials=assumed()).status == 404
    assert (
        send("POST", f"{api_url}/migrations", json.dumps({"clusterName": CLUSTER}), credentials=assumed()).status == 403
    )


def test_unknown_id_is_404(api_url: str) -> None:
    missing = send("GET", f"{api_url}/migrations/no-such-migration")
    assert missing.status == 404
    assert missing.json() == {"message": "No migration with that id: no-such-migration"}


def test_id_with_a_quote_reaches_step_functions_as_json_and_is_404(twin: Twin, api_url: str) -> None:
    missing = send("GET", f"{api_url}/migrations/it's")
    assert missing.status == 404
    assert missing.json() == {"message": "No migration with that id: it's"}
    reads = [c for c in twin.aws.ledger.calls() if c["operation"] == "states:GetExecutionHistory"]
    assert reads[-1]["result"] == "ExecutionDoesNotExist"  # not SerializationException: the request was JSON
    assert reads[-1]["caller"].endswith(":assumed-role/MigrationsApiRole/BackplaneAssumeRoleSession")


def _fail_once(twin: Twin, operation: str, error: str) -> None:
    twin.aws.faults.add(FaultSpec.model_validate({"operation": operation, "when": "before", "error": error}))


def test_a_step_functions_failure_is_a_502_that_says_to_try_again_not_a_broken_202(twin: Twin, api_url: str) -> None:
    before = _executions(twin)
    _fail_once(twin, "states:StartExecution", "InternalFailure")
    refused = send("POST", f"{api_url}/migrations", json.dumps({"clusterName": CLUSTER, "dryRun": True}))
    assert refused.status == 502, refused.text
    message = refused.json()["message"]
    assert message.startswith("Step Functions could not start the migration; try again: ")
    assert "InternalFailure" in message
    assert _executions(twin) == before

    _fail_once(twin, "states:GetExecutionHistory", "ServiceUnavailable")
    unread = send("GET", f"{api_url}/migrations/any-id")
    assert unread.status == 502, unread.text
    assert unread.json()["message"].startswith("Step Functions could not read the migration; try again: ")


def test_what_the_api_does_not_serve(api_url: str) -> None:
    assert send("POST", f"{api_url}/migrations", "clusterName=x", content_type="text/plain").status == 415
    assert send("DELETE", f"{api_url}/migrations").json() == {"message": "Missing Authentication Token"}
    assert send("GET", f"{api_url.replace('/v1/', '/v2/')}/migrations/x").status == 403


def test_execution_history_pages_and_orders_as_aws(twin: Twin) -> None:
    sfn = _sfn(twin)
    assert twin.runner is not None
    arn = twin.runner.start({"clusterName": "no-such-cluster"}, name="history-pages")  # its own, whatever ran before
    assert _wait_for_end(twin, arn).status == "FAILED"
    everything = [e["id"] for e in sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]]
    assert everything == sorted(everything) and len(everything) > 4
    first = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=3)
    assert [e["id"] for e in first["events"]] == everything[::-1][:3]
    second = sfn.get_execution_history(executionArn=arn, reverseOrder=True, maxResults=3, nextToken=first["nextToken"])
    assert [e["id"] for e in second["events"]] == everything[::-1][3:6]
    paged = [
        e["id"]
        for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn)
        for e in page["events"]
    ]
    assert paged == everything
    bare = sfn.get_execution_history(executionArn=arn, includeExecutionData=False)["events"]
    assert "input" not in bare[0]["executionStartedEventDetails"]
    assert "input" in sfn.get_execution_history(executionArn=arn)["events"][0]["executionStartedEventDetails"]


def test_executions_started_without_a_name_get_a_uuid(twin: Twin) -> None:
    sfn = _sfn(twin)
    assert twin.runner is not None
    arns = [
        sfn.start_execution(stateMachineArn=twin.runner.arn, input=json.dumps({"clusterName": "no-such-cluster"}))[
            "executionArn"
        ]
        for _ in range(2)
    ]
    names = [arn.rsplit(":", 1)[1] for arn in arns]
    assert len(set(names)) == 2 and all(len(name) == 36 and name.count("-") == 4 for name in names)
    for arn in arns:
        _wait_for_end(twin, arn)
