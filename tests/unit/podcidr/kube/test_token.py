"""The EKS token's structure (AWS-FACTS section 4), checked without any server."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from podcidr.kube.client import ClusterEndpoint, configuration
from podcidr.kube.token import TOKEN_RENEW_AFTER_SECONDS, TokenSource, eks_token


@pytest.fixture
def sts():  # type: ignore[no-untyped-def]
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLEEXAMPLE12",
        aws_secret_access_key="secret",
        region_name="ap-southeast-1",
    )
    return session.client("sts")


def _decode(token: str) -> str:
    assert token.startswith("k8s-aws-v1.")
    body = token.removeprefix("k8s-aws-v1.")
    assert "=" not in body, "base64url without padding"
    assert "+" not in body and "/" not in body, "base64url alphabet"
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


def test_token_is_a_presigned_get_caller_identity_with_the_cluster_header_signed(sts) -> None:  # type: ignore[no-untyped-def]
    url = urlsplit(_decode(eks_token(sts, "eksworkshop")))
    query = {key: values[0] for key, values in parse_qs(url.query).items()}

    assert url.scheme == "https"
    assert url.hostname is not None and url.hostname.startswith("sts.")
    assert query["Action"] == "GetCallerIdentity"
    assert query["Version"] == "2011-06-15"
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "60"
    assert query["X-Amz-Credential"].startswith("AKIAEXAMPLEEXAMPLE12/")
    assert query["X-Amz-Credential"].endswith("/ap-southeast-1/sts/aws4_request")
    assert "x-k8s-aws-id" in query["X-Amz-SignedHeaders"].split(";")
    assert "host" in query["X-Amz-SignedHeaders"].split(";")
    assert "x-k8s-aws-id" not in query, "the cluster name travels as a signed header, not a parameter"
    assert len(query["X-Amz-Signature"]) == 64


def test_the_cluster_header_is_only_added_to_token_requests(sts) -> None:  # type: ignore[no-untyped-def]
    eks_token(sts, "one")
    eks_token(sts, "two")  # handlers registered once, not stacked
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    assert "x-k8s-aws-id" not in parse_qs(urlsplit(url).query)["X-Amz-SignedHeaders"][0]


@pytest.fixture
def fake_tokens(monkeypatch):  # type: ignore[no-untyped-def]
    issued: list[str] = []

    def fake_token(_sts: object, cluster_name: str) -> str:
        issued.append(cluster_name)
        return f"token-{len(issued)}"

    monkeypatch.setattr("podcidr.kube.token.eks_token", fake_token)
    return issued


def test_token_source_renews_before_fourteen_minutes(sts, fake_tokens) -> None:  # type: ignore[no-untyped-def]
    now = [1000.0]
    source = TokenSource(sts, "eksworkshop", clock=lambda: now[0])
    assert source.token() == "token-1"
    now[0] += TOKEN_RENEW_AFTER_SECONDS - 1
    assert source.token() == "token-1"
    now[0] += 1
    assert source.token() == "token-2"
    assert TOKEN_RENEW_AFTER_SECONDS < 14 * 60


def test_configuration_refreshes_the_bearer_token_through_its_hook(sts, fake_tokens) -> None:  # type: ignore[no-untyped-def]
    now = [0.0]
    source = TokenSource(sts, "eksworkshop", clock=lambda: now[0])
    pem = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode()
    config = configuration(ClusterEndpoint("eksworkshop", "https://example.eks.amazonaws.com", pem), source)

    assert config.host == "https://example.eks.amazonaws.com"
    assert config.ssl_ca_cert is not None and Path(config.ssl_ca_cert).read_text().startswith("-----BEGIN")
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer token-1"
    now[0] += TOKEN_RENEW_AFTER_SECONDS
    assert config.auth_settings()["BearerToken"]["value"] == "Bearer token-2"
