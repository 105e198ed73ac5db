"""core/v1 Events as Kubernetes components record them, so `kubectl describe` shows them.

One recorder per component (default-scheduler, kubelet, service/ingress for the AWS Load Balancer
Controller). As client-go's EventRecorder does, a repeat of the same event (object, type, reason,
message) bumps `count` and `lastTimestamp` of the one already recorded instead of adding another."""

from __future__ import annotations

import time
from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore, now_rfc3339

Obj = dict[str, Any]
EVENTS = "v1/events"
API_VERSIONS = {"Service": "v1", "Pod": "v1", "Node": "v1", "Ingress": "networking.k8s.io/v1"}


class EventRecorder:
    def __init__(self, store: ObjectStore, component: str, host: str = "") -> None:
        self.store = store
        self.component = component
        self.host = host
        self._recorded: dict[tuple[str, str, str, str, str, str], str] = {}
        """(kind, namespace, name, type, reason, message) -> the Event's name."""

    def recorded(self) -> list[tuple[str, str, str, str, str, str]]:
        """(kind, namespace, name, type, reason, message) of every event recorded, even where its
        namespace is gone since (tests follow a whole rehearsal by them)."""
        return list(self._recorded)

    def normal(self, obj: Obj, reason: str, message: str) -> None:
        self.record(obj, "Normal", reason, message)

    def warning(self, obj: Obj, reason: str, message: str) -> None:
        self.record(obj, "Warning", reason, message)

    def record(self, obj: Obj, kind: str, reason: str, message: str) -> None:
        meta = obj["metadata"]
        involved = str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta["name"])
        # Events of cluster-scoped objects (nodes) live in the default namespace, as kubelet's do.
        namespace = involved[1] or "default"
        key = (*involved, kind, reason, message)
        stamp = now_rfc3339()
        existing = self._recorded.get(key)
        if existing is not None and self._bump(existing, namespace, stamp):
            return
        # as client-go's recorder names them: the object's name and the time in hex nanoseconds, so
        # listing by name (kubectl describe's order for events of one second) is listing by time
        name = f"{involved[2]}.{time.time_ns():x}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "kind": involved[0],
                "namespace": involved[1],
                "name": involved[2],
                "uid": meta.get("uid", ""),
                "apiVersion": obj.get("apiVersion") or API_VERSIONS.get(involved[0], "v1"),
                "resourceVersion": meta.get("resourceVersion", ""),
            },
            "reason": reason,
            "message": message,
            "type": kind,
            "source": {"component": self.component, **({"host": self.host} if self.host else {})},
            "firstTimestamp": stamp,
            "lastTimestamp": stamp,
            "count": 1,
            "reportingComponent": self.component,
            "reportingInstance": self.host,
        }
        try:
            self.store.create(EVENTS, event, namespace=namespace)
        except ApiError as error:
            # The namespace is gone (404) or terminating (403), or a duplicate name (409): as
            # client-go's recorder, drop the event rather than fail the controller.
            if error.code not in (403, 404, 409):
                raise
            return
        self._recorded[key] = name

    def _bump(self, name: str, namespace: str, stamp: str) -> bool:
        def change(event: Obj) -> None:
            event["count"] = int(event.get("count") or 1) + 1
            event["lastTimestamp"] = stamp

        try:
            self.store.mutate(EVENTS, name, change, namespace=namespace)
        except ApiError as error:
            if error.code != 404:
                raise
            return False
        return True
