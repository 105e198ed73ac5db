"""The objects the cluster twin's own controllers write (nodes, pods, leases, events, the scenario's
workloads, Services, Ingress and PDBs) hold only fields their kind declares: the API server would
drop any other, and a client's Strict patch of such an object would fail (localcloud.kube.fields)."""

from __future__ import annotations

import copy
from collections.abc import Callable

from conftest import ClusterFixture, wait_for

from localcloud.kube import fields
from localcloud.kube.resources import BUILTIN
from tests.fixtures.workloads import shop_web


def test_every_object_of_a_running_cluster_fits_its_kinds_schema(twin_factory: Callable[..., ClusterFixture]) -> None:
    db = {"namespace": "shop", "name": "db", "kind": "StatefulSet", "replicas": 2, "volumeClaim": {"size": "1Gi"}}
    twin = twin_factory({"cluster": {"workloads": [shop_web(), db]}})
    store = twin.cluster.store

    def running() -> bool:
        pods = store.list("v1/pods", namespace="shop")
        return len(pods) == 5 and all((p.get("status") or {}).get("phase") == "Running" for p in pods)

    wait_for(running, what="the workload's pods running")
    found = {}
    kinds = set()
    for resource in BUILTIN:
        for obj in store.list(resource):
            kinds.add(resource.kind)
            unknown = fields.prune_unknown(resource, copy.deepcopy(obj))
            if unknown:
                found[f"{resource.kind} {obj['metadata'].get('namespace', '')}/{obj['metadata']['name']}"] = unknown
    assert {"Node", "Pod", "Lease", "Event", "Service", "Ingress", "PodDisruptionBudget"} <= kinds
    assert {"StatefulSet", "PersistentVolumeClaim", "PersistentVolume"} <= kinds
    assert found == {}
