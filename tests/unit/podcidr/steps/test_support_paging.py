"""Kubernetes lists read page by page (limit/continue), as a large cluster's must be."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from podcidr.steps import support
from podcidr.steps.support import all_items


class PagedList:
    """A list call over `names`, answering `limit` items per call with a continue token, as the API
    server does; `expire` makes the token of that call number answer 410 Gone once."""

    def __init__(self, names: list[str], expire: int | None = None) -> None:
        self.names, self.expire, self.calls = names, expire, []  # type: ignore[var-annotated]

    def __call__(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.expire is not None and len(self.calls) == self.expire:
            self.expire = None
            raise ApiException(status=410, reason="Gone: The provided continue parameter is too old")
        start = int(kwargs.get("_continue") or 0)
        end = start + kwargs["limit"]
        page = [{"metadata": {"name": name}} for name in self.names[start:end]]
        token = str(end) if end < len(self.names) else None
        return SimpleNamespace(items=page, metadata=SimpleNamespace(_continue=token))


def _names(found: list[dict[str, Any]]) -> list[str]:
    return [item["metadata"]["name"] for item in found]


def test_every_page_is_read_with_the_selectors_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "PAGE_SIZE", 2)
    listing = PagedList([f"pod-{i}" for i in range(5)])
    assert _names(all_items(listing, label_selector="a=b")) == [f"pod-{i}" for i in range(5)]
    assert [call.get("_continue") for call in listing.calls] == [None, "2", "4"]
    assert all(call["limit"] == 2 and call["label_selector"] == "a=b" for call in listing.calls)


def test_an_expired_continue_token_restarts_the_listing_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "PAGE_SIZE", 2)
    listing = PagedList([f"pod-{i}" for i in range(5)], expire=2)
    assert _names(all_items(listing)) == [f"pod-{i}" for i in range(5)]  # nothing twice, nothing lost
    assert [call.get("_continue") for call in listing.calls] == [None, "2", None, "2", "4"]


def test_a_410_on_the_first_page_or_twice_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "PAGE_SIZE", 2)
    with pytest.raises(ApiException):
        all_items(PagedList(["a", "b", "c"], expire=1))

    class AlwaysExpiring(PagedList):
        def __call__(self, **kwargs: Any) -> Any:
            if kwargs.get("_continue"):
                self.calls.append(kwargs)
                raise ApiException(status=410, reason="Gone")
            return super().__call__(**kwargs)

    with pytest.raises(ApiException):
        all_items(AlwaysExpiring(["a", "b", "c"]))
