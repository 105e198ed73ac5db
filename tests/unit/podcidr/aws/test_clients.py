"""The functions' clients come from botocore alone, as boto3's would: the Lambda environment's region,
credentials and AWS_ENDPOINT_URL, podcidr's retry configuration."""

from __future__ import annotations

import pytest

from podcidr.aws.clients import AwsClients, BotocoreSession
from podcidr.kube.client import token_sts_client


@pytest.fixture
def lambda_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.mark.usefixtures("lambda_environment")
def test_the_default_clients_have_the_environments_region_and_podcidrs_retries() -> None:
    clients = AwsClients.create()
    for client, service in ((clients.ec2, "ec2"), (clients.eks, "eks"), (clients.elbv2, "elbv2"), (clients.sts, "sts")):
        assert client.meta.region_name == "eu-central-1"
        assert client.meta.service_model.service_name == service
        assert client.meta.config.retries == {"mode": "standard", "total_max_attempts": 4}
        assert client._request_signer._credentials.access_key == "AKIDEXAMPLE"
    assert clients.ec2.meta.endpoint_url == "https://ec2.eu-central-1.amazonaws.com"


@pytest.mark.usefixtures("lambda_environment")
def test_the_default_clients_honour_aws_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    assert AwsClients.create().eks.meta.endpoint_url == "http://127.0.0.1:4566"


@pytest.mark.usefixtures("lambda_environment")
def test_tokens_are_signed_for_the_regional_sts_endpoint_whatever_aws_endpoint_url_says(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    session = BotocoreSession()
    assert session.region_name == "eu-central-1"
    sts = token_sts_client(session)
    assert (sts.meta.region_name, sts.meta.endpoint_url) == ("eu-central-1", "https://sts.eu-central-1.amazonaws.com")
