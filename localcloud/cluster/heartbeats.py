"""Node heartbeats: each kubelet holds a coordination.k8s.io/v1 Lease named after its node in
kube-node-lease and renews it every 10 s (a quarter of its 40 s duration), as kubelet does; the node
lifecycle controller reads a lease not renewed within its duration as a node gone silent."""

from __future__ import annotations

import datetime
from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore

Obj = dict[str, Any]
LEASES = "coordination.k8s.io/v1/leases"
NAMESPACE = "kube-node-lease"
DURATION = 40
RENEW_EVERY = DURATION / 4


def micro_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class NodeLeases:
    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self._renewed: dict[str, float] = {}

    def renew(self, node: Obj, now: float) -> None:
        name = node["metadata"]["name"]
        last = self._renewed.get(name)
        if last is not None and now - last < RENEW_EVERY:
            return
        stamp = micro_time()

        def change(lease: Obj) -> None:
            lease["spec"]["renewTime"] = stamp

        try:
            self.store.mutate(LEASES, name, change, namespace=NAMESPACE)
        except ApiError as error:
            if error.code != 404:
                raise
            self.store.create(LEASES, self._lease(node, stamp), namespace=NAMESPACE)
        self._renewed[name] = now

    def remove(self, name: str) -> None:
        """The node is gone; its lease goes with it (the garbage collector follows the owner reference)."""
        self._renewed.pop(name, None)
        try:
            self.store.delete(LEASES, name, namespace=NAMESPACE)
        except ApiError as error:
            if error.code != 404:
                raise

    @staticmethod
    def _lease(node: Obj, stamp: str) -> Obj:
        meta = node["metadata"]
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": meta["name"],
                "namespace": NAMESPACE,
                "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": meta["name"], "uid": meta["uid"]}],
            },
            "spec": {"holderIdentity": meta["name"], "leaseDurationSeconds": DURATION, "renewTime": stamp},
        }
