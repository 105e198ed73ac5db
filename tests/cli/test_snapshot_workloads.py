"""The snapshot's workloads: a StatefulSet is told from a Deployment by what it is, not by comparing
kubernetes model objects by value (to_dict, quadratic in the workloads)."""

from __future__ import annotations

from types import SimpleNamespace as Obj
from typing import Any

from podcidr_cli.snapshot_common import Names
from podcidr_cli.snapshot_workloads import Workloads


class _NotComparable:
    """A kubernetes model object whose by-value comparison is not to be used."""

    def __init__(self, name: str) -> None:
        template = Obj(metadata=Obj(labels={"app": name}), spec=Obj(containers=[Obj(image="nginx")]))
        self.metadata = Obj(namespace="data", name=name)
        self.spec = Obj(replicas=1, template=template, volume_claim_templates=[], ordinals=None)

    def __eq__(self, other: object) -> bool:
        raise AssertionError("workloads compared by value")

    __hash__ = None  # type: ignore[assignment]


def _items(*items: Any) -> Any:
    return lambda: Obj(items=list(items))


def test_statefulsets_are_told_apart_without_comparing_objects_by_value() -> None:
    statefulsets = [_NotComparable(f"db{i}") for i in range(3)]
    kube = Obj(
        apps=Obj(list_stateful_set_for_all_namespaces=_items(*statefulsets)),
        core=Obj(list_persistent_volume_claim_for_all_namespaces=_items(), list_service_for_all_namespaces=_items()),
        policy=Obj(list_pod_disruption_budget_for_all_namespaces=_items()),
        networking=Obj(list_ingress_for_all_namespaces=_items()),
    )
    entries = Workloads(kube, [_NotComparable("web")], ec2=None).entries(Names(anonymize=False))
    assert {e["name"]: e.get("kind") for e in entries} == {
        "db0": "StatefulSet",
        "db1": "StatefulSet",
        "db2": "StatefulSet",
        "web": None,
    }
