"""The local Lambda endpoint: Invoke runs the template's handler in-process, as Lambda would."""

from __future__ import annotations

import base64
import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from werkzeug.test import Client
from werkzeug.wrappers import Response

from localcloud.aws.server import LocalAws
from localcloud.lambdas import LocalLambdas
from localcloud.scenario import load_scenario
from localcloud.template import FunctionSpec, Template

ARN = "arn:aws:lambda:ap-southeast-1:123456789012:function:"


def _fake_credentials(spec: FunctionSpec) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": f"AKIA{spec.logical_id.upper()}",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_SESSION_TOKEN": "token",
    }


def _moto(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("418 I'm a teapot", [])
    return [b"moto"]


@pytest.fixture
def lambdas(harness_template: Template) -> Iterator[LocalLambdas]:
    local = LocalLambdas(
        harness_template, region="ap-southeast-1", account_id="123456789012", credentials=_fake_credentials
    )
    local.endpoint_url = "http://127.0.0.1:1"
    yield local
    local.close()


def _invoke(lambdas: LocalLambdas, function: str, payload: Any, **headers: str) -> Response:
    client = Client(lambdas(_moto))
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return client.post(f"/2015-03-31/functions/{function}/invocations", data=body, headers=headers)


def test_the_handler_result_is_the_payload(lambdas: LocalLambdas) -> None:
    response = _invoke(lambdas, f"{ARN}CheckFunction", {"cidr": "100.64.0.0/16"})
    assert response.status_code == 200
    assert "X-Amz-Function-Error" not in response.headers
    assert response.headers["X-Amz-Executed-Version"] == "$LATEST"
    assert response.json["checked"] == "100.64.0.0/16"
    assert response.json["module"].startswith("_localcloud_fn_CheckFunction_app_")


def test_a_raised_exception_is_an_unhandled_function_error_named_by_its_class(lambdas: LocalLambdas) -> None:
    response = _invoke(lambdas, "CheckFunction", {"cidr": "172.31.0.0/16"})
    assert response.status_code == 200
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    payload = response.json
    assert payload["errorType"] == "CidrNotAllowed"
    assert payload["errorMessage"].startswith("172.31.0.0/16 may not be added")
    assert any("raise CidrNotAllowed" in frame for frame in payload["stackTrace"])
    assert lambdas.invocations[-1].error_type == "CidrNotAllowed"

    other = _invoke(lambdas, "CheckFunction", {"explode": True}).json
    assert (other["errorType"], other["errorMessage"]) == ("Unexpected", "boom")


def test_an_unserialisable_result_is_a_marshal_error(lambdas: LocalLambdas) -> None:
    response = _invoke(lambdas, "CheckFunction", {"unserialisable": True})
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    assert response.json["errorType"] == "Runtime.MarshalError"


def test_service_errors_are_lambda_errors(lambdas: LocalLambdas) -> None:
    missing = _invoke(lambdas, f"{ARN}NoSuchFunction", {})
    assert missing.status_code == 404
    assert missing.headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert "Function not found" in missing.json["message"]
    other_region = _invoke(lambdas, "arn:aws:lambda:eu-west-1:123456789012:function:CheckFunction", {})
    assert other_region.status_code == 404
    bad = _invoke(lambdas, "CheckFunction", b"{not json")
    assert (bad.status_code, bad.headers["x-amzn-ErrorType"]) == (400, "InvalidRequestContentException")


def test_dry_run_and_event_invocations(lambdas: LocalLambdas) -> None:
    assert _invoke(lambdas, "CheckFunction", {}, **{"X-Amz-Invocation-Type": "DryRun"}).status_code == 204
    assert lambdas.invocations == []
    assert _invoke(lambdas, "CheckFunction", {}, **{"X-Amz-Invocation-Type": "Event"}).status_code == 202


def test_other_requests_go_on_to_moto(lambdas: LocalLambdas) -> None:
    assert Client(lambdas(_moto)).get("/2015-03-31/functions/").status_code == 418


def test_environment_per_function_and_restored(lambdas: LocalLambdas, restore_environ: None) -> None:
    os.environ["SHARED"] = "host-value"
    seen: dict[str, dict[str, str | None]] = {}
    for name in ("EchoFunction", "FlakyFunction"):
        spec = lambdas.functions[name]
        keys = ("SHARED", "OVERRIDDEN", "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "POWERTOOLS_TRACE_DISABLED")
        environment = lambdas._environment(spec, _fake_credentials(spec))
        seen[name] = {key: environment.get(key) for key in keys}
    assert seen["EchoFunction"] == {
        "SHARED": "from-globals",
        "OVERRIDDEN": "from-echo",
        "AWS_ACCESS_KEY_ID": "AKIAECHOFUNCTION",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "POWERTOOLS_TRACE_DISABLED": "1",
    }
    assert seen["FlakyFunction"]["OVERRIDDEN"] == "from-globals"
    assert seen["FlakyFunction"]["AWS_ACCESS_KEY_ID"] == "AKIAFLAKYFUNCTION"
    _invoke(lambdas, "FlakyFunction", {})
    assert os.environ["SHARED"] == "host-value"
    assert "POWERTOOLS_TRACE_DISABLED" not in os.environ or os.environ.get("POWERTOOLS_TRACE_DISABLED") != "1"


def test_warm_container_keeps_module_state_and_modules_are_isolated(lambdas: LocalLambdas) -> None:
    first = _invoke(lambdas, "FlakyFunction", {}).json
    second = _invoke(lambdas, "FlakyFunction", {}).json
    assert second["attempts"] == first["attempts"] + 1
    cold, warm = lambdas.invocations[-2:]
    assert cold.init_duration is not None and warm.init_duration is None
    assert _invoke(lambdas, "CheckFunction", {}).json["module"].startswith("_localcloud_fn_CheckFunction_app_")
    lambdas.forget("FlakyFunction")
    assert _invoke(lambdas, "FlakyFunction", {}).json["attempts"] == 1


@pytest.fixture
def measured(lambdas: LocalLambdas) -> LocalLambdas:
    lambdas.measure_memory = True
    return lambdas


def test_measured_containers_are_processes_of_their_own_with_lambdas_answers(measured: LocalLambdas) -> None:
    ok = _invoke(measured, "CheckFunction", {"cidr": "100.64.0.0/16"})
    assert ok.json == {"checked": "100.64.0.0/16", "module": "app"}  # imported as the runtime does, not in-process
    refused = _invoke(measured, "CheckFunction", {"cidr": "172.31.0.0/16"})
    assert refused.headers["X-Amz-Function-Error"] == "Unhandled"
    assert refused.json["errorType"] == "CidrNotAllowed"
    assert any("raise CidrNotAllowed" in frame for frame in refused.json["stackTrace"])
    marshal = _invoke(measured, "CheckFunction", {"unserialisable": True})
    assert marshal.json["errorType"] == "Runtime.MarshalError"
    assert "app" not in [m.rpartition("_")[0] for m in sys.modules]  # nothing imported here


def test_a_measured_invocation_reports_its_containers_peak_memory_and_cold_start(measured: LocalLambdas) -> None:
    first = _invoke(measured, "FlakyFunction", {}).json
    second = _invoke(measured, "FlakyFunction", {}).json
    assert second["attempts"] == first["attempts"] + 1  # a warm container keeps its process
    cold, warm = measured.invocations[-2:]
    assert cold.init_duration is not None and warm.init_duration is None
    # an interpreter with the layer's imports: tens of MiB resident, never less than the first peak
    assert cold.peak_bytes is not None and warm.peak_bytes is not None
    assert 5 * 2**20 < cold.peak_bytes <= warm.peak_bytes < 300 * 2**20


def test_a_measured_container_that_dies_is_a_runtime_exit_error(measured: LocalLambdas) -> None:
    _invoke(measured, "FlakyFunction", {})
    (container,) = measured._containers["FlakyFunction"]
    assert container.process is not None
    container.process._process.kill()
    container.process._process.wait()
    response = _invoke(measured, "FlakyFunction", {})
    assert response.headers["X-Amz-Function-Error"] == "Unhandled"
    assert response.json["errorType"] == "Runtime.ExitError"
    assert "exit status -9" in response.json["errorMessage"]
    assert _invoke(measured, "FlakyFunction", {}).json == {"attempts": 1}  # a new sandbox


@pytest.fixture(scope="module")
def live(harness_template: Template) -> Iterator[tuple[LocalAws, LocalLambdas]]:
    lambdas = LocalLambdas(harness_template, region="ap-southeast-1", account_id="123456789012")
    aws = LocalAws(load_scenario(), middlewares=[lambdas], build=False)
    aws.start()
    lambdas.bind(aws.endpoint_url, aws.admin_session, account_id=aws.account_id)
    yield aws, lambdas
    lambdas.close()
    aws.stop()


def test_through_boto3_credentials_of_the_function_role_and_context(live: tuple[LocalAws, LocalLambdas]) -> None:
    aws, _ = live
    client = boto3.client(
        "lambda",
        endpoint_url=aws.endpoint_url,
        region_name="ap-southeast-1",
        aws_access_key_id="ak",
        aws_secret_access_key="sk",
        config=Config(retries={"max_attempts": 0}),
    )
    response = client.invoke(FunctionName=f"{ARN}EchoFunction", Payload=json.dumps({"x": 1}), LogType="Tail")
    assert "FunctionError" not in response
    assert "echo got {'x': 1}" in base64.b64decode(response["LogResult"]).decode()
    echoed = json.loads(response["Payload"].read())
    assert echoed["event"] == {"x": 1}
    # STS AssumeRole of the role SAM would generate (created in moto IAM by the twin)
    assert echoed["caller"].endswith(":assumed-role/EchoFunctionRole/EchoFunction")
    assert (
        aws.admin_session()
        .client("iam")
        .get_role(RoleName="EchoFunctionRole")["Role"]["Arn"]
        .endswith("role/EchoFunctionRole")
    )
    context = echoed["context"]
    assert context["function_name"] == "EchoFunction"
    assert context["invoked_function_arn"] == f"{ARN}EchoFunction"
    assert context["memory_limit_in_mb"] == 1024
    assert 0 < context["remaining"] <= 30_000
    assert context["aws_request_id"] == response["ResponseMetadata"]["RequestId"]
    assert echoed["env"]["AWS_ENDPOINT_URL"] == aws.endpoint_url
    assert echoed["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "EchoFunction"
    # the function's own call is a workflow call, made with its role
    calls = [entry for entry in aws.ledger.entries() if entry.operation == "sts:GetCallerIdentity"]
    assert calls
    assert str(calls[-1].caller).endswith("assumed-role/EchoFunctionRole/EchoFunction")

    failed = client.invoke(FunctionName="CheckFunction", Payload=json.dumps({"cidr": "172.31.0.0/16"}))
    assert failed["FunctionError"] == "Unhandled"
    assert json.loads(failed["Payload"].read())["errorType"] == "CidrNotAllowed"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")
