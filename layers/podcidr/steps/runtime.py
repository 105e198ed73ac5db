"""What the cluster steps' handlers share: clients made once per Lambda container."""

from __future__ import annotations

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


_runtime: Runtime | None = None


def runtime() -> Runtime:
    """AWS clients and the Kubernetes connector, made on first use and kept while the container is warm."""
    global _runtime
    if _runtime is None:
        session = boto3.Session()
        aws = AwsClients.create(session)
        _runtime = Runtime(aws, KubeConnector.create(session, aws.eks))
    return _runtime
