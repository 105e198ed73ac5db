"""The layer as layers/Makefile builds it (sam build's steps, for this machine's platform): pruned and
compiled, it still imports every handler as Lambda runs it (tracing on), and botocore still makes every
client the functions use. Needs the Lambda runtime's Python (3.13), as `make build` does."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import prune
import pytest

from localcloud.coldstart import LAYER_GOAL_BYTES, LAYER_ID, lambda_environment, python313, tree_bytes
from localcloud.template import PROJECT_ROOT, Account, FunctionSpec, Template

CLUSTER_FUNCTIONS = {
    "ApplyEniConfigsFunction",
    "CleanUpEndedExecutionFunction",
    "ClusterPreflightFunction",
    "DeployVerificationWorkloadFunction",
    "RemoveVerificationWorkloadsFunction",
    "VerifyLoadBalancerFunction",
    "VerifyPodsFunction",
}
"""The functions that talk to the cluster on every invocation; ConfigureCni (a self-managed CNI only)
and ReplaceNodegroup (once nodes are awaited) import the Kubernetes client when they need it."""

REGION = "us-east-1"


@pytest.fixture(scope="module")
def python() -> str:
    found = python313()
    assert found, "the layer's build and these tests need python3.13 (pyenv install 3.13), as make build does"
    return found


@pytest.fixture(scope="module")
def layer(python: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    artifacts = tmp_path_factory.mktemp(LAYER_ID)
    make = ["make", "-C", str(PROJECT_ROOT / "layers"), f"build-{LAYER_ID}", f"ARTIFACTS_DIR={artifacts}"]
    done = subprocess.run([*make, "LAYER_PLATFORM=host", f"PYTHON313={python}"], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return artifacts / "python"


def _run(python: str, layer: Path, code: str, spec: FunctionSpec | None = None) -> dict[str, Any]:
    path = [str(spec.code_uri), str(layer)] if spec else [str(layer)]
    program = f"import json, sys\nsys.path[:0] = {path!r}\n{code}"
    done = subprocess.run(
        [python, "-I", "-B", "-c", program], capture_output=True, text=True, env=lambda_environment(spec, REGION)
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


FUNCTIONS = Template.load().functions(Account(REGION, "123456789012"))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_the_pruned_layer_imports_the_handler_with_tracing_on_and_only_what_it_uses(
    python: str, layer: Path, name: str
) -> None:
    spec = FUNCTIONS[name]
    module, _, attribute = spec.handler.rpartition(".")
    code = (
        f"import importlib\nhandler = getattr(importlib.import_module({module!r}), {attribute!r})\n"
        "print(json.dumps({'callable': callable(handler), 'modules': sorted(sys.modules)}))"
    )
    imported = _run(python, layer, code, spec)
    modules = set(imported["modules"])
    assert imported["callable"]
    assert {"aws_xray_sdk.core", "aws_xray_sdk.ext.botocore.patch"} <= modules  # tracing on, AWS calls traced
    assert not {"sqlite3", "aws_xray_sdk.ext.requests.patch", "aws_xray_sdk.ext.sqlite3.patch"} & modules
    assert ("kubernetes" in modules) == (name in CLUSTER_FUNCTIONS)
    assert ("requests" in modules) == (name in CLUSTER_FUNCTIONS)  # kubernetes.config's, never the Tracer's
    assert "aiohttp" not in modules
    assert not {"boto3", "s3transfer"} & modules  # the clients come from botocore itself
    # PyYAML: the Kubernetes client's config imports it; otherwise only a custom AMI's user data needs it
    assert ("yaml" in modules) == (name in CLUSTER_FUNCTIONS)


def test_the_functions_make_every_client_they_use_and_no_pruned_one(python: str, layer: Path) -> None:
    code = (
        "import boto3, botocore, botocore.exceptions\n"
        "from podcidr.aws.clients import AwsClients, BotocoreSession\n"
        "clients = AwsClients.create()\n"
        "make = BotocoreSession().client\n"
        f"made = sorted(type(make(s, region_name='us-east-1')).__name__ for s in {sorted(prune.FUNCTION_SERVICES)!r})\n"
        "created = sorted(type(getattr(clients, s)).__name__ for s in ('ec2', 'eks', 'elbv2', 'sts'))\n"
        "try:\n    make('s3', region_name='us-east-1'); pruned = False\n"
        "except botocore.exceptions.UnknownServiceError:\n"
        "    pruned = True\n"
        "print(json.dumps({'made': made, 'created': created, 'pruned': pruned, 'boto3': boto3.__version__, "
        "'botocore': botocore.__version__}))"
    )
    result = _run(python, layer, code)
    assert result["made"] == ["EC2", "EKS", "ElasticLoadBalancingv2", "SFN", "STS"]
    assert result["created"] == ["EC2", "EKS", "ElasticLoadBalancingv2", "STS"]
    assert result["pruned"]
    pins = dict(
        line.split("==")
        for line in (PROJECT_ROOT / "layers" / "requirements.txt").read_text().splitlines()
        if "==" in line
    )
    assert (result["boto3"], result["botocore"]) == (pins["boto3"], pins["botocore"])


def test_the_kubernetes_client_is_the_official_one_its_generated_models_as_bytecode(python: str, layer: Path) -> None:
    code = (
        "import kubernetes\nfrom kubernetes import client\nfrom kubernetes.client.models import v1_pod\n"
        "pod = client.V1Pod(metadata=client.V1ObjectMeta(name='web-1'))\n"
        "print(json.dumps({'version': kubernetes.__version__, 'file': v1_pod.__file__, "
        "'pod': client.ApiClient().sanitize_for_serialization(pod)}))"
    )
    result = _run(python, layer, code)
    assert result["pod"] == {"metadata": {"name": "web-1"}}
    assert result["file"].endswith("kubernetes/client/models/v1_pod.pyc")
    assert f"kubernetes=={result['version']}" in (PROJECT_ROOT / "layers" / "requirements.txt").read_text()
    assert not (layer / "kubernetes" / "aio").exists()


def test_the_layer_ships_bytecode_for_the_runtime_and_fits_in_60_mb(layer: Path) -> None:
    assert list((layer / "botocore" / "__pycache__").glob("client.cpython-313.pyc"))
    assert tree_bytes(layer) <= LAYER_GOAL_BYTES


def test_a_measured_container_runs_the_built_layer_on_the_runtimes_python(python: str, layer: Path) -> None:
    """`make bench`'s memory figures come from containers like Lambda's: Python 3.13, the built layer,
    tracing on with a trace header per invocation."""
    from localcloud.lambdas import LocalLambdas, ProcessRuntime

    harness = Template.load(PROJECT_ROOT / "tests" / "localcloud" / "fixtures" / "harness" / "template.yaml")
    lambdas = LocalLambdas(
        harness,
        region=REGION,
        account_id="123456789012",
        credentials=lambda spec: {"AWS_ACCESS_KEY_ID": "AKIAX", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
    )
    lambdas.endpoint_url = "http://127.0.0.1:1"
    lambdas.measure_memory = True
    lambdas.process_runtime = ProcessRuntime(python, layer, tracing=True)
    try:
        payload, error, record = lambdas.invoke(lambdas.functions["CheckFunction"], {"cidr": "172.31.0.0/16"})
        assert error == "Unhandled" and json.loads(payload)["errorType"] == "CidrNotAllowed"  # the layer's class
        (container,) = lambdas._containers["CheckFunction"]
        assert container.process is not None and container.process._process.args[:2] == [python, "-I"]
        assert str(layer) in container.process._process.args
        assert record.peak_bytes is not None and record.peak_bytes > 10 * 2**20
    finally:
        lambdas.close()
