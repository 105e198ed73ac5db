"""The cluster twin's tests: LocalAws + ClusterTwin per module (moto is process-global), reached as
Lambda code reaches EKS: DescribeCluster's endpoint and CA, the real `kubernetes` client, and an EKS
token presigned with an assumed role's credentials."""

from __future__ import annotations

import base64
import json
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from kubernetes import client as k8s

from localcloud.aws.server import LocalAws
from localcloud.cluster import ClusterTwin
from localcloud.scenario import Scenario, parse_scenario

FAST_TIMING = {
    "cidrAssociate": 0.1,
    "addonUpdate": 0.2,
    "nodegroupCreate": 0.3,
    "nodegroupDelete": 0.3,
    "loadBalancer": 0.3,
    "clusterCreate": 0.1,
    "nodeReady": 0.2,
    "nodeJoin": 2.0,
    "podReady": 0.1,
    "accessEntry": 0.0,
}
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


@dataclass
class ClusterFixture:
    aws: LocalAws
    cluster: ClusterTwin
    scenario: Scenario

    @property
    def name(self) -> str:
        return self.scenario.cluster.name

    def admin(self, service: str) -> Any:
        return self.aws.admin_session().client(service)

    def subnet(self, name: str) -> str:
        assert self.aws.built is not None
        return str(self.aws.built.subnet_ids[name])

    def role(self, name: str, *, access: bool = True) -> boto3.Session:
        """An IAM role (with an access entry and the cluster admin policy when `access`), assumed: the
        boto3 session a Lambda function would have."""
        iam = self.admin("iam")
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        if access:
            eks = self.admin("eks")
            eks.create_access_entry(clusterName=self.name, principalArn=arn, type="STANDARD")
            eks.associate_access_policy(
                clusterName=self.name, principalArn=arn, policyArn=ADMIN_POLICY, accessScope={"type": "cluster"}
            )
        return self.aws.assumed_session(arn, "test")

    def kube(self, session: boto3.Session) -> k8s.ApiClient:
        """The kubernetes client at DescribeCluster's endpoint, with the cluster's CA and an EKS token."""
        described = self.admin("eks").describe_cluster(name=self.name)["cluster"]
        ca = Path(tempfile.mkdtemp(prefix="cluster-ca-")) / "ca.crt"
        ca.write_bytes(base64.b64decode(described["certificateAuthority"]["data"]))
        config = k8s.Configuration()
        config.host = described["endpoint"]
        config.ssl_ca_cert = str(ca)
        config.api_key = {"authorization": "Bearer " + eks_token(session, self.name)}
        return k8s.ApiClient(config)


def eks_token(session: boto3.Session, cluster: str) -> str:
    """As `aws eks get-token` makes it: a presigned GetCallerIdentity URL with x-k8s-aws-id signed in."""
    region = session.region_name
    sts = session.client("sts", region_name=region, endpoint_url=f"https://sts.{region}.amazonaws.com")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-k8s-aws-id"] = cluster

    sts.meta.events.register("before-sign.sts.GetCallerIdentity", add_header)
    url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60, HttpMethod="GET")
    return "k8s-aws-v1." + base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")


@pytest.fixture(scope="module")
def twin_factory() -> Iterator[Callable[..., ClusterFixture]]:
    started: list[tuple[LocalAws, ClusterTwin]] = []

    def make(document: dict[str, Any] | None = None, **options: Any) -> ClusterFixture:
        document = dict(document or {})
        document["timing"] = {**FAST_TIMING, **document.get("timing", {})}
        scenario = parse_scenario(document)
        cluster = ClusterTwin(scenario, **options)
        aws = LocalAws(scenario, middlewares=cluster.middlewares())
        aws.start()
        try:
            cluster.start(aws)
        except BaseException:
            aws.stop()
            raise
        started.append((aws, cluster))
        return ClusterFixture(aws, cluster, scenario)

    yield make
    for aws, cluster in reversed(started):
        cluster.stop()
        aws.stop()


@pytest.fixture(scope="module")
def api(twin: ClusterFixture) -> Iterator[k8s.ApiClient]:
    """The Kubernetes client of a role with an access entry and the cluster admin policy, on the
    module's `twin` (each module starts the twin its tests need)."""
    with twin.kube(twin.role("cluster-admin")) as client:
        yield client


def wait_for(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met in {timeout}s (last: {value!r})")
        time.sleep(0.05)
