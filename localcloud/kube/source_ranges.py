"""The API server's validation of a Service's load-balancer source ranges (Kubernetes
pkg/apis/core/validation ValidateService): `spec.loadBalancerSourceRanges`, or else the annotation
`service.beta.kubernetes.io/load-balancer-source-ranges` (a comma-separated list), only on a Service
of type LoadBalancer, every entry a CIDR (space-padding tolerated, host bits allowed: Go's
ParseCIDR). The field path keeps the API server's capitalisation (`spec.LoadBalancerSourceRanges`).
"""

from __future__ import annotations

import ipaddress
from typing import Any

SOURCE_RANGES_ANNOTATION = "service.beta.kubernetes.io/load-balancer-source-ranges"
_ONLY_LOAD_BALANCER = "Forbidden: may only be used when `type` is 'LoadBalancer'"


def _cidr_problem(value: str) -> str | None:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return f'Invalid value: "{value}": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'
    if "/" not in value:  # Go's ParseCIDR wants the prefix length; Python's takes a bare address
        return f'Invalid value: "{value}": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)'
    return None


def source_range_causes(service: dict[str, Any]) -> list[tuple[str, str]]:
    spec = service.get("spec") or {}
    load_balancer = spec.get("type") == "LoadBalancer"
    causes: list[tuple[str, str]] = []
    ranges = spec.get("loadBalancerSourceRanges") or []
    if ranges:
        path = "spec.LoadBalancerSourceRanges"
        if not load_balancer:
            causes.append((path, _ONLY_LOAD_BALANCER))
        for index, value in enumerate(ranges):
            problem = _cidr_problem(str(value).strip())
            if problem:
                causes.append((f"{path}[{index}]", problem))
        return causes
    annotations = (service.get("metadata") or {}).get("annotations") or {}
    if SOURCE_RANGES_ANNOTATION not in annotations:
        return causes
    path = f"metadata.annotations[{SOURCE_RANGES_ANNOTATION}]"
    if not load_balancer:
        causes.append((path, _ONLY_LOAD_BALANCER))
    value = str(annotations[SOURCE_RANGES_ANNOTATION]).strip()
    for entry in value.split(",") if value else []:
        problem = _cidr_problem(entry.strip())
        if problem:
            causes.append((path, problem))
    return causes


def source_ranges(service: dict[str, Any]) -> list[str]:
    """The ranges a load-balancer controller reads: the field, else the annotation's entries."""
    ranges = [str(r).strip() for r in (service.get("spec") or {}).get("loadBalancerSourceRanges") or []]
    if ranges:
        return ranges
    raw = ((service.get("metadata") or {}).get("annotations") or {}).get(SOURCE_RANGES_ANNOTATION, "")
    return [part.strip() for part in str(raw).split(",") if part.strip()]
