"""Fixtures for the Kubernetes API emulator's tests: moto IAM roles with STS sessions, real EKS
tokens (built as `aws eks get-token` builds them), and the real `kubernetes` client configured as
Lambda code configures it from DescribeCluster."""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import botocore.session
import pytest
from kubernetes import client as k8s
from moto import mock_aws

from localcloud.kube import AccessPolicy, KubeApiServer, bootstrap_eks_cluster

CLUSTER = "eksworkshop"
REGION = "ap-southeast-1"
ACCOUNT = "123456789012"
ADMIN = f"{POLICY}AmazonEKSClusterAdminPolicy" if (POLICY := "arn:aws:eks::aws:cluster-access-policy/") else ""
TRUST = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}'


@dataclass(frozen=True)
class Session:
    role_arn: str
    access_key_id: str
    secret_access_key: str
    session_token: str


def make_token(
    session: Session,
    cluster_name: str = CLUSTER,
    *,
    region: str = REGION,
    signed_at: datetime.datetime | None = None,
    sign_cluster_header: bool = True,
) -> str:
    """An EKS token as aws-cli's `eks get-token` makes it: a presigned STS GetCallerIdentity GET URL
    with `x-k8s-aws-id: <cluster>` signed in, base64url without padding, after `k8s-aws-v1.`."""
    botocore_session = botocore.session.get_session()
    sts = botocore_session.create_client(
        "sts",
        region_name=region,
        endpoint_url=f"https://sts.{region}.amazonaws.com",
        aws_access_key_id=session.access_key_id,
        aws_secret_access_key=session.secret_access_key,
        aws_session_token=session.session_token,
    )

    def add_cluster_header(request: Any, **_: Any) -> None:
        if sign_cluster_header:
            request.headers["x-k8s-aws-id"] = cluster_name

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_cluster_header)
    if signed_at is None:
        url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    else:

        def then(remove_tzinfo: bool = True) -> datetime.datetime:
            return signed_at.replace(tzinfo=None) if remove_tzinfo else signed_at

        # botocore signs with awscrt's signer when awscrt is installed, else with its own
        with (
            mock.patch("botocore.auth.get_current_datetime", then),
            mock.patch("botocore.crt.auth.get_current_datetime", then),
        ):
            url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@dataclass
class AccessEntries:
    """A stand-in for the EKS access-entry store: principal ARN -> associated policies."""

    entries: dict[str, list[AccessPolicy]] = field(default_factory=dict)
    mode: str = "API_AND_CONFIG_MAP"

    def __call__(self, cluster: str, principal_arn: str) -> list[AccessPolicy] | None:
        assert cluster == CLUSTER
        return self.entries.get(principal_arn)


@dataclass
class Recorder:
    calls: list[tuple[str, bool, str]] = field(default_factory=list)
    faults: dict[str, Any] = field(default_factory=dict)

    def ledger(self, operation: str, mutating: bool, result: str) -> None:
        self.calls.append((operation, mutating, result))

    def fault(self, operation: str) -> Any:
        return self.faults.pop(operation, None)


