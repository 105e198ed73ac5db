"""Reaching a cluster's Kubernetes API from Lambda (AWS-FACTS section 4).

Endpoint and CA come from DescribeCluster; requests carry an EKS token signed with the function's
own credentials; the official `kubernetes` client does the rest. The ApiClient is kept per
container and per cluster endpoint, and its Configuration renews the token through
`refresh_api_key_hook` before every request that would otherwise send a token near expiry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError as Urllib3HttpError

from podcidr.aws.clients import BotocoreSession, error_code, transient_faults_retried
from podcidr.errors import ClusterAccessDenied, ClusterNotActive, ClusterNotFound, TransientAwsError
from podcidr.kube.token import TokenSource

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_sts import STSClient

ENI_CONFIG_GROUP = "crd.k8s.amazonaws.com"
ENI_CONFIG_VERSION = "v1alpha1"
ENI_CONFIG_PLURAL = "eniconfigs"
ENI_CONFIG_CRD = f"{ENI_CONFIG_PLURAL}.{ENI_CONFIG_GROUP}"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "podcidr"
CONNECT_TIMEOUT_SECONDS = 5.0
READ_TIMEOUT_SECONDS = 30.0
"""Every request's (connect, read) timeouts: an endpoint the function cannot reach (private-only, or
publicAccessCidrs) fails fast as a transient fault the state machine retries, instead of hanging
until the Lambda timeout (AWS-FACTS 7; docs/aws-facts.md)."""


@dataclass(frozen=True)
class ClusterEndpoint:
    name: str
    endpoint: str
    certificate_authority: str
    """Base64 PEM, as DescribeCluster returns certificateAuthority.data."""


def describe_endpoint(eks: EKSClient, cluster_name: str) -> ClusterEndpoint:
    """The cluster's API endpoint and CA (DescribeCluster)."""
    try:
        with transient_faults_retried("eks:DescribeCluster"):
            cluster = eks.describe_cluster(name=cluster_name)["cluster"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            raise ClusterNotFound(f"EKS cluster {cluster_name} no longer exists.") from error
        raise
    endpoint = cluster.get("endpoint")
    ca = cluster.get("certificateAuthority", {}).get("data")
    if not endpoint or not ca:
        raise ClusterNotActive(
            f"EKS cluster {cluster_name} has no API endpoint or CA yet (status {cluster.get('status')})."
        )
    return ClusterEndpoint(cluster_name, endpoint, ca)


class TimedApiClient(k8s.ApiClient):
    """An ApiClient whose requests time out: the generated client sends none unless each call passes
    `_request_timeout`, and urllib3 then waits forever."""

    timeouts: tuple[float, float] = (CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS)

    def call_api(
        self,
        method: Any,
        url: Any,
        header_params: Any = None,
        body: Any = None,
        post_params: Any = None,
        _request_timeout: Any = None,
    ) -> Any:
        return super().call_api(
            method, url, header_params, body, post_params, _request_timeout=_request_timeout or self.timeouts
        )


@dataclass
class Kube:
    """The typed APIs of one cluster, over one ApiClient."""

    api_client: k8s.ApiClient
    core: k8s.CoreV1Api = field(init=False)
    apps: k8s.AppsV1Api = field(init=False)
    networking: k8s.NetworkingV1Api = field(init=False)
    policy: k8s.PolicyV1Api = field(init=False)
    extensions: k8s.ApiextensionsV1Api = field(init=False)
    custom: k8s.CustomObjectsApi = field(init=False)

    def __post_init__(self) -> None:
        self.core = k8s.CoreV1Api(self.api_client)
        self.apps = k8s.AppsV1Api(self.api_client)
        self.networking = k8s.NetworkingV1Api(self.api_client)
        self.policy = k8s.PolicyV1Api(self.api_client)
        self.extensions = k8s.ApiextensionsV1Api(self.api_client)
        self.custom = k8s.CustomObjectsApi(self.api_client)


def _write_ca(certificate_authority: str) -> str:
    try:
        pem = base64.b64decode(certificate_authority, validate=True)
    except binascii.Error as error:
        raise ClusterNotActive(f"the cluster's certificateAuthority.data is not base64: {error}") from error
    digest = hashlib.sha256(pem).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"podcidr-ca-{digest}.pem"
    if not path.exists():
        path.write_bytes(pem)
    return str(path)


def configuration(endpoint: ClusterEndpoint, tokens: TokenSource) -> k8s.Configuration:
    """A client Configuration for the endpoint whose bearer token renews itself."""
    config = k8s.Configuration(host=endpoint.endpoint)
    config.ssl_ca_cert = _write_ca(endpoint.certificate_authority)
    config.verify_ssl = True
    config.api_key_prefix["BearerToken"] = "Bearer"
    config.api_key["BearerToken"] = tokens.token()

    def refresh(conf: k8s.Configuration) -> None:
        conf.api_key["BearerToken"] = tokens.token()

    config.refresh_api_key_hook = refresh  # type: ignore[assignment]
    return config


def sts_endpoint(region: str) -> str:
    """The regional STS endpoint EKS accepts in tokens (aws-iam-authenticator's host allow-list)."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}"


def token_sts_client(session: boto3.Session | BotocoreSession, region: str | None = None) -> STSClient:
    """An STS client to presign tokens with: the session's credentials, the *regional STS endpoint*
    whatever AWS_ENDPOINT_URL says (presigning makes no request; EKS only accepts STS hosts)."""
    region = region or session.region_name or "us-east-1"
    client: STSClient = session.client("sts", region_name=region, endpoint_url=sts_endpoint(region))
    return client


@dataclass
class KubeConnector:
    """Made once per Lambda container: one Kube per cluster endpoint, reused while warm."""

    eks: EKSClient
    sts: STSClient
    """Signs the tokens (see token_sts_client)."""
    _cache: dict[ClusterEndpoint, Kube] = field(default_factory=dict)

    @classmethod
    def create(cls, session: boto3.Session | BotocoreSession, eks: EKSClient) -> KubeConnector:
        return cls(eks, token_sts_client(session, eks.meta.region_name))

    def connect(self, cluster_name: str) -> Kube:
        endpoint = describe_endpoint(self.eks, cluster_name)
        kube = self._cache.get(endpoint)
        if kube is None:
            tokens = TokenSource(self.sts, cluster_name)
            kube = Kube(TimedApiClient(configuration(endpoint, tokens)))
            self._cache[endpoint] = kube
        return kube


def api_status(error: ApiException) -> int:
    return int(error.status or 0)


@contextmanager
def kube_faults(operation: str, cluster_name: str) -> Iterator[None]:
    """Map the API server's answers that are not the step's business onto podcidr's errors:
    401/403 -> ClusterAccessDenied; 429, 5xx, connection faults and timeouts -> TransientAwsError (retried)."""
    try:
        yield
    except ApiException as error:
        status = api_status(error)
        if status in (401, 403):
            raise ClusterAccessDenied(
                f"The Kubernetes API of cluster {cluster_name} refused {operation} with {status} "
                f"{error.reason}: {message_of(error)}. podcidr's functions need the access entry and "
                "AmazonEKSClusterAdminPolicy that EnsureClusterAccess creates; a new access entry "
                "can take a few seconds to apply, so this step is retried before failing."
            ) from error
        if status == 429 or status >= 500:
            raise TransientAwsError(f"{operation} on cluster {cluster_name} failed with {status}") from error
        raise
    except Urllib3HttpError as error:
        raise TransientAwsError(f"{operation} could not reach cluster {cluster_name}: {error}") from error


def message_of(error: ApiException) -> str:
    """The Status message of a failed request."""
    body: Any = error.body
    try:
        return str(json.loads(body).get("message", body))
    except (TypeError, ValueError, AttributeError):
        return str(body or "")
