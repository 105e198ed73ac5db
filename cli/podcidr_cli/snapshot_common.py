"""What the snapshot's modules share: what the file calls the account's resources (their own names,
or under `--anonymize` pseudonyms numbered in a stable order), tags, paginated reads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class SnapshotError(Exception):
    """The cluster or its VPC cannot be read into a scenario; the message says what to do."""


@dataclass
class Names:
    """What the file calls each resource: its own name (Name tag, else ID), or under `anonymize`
    a pseudonym `<kind>-<n>`, the same for the same original."""

    anonymize: bool
    _given: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def name(self, kind: str, original: str) -> str:
        if not self.anonymize:
            return original
        key = (kind, original)
        if key not in self._given:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self._given[key] = f"{kind}-{self._counts[kind]}"
        return self._given[key]


def tag(resource: dict[str, Any], key: str) -> str | None:
    for item in resource.get("Tags") or []:
        if item.get("Key") == key:
            return str(item.get("Value"))
    return None


def tag_map(resource: dict[str, Any]) -> dict[str, str]:
    return {str(t["Key"]): str(t.get("Value", "")) for t in resource.get("Tags") or []}


def paginate(client: Any, operation: str, key: str, **request: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**request):
        items.extend(page.get(key) or [])
    return items
