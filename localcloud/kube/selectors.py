"""Label and field selectors, parsed and matched as kube-apiserver does.

Label selectors: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a` (exists), `!a`.
Field selectors: `f=v`, `f==v`, `f!=v` on the fields a resource supports; others are a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.kube.errors import ApiError, bad_request

_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str
    """=, !=, in, notin, exists, !exists (`==` parses as `=`)."""
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!exists":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        # != and notin match objects without the label too
        return not present or labels[self.key] not in self.values


LabelSelector = tuple[Requirement, ...]


def _split_top(text: str) -> list[str]:
    """Split on commas that are not inside parentheses."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _check_key(key: str, selector: str) -> str:
    if not _KEY.match(key) or len(key.rpartition("/")[2]) > 63:
        raise bad_request(f'unable to parse requirement: invalid label key "{key}" in selector "{selector}"')
    return key


def _check_value(value: str, selector: str) -> str:
    if not _VALUE.match(value) or len(value) > 63:
        raise bad_request(f'unable to parse requirement: invalid label value: "{value}" in selector "{selector}"')
    return value


_SET = re.compile(r"^\s*(\S+)\s+(in|notin)\s*\(([^)]*)\)\s*$")


def parse_label_selector(selector: str | None) -> LabelSelector:
    """Parse `?labelSelector=`; a malformed selector is a 400 BadRequest."""
    if not selector or not selector.strip():
        return ()
    out: list[Requirement] = []
    for raw in _split_top(selector):
        part = raw.strip()
        if not part:
            raise bad_request(f"found '', expected: identifier in selector \"{selector}\"")
        match = _SET.match(part)
        if match:
            key, op, values = match.groups()
            vals = tuple(sorted(_check_value(v.strip(), selector) for v in values.split(",") if v.strip()))
            if not vals:
                raise bad_request(f"for 'in', 'notin' operators, values set can't be empty in selector \"{selector}\"")
            out.append(Requirement(_check_key(key, selector), op, vals))
            continue
        for op in ("!=", "==", "="):
            if op in part:
                key, _, value = part.partition(op)
                out.append(
                    Requirement(
                        _check_key(key.strip(), selector),
                        "!=" if op == "!=" else "=",
                        (_check_value(value.strip(), selector),),
                    )
                )
                break
        else:
            if part.startswith("!"):
                out.append(Requirement(_check_key(part[1:].strip(), selector), "!exists"))
            elif " " in part or "(" in part:
                raise bad_request(f"unable to parse requirement: found '{part}' in selector \"{selector}\"")
            else:
                out.append(Requirement(_check_key(part, selector), "exists"))
    return tuple(out)


def from_label_selector(selector: Mapping[str, Any] | None) -> LabelSelector:
    """A metav1.LabelSelector (matchLabels, matchExpressions) as requirements. None matches nothing
    in workload controllers, but an empty selector matches everything (as for PDBs)."""
    if not selector:
        return ()
    out = [Requirement(k, "=", (str(v),)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expr in selector.get("matchExpressions") or []:
        op = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!exists"}[expr["operator"]]
        out.append(Requirement(expr["key"], op, tuple(expr.get("values") or ())))
    return tuple(out)


def labels_match(selector: LabelSelector, labels: Mapping[str, str] | None) -> bool:
    labels = labels or {}
    return all(req.matches(labels) for req in selector)


# field selectors -------------------------------------------------------------------------------

FieldSelector = tuple[tuple[str, str, str], ...]

COMMON_FIELDS = frozenset({"metadata.name", "metadata.namespace"})
FIELDS_BY_RESOURCE: dict[str, frozenset[str]] = {
    "v1/pods": frozenset(
        {
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        }
    ),
    "v1/nodes": frozenset({"spec.unschedulable"}),
    "v1/namespaces": frozenset({"status.phase"}),
    "v1/events": frozenset(
        {
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        }
    ),
    "v1/services": frozenset({"spec.type", "spec.clusterIP"}),
    "apps/v1/replicasets": frozenset({"status.replicas"}),
}


def parse_field_selector(selector: str | None, resource_key: str) -> FieldSelector:
    if not selector or not selector.strip():
        return ()
    allowed = COMMON_FIELDS | FIELDS_BY_RESOURCE.get(resource_key, frozenset())
    out: list[tuple[str, str, str]] = []
    for raw in selector.split(","):
        part = raw.strip()
        for op in ("!=", "==", "="):
            if op in part:
                field, _, value = part.partition(op)
                field = field.strip()
                if field not in allowed:
                    raise ApiError(400, "BadRequest", f"field label not supported: {field}")
                out.append((field, "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise bad_request(f"invalid selector: '{selector}'; can't understand '{part}'")
    return tuple(out)


def field_value(obj: Mapping[str, Any], path: str) -> str:
    if path == "source":
        path = "source.component"
    current: Any = obj
    for part in path.split("."):
        if not isinstance(current, Mapping):
            current = None
            break
        current = current.get(part)
    if current is None:
        # Unset fields compare as their zero value, as the API server's field sets do.
        return "false" if path in ("spec.hostNetwork", "spec.unschedulable") else ""
    if isinstance(current, bool):
        return "true" if current else "false"
    return str(current)


def fields_match(selector: FieldSelector, obj: Mapping[str, Any]) -> bool:
    for path, op, value in selector:
        actual = field_value(obj, path)
        if (actual == value) != (op == "="):
            return False
    return True
