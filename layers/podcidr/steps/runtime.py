"""What the cluster steps' handlers share: clients made once per Lambda container."""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3

from podcidr.aws.clients import AwsClients
from podcidr.kube.client import Kube, KubeConnector


@dataclass
class Runtime:
    aws: AwsClients
    kube: KubeConnector

    def connect(self, cluster_name: str) -> Kube:
        return self.kube.connect(cluster_name)


_ENVIRONMENT = ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")
_runtimes: dict[tuple[str | None, ...], Runtime] = {}


def runtime() -> Runtime:
    """AWS clients and the Kubernetes connector, made on first use and kept while the container is warm.

    Keyed by the environment they were made from: in Lambda it never changes within a container; in
    the local twin one process serves every function (each with its own role's credentials) and
    successive twins (each with its own endpoint)."""
    key = tuple(os.environ.get(name) for name in _ENVIRONMENT)
    found = _runtimes.get(key)
    if found is None:
        session = boto3.Session()
        aws = AwsClients.create(session)
        found = _runtimes[key] = Runtime(aws, KubeConnector.create(session, aws.eks))
    return found
