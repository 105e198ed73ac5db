"""The StatefulSet controller (podManagementPolicy OrderedReady), and a scenario workload's StatefulSet.

- Pods `<name>-0` .. `<name>-N-1`, a stable identity each (hostname, the pod-name and pod-index
  labels); one at a time: the next ordinal is created once every lower one is Running and Ready.
  A deleted or evicted pod is recreated with the same name, once the old one is gone.
- Before a pod, its claims: one PersistentVolumeClaim per volumeClaimTemplate, named
  `<template>-<name>-<ordinal>`, kept when the pod goes (retention policy Retain).
- Scale-down removes the highest ordinal first, one at a time, while the others are Ready; a
  template change replaces pods from the highest ordinal down, one at a time (RollingUpdate).
- Status: replicas, ready, current, updated, available, the revisions, observedGeneration.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from localcloud.cluster.volumes import PVCS, STORAGE_CLASS, Volumes
from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore
from localcloud.scenario import WorkloadSpec

Obj = dict[str, Any]
STATEFULSETS = "apps/v1/statefulsets"
PODS = "v1/pods"
CLAIM_TEMPLATE = "data"
REVISION_LABEL = "controller-revision-hash"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
CreatePod = Callable[[Obj, str, str, Obj, Callable[[Obj], None]], None]
"""(owner, kind, pod name, extra labels, adjust the pod before it is created)."""


def claim_name(template: Obj, statefulset: str, ordinal: int) -> str:
    return f"{template['metadata']['name']}-{statefulset}-{ordinal}"


def statefulset_object(workload: WorkloadSpec, image: str) -> Obj:
    """The StatefulSet of a scenario workload with `kind: StatefulSet`."""
    labels = {"app": workload.name}
    spec: Obj = {
        "replicas": workload.replicas,
        "serviceName": workload.name,
        "selector": {"matchLabels": labels},
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "containers": [
                    {"name": workload.name, "image": image, "ports": [{"containerPort": 80, "protocol": "TCP"}]}
                ]
            },
        },
    }
    if workload.volume_claim is not None:
        spec["template"]["spec"]["containers"][0]["volumeMounts"] = [{"name": CLAIM_TEMPLATE, "mountPath": "/data"}]
        spec["volumeClaimTemplates"] = [
            {
                "metadata": {"name": CLAIM_TEMPLATE},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": STORAGE_CLASS,
                    "resources": {"requests": {"storage": workload.volume_claim.size}},
                },
            }
        ]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": workload.name, "namespace": workload.namespace, "labels": labels},
        "spec": spec,
    }


def headless_service(workload: WorkloadSpec) -> Obj:
    """The governing Service a StatefulSet's `serviceName` names (pods' DNS identities)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": workload.name, "namespace": workload.namespace},
        "spec": {
            "clusterIP": "None",
            "selector": {"app": workload.name},
            "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}],
        },
    }


def create_statefulset(store: ObjectStore, volumes: Volumes, workload: WorkloadSpec) -> None:
    """A scenario's StatefulSet, its governing Service, and the volumes it has already: those of
    `volumeClaim.zones`, each claim bound to an EBS volume in its zone, as the driver left them."""
    if store.find("v1/namespaces", workload.namespace) is None:
        store.create("v1/namespaces", {"metadata": {"name": workload.namespace}})
    if store.find(STATEFULSETS, workload.name, namespace=workload.namespace) is not None:
        return
    statefulset = store.create(STATEFULSETS, statefulset_object(workload, workload.image), namespace=workload.namespace)
    if store.find("v1/services", workload.name, namespace=workload.namespace) is None:
        store.create("v1/services", headless_service(workload), namespace=workload.namespace)
    zones = workload.volume_claim.zones if workload.volume_claim is not None else []
    for ordinal, zone in enumerate(zones):
        for template in statefulset["spec"].get("volumeClaimTemplates") or []:
            claim = store.create(
                PVCS,
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "metadata": {
                        "name": claim_name(template, workload.name, ordinal),
                        "namespace": workload.namespace,
                        "labels": dict(statefulset["spec"]["selector"]["matchLabels"]),
                    },
                    "spec": copy.deepcopy(template["spec"]),
                },
                namespace=workload.namespace,
            )
            volumes.provision(claim, zone)


def _ordinal(name: str, statefulset: str) -> int | None:
    match = re.fullmatch(re.escape(statefulset) + r"-(\d+)", name)
    return int(match.group(1)) if match else None


def _owned_by(obj: Obj, uid: str) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or [])


