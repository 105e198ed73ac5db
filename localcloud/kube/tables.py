"""Server-side printing: `meta.k8s.io/v1` Tables, as kube-apiserver answers `kubectl get`.

kubectl asks for `Accept: application/json;as=Table;v=v1;g=meta.k8s.io,...` and prints the
columns the server defines (priority 0; `-o wide` adds priority 1). The columns and cells are those
of kube-apiserver's printers (pkg/printers/internalversion) for the kinds the emulator's users look
at: pods, nodes, services, deployments, statefulsets, daemonsets, replicasets, persistent volumes and
their claims, namespaces, events; a custom resource's are its CRD version's additionalPrinterColumns
(default: Age); any other kind gets the default Name / Created At.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from localcloud.kube.resources import ResourceType

Obj = dict[str, Any]
TABLE_MEDIA = "as=Table"


def wants_table(accept: str) -> bool:
    """Whether the client prefers a Table (kubectl get); v1 and v1beta1 are answered alike."""
    return any(TABLE_MEDIA in part and "g=meta.k8s.io" in part for part in accept.split(","))


def _column(name: str, kind: str = "string", *, priority: int = 0, fmt: str = "") -> Obj:
    return {"name": name, "type": kind, "format": fmt, "description": name, "priority": priority}


def human_duration(seconds: float) -> str:
    """apimachinery's duration.HumanDuration, as the Age column shows it."""
    s = int(seconds)
    if s < 0:
        return "<invalid>"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    return f"{hours // (24 * 365)}y"


def age(obj: Obj, now: datetime | None = None) -> str:
    created = (obj.get("metadata") or {}).get("creationTimestamp")
    if not created:
        return "<unknown>"
    when = datetime.fromisoformat(str(created).replace("Z", "+00:00"))
    return human_duration(((now or datetime.now(UTC)) - when).total_seconds())


def _none(value: str) -> str:
    return value or "<none>"


def _selector(labels: Obj | None) -> str:
    return _none(",".join(f"{k}={v}" for k, v in (labels or {}).items()))


def _containers(obj: Obj) -> tuple[str, str]:
    containers = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in containers), ",".join(c.get("image", "") for c in containers)


# -- per kind -------------------------------------------------------------------------------------