@dataclass(frozen=True)
class Fault:
    when: str
    error: str
    message: str = "injected"


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Session]]:
    """moto with three IAM roles and an STS session of each: admin, viewer, stranger (no entry)."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        sts = boto3.client("sts", region_name=REGION)
        sessions = {}
        for name in ("admin", "viewer", "editor", "stranger"):
            role = iam.create_role(RoleName=f"podcidr-{name}", AssumeRolePolicyDocument=TRUST)["Role"]
            creds = sts.assume_role(RoleArn=role["Arn"], RoleSessionName=f"{name}-session")["Credentials"]
            sessions[name] = Session(role["Arn"], creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
        yield sessions


@pytest.fixture(scope="module")
def entries(aws: dict[str, Session]) -> AccessEntries:
    return AccessEntries(
        {
            aws["admin"].role_arn: [AccessPolicy(ADMIN)],
            aws["viewer"].role_arn: [AccessPolicy(f"{POLICY}AmazonEKSViewPolicy")],
            aws["editor"].role_arn: [AccessPolicy(f"{POLICY}AmazonEKSEditPolicy", "namespace", ("team-*",))],
        }
    )


@pytest.fixture(scope="module")
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(scope="module")
def server(aws: dict[str, Session], entries: AccessEntries, recorder: Recorder) -> Iterator[KubeApiServer]:
    with KubeApiServer(
        CLUSTER,
        entries,
        auth_mode_getter=lambda: entries.mode,
        ledger_hook=recorder.ledger,
        fault_hook=recorder.fault,
    ) as srv:
        bootstrap_eks_cluster(srv.store, cluster_name=CLUSTER, region=REGION, load_balancer_controller=True)
        yield srv


ClientFactory = Callable[..., k8s.ApiClient]


@pytest.fixture(scope="module")
def make_client(
    server: KubeApiServer, aws: dict[str, Session], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ClientFactory]:
    """kubernetes.client.ApiClient as Lambda code builds it from DescribeCluster."""
    made: list[k8s.ApiClient] = []
    directory = tmp_path_factory.mktemp("kube")

    def factory(who: str = "admin", *, token: str | None = None, target: KubeApiServer | None = None) -> k8s.ApiClient:
        srv = target or server
        ca_file = Path(directory) / f"ca-{srv.port}.crt"
        ca_file.write_bytes(base64.b64decode(srv.ca_data))
        config = k8s.Configuration()
        config.host = srv.endpoint
        config.ssl_ca_cert = str(ca_file)
        config.api_key = {"authorization": token if token is not None else make_token(aws[who])}
        config.api_key_prefix = {"authorization": "Bearer"}
        config.retries = False
        api = k8s.ApiClient(config)
        made.append(api)
        return api

    yield factory
    for api in made:
        api.close()


@pytest.fixture(scope="module")
def admin(make_client: ClientFactory) -> k8s.ApiClient:
    return make_client("admin")


_counter = iter(range(1, 1_000_000))


@pytest.fixture
def namespace(admin: k8s.ApiClient) -> str:
    """A fresh namespace for one test."""
    name = f"t{next(_counter)}"
    k8s.CoreV1Api(admin).create_namespace(k8s.V1Namespace(metadata=k8s.V1ObjectMeta(name=name)))
    return name


def raw(
    api: k8s.ApiClient, method: str, path: str, body: Any = None, content_type: str = "application/json"
) -> tuple[int, Any]:
    """A request the typed API cannot express (the client validates bodies too): (status, JSON body)."""
    token = api.configuration.get_api_key_with_prefix("BearerToken", alias="authorization")
    headers = {"Content-Type": content_type, **({"authorization": token} if token else {})}
    response = api.call_api(method, api.configuration.host + path, header_params=headers, body=body)
    data = response.read()
    if not data:
        return response.status, None
    try:
        return response.status, json.loads(data)
    except ValueError:
        return response.status, data.decode()


def deployment(name: str, *, replicas: int = 2, labels: dict[str, str] | None = None) -> k8s.V1Deployment:
    labels = labels or {"app": name}
    return k8s.V1Deployment(
        metadata=k8s.V1ObjectMeta(name=name, labels=labels),
        spec=k8s.V1DeploymentSpec(
            replicas=replicas,
            selector=k8s.V1LabelSelector(match_labels={"app": name}),
            template=k8s.V1PodTemplateSpec(
                metadata=k8s.V1ObjectMeta(labels={"app": name}),
                spec=k8s.V1PodSpec(
                    containers=[
                        k8s.V1Container(
                            name="web",
                            image="public.ecr.aws/nginx/nginx:1.27-alpine-slim",
                            ports=[k8s.V1ContainerPort(container_port=80)],
                            env=[k8s.V1EnvVar(name="A", value="1"), k8s.V1EnvVar(name="B", value="2")],
                        )
                    ]
                ),
            ),
        ),
    )
