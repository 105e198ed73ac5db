"""Kubernetes lists read page by page (limit/continue) as raw JSON, as a large cluster's must be."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from podcidr.steps import support
from podcidr.steps.support import all_items


class PagedList:
    """A list call over `names` answering raw JSON (`_preload_content=False`), `limit` items a call
    with a continue token, as the API server does; `expire` makes the token of that call number
    answer 410 Gone."""

    def __init__(self, names: list[str], expire: int | None = None) -> None:
        self.names, self.expire = names, expire
        self.calls: list[dict[str, Any]] = []

    def __call__(self, **kwargs: Any) -> Any:
        assert kwargs.pop("_preload_content") is False
        self.calls.append(kwargs)
        if self.expire is not None and len(self.calls) == self.expire:
            raise ApiException(status=410, reason="Gone: The provided continue parameter is too old")
        start = int(kwargs.get("_continue") or 0)
        end = start + kwargs["limit"] if kwargs.get("limit") else len(self.names)
        items = [
            {"metadata": {"name": name, "managedFields": [{"manager": "kubectl"}], "deletionTimestamp": None}}
            for name in self.names[start:end]
        ]
        metadata = {"continue": str(end)} if end < len(self.names) else {}
        return SimpleNamespace(data=json.dumps({"kind": "PodList", "metadata": metadata, "items": items}).encode())


def _names(found: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["name"] for item in found]


def test_every_page_is_read_with_the_selectors_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "PAGE_SIZE", 2)
    listing = PagedList([f"pod-{i}" for i in range(5)])
    found = all_items(listing, label_selector="a=b")
    assert _names(found) == [f"pod-{i}" for i in range(5)]
    assert found[0]["metadata"] == {"name": "pod-0"}  # no managedFields, no nulls
    assert [call.get("_continue") for call in listing.calls] == [None, "2", "4"]
    assert all(call["limit"] == 2 and call["label_selector"] == "a=b" for call in listing.calls)


def test_an_expired_continue_token_falls_back_to_one_whole_list(monkeypatch: pytest.MonkeyPatch) -> None:
    """client-go's pager (FullListIfExpired): nothing twice, nothing lost, no second token to expire."""
    monkeypatch.setattr(support, "PAGE_SIZE", 2)
    listing = PagedList([f"pod-{i}" for i in range(5)], expire=2)
    assert _names(all_items(listing, field_selector="status.phase=Running")) == [f"pod-{i}" for i in range(5)]
    assert [(call.get("_continue"), call.get("limit")) for call in listing.calls] == [
        (None, 2),
        ("2", 2),
        (None, None),
    ]
    assert listing.calls[-1]["field_selector"] == "status.phase=Running"


def test_a_410_on_the_first_page_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "PAGE_SIZE", 2)
    with pytest.raises(ApiException):
        all_items(PagedList(["a", "b", "c"], expire=1))
