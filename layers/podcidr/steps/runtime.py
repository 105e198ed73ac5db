"""What the cluster steps' handlers share: clients made once per Lambda container."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from podcidr.aws.clients import AwsClients, container_clients, container_key
from podcidr.kube.client import Kube, KubeConnector


@dataclass
class Runtime:
    aws: AwsClients
    kube: KubeConnector

    def connect(self, cluster_name: str) -> Kube:
        return self.kube.connect(cluster_name)


_runtimes: dict[tuple[str | None, ...], Runtime] = {}


def runtime() -> Runtime:
    """The container's AWS clients and Kubernetes connector, made on first use and kept while it is
    warm (keyed as podcidr.aws.clients.container_clients is)."""
    key = container_key()
    found = _runtimes.get(key)
    if found is None:
        aws = container_clients()
        found = _runtimes[key] = Runtime(aws, KubeConnector.create(boto3.Session(), aws.eks))
    return found
