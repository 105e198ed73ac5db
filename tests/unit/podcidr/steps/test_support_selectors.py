"""A PodDisruptionBudget's label selector (metav1.LabelSelector) against a pod's labels, as the API server
matches it: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) all hold."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.steps.support import selector_matches

LABELS = {"app": "db", "tier": "backend"}


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        (None, True),  # policy/v1: an empty selector selects every pod (a null one is handled by the caller)
        ({}, True),
        ({"matchLabels": {"app": "db"}}, True),
        ({"matchLabels": {"app": "db", "tier": "frontend"}}, False),
        ({"matchLabels": {"zone": "a"}}, False),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["db", "cache"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In", "values": ["cache"]}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["cache"]}]}, True),
        ({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "NotIn", "values": ["a"]}]}, True),  # absent: not in
        ({"matchExpressions": [{"key": "tier", "operator": "Exists"}]}, True),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]}, False),
        (
            {
                "matchLabels": {"app": "db"},
                "matchExpressions": [
                    {"key": "tier", "operator": "In", "values": ["backend"]},
                    {"key": "zone", "operator": "DoesNotExist"},
                ],
            },
            True,
        ),
        (
            {
                "matchLabels": {"app": "db"},
                "matchExpressions": [
                    {"key": "tier", "operator": "Exists"},
                    {"key": "app", "operator": "NotIn", "values": ["db"]},
                ],
            },
            False,  # every requirement must hold, not just one
        ),
        ({"matchLabels": None, "matchExpressions": None}, True),
        ({"matchExpressions": [{"key": "app", "operator": "In"}]}, False),  # no values: nothing is in
    ],
)
def test_a_selector_matches_when_every_requirement_holds(selector: dict[str, Any] | None, matches: bool) -> None:
    assert selector_matches(selector, LABELS) is matches
