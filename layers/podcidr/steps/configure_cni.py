"""ConfigureCni (DESIGN.md step 9): turn custom networking on in the VPC CNI.

Managed add-on: UpdateAddon with the existing configurationValues (JSON or YAML, kept in its
format) merged with the env vars, resolveConflicts PRESERVE; then DescribeUpdate until the update
is Successful (AWS-FACTS section 2: env set on the DaemonSet by hand is lost on add-on updates, so
the add-on's own configuration is the place). PRESERVE also keeps a value of one of those keys that
another field manager set on aws-node (kubectl set env), and the update still ends Successful: so
ClusterPreflight refuses such values before any change, this step checks again before UpdateAddon, and
once its update is Successful reads aws-node again: a value another manager kept, or one EKS does not
write again (removed or changed outside the add-on, found with no update of ours), is refused; EKS's
own values not there yet are waited for (Applying, a few checks) (aws_node_env.py).
Self-managed: a strategic-merge patch of the aws-node container's env; then the DaemonSet's rollout.

Each invocation does one thing and reports `cni.status`; the state machine waits and calls again
until it is `Successful` (WaitForCniUpdate).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import CniConfigConflict
from podcidr.models.migration import CNI_CONFIGURED_BEFORE, Migration
from podcidr.steps import aws_node_env
from podcidr.steps.cni_configuration import merged_configuration_values, parse_configuration_values
from podcidr.steps.polling import wait_ceiling
from podcidr.steps.support import count_poll

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient

    from podcidr.kube.client import Kube

ADDON = "vpc-cni"
STEP = "ConfigureCni"
MAX_WAIT_SECONDS = 30 * 60
SUCCESSFUL = "Successful"
IN_PROGRESS = "InProgress"
WAITING = "Waiting"
"""Another add-on update is running; ours starts when it ends."""
ROLLING_OUT = "RollingOut"
APPLYING = "Applying"
"""Our update is Successful; aws-node does not run its settings yet."""
APPLYING_KEY = "ConfigureCniApplying"
APPLYING_CHECKS = 3
"""EKS applies the configuration before it reports the update Successful: a few re-reads cover a lagging read."""


def configure_cni(migration: Migration, eks: EKSClient, kube: Callable[[], Kube]) -> Migration:
    if migration.cni.via == "addon":
        if migration.cni.status != APPLYING:
            _configure_addon(migration, eks, kube)
        if migration.cni.status in (SUCCESSFUL, APPLYING):
            _check_aws_node_took_the_configuration(migration, kube())
    else:
        _configure_daemon_set(migration, kube())
    return migration


def _ceiling(migration: Migration) -> int:
    return wait_ceiling(MAX_WAIT_SECONDS, migration.poll_seconds)


def _too_long(what: str, cluster: str) -> Callable[[int], CniConfigConflict]:
    return lambda checks: CniConfigConflict(
        f"{what} did not finish after {checks} checks (at most {MAX_WAIT_SECONDS // 60} minutes). Look at the VPC CNI "
        f"add-on's updates (`aws eks list-updates --name {cluster} --addon-name vpc-cni`) or the aws-node DaemonSet, "
        "then run again."
    )


# --- managed add-on --------------------------------------------------------------------------------


def _configure_addon(migration: Migration, eks: EKSClient, kube: Callable[[], Kube]) -> None:
    cni = migration.cni
    name = migration.cluster_name
    if cni.status == IN_PROGRESS and cni.update_id:
        count_poll(
            migration.polls, STEP, _ceiling(migration), _too_long(f"The vpc-cni add-on update {cni.update_id}", name)
        )
        with transient_faults_retried("eks:DescribeUpdate"):
            update = eks.describe_update(name=name, updateId=cni.update_id, addonName=ADDON)["update"]
        status = update["status"]
        if status == SUCCESSFUL:
            cni.status = SUCCESSFUL
        elif status in ("Failed", "Cancelled"):
            errors = (
                "; ".join(f"{e.get('errorCode')}: {e.get('errorMessage')}" for e in update.get("errors", []))
                or "no error detail"
            )
            raise CniConfigConflict(
                f"The vpc-cni add-on update {cni.update_id} ended {status}: {errors}. EKS does not say how much of it "
                f"was applied: look at `aws eks describe-addon --cluster-name {name} --addon-name {ADDON}` "
                "(configurationValues) and the aws-node DaemonSet's env, resolve the conflict (fields of aws-node "
                "changed outside the add-on?) and run again."
            )
        return

    with transient_faults_retried("eks:DescribeAddon"):
        addon = eks.describe_addon(clusterName=name, addonName=ADDON)["addon"]
    if addon.get("status") in ("CREATING", "UPDATING", "DELETING"):
        count_poll(migration.polls, STEP, _ceiling(migration), _too_long("The vpc-cni add-on's current update", name))
        ours = _our_update_in_progress(eks, name, cni.env)
        if ours is not None:
            # our UpdateAddon acted but its response was lost: follow that update instead of starting another
            cni.update_id, cni.status, cni.changed = ours, IN_PROGRESS, True
            migration.changes += 1
            return
        cni.status = WAITING
        return
    current = addon.get("configurationValues")
    if cni.current_configuration_values is None and cni.status is None:
        cni.current_configuration_values = current
    cni.version = addon.get("addonVersion", cni.version)
    merged = merged_configuration_values(current, cni.env)
    if merged is None:
        if cni.status != CNI_CONFIGURED_BEFORE and not cni.changed:
            # Plan found it unconfigured: an earlier attempt of ours acted and lost its response (botocore's
            # own retry may then have met our update in progress, hence Waiting), and that update has
            # finished since. Same rule as the VPC steps: found but unknown to the document is ours.
            cni.changed = True
            migration.changes += 1
        cni.status = SUCCESSFUL
        return
    refuse_values_other_managers_hold(
        migration, aws_node_env.read_aws_node(kube(), name), "The vpc-cni add-on was not changed."
    )
    try:
        with transient_faults_retried("eks:UpdateAddon"):
            update = eks.update_addon(
                clusterName=name, addonName=ADDON, configurationValues=merged, resolveConflicts="PRESERVE"
            )["update"]
    except ClientError as error:
        code = error_code(error)
        message = error.response.get("Error", {}).get("Message", "")
        if code == "ResourceInUseException":
            count_poll(
                migration.polls, STEP, _ceiling(migration), _too_long("The vpc-cni add-on's current update", name)
            )
            cni.status = WAITING
            return
        if code in ("InvalidParameterException", "InvalidRequestException", "ConfigurationConflict"):
            raise CniConfigConflict(
                f"EKS refused the vpc-cni add-on configuration {merged!r} ({code}: {message}). The add-on version "
                f"{addon.get('addonVersion')} may not accept these settings (ENI_CONFIG_LABEL_DEF needs v1.15+ in the "
                "add-on schema, see `aws eks describe-addon-configuration`); upgrade the add-on and run again."
            ) from error
        raise
    cni.update_id = update["id"]
    cni.status = IN_PROGRESS
    cni.changed = True
    migration.changes += 1


MANAGED_FIELDS_HINT = (
    "`kubectl get daemonset aws-node -n kube-system -o yaml --show-managed-fields` shows who owns what"
)


def _owned(found: list[aws_node_env.Difference]) -> str:
    return ", ".join(d.owners for d in found)


def _set_env(env: dict[str, str]) -> str:
    return "kubectl -n kube-system set env daemonset/aws-node -c aws-node " + " ".join(
        f"{k}={v}" for k, v in env.items()
    )


def refuse_values_other_managers_hold(migration: Migration, daemon_set: dict[str, Any], unchanged: str) -> None:
    """CniConfigConflict where aws-node runs a value of one of the settings that another field manager than EKS
    owns: an add-on update with resolveConflicts PRESERVE would keep it (`unchanged`: what was not changed)."""
    cni = migration.cni
    held = [d for d in aws_node_env.differences(daemon_set, migration.cluster_name, cni.env) if d.other_managers]
    if held:
        raise CniConfigConflict(
            f"aws-node runs with {_owned(held)}: another field manager than EKS owns these values, so the vpc-cni "
            "add-on update podcidr makes (resolveConflicts PRESERVE) would keep them. Set them on aws-node to what "
            f"the add-on's configuration will hold (`{_set_env(cni.env)}`), or let the add-on own them "
            f"({MANAGED_FIELDS_HINT}), then run again. {unchanged}"
        )


def _check_aws_node_took_the_configuration(migration: Migration, kube: Kube) -> None:
    """Successful once aws-node runs every setting; Applying while EKS's values are not there yet;
    CniConfigConflict where another field manager's value was kept."""
    cni, name = migration.cni, migration.cluster_name
    found = aws_node_env.differences(aws_node_env.read_aws_node(kube, name), name, cni.env)
    if not found:
        cni.status = SUCCESSFUL
        return
    wanted = ", ".join(f"{key}={value}" for key, value in cni.env.items())
    held = [d for d in found if d.other_managers]
    if held:
        undo = (
            " To take podcidr's settings back out of the add-on instead: `aws eks update-addon --cluster-name "
            f"{name} --addon-name {ADDON} --resolve-conflicts PRESERVE --configuration-values "
            f"{shlex.quote(cni.current_configuration_values or '{}')}`."
            if cni.changed
            else ""
        )
        raise CniConfigConflict(
            f"The vpc-cni add-on's configuration sets {wanted}, but aws-node keeps {_owned(held)}: another field "
            "manager than EKS owns these values and add-on updates with resolveConflicts PRESERVE keep them. Set them "
            f"on aws-node (`{_set_env(cni.env)}`) and run again.{undo} No node was replaced."
        )
    runs = ", ".join(d.found for d in found)
    if cni.update_id is None:  # found configured: no update of ours will write these values again
        raise CniConfigConflict(
            f"The vpc-cni add-on's configuration sets {wanted}, but aws-node runs with {runs}: changed or removed "
            "outside the add-on, and EKS writes the configuration again only on an add-on update. Set them on "
            f"aws-node (`{_set_env(cni.env)}`) and run again. No node was replaced."
        )
    cni.status = APPLYING
    # within the step's own ceiling (one wait loop: the history's budget), and at most APPLYING_CHECKS of it
    count_poll(
        migration.polls, STEP, _ceiling(migration), _too_long(f"aws-node taking the update {cni.update_id}", name)
    )
    count_poll(
        migration.polls,
        APPLYING_KEY,
        APPLYING_CHECKS,
        lambda checks: CniConfigConflict(
            f"The vpc-cni add-on update {cni.update_id} is Successful and its configuration sets {wanted}, but "
            f"{checks} checks later aws-node still runs with {runs}. Look at the DaemonSet ({MANAGED_FIELDS_HINT}), "
            "then run again. No node was replaced."
        ),
    )


