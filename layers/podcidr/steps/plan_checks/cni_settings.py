"""What the VPC CNI's current configuration means for the plan: prefix delegation changes max pods
and how many addresses a node takes from its pod subnet."""

from __future__ import annotations

from podcidr.models.discovery import CniInfo
from podcidr.steps.configure_cni import parse_configuration_values

PREFIX_DELEGATION = "ENABLE_PREFIX_DELEGATION"


def prefix_delegation(cni: CniInfo) -> bool:
    """ENABLE_PREFIX_DELEGATION=true in the add-on's configurationValues (JSON or YAML). A self-managed
    aws-node's env is read in the cluster, which Plan does not reach: false there."""
    if cni.via != "addon":
        return False
    values, _ = parse_configuration_values(cni.configuration_values)
    env = values.get("env")
    return isinstance(env, dict) and str(env.get(PREFIX_DELEGATION, "")).lower() == "true"
