"""The resources the emulator serves: built-in kinds and custom resources of installed CRDs.

A `ResourceType` is one REST resource (group, version, plural) with what discovery says about it.
The registry is the discovery document: built-in resources always, a custom resource only while
its CustomResourceDefinition exists (as kube-apiserver serves CRs: 404 before the CRD is created).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
MUTATING_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    singular: str = ""
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    subresources: frozenset[str] = frozenset()
    """status, scale, eviction."""
    builtin: bool = True
    """Built-in kinds accept strategic merge patches; custom resources do not (415)."""
    categories: tuple[str, ...] = ()
    schema: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    """A custom resource's openAPIV3Schema (structural: validation and pruning)."""
    has_generation: bool = True
    """Whether metadata.generation is kept (not for ConfigMaps, Events, ...)."""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """`v1/pods`, `apps/v1/deployments`: how the store's Python API names a resource."""
        return f"{self.api_version}/{self.plural}"

    @property
    def qualified(self) -> str:
        """`pods`, `deployments.apps`: how API messages name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def discovery(self) -> list[dict[str, Any]]:
        """APIResource entries (the resource and its subresources) for /api/v1, /apis/g/v."""
        entry: dict[str, Any] = {
            "name": self.plural,
            "singularName": self.singular or self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": list(self.verbs),
        }
        if self.group and not self.builtin:
            entry["storageVersionHash"] = ""
        if self.short_names:
            entry["shortNames"] = list(self.short_names)
        if self.categories:
            entry["categories"] = list(self.categories)
        out = [entry]
        for sub in sorted(self.subresources):
            if sub == "status":
                out.append(_sub(self, "status", self.kind, ("get", "patch", "update")))
            elif sub == "scale":
                out.append(
                    {
                        **_sub(self, "scale", "Scale", ("get", "patch", "update")),
                        "group": "autoscaling",
                        "version": "v1",
                    }
                )
            elif sub == "eviction":
                out.append({**_sub(self, "eviction", "Eviction", ("create",)), "group": "policy", "version": "v1"})
        return out


def _sub(resource: ResourceType, name: str, kind: str, verbs: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": f"{resource.plural}/{name}",
        "singularName": "",
        "namespaced": resource.namespaced,
        "kind": kind,
        "verbs": list(verbs),
    }


def _r(
    group: str,
    version: str,
    plural: str,
    kind: str,
    namespaced: bool,
    *,
    short: tuple[str, ...] = (),
    sub: tuple[str, ...] = (),
    verbs: tuple[str, ...] = ALL_VERBS,
    categories: tuple[str, ...] = (),
    generation: bool = True,
) -> ResourceType:
    return ResourceType(
        group=group,
        version=version,
        plural=plural,
        kind=kind,
        namespaced=namespaced,
        singular=kind.lower(),
        short_names=short,
        verbs=verbs,
        subresources=frozenset(sub),
        categories=categories,
        has_generation=generation,
    )


NAMESPACES = _r(
    "",
    "v1",
    "namespaces",
    "Namespace",
    False,
    short=("ns",),
    sub=("status",),
    verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
    generation=False,
)
CRDS = _r(
    "apiextensions.k8s.io",
    "v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    False,
    short=("crd", "crds"),
    sub=("status",),
    categories=("api-extensions",),
)

BUILTIN: tuple[ResourceType, ...] = (
    NAMESPACES,
    _r("", "v1", "pods", "Pod", True, short=("po",), sub=("status", "eviction"), categories=("all",)),
    _r("", "v1", "nodes", "Node", False, short=("no",), sub=("status",), generation=False),
    _r(
        "",
        "v1",
        "services",
        "Service",
        True,
        short=("svc",),
        sub=("status",),
        categories=("all",),
        verbs=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"),
    ),
    _r("", "v1", "endpoints", "Endpoints", True, short=("ep",), generation=False),
    _r("", "v1", "configmaps", "ConfigMap", True, short=("cm",), generation=False),
    _r("", "v1", "events", "Event", True, short=("ev",), generation=False),
    _r("", "v1", "serviceaccounts", "ServiceAccount", True, short=("sa",), generation=False),
    _r("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, short=("pvc",), sub=("status",)),
    _r("", "v1", "persistentvolumes", "PersistentVolume", False, short=("pv",), sub=("status",)),
    _r(
        "apps", "v1", "deployments", "Deployment", True, short=("deploy",), sub=("status", "scale"), categories=("all",)
    ),
    _r("apps", "v1", "statefulsets", "StatefulSet", True, short=("sts",), sub=("status", "scale"), categories=("all",)),
    _r("apps", "v1", "daemonsets", "DaemonSet", True, short=("ds",), sub=("status",), categories=("all",)),
    _r("apps", "v1", "replicasets", "ReplicaSet", True, short=("rs",), sub=("status", "scale"), categories=("all",)),
    _r("networking.k8s.io", "v1", "ingresses", "Ingress", True, short=("ing",), sub=("status",)),
    _r("networking.k8s.io", "v1", "ingressclasses", "IngressClass", False),
    _r("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, short=("pdb",), sub=("status",)),
    _r("coordination.k8s.io", "v1", "leases", "Lease", True, generation=False),
    CRDS,
)

# Kinds whose objects carry no spec/status split worth a generation (ConfigMap, ...) are marked above.
GROUP_ORDER = ("", "apps", "networking.k8s.io", "policy", "coordination.k8s.io", "apiextensions.k8s.io")


def parse_key(key: str) -> tuple[str, str, str]:
    """`v1/pods` -> ("", "v1", "pods"); `apps/v1/deployments` -> ("apps", "v1", "deployments")."""
    parts = key.strip("/").split("/")
    if len(parts) == 2:
        return "", parts[0], parts[1]
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    raise ValueError(f"not a resource key (v1/pods, apps/v1/deployments): {key!r}")


class ResourceRegistry:
    """Built-in resources plus the custom resources of the CRDs currently in the store."""

    def __init__(self, builtin: Iterable[ResourceType] = BUILTIN) -> None:
        self._lock = threading.Lock()
        self._builtin = {(r.group, r.version, r.plural): r for r in builtin}
        self._custom: dict[tuple[str, str, str], ResourceType] = {}
        self._crd_resources: dict[str, list[tuple[str, str, str]]] = {}

    # lookups --------------------------------------------------------------------------------
    def get(self, group: str, version: str, plural: str) -> ResourceType | None:
        key = (group, version, plural)
        with self._lock:
            return self._builtin.get(key) or self._custom.get(key)

    def resolve(self, ref: ResourceType | str) -> ResourceType:
        """A resource by its key (`apps/v1/deployments`); KeyError if not served."""
        if isinstance(ref, ResourceType):
            return ref
        found = self.get(*parse_key(ref))
        if found is None:
            raise KeyError(ref)
        return found

    def by_kind(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        for resource in self.all():
            if resource.group == group and resource.version == version and resource.kind == kind:
                return resource
        return None

    def all(self) -> list[ResourceType]:
        with self._lock:
            return [*self._builtin.values(), *self._custom.values()]

    def in_group_version(self, group: str, version: str) -> list[ResourceType]:
        return [r for r in self.all() if r.group == group and r.version == version]

    def groups(self) -> list[tuple[str, list[str]]]:
        """(group, versions) for /apis, built-in groups first, then custom ones by name."""
        versions: dict[str, list[str]] = {}
        for resource in self.all():
            if resource.group and resource.version not in versions.setdefault(resource.group, []):
                versions[resource.group].append(resource.version)
        builtin = [g for g in GROUP_ORDER if g in versions]
        custom = sorted(g for g in versions if g not in GROUP_ORDER)
        return [(g, versions[g]) for g in (*builtin, *custom)]

    # custom resources -------------------------------------------------------------------------
    def install_crd(self, crd: dict[str, Any]) -> None:
        """Serve the versions of a CRD (called by the store when the CRD is created or changed)."""
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        group = spec["group"]
        namespaced = spec.get("scope") == "Namespaced"
        keys = []
        with self._lock:
            for old in self._crd_resources.pop(crd["metadata"]["name"], []):
                self._custom.pop(old, None)
            for version in spec.get("versions", []):
                if not version.get("served", True):
                    continue
                subresources = version.get("subresources") or {}
                resource = ResourceType(
                    group=group,
                    version=version["name"],
                    plural=names["plural"],
                    kind=names["kind"],
                    namespaced=namespaced,
                    singular=names.get("singular") or names["kind"].lower(),
                    short_names=tuple(names.get("shortNames") or ()),
                    subresources=frozenset(k for k in ("status", "scale") if k in subresources),
                    builtin=False,
                    categories=tuple(names.get("categories") or ()),
                    schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                )
                key = (group, version["name"], names["plural"])
                self._custom[key] = resource
                keys.append(key)
            self._crd_resources[crd["metadata"]["name"]] = keys

    def uninstall_crd(self, crd_name: str) -> list[ResourceType]:
        with self._lock:
            return [r for k in self._crd_resources.pop(crd_name, []) if (r := self._custom.pop(k, None)) is not None]

    def crd_resources(self, crd_name: str) -> list[ResourceType]:
        with self._lock:
            return [self._custom[k] for k in self._crd_resources.get(crd_name, []) if k in self._custom]