UPDATES_AT_EACH_END = 10


def _our_update_in_progress(eks: EKSClient, cluster: str, env: dict[str, str]) -> str | None:
    """The ID of an add-on update in progress that sets our env (a lost UpdateAddon response), if any.

    EKS runs one update of an add-on at a time, so the first update in progress found is the only one.
    The add-on's updates are read page by page; ListUpdates names no order (newest last on the twin,
    newest first reported on AWS), so the newest are at one end: the UPDATES_AT_EACH_END at both ends
    are described, not the add-on's whole history."""
    with transient_faults_retried("eks:ListUpdates"):
        pages = eks.get_paginator("list_updates").paginate(name=cluster, addonName=ADDON)
        update_ids = [update_id for page in pages for update_id in page.get("updateIds", [])]
    ends = update_ids[-UPDATES_AT_EACH_END:][::-1] + update_ids[:UPDATES_AT_EACH_END]
    for update_id in dict.fromkeys(ends):
        with transient_faults_retried("eks:DescribeUpdate"):
            update = eks.describe_update(name=cluster, updateId=update_id, addonName=ADDON)["update"]
        if update.get("status") != IN_PROGRESS:
            continue
        for param in update.get("params", []):
            if param.get("type") == "ConfigurationValues":
                try:
                    values, _ = parse_configuration_values(param.get("value"))
                except CniConfigConflict:
                    continue
                given = values.get("env") or {}
                if isinstance(given, dict) and all(str(given.get(k)) == v for k, v in env.items()):
                    return update_id
        return None  # the add-on's one update in progress is somebody else's
    return None


