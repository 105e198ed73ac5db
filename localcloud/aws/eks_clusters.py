"""DescribeCluster's members that moto leaves out, as EKS returns them for a standard (not Auto
Mode, not Outposts, not hybrid-nodes) IPv4 cluster. Members already set (by moto or the twin's
scenario keys) are kept."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "health": {"issues": []},
    "upgradePolicy": {"supportType": "EXTENDED"},  # the default for clusters created since mid-2024
    "zonalShiftConfig": {"enabled": False},
    "computeConfig": {"enabled": False},
    "storageConfig": {"blockStorage": {"enabled": False}},
    "deletionProtection": False,
}
VPC_CONFIG_DEFAULTS: dict[str, Any] = {
    "securityGroupIds": [],
    "endpointPublicAccess": True,
    "endpointPrivateAccess": False,
    "publicAccessCidrs": ["0.0.0.0/0"],
}


def complete_cluster(cluster: dict[str, Any]) -> dict[str, Any]:
    for key, value in DEFAULTS.items():
        cluster.setdefault(key, value)
    vpc_config = cluster.setdefault("resourcesVpcConfig", {})
    for key, value in VPC_CONFIG_DEFAULTS.items():
        vpc_config.setdefault(key, value)
    network = cluster.setdefault("kubernetesNetworkConfig", {})
    network.setdefault("elasticLoadBalancing", {"enabled": False})
    if not cluster.get("encryptionConfig"):
        cluster.pop("encryptionConfig", None)  # EKS omits it unless secrets encryption is configured
    return cluster
