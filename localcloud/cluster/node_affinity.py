"""Required node affinity, as kube-scheduler's NodeAffinity filter reads it: a pod fits a node when
any of `requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms` matches it, a term
matching when all its matchExpressions (node labels) and matchFields (only `metadata.name`) do.
An empty list of terms matches no node. Preferred terms only score nodes: they never refuse one."""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]


def affinity_allows(pod: Obj, node: Obj) -> bool:
    required = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution"
    )
    if required is None:
        return True
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(_term_matches(term, labels, fields) for term in required.get("nodeSelectorTerms") or [])


def _term_matches(term: Obj, labels: dict[str, str], fields: dict[str, str]) -> bool:
    expressions = term.get("matchExpressions") or []
    field_expressions = term.get("matchFields") or []
    if not expressions and not field_expressions:
        return False  # an empty term matches nothing (k8s.io/component-helpers nodeaffinity)
    return all(_matches(e, labels) for e in expressions) and all(_matches(e, fields) for e in field_expressions)


def _matches(expression: Obj, values: dict[str, str]) -> bool:
    key, operator = expression["key"], expression["operator"]
    wanted = list(expression.get("values") or [])
    present = key in values
    if operator == "In":
        return present and values[key] in wanted
    if operator == "NotIn":
        return not present or values[key] not in wanted
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt"):
        if not present or len(wanted) != 1:
            return False
        try:
            found, bound = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return found > bound if operator == "Gt" else found < bound
    return False
