"""The cluster's state: a thread-safe in-memory object store with the API server's semantics.

Objects are JSON dicts keyed by resource, namespace and name. Every write gets the next global
`resourceVersion`; `uid`, `creationTimestamp` and `generation` (bumped when anything but metadata
and status changes) are kept as the API server keeps them. Writes are defaulted and validated
(defaults.py), stale writes are refused with 409 Conflict, no-op writes change nothing (no new
resourceVersion, no event), finalizers hold a deletion until they are removed, owner references
cascade deletions (background, or orphan on request), deleting a namespace deletes its content,
and creating or deleting a CustomResourceDefinition starts or stops serving its resources.

The HTTP layer (http.py) serves it; simulated controllers use the same Python API directly
(no HTTP, no authentication, no ledger, no faults):

    store.create("v1/nodes", node, with_status=True)
    store.get("apps/v1/daemonsets", "aws-node", namespace="kube-system")
    store.list("v1/pods", field_selector="spec.nodeName=ip-10-0-1-1.ec2.internal")
    store.patch("v1/pods", name, {"status": {...}}, namespace=ns, subresource="status")
    store.mutate("v1/nodes", name, lambda node: node["spec"].update(unschedulable=True))
    unsubscribe = store.subscribe(callback, resource="v1/pods")
    for event in store.watch("v1/pods", namespace="default", timeout_seconds=5): ...

Resources are named by key (`v1/pods`, `apps/v1/deployments`,
`crd.k8s.amazonaws.com/v1alpha1/eniconfigs`) or by `ResourceType`. Every method returns deep
copies; mutating them changes nothing until written back. Errors are `ApiError`s (404, 409, 422, ...).
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import datetime
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from localcloud.kube import defaults, disruption, fields
from localcloud.kube import patch as patches
from localcloud.kube.errors import STALE, ApiError, already_exists, bad_request, conflict, invalid, not_found
from localcloud.kube.labels import label_causes
from localcloud.kube.resources import CRDS, NAMESPACES, ResourceRegistry, ResourceType
from localcloud.kube.selectors import (
    FieldSelector,
    LabelSelector,
    fields_match,
    from_label_selector,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ResourceRef = ResourceType | str
PatchType = Literal["strategic", "merge", "json", "apply"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
PROTECTED_NAMESPACES = frozenset({"default", "kube-system", "kube-public"})


@dataclass(frozen=True)
class ListPage:
    items: list[Obj]
    resource_version: str
    last_key: tuple[str, str] | None  # (namespace, name) of the page's last item: the continue key
    remaining: int  # matching objects after this page


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    resource: ResourceType
    object: Obj
    """The object after the change (for DELETED: its last state, with the deletion's resourceVersion)."""
    old: Obj | None = field(default=None, compare=False)
    """The object before the change (MODIFIED, DELETED)."""
    resource_version: int = 0


Subscriber = Callable[[WatchEvent], None]


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _storage_key(resource: ResourceType) -> tuple[str, str]:
    return (resource.group, resource.plural)


class ObjectStore:
    """See the module docstring. Thread-safe; subscribers are called in resourceVersion order,
    after the change is committed, outside the store's lock (they may write to the store)."""

    def __init__(
        self,
        registry: ResourceRegistry | None = None,
        *,
        service_cidr: str = "10.100.0.0/16",
        event_history: int = 20000,
        bookmark_frequency: float = 60.0,
    ) -> None:
        self.registry = registry or ResourceRegistry()
        self.bookmark_frequency = bookmark_frequency
        """Seconds between a watch's BOOKMARK events when it allows them (the API server's cache: 1 min)."""
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._objects: dict[tuple[str, str], dict[tuple[str, str], Obj]] = {}
        self._rv = 0
        self._events: list[WatchEvent] = []
        self._event_history = event_history
        self._dropped_until = 0  # events with rv <= this are no longer in the log
        self._subscribers: list[tuple[Subscriber, tuple[str, str] | None]] = []
        self._pending: list[WatchEvent] = []
        self._dispatch_lock = threading.RLock()
        self._dispatching = threading.local()
        self._field_validation = threading.local()
        self.cluster_ips = defaults.ClusterIPs(service_cidr)
        self._defaulters = defaults.defaulters(self.cluster_ips)
        self.admission: builtins.list[Callable[[ResourceType, Obj], None]] = []
        """Mutating admission webhooks: each may change a new object in place before it is stored."""

    # resources ---------------------------------------------------------------------------------
    def resource(self, ref: ResourceRef) -> ResourceType:
        """The ResourceType of a key; 404 NotFound if it is not served (a CR without its CRD)."""
        try:
            return self.registry.resolve(ref)
        except KeyError:
            raise ApiError(404, "NotFound", "the server could not find the requested resource") from None

    @property
    def resource_version(self) -> str:
        with self._lock:
            return str(self._rv)

    # reads --------------------------------------------------------------------------------------
    def get(self, ref: ResourceRef, name: str, *, namespace: str | None = None) -> Obj:
        resource = self.resource(ref)
        with self._lock:
            return self._out(resource, self._require(resource, namespace, name))

    def find(self, ref: ResourceRef, name: str, *, namespace: str | None = None) -> Obj | None:
        """Like get, None when absent."""
        try:
            return self.get(ref, name, namespace=namespace)
        except ApiError as err:
            if err.code == 404:
                return None
            raise

    def list(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        where: Callable[[Obj], bool] | None = None,
    ) -> list[Obj]:
        """Copies of the matching objects. `where` filters in process before anything is copied (what
        an informer's indexer gives a controller); it must not change the object it is shown."""
        return self.list_with_version(
            ref, namespace=namespace, label_selector=label_selector, field_selector=field_selector, where=where
        )[0]

    def peek(self, ref: ResourceRef, *, where: Callable[[Obj], bool] | None = None) -> builtins.list[Obj]:
        """The stored objects themselves, not copies, for a controller's read-only pass over many of
        them (2,000 pods a reconcile). Safe because a write commits a new object and never changes a
        stored one; the caller must not change what it is shown (changes go through `mutate`)."""
        resource = self.resource(ref)
        with self._lock:
            bucket = self._objects.get(_storage_key(resource), {})
            return [obj for _, obj in sorted(bucket.items()) if where is None or where(obj)]

    def list_with_version(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        where: Callable[[Obj], bool] | None = None,
    ) -> tuple[builtins.list[Obj], str]:
        """Matching objects sorted by namespace and name, and the list's resourceVersion."""
        page = self.list_page(
            ref, namespace=namespace, label_selector=label_selector, field_selector=field_selector, where=where
        )
        return page.items, page.resource_version

    def compacted(self, resource_version: int) -> bool:
        """Whether the changes since `resource_version` are no longer all kept (a list continued from
        it cannot be consistent; a watch from it is 410 Gone)."""
        with self._lock:
            return resource_version < self._dropped_until

    def list_page(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        where: Callable[[Obj], bool] | None = None,
        after: tuple[str, str] | None = None,
        limit: int | None = None,
    ) -> ListPage:
        """One page of the matching objects sorted by namespace and name: those after the key
        `after`, at most `limit` of them. Only the page is copied, so paging through 2,000 pods
        costs what one list of them does, as on the API server."""
        resource = self.resource(ref)
        labels = self._labels(label_selector)
        fields = self._fields(field_selector, resource)
        with self._lock:
            bucket = self._objects.get(_storage_key(resource), {})
            matching = [
                (key, obj)
                for key, obj in sorted(bucket.items())
                if (namespace is None or key[0] == namespace)
                and (after is None or key > after)
                and labels_match(labels, obj["metadata"].get("labels"))
                and fields_match(fields, obj)
                and (where is None or where(obj))
            ]
            shown = matching if not limit or limit <= 0 else matching[:limit]
            return ListPage(
                items=[self._out(resource, obj) for _, obj in shown],
                resource_version=str(self._rv),
                last_key=shown[-1][0] if shown else None,
                remaining=len(matching) - len(shown),
            )

    # writes -------------------------------------------------------------------------------------
    def create(
        self,
        ref: ResourceRef,
        obj: Obj,
        *,
        namespace: str | None = None,
        dry_run: bool = False,
        with_status: bool = False,
        field_validation: str | None = None,
        warnings: builtins.list[str] | None = None,
    ) -> Obj:
        """Create; `with_status` keeps the given status (controllers registering a Node, a Pod
        already Running); the HTTP API always resets status on create, as the API server does.
        `field_validation` (Ignore, Warn, Strict: an API request's) drops a built-in kind's unknown
        fields, adding their paths to `warnings` (Warn) or refusing them (Strict); None (the twin's
        own controllers, which write typed objects) leaves the object as given."""
        resource = self.resource(ref)
        with self._lock, self._validating(field_validation, warnings):
            out = self._create(resource, obj, namespace, dry_run=dry_run, with_status=with_status)
        self._dispatch()
        return out

    def update(
        self,
        ref: ResourceRef,
        obj: Obj,
        *,
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
        field_validation: str | None = None,
        warnings: builtins.list[str] | None = None,
    ) -> Obj:
        """Replace (PUT). A stale metadata.resourceVersion is a 409 Conflict; none means unconditional.
        `subresource="status"` changes only status; otherwise status is kept for kinds with a status
        subresource. `field_validation` and `warnings` as for `create`."""
        resource = self.resource(ref)
        with self._lock, self._validating(field_validation, warnings):
            out = self._update(resource, copy.deepcopy(obj), namespace, subresource, dry_run=dry_run)
        self._dispatch()
        return out

    def patch(
        self,
        ref: ResourceRef,
        name: str,
        body: Any,
        *,
        patch_type: PatchType = "merge",
        namespace: str | None = None,
        subresource: str | None = None,
        dry_run: bool = False,
        field_manager: str | None = None,
        force: bool = False,
        field_validation: str | None = None,
        warnings: builtins.list[str] | None = None,
    ) -> Obj:
        """Patch: `strategic` (built-in kinds only, else 415), `merge` (RFC 7386), `json` (RFC 6902),
        `apply` (minimal server-side apply: create if absent, else a strategic/merge patch of the
        applied configuration; no field ownership, so no apply conflicts). The patched object's
        unknown fields: `field_validation` and `warnings` as for `create`."""
        resource = self.resource(ref)
        with self._lock, self._validating(field_validation, warnings):
            out = self._patch(resource, name, body, patch_type, namespace, subresource, dry_run, field_manager)
        self._dispatch()
        return out

    def mutate(
        self,
        ref: ResourceRef,
        name: str,
        change: Callable[[Obj], Obj | None],
        *,
        namespace: str | None = None,
        subresource: str | None = None,
    ) -> Obj:
        """Read-modify-write under the store's lock (never a Conflict): `change` edits the object in
        place (or returns a replacement). For controllers."""
        resource = self.resource(ref)
        with self._lock:
            current = self._out(resource, self._require(resource, namespace, name))
            result = change(current)
            new = result if result is not None else current
            out = self._update(resource, new, namespace, subresource, dry_run=False)
        self._dispatch()
        return out

    def delete(
        self,
        ref: ResourceRef,
        name: str,
        *,
        namespace: str | None = None,
        propagation_policy: str | None = None,
        preconditions: Obj | None = None,
        dry_run: bool = False,
    ) -> tuple[Obj, bool]:
        """Delete; returns the object (its last state, or marked with deletionTimestamp) and whether
        it is gone now (False while finalizers hold it)."""
        resource = self.resource(ref)
        with self._lock:
            out = self._delete(resource, namespace, name, propagation_policy, preconditions, dry_run)
        self._dispatch()
        return out

    def delete_collection(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        dry_run: bool = False,
    ) -> builtins.list[Obj]:
        resource = self.resource(ref)
        items = self.list(resource, namespace=namespace, label_selector=label_selector, field_selector=field_selector)
        deleted = []
        with self._lock:
            for item in items:
                meta = item["metadata"]
                try:
                    deleted.append(
                        self._delete(resource, meta.get("namespace"), meta["name"], propagation_policy, None, dry_run)[
                            0
                        ]
                    )
                except ApiError as err:
                    if err.code != 404:
                        raise
        self._dispatch()
        return deleted

    def evict(self, namespace: str, name: str, *, dry_run: bool = False) -> Obj:
        """The pods/eviction subresource (localcloud/kube/disruption.py): 429 TooManyRequests when a
        PodDisruptionBudget forbids it, else a graceful deletion of the pod (`terminate`)."""
        pods = self.resource("v1/pods")
        with self._lock:
            pod = self._require(pods, namespace, name)
            in_namespace = [p for (ns, _), p in self._bucket(pods).items() if ns == namespace]
            budgets = self._objects.get(("policy", "poddisruptionbudgets"), {}).values()
            disruption.check_eviction(
                pod, [b for b in budgets if b["metadata"].get("namespace") == namespace], in_namespace, self._controller
            )
            out = self._terminate(pods, pod, dry_run)
        self._dispatch()
        return out

    def finish_termination(self, namespace: str, name: str) -> bool:
        """The kubelet's last word on a terminating pod (a delete with grace period 0): removed unless
        finalizers hold it. Returns whether it is gone."""
        pods = self.resource("v1/pods")
        with self._lock:
            pod = self._bucket(pods).get((namespace, name))
            if pod is None:
                return True
            if not pod["metadata"].get("deletionTimestamp"):
                return False
            if pod["metadata"].get("finalizers") and pod["metadata"].get("deletionGracePeriodSeconds") == 0:
                return False  # done on the kubelet's side already; the finalizers hold it
            done = copy.deepcopy(pod)
            done["metadata"]["deletionGracePeriodSeconds"] = 0
            if done["metadata"].get("finalizers"):
                self._commit(pods, "MODIFIED", done, copy.deepcopy(pod))
                gone = False
            else:
                self._remove(pods, done, None)
                gone = True
        self._dispatch()
        return gone

    def pdb_status(self, namespace: str, name: str) -> Obj:
        """What the disruption controller would write in a PDB's status (for controllers)."""
        with self._lock:
            pdb = self._require(self.resource("policy/v1/poddisruptionbudgets"), namespace, name)
            pods = [p for (ns, _), p in self._bucket(self.resource("v1/pods")).items() if ns == namespace]
            numbers = disruption.budget(pdb, pods, self._controller)
            return {
                "currentHealthy": numbers.current_healthy,
                "desiredHealthy": numbers.desired_healthy,
                "expectedPods": numbers.expected_pods,
                "disruptionsAllowed": numbers.disruptions_allowed,
                "observedGeneration": pdb["metadata"].get("generation", 1),
            }

    # scale subresource ----------------------------------------------------------------------------
    def get_scale(self, ref: ResourceRef, name: str, *, namespace: str | None = None) -> Obj:
        resource = self.resource(ref)
        with self._lock:
            return _scale(resource, self._require(resource, namespace, name))

    def update_scale(
        self, ref: ResourceRef, name: str, scale: Obj, *, namespace: str | None = None, dry_run: bool = False
    ) -> Obj:
        resource = self.resource(ref)
        with self._lock:
            current = self._out(resource, self._require(resource, namespace, name))
            rv = (scale.get("metadata") or {}).get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:
                raise conflict(resource.plural, resource.group, name, STALE)
            replicas = (scale.get("spec") or {}).get("replicas")
            if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
                raise invalid("Scale", "autoscaling", name, [("spec.replicas", "Invalid value: must be >= 0")])
            current["spec"]["replicas"] = replicas
            current["metadata"].pop("resourceVersion", None)
            out = self._update(resource, current, namespace, None, dry_run=dry_run)
        self._dispatch()
        return _scale(resource, out)

    # watch and subscriptions ----------------------------------------------------------------------
    def subscribe(self, callback: Subscriber, *, resource: ResourceRef | None = None) -> Callable[[], None]:
        """Call `callback(event)` after every change (of `resource`, or of everything). Returns the
        function that unsubscribes."""
        key = _storage_key(self.resource(resource)) if resource is not None else None
        entry = (callback, key)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def watch(
        self,
        ref: ResourceRef,
        *,
        namespace: str | None = None,
        label_selector: str | LabelSelector | None = None,
        field_selector: str | FieldSelector | None = None,
        resource_version: str | None = None,
        timeout_seconds: float | None = None,
        stop: threading.Event | None = None,
        bookmarks: bool = False,
    ) -> Iterator[WatchEvent]:
        """Events after `resource_version` (410 Gone if it is older than the history kept); without
        one (or "0"), first an ADDED event per existing object. Objects that start or stop matching
        the selectors arrive as ADDED / DELETED, as the API server's watch cache sends them. Ends
        after `timeout_seconds` or when `stop` is set. With `bookmarks` (allowWatchBookmarks), a
        BOOKMARK carrying only the resourceVersion reached comes every `bookmark_frequency` seconds,
        and 2 s before the timeout, as the API server's watch cache sends them."""
        resource = self.resource(ref)
        labels = self._labels(label_selector)
        fields = self._fields(field_selector, resource)
        key = _storage_key(resource)
        deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
        initial: list[WatchEvent] = []
        with self._lock:
            if resource_version in (None, "", "0"):
                cursor = self._rv
                for (ns, _), obj in sorted(self._objects.get(key, {}).items()):
                    if (namespace is None or ns == namespace) and self._matches(obj, labels, fields):
                        initial.append(WatchEvent("ADDED", resource, self._out(resource, obj), None, cursor))
            else:
                try:
                    cursor = int(resource_version)
                except ValueError:
                    raise bad_request(f"invalid resource version: {resource_version}") from None
                if cursor < self._dropped_until:
                    raise ApiError(410, "Expired", f"too old resource version: {cursor} ({self._dropped_until + 1})")
        yield from initial
        next_bookmark = self._next_bookmark(time.monotonic(), deadline) if bookmarks else None
        while True:
            batch: list[WatchEvent] = []
            with self._lock:
                while not (self._rv > cursor or (stop is not None and stop.is_set())):
                    now = time.monotonic()
                    remaining = None if deadline is None else deadline - now
                    if remaining is not None and remaining <= 0:
                        return
                    if next_bookmark is not None and now >= next_bookmark:
                        break
                    wait = 0.5 if remaining is None else min(remaining, 0.5)
                    if next_bookmark is not None:
                        wait = min(wait, max(next_bookmark - now, 0.0))
                    self._changed.wait(timeout=wait)
                if stop is not None and stop.is_set():
                    return
                if self._rv <= cursor:  # nothing new: the bookmark is due
                    marker: Obj = {"kind": resource.kind, "apiVersion": resource.api_version}
                    marker["metadata"] = {"resourceVersion": str(cursor)}
                    batch.append(WatchEvent("BOOKMARK", resource, marker, None, cursor))
                    next_bookmark = self._next_bookmark(time.monotonic(), deadline)
                else:
                    batch = self._since(cursor, resource, key, namespace, labels, fields)
                    cursor = self._rv
            yield from batch

    def _since(
        self,
        cursor: int,
        resource: ResourceType,
        key: tuple[str, str],
        namespace: str | None,
        labels: LabelSelector,
        fields: FieldSelector,
    ) -> builtins.list[WatchEvent]:
        """The watch events after `cursor` for one watcher (called with the lock held)."""
        if cursor < self._dropped_until:
            raise ApiError(410, "Expired", f"too old resource version: {cursor} ({self._dropped_until + 1})")
        batch: builtins.list[WatchEvent] = []
        for event in self._events[cursor - self._dropped_until :]:
            if _storage_key(event.resource) != key:
                continue
            ns = event.object["metadata"].get("namespace", "")
            if namespace is not None and ns != namespace:
                continue
            now_match = self._matches(event.object, labels, fields)
            was_match = event.old is not None and self._matches(event.old, labels, fields)
            obj = self._relabel(resource, event.object)
            if event.type == "MODIFIED" and now_match and not was_match:
                batch.append(WatchEvent("ADDED", resource, obj, None, event.resource_version))
            elif event.type == "MODIFIED" and was_match and not now_match:
                batch.append(WatchEvent("DELETED", resource, obj, None, event.resource_version))
            elif now_match:
                batch.append(WatchEvent(event.type, resource, obj, None, event.resource_version))
        return batch

    # internals ----------------------------------------------------------------------------------
    def _next_bookmark(self, now: float, deadline: float | None) -> float | None:
        due = now + self.bookmark_frequency
        if deadline is not None:
            due = min(due, deadline - 2)
        return due if due >= now else None

    def _labels(self, selector: str | LabelSelector | None) -> LabelSelector:
        if selector is None or isinstance(selector, tuple):
            return selector or ()
        return parse_label_selector(selector)

    def _fields(self, selector: str | FieldSelector | None, resource: ResourceType) -> FieldSelector:
        if selector is None or isinstance(selector, tuple):
            return selector or ()
        return parse_field_selector(selector, resource.key if resource.builtin else "")

    @staticmethod
    def _matches(obj: Obj, labels: LabelSelector, fields: FieldSelector) -> bool:
        return labels_match(labels, obj["metadata"].get("labels")) and fields_match(fields, obj)

    def _relabel(self, resource: ResourceType, obj: Obj) -> Obj:
        out = copy.deepcopy(obj)
        out["apiVersion"] = resource.api_version
        return out

    def _out(self, resource: ResourceType, obj: Obj) -> Obj:
        out = copy.deepcopy(obj)
        out["apiVersion"] = resource.api_version
        out["kind"] = resource.kind
        return out

    def _bucket(self, resource: ResourceType) -> dict[tuple[str, str], Obj]:
        return self._objects.setdefault(_storage_key(resource), {})

    def _ns(self, resource: ResourceType, namespace: str | None) -> str:
        if not resource.namespaced:
            return ""
        if not namespace:
            raise bad_request(f"a namespace is required for {resource.qualified}")
        return namespace

    def _require(self, resource: ResourceType, namespace: str | None, name: str) -> Obj:
        obj = self._bucket(resource).get((self._ns(resource, namespace), name))
        if obj is None:
            raise not_found(resource.plural, resource.group, name)
        return obj

    def _commit(self, resource: ResourceType, event_type: EventType, obj: Obj, old: Obj | None) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if event_type == "DELETED":
            self._bucket(resource).pop(key, None)
        else:
            self._bucket(resource)[key] = obj
        event = WatchEvent(event_type, resource, self._out(resource, obj), old, self._rv)
        self._events.append(event)
        if len(self._events) > self._event_history:
            drop = len(self._events) - self._event_history
            del self._events[:drop]
            self._dropped_until += drop
        self._pending.append(event)
        self._changed.notify_all()
        return obj

    def _dispatch(self) -> None:
        if getattr(self._dispatching, "active", False):
            return  # a subscriber wrote: the outer loop delivers its events next, in order
        with self._dispatch_lock:
            self._dispatching.active = True
            try:
                while True:
                    with self._lock:
                        if not self._pending:
                            return
                        event = self._pending.pop(0)
                        subscribers = list(self._subscribers)
                    for callback, key in subscribers:
                        if key is None or key == _storage_key(event.resource):
                            try:
                                callback(event)
                            except Exception:  # a subscriber's bug must not break the API
                                log.exception("store subscriber failed on %s", event.type)
            finally:
                self._dispatching.active = False

    def _check_namespace(self, resource: ResourceType, namespace: str, name: str) -> None:
        if not resource.namespaced:
            return
        ns = self._bucket(NAMESPACES).get(("", namespace))
        if ns is None:
            raise not_found("namespaces", "", namespace)
        if ns["metadata"].get("deletionTimestamp"):
            raise ApiError(
                403,
                "Forbidden",
                f'{resource.qualified} "{name}" is forbidden: unable to create new content in namespace '
                f"{namespace} because it is being terminated",
                details={
                    "name": name,
                    "kind": resource.plural,
                    "causes": [
                        {
                            "reason": "NamespaceTerminating",
                            "message": f"namespace {namespace} is being terminated",
                            "field": "metadata.namespace",
                        }
                    ],
                },
            )

    @contextlib.contextmanager
    def _validating(self, directive: str | None, warnings: builtins.list[str] | None) -> Iterator[None]:
        """The field validation of the write this thread is making (under the lock; the events it
        dispatches afterwards, and the controllers' writes they cause, are outside it)."""
        self._field_validation.directive = directive
        self._field_validation.warnings = warnings if warnings is not None else []
        try:
            yield
        finally:
            self._field_validation.directive = None

    def _drop_unknown_fields(self, resource: ResourceType, obj: Obj) -> None:
        """A built-in kind's fields by the client's schema; a custom resource's by its CRD's
        structural schema (pruned, and its types checked, even for the twin's own writes)."""
        directive = getattr(self._field_validation, "directive", None)
        if resource.builtin and directive is None:
            return
        unknown = (
            fields.prune_unknown(resource, obj) if resource.builtin else defaults.prune_and_validate(resource, obj)
        )
        if directive is None:
            return
        if unknown and directive == "Strict":
            raise fields.strict_error(resource, unknown)
        if directive == "Warn":
            self._field_validation.warnings.extend(unknown)

    def _prepare(self, resource: ResourceType, obj: Obj, old: Obj | None) -> None:
        """Default and validate `obj` in place (422 on invalid)."""
        self._drop_unknown_fields(resource, obj)
        name = obj["metadata"]["name"]
        for key in ("labels", "annotations"):
            values = obj["metadata"].get(key)
            if values is not None and (
                not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())
            ):
                raise invalid(
                    resource.kind, resource.group, name, [(f"metadata.{key}", "Invalid value: values must be strings")]
                )
        bad_labels = label_causes(obj["metadata"].get("labels") or {})
        if bad_labels:
            raise invalid(resource.kind, resource.group, name, bad_labels)
        if resource.builtin and resource.has_status:
            obj.setdefault("status", {})  # Go structs serialise an empty status as {}
        defaulter = self._defaulters.get(resource.key)
        if defaulter is not None:
            defaults.raise_if(resource, name, defaulter(obj, old))

    def _create(
        self, resource: ResourceType, body: Obj, namespace: str | None, *, dry_run: bool, with_status: bool
    ) -> Obj:
        if not isinstance(body, dict):
            raise bad_request("the body of the request must be a JSON object")
        obj = copy.deepcopy(body)
        self._check_type(resource, obj)
        meta = obj.get("metadata")
        if meta is None:
            meta = obj["metadata"] = {}
        if not isinstance(meta, dict):
            raise bad_request("metadata must be an object")
        if resource.namespaced:
            given = meta.get("namespace")
            if namespace and given and given != namespace:
                raise bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = self._ns(resource, namespace or given)
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = meta["generateName"] + "".join(random.choices(_NAME_CHARS, k=5))
            else:
                raise invalid(
                    resource.kind,
                    resource.group,
                    "",
                    [("metadata.name", "Required value: name or generateName is required")],
                )
        name = meta["name"]
        defaults.validate_name(resource, name)
        self._check_namespace(resource, meta.get("namespace", ""), name)
        if (meta.get("namespace", ""), name) in self._bucket(resource):
            raise already_exists(resource.plural, resource.group, name)
        for system in (
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ):
            meta.pop(system, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if resource.has_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if resource.has_status and not with_status:
            obj.pop("status", None)
        for webhook in self.admission:
            webhook(resource, obj)
        self._prepare(resource, obj, None)
        if dry_run:
            return self._out(resource, obj)
        self._commit(resource, "ADDED", obj, None)
        if resource == NAMESPACES:
            self._create_default_service_account(name)
        elif resource == CRDS:
            self._crd_status(obj)
            self.registry.install_crd(obj)
        return self._out(resource, obj)

    def _create_default_service_account(self, namespace: str) -> None:
        sa = self.resource("v1/serviceaccounts")
        if ("default" if False else (namespace, "default")) not in self._bucket(sa):
            self._create(
                sa,
                {"metadata": {"name": "default", "namespace": namespace}},
                namespace,
                dry_run=False,
                with_status=False,
            )

    def _crd_status(self, crd: Obj) -> None:
        now = now_rfc3339()
        crd.setdefault("status", {})["conditions"] = [
            {
                "type": "NamesAccepted",
                "status": "True",
                "reason": "NoConflicts",
                "message": "no conflicts found",
                "lastTransitionTime": now,
            },
            {
                "type": "Established",
                "status": "True",
                "reason": "InitialNamesAccepted",
                "message": "the initial names have been accepted",
                "lastTransitionTime": now,
            },
        ]

    def _check_type(self, resource: ResourceType, obj: Obj) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != resource.kind:
            raise bad_request(f"the kind in the body ({kind}) does not match the expected kind ({resource.kind})")
        if (
            api_version
            and api_version != resource.api_version
            and not (api_version.partition("/")[0] == resource.group and not resource.builtin)
        ):
            raise bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({resource.api_version})"
            )
        obj["apiVersion"] = resource.api_version
        obj["kind"] = resource.kind

    def _update(
        self, resource: ResourceType, obj: Obj, namespace: str | None, subresource: str | None, *, dry_run: bool
    ) -> Obj:
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
            raise bad_request("the body of the request must be an object with metadata")
        self._check_type(resource, obj)
        meta = obj["metadata"]
        name = meta.get("name")
        if not name:
            raise invalid(resource.kind, resource.group, "", [("metadata.name", "Required value: name is required")])
        ns = self._ns(resource, namespace or meta.get("namespace"))
        if resource.namespaced and meta.get("namespace") not in (None, "", ns):
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        existing = self._require(resource, ns, name)
        rv = meta.get("resourceVersion")
        if rv not in (None, "") and rv != existing["metadata"]["resourceVersion"]:
            raise conflict(resource.plural, resource.group, name, STALE)
        old = existing
        if subresource == "status":
            if not resource.has_status:
                raise not_found(resource.plural, resource.group, name)
            new = copy.deepcopy(old)
            if "status" in obj:
                new["status"] = obj["status"]
            else:
                new.pop("status", None)
        else:
            new = obj
            if resource.has_status:
                if "status" in old:
                    new["status"] = copy.deepcopy(old["status"])
                else:
                    new.pop("status", None)
            new_meta = new["metadata"]
            for system in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
                if system in old["metadata"]:
                    new_meta[system] = old["metadata"][system]
                else:
                    new_meta.pop(system, None)
            if resource.namespaced:
                new_meta["namespace"] = ns
            new_meta.pop("selfLink", None)
            new_meta.pop("managedFields", None)
            if old["metadata"].get("deletionTimestamp") and set(new_meta.get("finalizers") or []) - set(
                old["metadata"].get("finalizers") or []
            ):
                raise invalid(
                    resource.kind,
                    resource.group,
                    name,
                    [
                        (
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added if the object is being deleted",
                        )
                    ],
                )
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        self._prepare(resource, new, old)
        defaults.check_immutable(resource, new, old)
        if resource.has_generation and _spec_changed(resource, old, new):
            new["metadata"]["generation"] = old["metadata"].get("generation", 1) + 1
        if new == old:
            return self._out(resource, old)  # a no-op write: no new resourceVersion, no event
        if dry_run:
            return self._out(resource, new)
        if (
            new["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
            and not new["metadata"].get("deletionGracePeriodSeconds")  # a terminating pod waits for its kubelet
        ):
            self._remove(resource, new, None)
            return self._out(resource, new)
        self._commit(resource, "MODIFIED", new, copy.deepcopy(old))
        if resource == CRDS:
            self.registry.install_crd(new)
        return self._out(resource, new)

    def _patch(
        self,
        resource: ResourceType,
        name: str,
        body: Any,
        patch_type: PatchType,
        namespace: str | None,
        subresource: str | None,
        dry_run: bool,
        field_manager: str | None,
    ) -> Obj:
        ns = self._ns(resource, namespace)
        existing = self._bucket(resource).get((ns, name))
        if patch_type == "apply":
            if not field_manager:
                raise invalid(
                    "PatchOptions", "meta.k8s.io", "", [("fieldManager", "Required value: is required for apply patch")]
                )
            if not isinstance(body, dict):
                raise bad_request("apply patch must be an object")
            if existing is None:
                if subresource is not None:
                    raise not_found(resource.plural, resource.group, name)
                applied = copy.deepcopy(body)
                applied.setdefault("metadata", {})["name"] = name
                return self._create(resource, applied, ns or None, dry_run=dry_run, with_status=False)
        if existing is None:
            raise not_found(resource.plural, resource.group, name)
        current = self._out(resource, existing)
        if patch_type == "strategic":
            if not resource.builtin:
                raise ApiError(
                    415,
                    "UnsupportedMediaType",
                    "the body of the request was in an unknown format - accepted media types include: "
                    "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                )
            patched = patches.strategic_merge_patch(current, body, patches.schema_for(resource.key))
        elif patch_type == "merge":
            if not isinstance(body, dict):
                raise bad_request("merge patch must be a JSON object")
            patched = patches.json_merge_patch(current, body)
        elif patch_type == "json":
            patched = patches.json_patch(current, body)
        elif patch_type == "apply":
            applied = {k: v for k, v in body.items() if k not in ("apiVersion", "kind")}
            if resource.builtin:
                patched = patches.strategic_merge_patch(current, applied, patches.schema_for(resource.key))
            else:
                patched = patches.json_merge_patch(current, applied)
        else:
            raise bad_request(f"unknown patch type {patch_type}")
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise bad_request("the patched object is not a valid object")
        meta = patched["metadata"]
        if meta.get("name") != name:
            raise invalid(resource.kind, resource.group, name, [("metadata.name", "Invalid value: field is immutable")])
        if meta.get("uid") != existing["metadata"]["uid"]:
            raise conflict(
                resource.plural,
                resource.group,
                name,
                f"Precondition failed: UID in precondition: {meta.get('uid')}, "
                f"UID in object meta: {existing['metadata']['uid']}",
            )
        if meta.get("resourceVersion") != existing["metadata"]["resourceVersion"]:
            raise conflict(resource.plural, resource.group, name, STALE)
        return self._update(resource, patched, ns or None, subresource, dry_run=dry_run)

    def _delete(
        self,
        resource: ResourceType,
        namespace: str | None,
        name: str,
        propagation_policy: str | None,
        preconditions: Obj | None,
        dry_run: bool,
    ) -> tuple[Obj, bool]:
        ns = self._ns(resource, namespace)
        existing = self._require(resource, ns, name)
        meta = existing["metadata"]
        if preconditions:
            if preconditions.get("uid") and preconditions["uid"] != meta["uid"]:
                raise conflict(
                    resource.plural,
                    resource.group,
                    name,
                    f"Precondition failed: UID in precondition: {preconditions['uid']}, "
                    f"UID in object meta: {meta['uid']}",
                )
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != meta["resourceVersion"]:
                raise conflict(
                    resource.plural,
                    resource.group,
                    name,
                    f"Precondition failed: ResourceVersion in precondition: {preconditions['resourceVersion']}, "
                    f"ResourceVersion in object meta: {meta['resourceVersion']}",
                )
        if propagation_policy not in (None, "Orphan", "Background", "Foreground"):
            raise invalid(
                "DeleteOptions",
                "meta.k8s.io",
                "",
                [("propagationPolicy", f'Unsupported value: "{propagation_policy}"')],
            )
        if resource == NAMESPACES and name in PROTECTED_NAMESPACES:
            raise ApiError(
                403,
                "Forbidden",
                f'namespaces "{name}" is forbidden: this namespace may not be deleted',
                details={"name": name, "kind": "namespaces"},
            )
        if dry_run:
            return self._out(resource, existing), True
        if meta.get("deletionTimestamp"):
            return self._out(resource, existing), False
        if resource == NAMESPACES or meta.get("finalizers"):
            marked = copy.deepcopy(existing)
            marked["metadata"]["deletionTimestamp"] = now_rfc3339()
            marked["metadata"]["deletionGracePeriodSeconds"] = 0
            if resource == NAMESPACES:
                marked.setdefault("status", {})["phase"] = "Terminating"
            self._commit(resource, "MODIFIED", marked, copy.deepcopy(existing))
            if resource == NAMESPACES:
                self._empty_namespace(name)
                gone = self._finish_namespace(name)
                return self._out(resource, marked), gone
            return self._out(resource, marked), False
        last = copy.deepcopy(existing)
        self._remove(resource, last, propagation_policy)
        return self._out(resource, last), True

    def _remove(self, resource: ResourceType, obj: Obj, propagation_policy: str | None) -> None:
        """Really delete `obj`, then what depended on it."""
        old = copy.deepcopy(self._bucket(resource).get((obj["metadata"].get("namespace", ""), obj["metadata"]["name"])))
        self._commit(resource, "DELETED", obj, old)
        uid = obj["metadata"]["uid"]
        if resource.key == "v1/services":
            self.cluster_ips.release(obj.get("spec", {}).get("clusterIP"))
            for port in obj.get("spec", {}).get("ports") or []:
                self.cluster_ips.release_port(port.get("nodePort"))
        if resource == CRDS:
            for served in self.registry.crd_resources(obj["metadata"]["name"]):
                for item in list(self._bucket(served).values()):
                    self._remove(served, copy.deepcopy(item), None)
                self._objects.pop(_storage_key(served), None)
            self.registry.uninstall_crd(obj["metadata"]["name"])
        # garbage collection through ownerReferences
        for other in self.registry.all():
            for dependent in list(self._bucket(other).values()):
                refs = dependent["metadata"].get("ownerReferences") or []
                if not any(ref.get("uid") == uid for ref in refs):
                    continue
                if propagation_policy == "Orphan":
                    orphan = copy.deepcopy(dependent)
                    orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid] or None
                    if orphan["metadata"]["ownerReferences"] is None:
                        del orphan["metadata"]["ownerReferences"]
                    self._commit(other, "MODIFIED", orphan, copy.deepcopy(dependent))
                else:
                    dep_meta = dependent["metadata"]
                    self._delete(other, dep_meta.get("namespace"), dep_meta["name"], "Background", None, False)
        namespace = obj["metadata"].get("namespace")
        if namespace:
            self._finish_namespace(namespace)

    def _empty_namespace(self, namespace: str) -> None:
        for resource in self.registry.all():
            if not resource.namespaced:
                continue
            for (ns, name), _ in list(self._bucket(resource).items()):
                if ns == namespace and (ns, name) in self._bucket(resource):
                    self._delete(resource, ns, name, "Background", None, False)

    def _finish_namespace(self, namespace: str) -> bool:
        """Remove a terminating namespace once nothing is left in it (the namespace controller)."""
        ns = self._bucket(NAMESPACES).get(("", namespace))
        if ns is None:
            return True
        if not ns["metadata"].get("deletionTimestamp"):
            return False
        for resource in self.registry.all():
            if resource.namespaced and any(key[0] == namespace for key in self._bucket(resource)):
                return False
        final = copy.deepcopy(ns)
        final.get("spec", {}).pop("finalizers", None)
        self._remove(NAMESPACES, final, None)
        return True

    def _controller(self, kind: str, namespace: str, name: str) -> Obj | None:
        """A pod's controller by kind, for the disruption controller's expected scale."""
        key = _CONTROLLER_KINDS.get(kind)
        return None if key is None else self._objects.get(key, {}).get((namespace, name))

    def _terminate(self, pods: ResourceType, pod: Obj, dry_run: bool) -> Obj:
        """A graceful pod deletion: a pod bound to a node is marked (deletionTimestamp = now + its
        terminationGracePeriodSeconds) for its kubelet to finish (`finish_termination`); others go at once."""
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            return self._out(pods, pod)
        grace = int((pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
        terminal = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
        if not (pod.get("spec") or {}).get("nodeName") or terminal or grace <= 0:
            return self._delete(pods, meta["namespace"], meta["name"], None, None, dry_run)[0]
        marked = copy.deepcopy(pod)
        marked["metadata"]["deletionTimestamp"] = (
            datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=grace)
        ).strftime("%Y-%m-%dT%H:%M:%SZ")
        marked["metadata"]["deletionGracePeriodSeconds"] = grace
        if dry_run:
            return self._out(pods, marked)
        self._commit(pods, "MODIFIED", marked, copy.deepcopy(pod))
        return self._out(pods, marked)


_CONTROLLER_KINDS = {
    "ReplicaSet": ("apps", "replicasets"),
    "Deployment": ("apps", "deployments"),
    "StatefulSet": ("apps", "statefulsets"),
    "ReplicationController": ("", "replicationcontrollers"),
}


def _spec_changed(resource: ResourceType, old: Obj, new: Obj) -> bool:
    skip = {"metadata", "status"} if (resource.has_status or resource.builtin) else {"metadata"}
    return {k: v for k, v in old.items() if k not in skip} != {k: v for k, v in new.items() if k not in skip}


def _scale(resource: ResourceType, obj: Obj) -> Obj:
    meta = obj["metadata"]
    selector = from_label_selector(obj.get("spec", {}).get("selector"))
    text = ",".join(
        f"{r.key}={r.values[0]}" if r.operator == "=" else f"{r.key} {r.operator} ({','.join(r.values)})"
        for r in selector
    )
    return {
        "apiVersion": "autoscaling/v1",
        "kind": "Scale",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"],
            "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj.get("spec", {}).get("replicas", 0)},
        "status": {"replicas": obj.get("status", {}).get("replicas", 0), "selector": text},
    }
