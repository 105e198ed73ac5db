"""The cluster twin's Kubernetes API: an emulated kube-apiserver with EKS authentication.

- `store.ObjectStore`: the objects, with the API server's semantics, and a Python API for
  simulated controllers (no HTTP).
- `server.KubeApiServer`: the HTTPS endpoint (CA per cluster) that the real `kubernetes` client
  reaches with an EKS token; `http.KubeApi` is its WSGI application.
- `auth`: EKS token verification (presigned STS GetCallerIdentity) and access-policy authorization.
- `bootstrap.bootstrap_eks_cluster`: what a new EKS cluster holds.
"""

from localcloud.kube.auth import AccessPolicy, Credential, Identity, moto_credential_resolver
from localcloud.kube.bootstrap import bootstrap_eks_cluster
from localcloud.kube.errors import ApiError
from localcloud.kube.resources import ResourceRegistry, ResourceType
from localcloud.kube.server import KubeApiServer
from localcloud.kube.store import ObjectStore, WatchEvent

__all__ = [
    "AccessPolicy",
    "ApiError",
    "Credential",
    "Identity",
    "KubeApiServer",
    "ObjectStore",
    "ResourceRegistry",
    "ResourceType",
    "WatchEvent",
    "bootstrap_eks_cluster",
    "moto_credential_resolver",
]
