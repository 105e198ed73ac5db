"""What the cluster steps' handlers share: clients made once per Lambda container."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from podcidr.aws.clients import AwsClients, BotocoreSession, container_clients, container_key

if TYPE_CHECKING:
    from podcidr.kube.client import Kube, KubeConnector


@dataclass
class Runtime:
    aws: AwsClients
    _kube: KubeConnector | None = field(default=None, repr=False)

    @property
    def kube(self) -> KubeConnector:
        """The Kubernetes connector, made (and the Kubernetes client imported) on first use: a function
        that never talks to the cluster, or an invocation that does not, never pays for the client."""
        if self._kube is None:
            from podcidr.kube.client import KubeConnector

            self._kube = KubeConnector.create(BotocoreSession(), self.aws.eks)
        return self._kube

    def connect(self, cluster_name: str) -> Kube:
        return self.kube.connect(cluster_name)


_runtimes: dict[tuple[str | None, ...], Runtime] = {}


def runtime() -> Runtime:
    """The container's AWS clients and Kubernetes connector, made on first use and kept while it is
    warm (keyed as podcidr.aws.clients.container_clients is)."""
    key = container_key()
    found = _runtimes.get(key)
    if found is None:
        found = _runtimes[key] = Runtime(container_clients())
    return found
