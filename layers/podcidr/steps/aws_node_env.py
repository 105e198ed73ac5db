"""What the VPC CNI's aws-node container runs, and who set it.

EKS writes a managed add-on's configuration onto aws-node by server-side apply, as the field manager
`eks`. A field another manager set (`kubectl set env`: `kubectl-set`; Helm, a GitOps controller) keeps
that manager's value under resolveConflicts PRESERVE, and the add-on update still ends Successful
(AWS-FACTS 2). metadata.managedFields says who owns each env entry's value.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from podcidr.errors import CniConfigConflict
from podcidr.steps.support import plain

if TYPE_CHECKING:
    from podcidr.kube.client import Kube

AWS_NODE = "aws-node"
KUBE_SYSTEM = "kube-system"
EKS_MANAGER = "eks"


@dataclass(frozen=True)
class Difference:
    """An env key whose value in aws-node is not the one asked for."""

    found: str
    """What aws-node runs: `KEY=value`, `KEY unset`, `KEY without a value` or `KEY from valueFrom`."""
    other_managers: tuple[str, ...]
    """The field managers other than EKS that own the entry's value (sorted; empty: EKS's or nobody's)."""
    shared_with_eks: bool = False
    """EKS owns the value too (an install the add-on was created over, with the same value then)."""

    @property
    def owners(self) -> str:
        """`KEY=value (set by helm, shared with EKS)`."""
        shared = ", shared with EKS" if self.shared_with_eks else ""
        return f"{self.found} (set by {', '.join(self.other_managers)}{shared})"


def read_aws_node(kube: Kube, cluster: str) -> dict[str, Any]:
    from podcidr.kube.client import kube_faults  # imported where the Kubernetes client is needed

    with kube_faults("get DaemonSet aws-node", cluster):
        return plain(kube.apps.read_namespaced_daemon_set(AWS_NODE, KUBE_SYSTEM))


def aws_node_container(daemon_set: dict[str, Any], cluster: str) -> dict[str, Any]:
    """The DaemonSet's aws-node container; CniConfigConflict without it."""
    containers = daemon_set["spec"]["template"]["spec"]["containers"]
    container = next((c for c in containers if c["name"] == AWS_NODE), None)
    if container is None:
        raise CniConfigConflict(f"The aws-node DaemonSet of cluster {cluster} has no aws-node container.")
    return dict(container)


def differences(daemon_set: dict[str, Any], cluster: str, wanted: dict[str, str]) -> list[Difference]:
    """The keys of `wanted` aws-node does not run with their value; CniConfigConflict without its container."""
    container = aws_node_container(daemon_set, cluster)
    env = {item["name"]: item for item in container.get("env", [])}
    found = []
    for key, value in wanted.items():
        entry = env.get(key)
        if entry is None:
            seen = f"{key} unset"
        elif "valueFrom" in entry:
            seen = f"{key} from valueFrom"
        elif entry.get("value") is None:
            seen = f"{key} without a value"
        elif entry["value"] != value:
            seen = f"{key}={entry['value']}"
        else:
            continue
        owners = _value_owners(daemon_set, key)
        found.append(Difference(seen, tuple(sorted(owners - {EKS_MANAGER})), EKS_MANAGER in owners))
    return found


def _value_owners(daemon_set: dict[str, Any], key: str) -> set[str]:
    owners = set()
    for entry in daemon_set.get("metadata", {}).get("managedFields") or []:
        fields = entry.get("fieldsV1") or {}
        for step in ("f:spec", "f:template", "f:spec", "f:containers"):
            fields = fields.get(step) or {}
        env = _keyed(_keyed(fields, AWS_NODE).get("f:env") or {}, key)
        if "f:value" in env or "f:valueFrom" in env:
            owners.add(str(entry.get("manager", "")))
    return owners


def _keyed(fields: dict[str, Any], name: str) -> dict[str, Any]:
    """The member of a list merged by name (`k:{"name":"..."}` in FieldsV1), or {}."""
    for member, value in fields.items():
        if member.startswith("k:") and _json(member[2:]) == {"name": name}:
            return value if isinstance(value, dict) else {}
    return {}


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