# --- self-managed DaemonSet -----------------------------------------------------------------------


def _configure_daemon_set(migration: Migration, kube: Kube) -> None:
    from podcidr.kube.client import kube_faults  # only self-managed CNIs need the Kubernetes client

    cni = migration.cni
    cluster = migration.cluster_name
    daemon_set = aws_node_env.read_aws_node(kube, cluster)
    container = aws_node_env.aws_node_container(daemon_set, cluster)
    env = {item["name"]: item for item in container.get("env", [])}
    missing = {key: value for key, value in cni.env.items() if env.get(key, {}).get("value") != value}
    conflicting = sorted(key for key in missing if "valueFrom" in env.get(key, {}))
    if conflicting:
        raise CniConfigConflict(
            f"aws-node takes {', '.join(conflicting)} from valueFrom; podcidr will not replace it. Set "
            f"{', '.join(f'{k}={cni.env[k]}' for k in conflicting)} yourself, then run again."
        )
    if missing:
        patch = {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": aws_node_env.AWS_NODE,
                                "env": [{"name": key, "value": value} for key, value in missing.items()],
                            }
                        ]
                    }
                }
            }
        }
        with kube_faults("patch DaemonSet aws-node", cluster):
            kube.apps.patch_namespaced_daemon_set(aws_node_env.AWS_NODE, aws_node_env.KUBE_SYSTEM, patch)
        cni.changed = True
        cni.status = ROLLING_OUT
        migration.changes += 1
        return

    if daemon_set["spec"].get("updateStrategy", {}).get("type") == "OnDelete":
        cni.status = SUCCESSFUL
        warning = (
            "aws-node's update strategy is OnDelete: its running pods keep the old settings until they are "
            "deleted; the replacement nodes start with the new ones."
        )
        if warning not in migration.warnings:
            migration.warnings.append(warning)
        return
    if rolled_out(daemon_set):
        cni.status = SUCCESSFUL
        return
    count_poll(migration.polls, STEP, _ceiling(migration), _too_long("The aws-node DaemonSet rollout", cluster))
    cni.status = ROLLING_OUT


def rolled_out(daemon_set: dict[str, Any]) -> bool:
    """kubectl rollout status's test for a RollingUpdate DaemonSet."""
    status = daemon_set.get("status", {})
    generation = daemon_set.get("metadata", {}).get("generation", 0)
    desired = status.get("desiredNumberScheduled", 0)
    return bool(
        status.get("observedGeneration", 0) >= generation
        and status.get("updatedNumberScheduled", 0) >= desired
        and status.get("numberAvailable", 0) >= desired
    )
