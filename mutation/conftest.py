"""Loaded only in .mutation/ (make mutate). mutmut 3.7's stats plugin reads `item._nodeid`, which pytest 9
no longer sets; mutmut 3.8 reads `nodeid` but needs a newer click than aws-sam-cli allows."""

from __future__ import annotations

from typing import Any


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if not hasattr(item, "_nodeid"):
            item._nodeid = item.nodeid
