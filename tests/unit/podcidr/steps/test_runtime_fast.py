"""The cluster handlers' shared runtime: AWS clients and the Kubernetes connector made once per Lambda container
(per credentials, as the twin serves every function from one process), the connector only on first use."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.kube.client import KubeConnector
from podcidr.steps import runtime as runtime_module
from podcidr.steps.runtime import Runtime, runtime


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("AWS_REGION", "us-west-2")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEFUNCTIONA")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-a")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setattr(runtime_module, "_runtimes", {})
    return monkeypatch


def test_a_warm_container_keeps_its_runtime_and_other_credentials_get_their_own(
    lambda_environment: pytest.MonkeyPatch,
) -> None:
    first = runtime()
    assert runtime() is first
    assert first.aws.eks.meta.region_name == "us-west-2"
    lambda_environment.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEFUNCTIONB")
    other = runtime()
    assert other is not first and other.aws is not first.aws
    assert runtime() is other


def test_the_kubernetes_connector_is_made_on_first_use_and_kept(lambda_environment: pytest.MonkeyPatch) -> None:
    found = runtime()
    assert found._kube is None  # no Kubernetes client for a function that never talks to the cluster
    connector = found.kube
    assert isinstance(connector, KubeConnector) and connector.eks is found.aws.eks
    assert connector.sts.meta.region_name == "us-west-2"
    assert found.kube is connector


def test_connect_asks_the_connector_for_the_named_cluster() -> None:
    asked: list[str] = []

    class Connector:
        def connect(self, cluster_name: str) -> Any:
            asked.append(cluster_name)
            return f"kube of {cluster_name}"

    found = Runtime(aws=None, _kube=Connector())  # type: ignore[arg-type]
    assert found.connect("shop") == "kube of shop" and asked == ["shop"]
