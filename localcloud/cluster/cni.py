"""The VPC CNI's configuration: aws-node's effective env, the add-on's hold on it, ENIConfig choice.

- Effective env: what the aws-node container of the DaemonSet says. With the managed add-on, EKS
  writes the add-on's configuration onto the DaemonSet when the add-on is created or updated: the
  manifest's env for the version plus `configurationValues.env`. OVERWRITE resets the DaemonSet's
  env to exactly that (env set by hand is lost, amazon-vpc-cni-k8s #1382/#2268); PRESERVE (and, in
  the twin, NONE) keeps what was set by hand, a key the configuration sets included (server-side
  apply leaves a field another manager changed: the update still ends Successful), and applies the
  configuration's other keys. "Set by hand": the value is not the one EKS wrote last.
- ENIConfig of a node (amazon-vpc-cni-k8s pkg/eniconfig GetNodeSpecificENIConfigName): the label
  `vpc.amazonaws.com/externalEniConfig`, else the annotation ENI_CONFIG_ANNOTATION_DEF (default
  `k8s.amazonaws.com/eniConfig`), else the label ENI_CONFIG_LABEL_DEF (default
  `k8s.amazonaws.com/eniConfig`), else `default`.
"""

from __future__ import annotations

from typing import Any

from localcloud.kube.bootstrap import aws_node_env
from localcloud.kube.store import ObjectStore

Obj = dict[str, Any]

DAEMONSET = "apps/v1/daemonsets"
ENICONFIGS = "crd.k8s.amazonaws.com/v1alpha1/eniconfigs"
CUSTOM_NETWORK = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"
PREFIX_DELEGATION = "ENABLE_PREFIX_DELEGATION"
LABEL_DEF = "ENI_CONFIG_LABEL_DEF"
ANNOTATION_DEF = "ENI_CONFIG_ANNOTATION_DEF"
DEFAULT_KEY = "k8s.amazonaws.com/eniConfig"
EXTERNAL_LABEL = "vpc.amazonaws.com/externalEniConfig"
ENICONFIG_NODE_LABEL = "vpc.amazonaws.com/eniConfig"
DEFAULT_ENICONFIG = "default"


def aws_node(store: ObjectStore) -> Obj | None:
    return store.find(DAEMONSET, "aws-node", namespace="kube-system")


def container_env(daemonset: Obj | None) -> dict[str, str]:
    """The aws-node container's env, plain values only (valueFrom entries are left out)."""
    if daemonset is None:
        return {}
    for container in daemonset.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
        if container.get("name") == "aws-node":
            return {e["name"]: str(e.get("value", "")) for e in container.get("env") or [] if "valueFrom" not in e}
    return {}


def effective_env(store: ObjectStore) -> dict[str, str]:
    return container_env(aws_node(store))


def flag(env: dict[str, str], name: str) -> bool:
    return env.get(name, "false").strip().lower() == "true"


def custom_networking(env: dict[str, str]) -> bool:
    return flag(env, CUSTOM_NETWORK)


def prefix_delegation(env: dict[str, str]) -> bool:
    return flag(env, PREFIX_DELEGATION)


def eniconfig_name(node: Obj, env: dict[str, str]) -> str:
    meta = node.get("metadata", {})
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    if EXTERNAL_LABEL in labels:
        return str(labels[EXTERNAL_LABEL])
    annotation_key = env.get(ANNOTATION_DEF) or DEFAULT_KEY
    if annotation_key in annotations:
        return str(annotations[annotation_key])
    label_key = env.get(LABEL_DEF) or DEFAULT_KEY
    if label_key in labels:
        return str(labels[label_key])
    return DEFAULT_ENICONFIG


def addon_env(version: str, configuration: dict[str, Any], *, cluster_name: str, vpc_id: str) -> list[Obj]:
    """The env EKS manages for the add-on: the version's manifest, then configurationValues.env."""
    env = aws_node_env(version, cluster_name=cluster_name, vpc_id=vpc_id)
    wanted = {str(k): str(v) for k, v in (configuration.get("env") or {}).items()}
    out: list[Obj] = []
    for entry in env:
        name = entry["name"]
        if name in wanted and "valueFrom" not in entry:
            out.append({"name": name, "value": wanted.pop(name)})
        else:
            out.append(entry)
    out.extend({"name": k, "value": v} for k, v in sorted(wanted.items()))
    return out


def apply_addon(
    store: ObjectStore,
    *,
    version: str,
    configuration: dict[str, Any],
    resolve_conflicts: str,
    cluster_name: str,
    vpc_id: str,
    region: str,
    written_before: list[Obj] | None = None,
) -> None:
    """Write the add-on's configuration onto the aws-node DaemonSet, as EKS does when an add-on
    create or update completes. `written_before`: the env EKS wrote at the add-on's previous
    configuration (None: nothing of it is taken for set by hand)."""
    if aws_node(store) is None:
        return
    managed = addon_env(version, configuration, cluster_name=cluster_name, vpc_id=vpc_id)
    wanted = {str(k): str(v) for k, v in (configuration.get("env") or {}).items()}
    written = {e["name"]: e for e in written_before} if written_before is not None else None

    def set_by_hand(entry: Obj) -> bool:
        return written is not None and entry != written.get(entry["name"])

    def change(ds: Obj) -> None:
        for container in ds["spec"]["template"]["spec"]["containers"]:
            if container.get("name") != "aws-node":
                continue
            if resolve_conflicts == "OVERWRITE":
                container["env"] = managed
            else:
                env = list(container.get("env") or [])
                names = {e["name"]: i for i, e in enumerate(env)}
                for key, value in wanted.items():
                    if key in names:
                        if not set_by_hand(env[names[key]]):
                            env[names[key]] = {"name": key, "value": value}
                    else:
                        env.append({"name": key, "value": value})
                container["env"] = env
            image = str(container.get("image", ""))
            if ":" in image:
                container["image"] = f"{image.rsplit(':', 1)[0]}:{version}"
        labels = ds["metadata"].setdefault("labels", {})
        labels["app.kubernetes.io/version"] = version.split("-", 1)[0]

    store.mutate(DAEMONSET, "aws-node", change, namespace="kube-system")
