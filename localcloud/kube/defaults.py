"""Defaulting and minimal validation, as the API server applies them on every write.

Objects come back complete (the kubernetes client validates responses into its models: a
DaemonSet's status needs its four counters, a Service port its protocol, ...), and a few invalid
requests are refused with 422 as the real server refuses them (a Deployment whose selector does not
match its template, a Pod without containers, an Ingress path without pathType).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Any

from localcloud.kube.errors import ApiError, invalid
from localcloud.kube.resources import ResourceType
from localcloud.kube.selectors import from_label_selector, labels_match
from localcloud.kube.source_ranges import source_range_causes

Obj = dict[str, Any]

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
# Resources whose names must be DNS-1123 labels (the rest: subdomains).
_LABEL_NAMED = frozenset({"v1/namespaces", "v1/services"})

DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


class ClusterIPs:
    """Service ClusterIP allocation from the service CIDR (EKS: 10.100.0.0/16 or 172.20.0.0/16)."""

    def __init__(self, cidr: str = "10.100.0.0/16") -> None:
        self.network = ipaddress.ip_network(cidr)
        self._used: set[str] = set()
        self._next = 10
        self._node_ports: set[int] = set()
        self._next_port = 30000

    def reserve(self, ip: str) -> None:
        self._used.add(ip)

    def release(self, ip: str | None) -> None:
        if ip:
            self._used.discard(ip)

    def allocate(self) -> str:
        while True:
            ip = str(self.network.network_address + self._next)
            self._next += 1
            if ip not in self._used:
                self._used.add(ip)
                return ip

    def node_port(self) -> int:
        while self._next_port in self._node_ports:
            self._next_port += 1
        port = self._next_port
        self._node_ports.add(port)
        return port

    def release_port(self, port: int | None) -> None:
        if port:
            self._node_ports.discard(port)


def validate_name(resource: ResourceType, name: str) -> None:
    pattern = _DNS1123_LABEL if resource.key in _LABEL_NAMED else _DNS1123_SUBDOMAIN
    limit = 63 if resource.key in _LABEL_NAMED else 253
    if not name or len(name) > limit or not pattern.match(name):
        kind_rule = "RFC 1123 label" if resource.key in _LABEL_NAMED else "RFC 1123 subdomain"
        raise invalid(
            resource.kind,
            resource.group,
            name,
            [
                (
                    "metadata.name",
                    f'Invalid value: "{name}": a lowercase {kind_rule} must consist of lower case alphanumeric '
                    "characters, '-' or '.', and must start and end with an alphanumeric character",
                )
            ],
        )


def _quantities(resources: Any) -> None:
    """Quantities come back as strings (`"110"`, not 110), as the API server serialises them."""
    if not isinstance(resources, dict):
        return
    for section in ("requests", "limits", "capacity", "allocatable"):
        values = resources.get(section)
        if isinstance(values, dict):
            for k, v in list(values.items()):
                if isinstance(v, bool):
                    continue
                if isinstance(v, (int, float)):
                    values[k] = str(v)


def _container(container: Obj) -> None:
    image = str(container.get("image", ""))
    if "imagePullPolicy" not in container:
        tag = image.rpartition("/")[2]
        latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
        container["imagePullPolicy"] = "Always" if latest else "IfNotPresent"
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    _quantities(container["resources"])
    for port in container.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in container.get("env") or []:
        ref = (env.get("valueFrom") or {}).get("fieldRef")
        if ref is not None:
            ref.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(probe), dict):
            p = container[probe]
            for k, v in (
                ("timeoutSeconds", 1),
                ("periodSeconds", 10),
                ("successThreshold", 1),
                ("failureThreshold", 3),
            ):
                p.setdefault(k, v)


def pod_spec(spec: Obj, *, in_template: bool) -> None:
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        _container(container)
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if "serviceAccountName" in spec or "serviceAccount" in spec:
        name = spec.get("serviceAccountName") or spec.get("serviceAccount")
        spec["serviceAccountName"] = spec["serviceAccount"] = name
    for volume in spec.get("volumes") or []:
        if "hostPath" in volume:
            volume["hostPath"].setdefault("type", "")
        for key in ("configMap", "secret"):
            if key in volume:
                volume[key].setdefault("defaultMode", 420)
    if not in_template:
        # admission: ServiceAccount, DefaultTolerationSeconds, Priority
        spec.setdefault("serviceAccountName", "default")
        spec.setdefault("serviceAccount", spec["serviceAccountName"])
        spec.setdefault("enableServiceLinks", True)
        spec.setdefault("priority", 2000001000 if spec.get("priorityClassName") == "system-node-critical" else 0)
        spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
        tolerations = spec.setdefault("tolerations", [])
        for default in DEFAULT_TOLERATIONS:
            if not any(
                t.get("key") == default["key"] or (t.get("operator") == "Exists" and not t.get("key"))
                for t in tolerations
            ):
                tolerations.append(dict(default))


def _template(obj: Obj) -> list[tuple[str, str]]:
    """Default a workload's pod template; the causes of a 422 if it cannot match its selector."""
    spec = obj.setdefault("spec", {})
    causes: list[tuple[str, str]] = []
    template = spec.get("template")
    if not isinstance(template, dict):
        return [("spec.template", "Required value")]
    template.setdefault("metadata", {})
    pod = template.setdefault("spec", {})
    pod_spec(pod, in_template=True)
    if not pod.get("containers"):
        causes.append(("spec.template.spec.containers", "Required value"))
    selector = spec.get("selector")
    if not selector or not (selector.get("matchLabels") or selector.get("matchExpressions")):
        causes.append(("spec.selector", "Required value"))
    elif not labels_match(from_label_selector(selector), template["metadata"].get("labels")):
        causes.append(("spec.template.metadata.labels", "Invalid value: `selector` does not match template `labels`"))
    return causes


