"""ClusterPreflight (DESIGN.md step 3), read-only, before any change: the ENIConfig CRD exists,
the AWS Load Balancer Controller runs when load-balancer verification is asked, and
PodDisruptionBudgets that would block draining the nodegroups being replaced, and pods there that no
controller would recreate, are reported; pods whose volumes are bound to an AZ where no replacement
can start a node fail it (podcidr.steps.volume_zones).
A self-managed VPC CNI's version is read from the aws-node image.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.exceptions import ApiException

from podcidr.errors import EniConfigCrdMissing, LoadBalancerControllerMissing
from podcidr.kube.client import ENI_CONFIG_CRD, Kube, api_status, kube_faults
from podcidr.models.migration import CNI_CONFIGURED_BEFORE, Migration
from podcidr.steps import aws_node_env
from podcidr.steps.configure_cni import refuse_values_other_managers_hold
from podcidr.steps.plan_checks.cni_settings import PREFIX_DELEGATION, apply_self_managed_prefix_delegation
from podcidr.steps.support import NODEGROUP_LABEL, UNFINISHED_PODS, all_items, plain, selector_matches
from podcidr.steps.uncontrolled_pods import uncontrolled_pod_warning
from podcidr.steps.volume_zones import check_volume_zones, zonal_pods

LBC_NAME = "aws-load-balancer-controller"
LBC_LABEL = f"app.kubernetes.io/name={LBC_NAME}"
KUBE_SYSTEM = "kube-system"


def cluster_preflight(migration: Migration, kube: Kube) -> Migration:
    name = migration.cluster_name
    _check_eni_config_crd(kube, name)
    if migration.verification.load_balancers:
        _check_load_balancer_controller(kube, name)
    if migration.cni.via == "daemonset":
        _read_self_managed_cni(migration, kube)
    elif migration.cni.status != CNI_CONFIGURED_BEFORE:
        _check_no_other_manager_holds_the_settings(migration, kube)
    for warning in _draining_warnings(migration, kube):
        if warning not in migration.warnings:
            migration.warnings.append(warning)
    return migration


def _check_eni_config_crd(kube: Kube, cluster_name: str) -> None:
    try:
        with kube_faults("get CustomResourceDefinition", cluster_name):
            kube.extensions.read_custom_resource_definition(ENI_CONFIG_CRD)
    except ApiException as error:
        if api_status(error) != 404:
            raise
        raise EniConfigCrdMissing(
            f"Cluster {cluster_name} has no CustomResourceDefinition {ENI_CONFIG_CRD}: custom networking needs "
            "the ENIConfig CRD, which ships with the Amazon VPC CNI (the vpc-cni add-on or its manifest). "
            "Install or repair the VPC CNI, then run podcidr again. Nothing was changed."
        ) from error


def _available(deployment: dict[str, Any]) -> bool:
    return int(deployment.get("status", {}).get("availableReplicas", 0)) >= 1


def _check_load_balancer_controller(kube: Kube, cluster_name: str) -> None:
    try:
        with kube_faults("get Deployment", cluster_name):
            deployment = plain(kube.apps.read_namespaced_deployment(LBC_NAME, KUBE_SYSTEM))
        if _available(deployment):
            return
    except ApiException as error:
        if api_status(error) != 404:
            raise
    with kube_faults("list Deployments", cluster_name):
        labelled = all_items(kube.apps.list_deployment_for_all_namespaces, label_selector=LBC_LABEL)
    if any(_available(item) for item in labelled):
        return
    seen = ", ".join(f"{d['metadata']['namespace']}/{d['metadata']['name']} (not available)" for d in labelled)
    raise LoadBalancerControllerMissing(
        f"Load-balancer verification is asked, but no AWS Load Balancer Controller is available in cluster "
        f"{cluster_name} (Deployment kube-system/{LBC_NAME} or one labelled {LBC_LABEL}; seen: {seen or 'none'}). "
        "Install the controller (https://kubernetes-sigs.github.io/aws-load-balancer-controller/), or run with "
        '"verify": {"loadBalancers": []}. Nothing was changed.'
    )


def _check_no_other_manager_holds_the_settings(migration: Migration, kube: Kube) -> None:
    """The add-on's update would keep such values (resolveConflicts PRESERVE): refused before any change. No aws-node
    (another CNI in its place) is ConfigureCni's to say."""
    try:
        daemon_set = aws_node_env.read_aws_node(kube, migration.cluster_name)
    except ApiException as error:
        if api_status(error) != 404:
            raise
        return
    refuse_values_other_managers_hold(migration, daemon_set, "Nothing was changed.")