class StatefulSets:
    def __init__(
        self,
        store: ObjectStore,
        create_pod: CreatePod,
        delete_pod: Callable[[Obj], None],
        pod_ready: Callable[[Obj], bool],
        revision: Callable[[Obj], str],
    ) -> None:
        self.store = store
        self.create_pod = create_pod
        self.delete_pod = delete_pod
        self.pod_ready = pod_ready
        self.revision = revision

    def reconcile(self) -> None:
        for statefulset in self.store.list(STATEFULSETS):
            if not statefulset["metadata"].get("deletionTimestamp"):
                self._pods(statefulset)

    def reconcile_status(self) -> None:
        for statefulset in self.store.list(STATEFULSETS):
            self._status(statefulset)

    def _owned(self, statefulset: Obj) -> dict[int, Obj]:
        """Its pods by ordinal, terminating ones included (a name is not free until the pod is gone);
        read-only (store.peek), as the other controllers read pods."""
        meta = statefulset["metadata"]
        ns, uid = meta["namespace"], meta["uid"]
        pods = self.store.peek(PODS, where=lambda p: p["metadata"].get("namespace") == ns and _owned_by(p, uid))
        out = {}
        for pod in pods:
            ordinal = _ordinal(pod["metadata"]["name"], meta["name"])
            if ordinal is not None:
                out[ordinal] = pod
        return out

    def _pods(self, statefulset: Obj) -> None:
        spec = statefulset["spec"]
        desired = int(spec.get("replicas", 1))
        revision = self.revision(statefulset)
        pods = self._owned(statefulset)
        for ordinal in range(desired):
            pod = pods.get(ordinal)
            if pod is None:
                self._claims(statefulset, ordinal)
                self._create(statefulset, ordinal, revision)
                return  # OrderedReady: one pod at a time
            if pod["metadata"].get("deletionTimestamp") or not self.pod_ready(pod):
                return
        extra = sorted((o for o in pods if o >= desired), reverse=True)
        if extra:
            pod = pods[extra[0]]
            if not pod["metadata"].get("deletionTimestamp"):
                self.delete_pod(pod)
            return
        for ordinal in sorted(pods, reverse=True):
            pod = pods[ordinal]
            if pod["metadata"].get("labels", {}).get(REVISION_LABEL) != revision:
                self.delete_pod(pod)
                return

    def _claims(self, statefulset: Obj, ordinal: int) -> None:
        meta = statefulset["metadata"]
        labels = dict((statefulset["spec"].get("selector") or {}).get("matchLabels") or {})
        for template in statefulset["spec"].get("volumeClaimTemplates") or []:
            name = claim_name(template, meta["name"], ordinal)
            if self.store.find(PVCS, name, namespace=meta["namespace"]) is not None:
                continue
            claim_spec = copy.deepcopy(template.get("spec") or {})
            try:
                self.store.create(
                    PVCS,
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "metadata": {"name": name, "namespace": meta["namespace"], "labels": labels},
                        "spec": claim_spec,
                    },
                    namespace=meta["namespace"],
                )
            except ApiError as error:
                if error.code not in (409, 404):
                    raise

    def _create(self, statefulset: Obj, ordinal: int, revision: str) -> None:
        meta, spec = statefulset["metadata"], statefulset["spec"]
        name = f"{meta['name']}-{ordinal}"
        claims = spec.get("volumeClaimTemplates") or []

        def adjust(pod: Obj) -> None:
            pod_spec = pod["spec"]
            pod_spec["hostname"] = name
            if spec.get("serviceName"):
                pod_spec["subdomain"] = spec["serviceName"]
            volumes = [
                v for v in pod_spec.get("volumes") or [] if v.get("name") not in {c["metadata"]["name"] for c in claims}
            ]
            for template in claims:
                volumes.append(
                    {
                        "name": template["metadata"]["name"],
                        "persistentVolumeClaim": {"claimName": claim_name(template, meta["name"], ordinal)},
                    }
                )
            if volumes:
                pod_spec["volumes"] = volumes

        labels = {REVISION_LABEL: revision, POD_NAME_LABEL: name, POD_INDEX_LABEL: str(ordinal)}
        self.create_pod(statefulset, "StatefulSet", name, labels, adjust)

    def _status(self, statefulset: Obj) -> None:
        meta, spec = statefulset["metadata"], statefulset["spec"]
        revision = self.revision(statefulset)
        pods = [p for p in self._owned(statefulset).values() if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in pods if self.pod_ready(p))
        updated = sum(1 for p in pods if p["metadata"].get("labels", {}).get(REVISION_LABEL) == revision)
        old = statefulset.get("status") or {}
        current_revision = old.get("currentRevision") or revision
        if updated == len(pods) == int(spec.get("replicas", 1)):
            current_revision = revision
        current = sum(1 for p in pods if p["metadata"].get("labels", {}).get(REVISION_LABEL) == current_revision)
        status: Obj = {
            "observedGeneration": meta.get("generation", 1),
            "replicas": len(pods),
            "readyReplicas": ready,
            "currentReplicas": current,
            "updatedReplicas": updated,
            "availableReplicas": ready,
            "currentRevision": current_revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        status = {
            k: v
            for k, v in status.items()
            if v or k in ("observedGeneration", "replicas", "availableReplicas", "collisionCount")
        }
        if status == old:
            return

        def change(obj: Obj) -> None:
            obj["status"] = status

        try:
            self.store.mutate(STATEFULSETS, meta["name"], change, namespace=meta["namespace"], subresource="status")
        except ApiError as error:
            if error.code != 404:
                raise