def _pod(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    statuses = status.get("containerStatuses") or []
    total = len(spec.get("containers") or [])
    ready = sum(1 for s in statuses if s.get("ready"))
    restarts = sum(int(s.get("restartCount") or 0) for s in statuses)
    reason = status.get("reason") or status.get("phase") or "Unknown"
    for container in statuses:
        waiting = (container.get("state") or {}).get("waiting")
        if waiting and waiting.get("reason"):
            reason = waiting["reason"]
    if (obj.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Terminating"
    gates = spec.get("readinessGates") or []
    return [
        f"{ready}/{total}",
        reason,
        restarts,
        age(obj),
        _none(status.get("podIP", "")),
        _none(spec.get("nodeName", "")),
        _none(status.get("nominatedNodeName", "")),
        f"0/{len(gates)}" if gates else "<none>",
    ]


def _node(obj: Obj) -> list[Any]:
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    ready = next((c for c in status.get("conditions") or [] if c.get("type") == "Ready"), None)
    state = "Ready" if ready and ready.get("status") == "True" else ("NotReady" if ready else "Unknown")
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = (obj.get("metadata") or {}).get("labels") or {}
    roles = sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses") or []}
    info = status.get("nodeInfo") or {}
    return [
        state,
        ",".join(roles) or "<none>",
        age(obj),
        info.get("kubeletVersion", ""),
        _none(addresses.get("InternalIP") or ""),
        _none(addresses.get("ExternalIP") or ""),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


def _service(obj: Obj) -> list[Any]:
    spec = obj.get("spec") or {}
    kind = spec.get("type") or "ClusterIP"
    ingress = ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    external = ",".join(i.get("hostname") or i.get("ip") or "" for i in ingress)
    if kind == "LoadBalancer":
        external = external or "<pending>"
    elif kind == "ExternalName":
        external = spec.get("externalName", "")
    ports = ",".join(
        f"{p.get('port')}{':' + str(p['nodePort']) if p.get('nodePort') else ''}/{p.get('protocol', 'TCP')}"
        for p in spec.get("ports") or []
    )
    return [
        kind,
        _none(spec.get("clusterIP", "")),
        _none(external),
        _none(ports),
        age(obj),
        _selector(spec.get("selector")),
    ]


def _deployment(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [
        f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}",
        status.get("updatedReplicas", 0),
        status.get("availableReplicas", 0),
        age(obj),
        names,
        images,
        _selector((spec.get("selector") or {}).get("matchLabels")),
    ]


def _daemonset(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    node_selector = ((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")
    return [
        status.get("desiredNumberScheduled", 0),
        status.get("currentNumberScheduled", 0),
        status.get("numberReady", 0),
        status.get("updatedNumberScheduled", 0),
        status.get("numberAvailable", 0),
        _selector(node_selector),
        age(obj),
        names,
        images,
        _selector((spec.get("selector") or {}).get("matchLabels")),
    ]


def _replicaset(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [
        spec.get("replicas", 1),
        status.get("replicas", 0),
        status.get("readyReplicas", 0),
        age(obj),
        names,
        images,
        _selector((spec.get("selector") or {}).get("matchLabels")),
    ]


def _statefulset(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names, images = _containers(obj)
    return [f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}", age(obj), names, images]


_ACCESS_MODES = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}


def _access_modes(modes: list[str] | None) -> str:
    """kubectl's storage access-mode shorthand, in its fixed order."""
    return ",".join(short for mode, short in _ACCESS_MODES.items() if mode in (modes or []))


def _persistent_volume_claim(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    phase = "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", "")
    return [
        phase,
        spec.get("volumeName", ""),
        (status.get("capacity") or {}).get("storage", ""),
        _access_modes(status.get("accessModes")),
        spec.get("storageClassName", ""),
        spec.get("volumeAttributesClassName") or "<unset>",
        age(obj),
        spec.get("volumeMode", ""),
    ]


def _persistent_volume(obj: Obj) -> list[Any]:
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    claim = spec.get("claimRef") or {}
    phase = "Terminating" if (obj.get("metadata") or {}).get("deletionTimestamp") else status.get("phase", "")
    return [
        (spec.get("capacity") or {}).get("storage", ""),
        _access_modes(spec.get("accessModes")),
        spec.get("persistentVolumeReclaimPolicy", ""),
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        spec.get("storageClassName", ""),
        spec.get("volumeAttributesClassName") or "<unset>",
        status.get("reason", ""),
        age(obj),
        spec.get("volumeMode", ""),
    ]


def _namespace(obj: Obj) -> list[Any]:
    return [(obj.get("status") or {}).get("phase", "Active"), age(obj)]


def _lease(obj: Obj) -> list[Any]:
    return [(obj.get("spec") or {}).get("holderIdentity", ""), age(obj)]


def _event(obj: Obj) -> list[Any]:
    involved = obj.get("involvedObject") or {}
    last = obj.get("lastTimestamp") or obj.get("eventTime") or (obj.get("metadata") or {}).get("creationTimestamp")
    return [
        age({"metadata": {"creationTimestamp": last}}),
        obj.get("type", ""),
        obj.get("reason", ""),
        f"{str(involved.get('kind', '')).lower()}/{involved.get('name', '')}",
        obj.get("message", ""),
    ]


Printer = tuple[list[Obj], Callable[[Obj], list[Any]]]
WIDE = 1
PRINTERS: dict[str, Printer] = {
    "v1/pods": (
        [
            _column("Ready"),
            _column("Status"),
            _column("Restarts", "integer"),
            _column("Age"),
            _column("IP", priority=WIDE),
            _column("Node", priority=WIDE),
            _column("Nominated Node", priority=WIDE),
            _column("Readiness Gates", priority=WIDE),
        ],
        _pod,
    ),
    "v1/nodes": (
        [
            _column("Status"),
            _column("Roles"),
            _column("Age"),
            _column("Version"),
            _column("Internal-IP", priority=WIDE),
            _column("External-IP", priority=WIDE),
            _column("OS-Image", priority=WIDE),
            _column("Kernel-Version", priority=WIDE),
            _column("Container-Runtime", priority=WIDE),
        ],
        _node,
    ),
    "v1/services": (
        [
            _column("Type"),
            _column("Cluster-IP"),
            _column("External-IP"),
            _column("Port(s)"),
            _column("Age"),
            _column("Selector", priority=WIDE),
        ],
        _service,
    ),
    "apps/v1/deployments": (
        [
            _column("Ready"),
            _column("Up-to-date", "integer"),
            _column("Available", "integer"),
            _column("Age"),
            _column("Containers", priority=WIDE),
            _column("Images", priority=WIDE),
            _column("Selector", priority=WIDE),
        ],
        _deployment,
    ),
    "apps/v1/daemonsets": (
        [
            _column("Desired", "integer"),
            _column("Current", "integer"),
            _column("Ready", "integer"),
            _column("Up-to-date", "integer"),
            _column("Available", "integer"),
            _column("Node Selector"),
            _column("Age"),
            _column("Containers", priority=WIDE),
            _column("Images", priority=WIDE),
            _column("Selector", priority=WIDE),
        ],
        _daemonset,
    ),
    "apps/v1/replicasets": (
        [
            _column("Desired", "integer"),
            _column("Current", "integer"),
            _column("Ready", "integer"),
            _column("Age"),
            _column("Containers", priority=WIDE),
            _column("Images", priority=WIDE),
            _column("Selector", priority=WIDE),
        ],
        _replicaset,
    ),
    "apps/v1/statefulsets": (
        [_column("Ready"), _column("Age"), _column("Containers", priority=WIDE), _column("Images", priority=WIDE)],
        _statefulset,
    ),
    "v1/persistentvolumeclaims": (
        [
            _column("Status"),
            _column("Volume"),
            _column("Capacity"),
            _column("Access Modes"),
            _column("StorageClass"),
            _column("VolumeAttributesClass"),
            _column("Age"),
            _column("VolumeMode", priority=WIDE),
        ],
        _persistent_volume_claim,
    ),
    "v1/persistentvolumes": (
        [
            _column("Capacity"),
            _column("Access Modes"),
            _column("Reclaim Policy"),
            _column("Status"),
            _column("Claim"),
            _column("StorageClass"),
            _column("VolumeAttributesClass"),
            _column("Reason"),
            _column("Age"),
            _column("VolumeMode", priority=WIDE),
        ],
        _persistent_volume,
    ),
    "v1/namespaces": ([_column("Status"), _column("Age")], _namespace),
    "coordination.k8s.io/v1/leases": ([_column("Holder"), _column("Age")], _lease),
    "v1/events": (
        [_column("Last Seen"), _column("Type"), _column("Reason"), _column("Object"), _column("Message")],
        _event,
    ),
}


def _json_path(obj: Any, path: str) -> Any:
    """The simple JSONPaths printer columns use (`.spec.subnet`, `.status.conditions[0].type`)."""
    current = obj
    for part in path.strip().lstrip(".").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("[") and part.endswith("]"):
            try:
                current = current[int(part[1:-1])] if isinstance(current, list) else None
            except (ValueError, IndexError):
                return None
        else:
            current = current.get(part) if isinstance(current, dict) else None
        if current is None:
            return None
    return current


def _cell_type(column: Obj) -> str:
    return "string" if column.get("type") == "date" else str(column.get("type", "string"))


def _custom_printer(columns: list[Obj]) -> Printer:
    """A CRD version's additionalPrinterColumns (default: Age)."""
    columns = columns or [{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]
    definitions = [_column(c["name"], _cell_type(c), priority=c.get("priority", 0)) for c in columns]

    def cells(obj: Obj) -> list[Any]:
        out = []
        for column in columns:
            value = _json_path(obj, column.get("jsonPath", ""))
            if column.get("type") == "date":
                value = age({"metadata": {"creationTimestamp": value}}) if value else "<unknown>"
            out.append(value if value is not None else "<none>" if column.get("type") == "string" else None)
        return out

    return definitions, cells


def table(
    resource: ResourceType,
    objects: list[Obj],
    *,
    include_object: str = "Metadata",
    metadata: Obj | None = None,
    printer_columns: list[Obj] | None = None,
) -> Obj:
    """The Table of `objects` (one for a get, the page for a list)."""
    if resource.builtin and resource.key in PRINTERS:
        columns, cells = PRINTERS[resource.key]
    elif not resource.builtin:
        columns, cells = _custom_printer(printer_columns or [])
    else:
        columns = [_column("Created At", "date")]

        def cells(obj: Obj) -> list[Any]:
            return [(obj.get("metadata") or {}).get("creationTimestamp")]

    name = _column("Name", fmt="name")
    name["description"] = "Name must be unique within a namespace."
    rows = []
    for obj in objects:
        row: Obj = {"cells": [obj["metadata"]["name"], *cells(obj)]}
        if include_object == "Object":
            row["object"] = {"kind": resource.kind, "apiVersion": resource.api_version, **obj}
        elif include_object != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj.get("metadata") or {},
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata or {},
        "columnDefinitions": [name, *columns],
        "rows": rows,
    }