def _deployment(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    strategy = spec.setdefault("strategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", "25%")
        rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    return _template(obj)


def _daemonset(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxUnavailable", 1)
        rolling.setdefault("maxSurge", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    status = obj.setdefault("status", {})
    for key in ("currentNumberScheduled", "desiredNumberScheduled", "numberMisscheduled", "numberReady"):
        status.setdefault(key, 0)
    return _template(obj)


def _statefulset(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        strategy.setdefault("rollingUpdate", {}).setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for claim in spec.get("volumeClaimTemplates") or []:
        claim.setdefault("apiVersion", "v1")
        claim.setdefault("kind", "PersistentVolumeClaim")
        claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")
        claim.setdefault("status", {}).setdefault("phase", "Pending")
    obj.setdefault("status", {}).setdefault("replicas", 0)
    return _template(obj)


def _persistent_volume_claim(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    causes = []
    if not spec.get("accessModes"):
        causes.append(("spec.accessModes", "Required value: at least 1 access mode is required"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
        causes.append(("spec.resources[storage]", "Required value"))
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    return causes


def _persistent_volume(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    spec.setdefault("volumeMode", "Filesystem")
    spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
    obj.setdefault("status", {}).setdefault("phase", "Pending")
    return []


def _replicaset(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    obj.setdefault("spec", {}).setdefault("replicas", 1)
    obj.setdefault("status", {}).setdefault("replicas", 0)
    return _template(obj)


def _pod(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    pod_spec(spec, in_template=False)
    status = obj.setdefault("status", {})
    status.setdefault("phase", "Pending")
    if "qosClass" not in status:
        status["qosClass"] = _qos(spec)
    causes = []
    containers = spec.get("containers") or []
    if not containers:
        causes.append(("spec.containers", "Required value"))
    for i, container in enumerate(containers):
        if not container.get("image"):
            causes.append((f"spec.containers[{i}].image", "Required value"))
    return causes


def _qos(spec: Obj) -> str:
    resources = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in resources):
        return "BestEffort"
    guaranteed = all(
        r.get("limits")
        and set(r.get("limits", {})) >= {"cpu", "memory"}
        and r.get("requests", r["limits"]) == r["limits"]
        for r in resources
    )
    return "Guaranteed" if guaranteed else "Burstable"


def _service_factory(ips: ClusterIPs) -> Callable[[Obj, Obj | None], list[tuple[str, str]]]:
    def _service(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        causes = []
        if spec["type"] != "ExternalName":
            if not spec.get("ports") and spec.get("clusterIP") != "None":
                causes.append(("spec.ports", "Required value"))
            old_spec = (old or {}).get("spec", {})
            if old is not None and old_spec.get("clusterIP") and spec.get("clusterIP") in (None, ""):
                spec["clusterIP"] = old_spec["clusterIP"]
                spec["clusterIPs"] = old_spec.get("clusterIPs", [old_spec["clusterIP"]])
            if old is not None and old_spec.get("clusterIP") and spec.get("clusterIP") != old_spec["clusterIP"]:
                causes.append(("spec.clusterIPs[0]", "Invalid value: field is immutable"))
            if not spec.get("clusterIP"):
                spec["clusterIP"] = ips.allocate()
            elif spec["clusterIP"] != "None":
                ips.reserve(spec["clusterIP"])
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        old_ports = {
            (p.get("port"), p.get("protocol", "TCP")): p for p in (old or {}).get("spec", {}).get("ports") or []
        }
        for port in spec.get("ports") or []:
            port.setdefault("protocol", "TCP")
            port.setdefault("targetPort", port.get("port"))
            if spec["type"] in ("NodePort", "LoadBalancer") and not port.get("nodePort"):
                previous = old_ports.get((port.get("port"), port["protocol"]), {}).get("nodePort")
                if spec.get("allocateLoadBalancerNodePorts", True) or spec["type"] == "NodePort":
                    port["nodePort"] = previous or ips.node_port()
        if spec["type"] in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
        if spec["type"] == "LoadBalancer":
            spec.setdefault("allocateLoadBalancerNodePorts", True)
        causes += source_range_causes(obj)
        obj.setdefault("status", {}).setdefault("loadBalancer", {})
        return causes

    return _service


def _namespace(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
    obj.setdefault("status", {}).setdefault("phase", "Active")
    obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    return []


def _node(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    status = obj.setdefault("status", {})
    _quantities(status)
    status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 10250}})
    return []


def _ingress(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    causes = []
    for i, rule in enumerate(obj.get("spec", {}).get("rules") or []):
        for j, path in enumerate((rule.get("http") or {}).get("paths") or []):
            if not path.get("pathType"):
                causes.append(
                    (f"spec.rules[{i}].http.paths[{j}].pathType", "Required value: pathType must be specified")
                )
    obj.setdefault("status", {}).setdefault("loadBalancer", {})
    return causes


def _pdb(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    causes = []
    if "minAvailable" in spec and "maxUnavailable" in spec:
        causes.append(("spec", "Invalid value: minAvailable and maxUnavailable cannot be both set"))
    status = obj.setdefault("status", {})
    for key in ("currentHealthy", "desiredHealthy", "disruptionsAllowed", "expectedPods"):
        status.setdefault(key, 0)
    return causes


def _crd(obj: Obj, old: Obj | None) -> list[tuple[str, str]]:
    spec = obj.setdefault("spec", {})
    names = spec.get("names") or {}
    causes = []
    if not spec.get("group"):
        causes.append(("spec.group", "Required value"))
    if not names.get("plural") or not names.get("kind"):
        causes.append(("spec.names", "Required value"))
    elif obj["metadata"]["name"] != f"{names['plural']}.{spec.get('group')}":
        causes.append(
            ("metadata.name", f'Invalid value: "{obj["metadata"]["name"]}": must be spec.names.plural+"."+spec.group')
        )
    if spec.get("scope") not in ("Cluster", "Namespaced"):
        causes.append(("spec.scope", "Unsupported value: must be Cluster or Namespaced"))
    versions = spec.get("versions") or []
    if sum(1 for v in versions if v.get("storage")) != 1:
        causes.append(("spec.versions", "Invalid value: must have exactly one version marked as storage version"))
    if causes:
        return causes
    names.setdefault("singular", names["kind"].lower())
    names.setdefault("listKind", f"{names['kind']}List")
    spec.setdefault("conversion", {"strategy": "None"})
    for version in versions:
        version.setdefault("served", True)
    storage = next(v["name"] for v in versions if v.get("storage"))
    status = obj.setdefault("status", {})
    status["acceptedNames"] = dict(names)
    status.setdefault("storedVersions", [storage])
    return []


def defaulters(ips: ClusterIPs) -> dict[str, Callable[[Obj, Obj | None], list[tuple[str, str]]]]:
    """Per resource key: default the object in place; return 422 causes (empty when valid)."""
    return {
        "v1/pods": _pod,
        "v1/services": _service_factory(ips),
        "v1/namespaces": _namespace,
        "v1/nodes": _node,
        "apps/v1/deployments": _deployment,
        "apps/v1/daemonsets": _daemonset,
        "apps/v1/replicasets": _replicaset,
        "apps/v1/statefulsets": _statefulset,
        "v1/persistentvolumeclaims": _persistent_volume_claim,
        "v1/persistentvolumes": _persistent_volume,
        "networking.k8s.io/v1/ingresses": _ingress,
        "policy/v1/poddisruptionbudgets": _pdb,
        "apiextensions.k8s.io/v1/customresourcedefinitions": _crd,
    }


IMMUTABLE_SELECTOR = frozenset(
    {"apps/v1/deployments", "apps/v1/daemonsets", "apps/v1/replicasets", "apps/v1/statefulsets"}
)


def check_immutable(resource: ResourceType, obj: Obj, old: Obj) -> None:
    if resource.key in IMMUTABLE_SELECTOR and obj.get("spec", {}).get("selector") != old.get("spec", {}).get(
        "selector"
    ):
        raise invalid(
            resource.kind,
            resource.group,
            obj["metadata"]["name"],
            [("spec.selector", "Invalid value: field is immutable")],
        )
    if resource.key == "apiextensions.k8s.io/v1/customresourcedefinitions":
        for key in ("group", "scope"):
            if obj.get("spec", {}).get(key) != old.get("spec", {}).get(key):
                raise invalid(
                    resource.kind,
                    resource.group,
                    obj["metadata"]["name"],
                    [(f"spec.{key}", "Invalid value: field is immutable")],
                )


# custom resources: structural schema validation and pruning -------------------------------------


def prune_and_validate(resource: ResourceType, obj: Obj) -> list[str]:
    """Prune unknown fields and check types against the CRD's structural schema (what kube-apiserver
    does for apiextensions.k8s.io/v1 CRDs); 422 on a type mismatch or a missing required field.
    The pruned fields' paths (`spec.foo`), for the request's field validation."""
    schema = resource.schema
    pruned: list[str] = []
    if not schema:
        return pruned
    causes: list[tuple[str, str]] = []
    for key in list(obj):
        if key in ("apiVersion", "kind", "metadata"):
            continue
        props = schema.get("properties") or {}
        if key in props:
            obj[key] = _walk(obj[key], props[key], key, causes, pruned)
        elif not schema.get("x-kubernetes-preserve-unknown-fields"):
            del obj[key]
            pruned.append(key)
    for req in schema.get("required") or []:
        if req not in obj:
            causes.append((req, "Required value"))
    if causes:
        raise invalid(resource.kind, resource.group, obj.get("metadata", {}).get("name", ""), causes)
    return pruned


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
}


def _walk(value: Any, schema: dict[str, Any], path: str, causes: list[tuple[str, str]], pruned: list[str]) -> Any:
    if value is None:
        if not schema.get("nullable"):
            causes.append((path, 'Invalid value: "null": must not be null'))
        return value
    if schema.get("x-kubernetes-int-or-string"):
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            causes.append((path, "Invalid value: must be an integer or a string"))
        return value
    expected = schema.get("type")
    if expected and not _TYPES.get(expected, lambda v: True)(value):
        causes.append((path, f'Invalid value: "{type(value).__name__}": {path} in body must be of type {expected}'))
        return value
    if isinstance(value, dict):
        props = schema.get("properties")
        if props is not None:
            for key in list(value):
                if key in props:
                    value[key] = _walk(value[key], props[key], f"{path}.{key}", causes, pruned)
                elif not schema.get("x-kubernetes-preserve-unknown-fields") and not schema.get("additionalProperties"):
                    del value[key]
                    pruned.append(f"{path}.{key}")
        elif isinstance(schema.get("additionalProperties"), dict):
            for key in list(value):
                value[key] = _walk(value[key], schema["additionalProperties"], f"{path}.{key}", causes, pruned)
        for req in schema.get("required") or []:
            if req not in value:
                causes.append((f"{path}.{req}", "Required value"))
        if "enum" in schema and value not in schema["enum"]:
            causes.append((path, "Unsupported value"))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_walk(item, schema["items"], f"{path}[{i}]", causes, pruned) for i, item in enumerate(value)]
    elif "enum" in schema and value not in schema["enum"]:
        causes.append((path, f'Unsupported value: "{value}"'))
    return value


def raise_if(resource: ResourceType, name: str, causes: list[tuple[str, str]]) -> None:
    if causes:
        raise invalid(resource.kind, resource.group, name, causes)


__all__ = ["ApiError", "ClusterIPs", "check_immutable", "defaulters", "prune_and_validate", "raise_if", "validate_name"]
