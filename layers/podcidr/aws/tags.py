"""Tags podcidr may put on what it creates."""

from __future__ import annotations

RESERVED_PREFIX = "aws:"


def creatable_tags(tags: dict[str, str]) -> dict[str, str]:
    """`tags` without the keys AWS reserves (`aws:`, e.g. CloudFormation's `aws:cloudformation:*` on
    resources eksctl or CDK made): a create request carrying one is refused (AWS-FACTS section 7)."""
    return {key: value for key, value in tags.items() if not key.lower().startswith(RESERVED_PREFIX)}
