"""ApplyEniConfigs (DESIGN.md step 8): one ENIConfig per AZ, named after the AZ, pointing at the
AZ's pod subnet, before the CNI switch (AWS-FACTS section 2: since VPC CNI 1.13 a node whose AZ has
no ENIConfig never becomes Ready once custom networking is on).

Created when missing, merge-patched when different (labelled ours), adopted when identical.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from podcidr.errors import EniConfigCrdMissing
from podcidr.kube.client import (
    ENI_CONFIG_GROUP,
    ENI_CONFIG_PLURAL,
    ENI_CONFIG_VERSION,
    MANAGED_BY,
    MANAGED_BY_LABEL,
    Kube,
    api_status,
    kube_faults,
)
from podcidr.models.migration import EniConfig, Migration
from podcidr.steps.support import plain


def eni_config_body(config: EniConfig) -> dict[str, Any]:
    return {
        "apiVersion": f"{ENI_CONFIG_GROUP}/{ENI_CONFIG_VERSION}",
        "kind": "ENIConfig",
        "metadata": {"name": config.name, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        "spec": {"subnet": config.subnet, "securityGroups": list(config.security_groups)},
    }


def _subnet_for(migration: Migration, config: EniConfig) -> str:
    if config.subnet:
        return config.subnet
    for subnet in migration.pod_subnets:
        if subnet.availability_zone == config.availability_zone and subnet.subnet_id:
            return subnet.subnet_id
    raise EniConfigCrdMissing(  # not reachable after CreatePodSubnets; a clear message if it ever is
        f"No pod subnet is known for {config.availability_zone}; CreatePodSubnets must run before ApplyEniConfigs."
    )


def apply_eni_configs(migration: Migration, kube: Kube) -> Migration:
    for config in migration.eni_configs:
        config.subnet = _subnet_for(migration, config)
        config.created = _apply(migration, kube, config)
        if config.created:
            migration.changes += 1
    return migration


def _get(kube: Kube, cluster: str, name: str) -> dict[str, Any] | None:
    try:
        with kube_faults(f"get ENIConfig {name}", cluster):
            found = kube.custom.get_cluster_custom_object(ENI_CONFIG_GROUP, ENI_CONFIG_VERSION, ENI_CONFIG_PLURAL, name)
    except ApiException as error:
        if api_status(error) == 404:
            return None
        raise
    return plain(found)


def _apply(migration: Migration, kube: Kube, config: EniConfig) -> bool:
    """Make the ENIConfig what it should be; True if this call changed something."""
    cluster = migration.cluster_name
    wanted = eni_config_body(config)
    found = _get(kube, cluster, config.name)
    if found is None:
        try:
            with kube_faults(f"create ENIConfig {config.name}", cluster):
                kube.custom.create_cluster_custom_object(
                    ENI_CONFIG_GROUP, ENI_CONFIG_VERSION, ENI_CONFIG_PLURAL, wanted
                )
            return True
        except ApiException as error:
            if api_status(error) == 404:
                raise _crd_missing(cluster) from error
            if api_status(error) != 409:
                raise
        found = _get(kube, cluster, config.name)  # 409: created meanwhile; compare with what is there
        if found is None:
            raise _crd_missing(cluster)

    spec = found.get("spec") or {}
    labels = (found.get("metadata") or {}).get("labels") or {}
    same_spec = spec.get("subnet") == config.subnet and sorted(spec.get("securityGroups") or []) == sorted(
        config.security_groups
    )
    if same_spec:
        return False  # adopted: already what custom networking needs
    if labels.get(MANAGED_BY_LABEL) != MANAGED_BY:
        migration.warnings.append(
            f"ENIConfig {config.name} existed and was not podcidr's (subnet {spec.get('subnet')}, security "
            f"groups {spec.get('securityGroups') or []}); podcidr set subnet {config.subnet} and security "
            f"groups {config.security_groups}."
        )
    with kube_faults(f"patch ENIConfig {config.name}", cluster):
        kube.custom.patch_cluster_custom_object(
            ENI_CONFIG_GROUP,
            ENI_CONFIG_VERSION,
            ENI_CONFIG_PLURAL,
            config.name,
            {"metadata": {"labels": {MANAGED_BY_LABEL: MANAGED_BY}}, "spec": wanted["spec"]},
        )
    return True


def _crd_missing(cluster: str) -> EniConfigCrdMissing:
    return EniConfigCrdMissing(
        f"Cluster {cluster} does not serve {ENI_CONFIG_GROUP}/{ENI_CONFIG_VERSION} ENIConfigs (404): the VPC CNI's "
        "ENIConfig CRD is missing. Reinstall or repair the VPC CNI, then run podcidr again."
    )