def _read_self_managed_cni(migration: Migration, kube: Kube) -> None:
    daemon_set = aws_node_env.read_aws_node(kube, migration.cluster_name)
    for container in daemon_set["spec"]["template"]["spec"]["containers"]:
        if container["name"] != aws_node_env.AWS_NODE:
            continue
        image = container.get("image", "")
        if ":" in image.rsplit("/", 1)[-1]:
            migration.cni.version = image.rsplit(":", 1)[-1]
        for env in container.get("env", []):
            if env["name"] == PREFIX_DELEGATION and str(env.get("value", "")).lower() == "true":
                apply_self_managed_prefix_delegation(migration)
            if env["name"] == "ENI_CONFIG_ANNOTATION_DEF" and env.get("value"):
                warning = (
                    f"aws-node sets ENI_CONFIG_ANNOTATION_DEF={env['value']}: nodes annotated with it pick their "
                    "ENIConfig by that annotation, not by their zone label."
                )
                if warning not in migration.warnings:
                    migration.warnings.append(warning)


def _draining_warnings(migration: Migration, kube: Kube) -> list[str]:
    """What emptying the old nodegroups' nodes would lose or be blocked by."""
    old_nodegroups = [item.replaced for item in migration.nodegroups]
    if not old_nodegroups:
        return []
    cluster = migration.cluster_name
    with kube_faults("list Nodes", cluster):
        nodes = all_items(kube.core.list_node, label_selector=f"{NODEGROUP_LABEL} in ({','.join(old_nodegroups)})")
    node_group = {
        node["metadata"]["name"]: node["metadata"].get("labels", {}).get(NODEGROUP_LABEL, "") for node in nodes
    }
    if not node_group:
        return []
    with kube_faults("list Pods", cluster):
        pods = all_items(kube.core.list_pod_for_all_namespaces, field_selector=UNFINISHED_PODS)
    uncontrolled = uncontrolled_pod_warning(pods, node_group)
    with kube_faults("list PersistentVolumes and their claims", cluster):
        zonal = zonal_pods(kube, pods, node_group)
    zone_warnings = (
        check_volume_zones(migration.nodegroups, zonal, _staying_zones(kube, cluster, node_group)) if zonal else []
    )
    return (
        ([uncontrolled] if uncontrolled else [])
        + zone_warnings
        + _blocking_disruption_budgets(migration, kube, pods, node_group)
    )


def _staying_zones(kube: Kube, cluster: str, node_group: dict[str, str]) -> set[str]:
    """The AZs of the nodes that are not replaced."""
    with kube_faults("list Nodes", cluster):
        nodes = all_items(kube.core.list_node)
    return {
        zone
        for node in nodes
        if node["metadata"]["name"] not in node_group
        and (zone := node["metadata"].get("labels", {}).get("topology.kubernetes.io/zone"))
    }


def _blocking_disruption_budgets(
    migration: Migration, kube: Kube, pods: list[dict[str, Any]], node_group: dict[str, str]
) -> list[str]:
    cluster = migration.cluster_name
    strategies = {item.node_replacement.strategy for item in migration.nodegroups}
    with kube_faults("list PodDisruptionBudgets", cluster):
        budgets = all_items(kube.policy.list_pod_disruption_budget_for_all_namespaces)
    blocking = [b for b in budgets if "status" in b and int(b["status"].get("disruptionsAllowed", 0)) == 0]
    warnings = []
    for budget in blocking:
        namespace = budget["metadata"]["namespace"]
        selector = budget.get("spec", {}).get("selector")
        if selector is None:
            continue  # policy/v1: a null selector selects no pods
        hit = sorted(
            {
                node_group[pod["spec"]["nodeName"]]
                for pod in pods
                if pod["metadata"].get("namespace") == namespace
                and pod["spec"].get("nodeName") in node_group
                and selector_matches(selector, pod["metadata"].get("labels", {}))
            }
        )
        if hit:
            consequence = (
                "deleting the old nodegroup drains its nodes, and pods that cannot be evicted within 15 minutes "
                "block the deletion"
                if strategies == {"delete"}
                else "the drain retries their evictions for podEvictionTimeoutSeconds, then stops with "
                "DrainBlocked (old nodes cordoned, nothing deleted) unless the budget allows one meanwhile"
            )
            warnings.append(
                f"PodDisruptionBudget {namespace}/{budget['metadata']['name']} allows 0 disruptions and covers pods "
                f"on nodegroup(s) {', '.join(hit)}: {consequence}. Scale the workload up or relax the budget."
            )
    return warnings
