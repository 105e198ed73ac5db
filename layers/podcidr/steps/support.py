"""What the cluster steps share: wait-loop counting, timing, selectors, Kubernetes object access."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from podcidr.errors import PodcidrError
from podcidr.models.migration import Migration, StepTiming

NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
"""The label EKS puts on every node of a managed nodegroup (its name)."""
UNFINISHED_PODS = "status.phase!=Succeeded,status.phase!=Failed"
"""Pods a drain still has to evict: not the finished pods of Jobs, which can outnumber them."""


def count_poll(polls: dict[str, int], key: str, ceiling: int, on_ceiling: Callable[[int], PodcidrError]) -> int:
    """Count one check of a wait loop; past `ceiling` checks, raise the step's error."""
    polls[key] = polls.get(key, 0) + 1
    if polls[key] > ceiling:
        raise on_ceiling(polls[key] - 1)
    return polls[key]


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@contextmanager
def timed(migration: Migration, step: str) -> Iterator[None]:
    """Record when `step` was first entered and last left (every invocation of a wait loop)."""
    started = now_iso()
    try:
        yield
    finally:
        previous = migration.timings.get(step)
        migration.timings[step] = StepTiming(
            started=previous.started if previous else started,
            finished=now_iso(),
            invocations=(previous.invocations + 1) if previous else 1,
        )


def selector_matches(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (as a dict: matchLabels, matchExpressions) against labels.
    An empty selector matches everything (PodDisruptionBudget semantics in policy/v1)."""
    if not selector:
        return True
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def in_cidr(ip: str | None, cidr: str) -> bool:
    if not ip:
        return False
    try:
        return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr)
    except ValueError:
        return False


def in_any_cidr(ip: str | None, cidrs: list[str]) -> bool:
    return any(in_cidr(ip, cidr) for cidr in cidrs)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_none(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_none(item) for item in value]
    return value


def plain(model: Any) -> dict[str, Any]:
    """A kubernetes client model (or dict) as the JSON the API serves: camelCase keys, unset fields absent."""
    if model is None:
        return {}
    data = model if isinstance(model, dict) else model.to_dict(serialize=True)
    result: dict[str, Any] = _without_none(data)
    return result


def items(listing: Any) -> list[dict[str, Any]]:
    """The items of a list response, each as plain JSON."""
    return [plain(item) for item in (getattr(listing, "items", None) or [])]


PAGE_SIZE = 500
"""Items per Kubernetes list request: a large cluster's pods come in pages, not one response."""


def all_items(list_call: Callable[..., Any], **selectors: Any) -> list[dict[str, Any]]:
    """Every item of a Kubernetes list as the API serves it (JSON, without managedFields), requested
    page by page (`limit`, then `continue`).

    Pages are read as raw JSON, not turned into client models: 2,000 pods as models cost several
    times their JSON in a function's memory. A continue token that has expired (410 Gone: the server
    compacted the version it pointed at) falls back to one list without paging, as client-go's pager
    does (FullListIfExpired)."""
    from kubernetes.client.exceptions import ApiException  # not at the top: support is for every step

    found: list[dict[str, Any]] = []
    token: str | None = None
    try:
        while True:
            page = _page(list_call, selectors, limit=PAGE_SIZE, token=token)
            found.extend(page["items"])
            token = page.get("metadata", {}).get("continue") or None
            if not token:
                return found
    except ApiException as error:
        if error.status != 410 or token is None:
            raise
    whole: list[dict[str, Any]] = _page(list_call, selectors, limit=None, token=None)["items"]
    return whole


def _page(list_call: Callable[..., Any], selectors: Mapping[str, Any], *, limit: int | None, token: str | None) -> Any:
    paging: dict[str, Any] = {"_preload_content": False}
    if limit:
        paging["limit"] = limit
    if token:
        paging["_continue"] = token
    response = list_call(**selectors, **paging)
    page = json.loads(response.data)
    items = []
    for item in page.get("items") or []:
        item.get("metadata", {}).pop("managedFields", None)
        items.append(_without_none(item))  # as plain() gives a model: unset fields absent, not null
    page["items"] = items
    return page


class _FromDict(Protocol):
    @classmethod
    def from_dict(cls, obj: dict[str, Any] | None) -> Any: ...


M = TypeVar("M", bound=_FromDict)


def as_model(cls: type[M], body: dict[str, Any]) -> M:
    """A request body as the client's model (what its typed methods take)."""
    model = cls.from_dict(body)
    if model is None:
        raise ValueError(f"empty {cls.__name__} body")
    result: M = model
    return result
