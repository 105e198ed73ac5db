"""The twin's scheduler honours required node affinity as kube-scheduler's NodeAffinity filter does:
nodeSelectorTerms are ORed, the matchExpressions of one term ANDed (In, NotIn, Exists, DoesNotExist,
Gt, Lt); preferred terms never keep a pod off a node."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.cluster.workloads import Workloads, _why

NODEGROUP = "eks.amazonaws.com/nodegroup"


def _node(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {},
        "status": {"conditions": [{"type": "Ready", "status": "True"}], "allocatable": {"pods": "17"}},
    }


def _pod(terms: list[dict[str, Any]] | None = None, preferred: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": [{"name": "web", "image": "nginx"}]}
    if terms is not None:
        key = "preferredDuringSchedulingIgnoredDuringExecution" if preferred else None
        if key:
            spec["affinity"] = {"nodeAffinity": {key: [{"weight": 1, "preference": terms[0]}]}}
        else:
            spec["affinity"] = {
                "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}
            }
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": spec}


OLD = _node("old-1", {NODEGROUP: "managed-ng", "size": "4"})
NEW = _node("new-1", {NODEGROUP: "managed-ng-podcidr", "size": "8"})


@pytest.mark.parametrize(
    ("terms", "fits_old", "fits_new"),
    [
        ([{"matchExpressions": [{"key": NODEGROUP, "operator": "In", "values": ["managed-ng-podcidr"]}]}], False, True),
        ([{"matchExpressions": [{"key": NODEGROUP, "operator": "NotIn", "values": ["managed-ng"]}]}], False, True),
        ([{"matchExpressions": [{"key": "size", "operator": "Gt", "values": ["5"]}]}], False, True),
        ([{"matchExpressions": [{"key": "size", "operator": "Lt", "values": ["5"]}]}], True, False),
        ([{"matchExpressions": [{"key": "missing", "operator": "DoesNotExist"}]}], True, True),
        ([{"matchExpressions": [{"key": "missing", "operator": "Exists"}]}], False, False),
        (
            [
                {"matchExpressions": [{"key": NODEGROUP, "operator": "In", "values": ["nope"]}]},
                {"matchExpressions": [{"key": "size", "operator": "In", "values": ["4"]}]},
            ],
            True,
            False,
        ),
        (
            [
                {
                    "matchExpressions": [
                        {"key": NODEGROUP, "operator": "Exists"},
                        {"key": "size", "operator": "In", "values": ["8"]},
                    ]
                }
            ],
            False,
            True,
        ),
        ([{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["old-1"]}]}], True, False),
        ([], False, False),
    ],
)
def test_required_node_affinity_decides_where_a_pod_fits(
    terms: list[dict[str, Any]], fits_old: bool, fits_new: bool
) -> None:
    pod = _pod(terms)
    assert Workloads._fits(pod, OLD, {}) is fits_old
    assert Workloads._fits(pod, NEW, {}) is fits_new


def test_preferred_node_affinity_never_keeps_a_pod_off_a_node() -> None:
    pod = _pod([{"matchExpressions": [{"key": NODEGROUP, "operator": "In", "values": ["nope"]}]}], preferred=True)
    assert Workloads._fits(pod, OLD, {}) and Workloads._fits(pod, NEW, {})


def test_a_node_refused_by_affinity_is_named_as_kube_scheduler_does() -> None:
    pod = _pod([{"matchExpressions": [{"key": NODEGROUP, "operator": "In", "values": ["managed-ng-podcidr"]}]}])
    assert _why(pod, OLD, {}) == "node(s) didn't match Pod's node affinity/selector"
