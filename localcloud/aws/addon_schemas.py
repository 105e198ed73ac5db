"""The vpc-cni add-on's configuration schema per version, as DescribeAddonConfiguration returns it.

A faithful subset of the published schema (JSON Schema draft-07, `additionalProperties: false`
at each level, env values strings): what podcidr and its tests touch. Per AWS-FACTS section 2:
before v1.15 `env` has no `ENI_CONFIG_LABEL_DEF` and there is no `eniConfig` block; from v1.15 on
both exist. (v1.13/v1.14 are taken to be like v1.12: the facts name only 1.12 and 1.15+.)
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

VPC_CNI = "vpc-cni"

SUPPORTED_VERSIONS = (
    "v1.12.6-eksbuild.2",
    "v1.15.1-eksbuild.1",
    "v1.16.4-eksbuild.2",
    "v1.18.3-eksbuild.1",
    "v1.19.2-eksbuild.1",
)

_ENV_STRING = {"type": "string"}
_BOOL_STRING = {"type": "string", "enum": ["true", "false"]}

_ENV_V1_12 = {
    "ADDITIONAL_ENI_TAGS": _ENV_STRING,
    "ANNOTATE_POD_IP": _BOOL_STRING,
    "AWS_VPC_CNI_NODE_PORT_SUPPORT": _BOOL_STRING,
    "AWS_VPC_ENI_MTU": {"type": "string", "pattern": "^[0-9]+$"},
    "AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER": _BOOL_STRING,
    "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": _BOOL_STRING,
    "AWS_VPC_K8S_CNI_EXTERNALSNAT": _BOOL_STRING,
    "AWS_VPC_K8S_CNI_LOGLEVEL": {"type": "string", "enum": ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]},
    "AWS_VPC_K8S_CNI_LOG_FILE": _ENV_STRING,
    "AWS_VPC_K8S_CNI_RANDOMIZESNAT": {"type": "string", "enum": ["none", "hashrandom", "prng"]},
    "AWS_VPC_K8S_CNI_VETHPREFIX": _ENV_STRING,
    "AWS_VPC_K8S_PLUGIN_LOG_FILE": _ENV_STRING,
    "AWS_VPC_K8S_PLUGIN_LOG_LEVEL": {"type": "string", "enum": ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]},
    "DISABLE_INTROSPECTION": _BOOL_STRING,
    "DISABLE_METRICS": _BOOL_STRING,
    "DISABLE_NETWORK_RESOURCE_PROVISIONING": _BOOL_STRING,
    "ENABLE_POD_ENI": _BOOL_STRING,
    "ENABLE_PREFIX_DELEGATION": _BOOL_STRING,
    "WARM_ENI_TARGET": {"type": "string", "pattern": "^[0-9]+$"},
    "WARM_IP_TARGET": {"type": "string", "pattern": "^[0-9]+$"},
    "MINIMUM_IP_TARGET": {"type": "string", "pattern": "^[0-9]+$"},
    "WARM_PREFIX_TARGET": {"type": "string", "pattern": "^[0-9]+$"},
    "MAX_ENI": {"type": "string", "pattern": "^[0-9]+$"},
}

_ENV_V1_15 = {
    **_ENV_V1_12,
    "ENI_CONFIG_ANNOTATION_DEF": _ENV_STRING,
    "ENI_CONFIG_LABEL_DEF": _ENV_STRING,
    "AWS_EXTERNAL_SERVICE_CIDRS": _ENV_STRING,
    "POD_SECURITY_GROUP_ENFORCING_MODE": {"type": "string", "enum": ["strict", "standard"]},
    "ENABLE_SUBNET_DISCOVERY": _BOOL_STRING,
    "ENABLE_V4_EGRESS": _BOOL_STRING,
    "ENABLE_V6_EGRESS": _BOOL_STRING,
}

_RESOURCES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "limits": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"cpu": _ENV_STRING, "memory": _ENV_STRING},
        },
        "requests": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"cpu": _ENV_STRING, "memory": _ENV_STRING},
        },
    },
}


def _schema(env: dict[str, Any], *, eni_config: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "env": {"type": "object", "additionalProperties": False, "properties": env},
        "init": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "env": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"DISABLE_TCP_EARLY_DEMUX": _BOOL_STRING, "ENABLE_V6_EGRESS": _BOOL_STRING},
                }
            },
        },
        "resources": _RESOURCES,
        "livenessProbeTimeoutSeconds": {"type": "integer", "minimum": 1},
        "readinessProbeTimeoutSeconds": {"type": "integer", "minimum": 1},
        "tolerations": {"type": "array", "items": {"type": "object"}},
        "affinity": {"type": "object"},
        "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"}},
        "podAnnotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "podLabels": {"type": "object", "additionalProperties": {"type": "string"}},
    }
    if eni_config:
        properties["eniConfig"] = {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "create": {"type": "boolean"},
                "region": {"type": "string"},
                "subnets": {
                    "type": "object",
                    "patternProperties": {
                        "^[a-z0-9-]+$": {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["id"],
                            "properties": {
                                "id": {"type": "string", "pattern": "^subnet-[0-9a-f]+$"},
                                "securityGroups": {
                                    "type": "array",
                                    "items": {"type": "string", "pattern": "^sg-[0-9a-f]+$"},
                                },
                            },
                        }
                    },
                    "additionalProperties": False,
                },
            },
        }
        properties["enableNetworkPolicy"] = _BOOL_STRING
        properties["enableWindowsIpam"] = _BOOL_STRING
    return {
        "$ref": "#/definitions/VpcCni",
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {
            "VpcCni": {
                "type": "object",
                "additionalProperties": False,
                "properties": properties,
                "title": "VpcCni",
            }
        },
        "description": "vpc-cni",
        "type": "object",
    }


_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$")


def parse_version(version: str) -> tuple[int, int, int, int] | None:
    match = _VERSION.fullmatch(version)
    if not match:
        return None
    a, b, c, d = (int(x) for x in match.groups())
    return a, b, c, d


def is_known_version(addon_name: str, version: str) -> bool:
    """vpc-cni versions of the form v1.N.P-eksbuild.B from v1.12 on are all known to the twin."""
    parsed = parse_version(version)
    return addon_name == VPC_CNI and parsed is not None and parsed[0] == 1 and parsed[1] >= 12


def configuration_schema(addon_name: str, version: str) -> dict[str, Any] | None:
    if not is_known_version(addon_name, version):
        return None
    parsed = parse_version(version)
    assert parsed is not None
    if parsed[1] < 15:
        return copy.deepcopy(_schema(_ENV_V1_12, eni_config=False))
    return copy.deepcopy(_schema(_ENV_V1_15, eni_config=True))


def configuration_schema_text(addon_name: str, version: str) -> str | None:
    schema = configuration_schema(addon_name, version)
    return None if schema is None else json.dumps(schema)
