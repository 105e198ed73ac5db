"""VerifyLoadBalancers (DESIGN.md step 11): the seed's three checks, each through the AWS Load
Balancer Controller with target type ip, so each load balancer's targets are pod IPs:
  alb          internet-facing ALB Ingress (ingressClassName alb)
  public-nlb   internet-facing NLB Service (loadBalancerClass service.k8s.aws/nlb)
  private-nlb  internal NLB Service with fixed private IPs, one per node subnet of each AZ, chosen
               free when the Service is created (fixed_addresses.py)
In the namespace podcidr-verify (labelled ours): a Deployment of verify.image with 3 replicas.

Three functions: DeployVerificationWorkload (namespace, Deployment, and each check's Service or
Ingress, once, before ReplaceNodegroups: the controller provisions the load balancers while the old
nodes drain; the pods wait for the new nodes, verification_placement.py), VerifyLoadBalancer (one
Map iteration per kind, after ReplaceNodegroups, a wait loop until the DNS name is published and
every replica is a healthy target inside the pod CIDR), RemoveVerificationWorkloads (deletes the
namespace on every path unless keepWorkloads; on the success path it waits until the namespace, and
so the load balancers, are gone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from podcidr.aws.clients import transient_faults_retried
from podcidr.errors import VerificationFailed
from podcidr.kube.client import MANAGED_BY, MANAGED_BY_LABEL, Kube, api_status, kube_faults
from podcidr.models.base import Contract
from podcidr.models.input import LoadBalancerKind
from podcidr.models.migration import LoadBalancerCheck, Migration
from podcidr.steps.fixed_addresses import annotated_addresses, free_fixed_addresses
from podcidr.steps.load_balancer_refusal import controller_refusal
from podcidr.steps.polling import wait_ceiling
from podcidr.steps.revoke_cluster_access import temporary_access_changes
from podcidr.steps.support import as_model, count_poll, in_cidr, items, now_iso, plain
from podcidr.steps.target_health import target_states
from podcidr.steps.verification_leftovers import controller_load_balancers, namespace_objects
from podcidr.steps.verification_placement import replacement_affinity, replacement_nodegroups

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

APP = "podcidr-verify"
REPLICAS = 3
PORT = 80
MAX_WAIT_SECONDS = 20 * 60
MAX_REMOVE_SECONDS = 15 * 60
PROVISIONING = "provisioning"
DONE = "done"
PREVIOUSLY_VERIFIED = "previously-verified"
VERIFIED_BEFORE = "verified-before"
EXECUTION_ANNOTATION = "podcidr/execution"
"""On the test namespace: the execution using it; ExecutionEnded's clean-up removes only its own."""
RECORD = "podcidr-verification"
"""ConfigMap in kube-system: the pod CIDR and the load-balancer kinds a passed verification covered."""
KUBE_SYSTEM = "kube-system"
LB_ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-"
ALB_ANNOTATION = "alb.ingress.kubernetes.io/"
INBOUND_CIDRS = ALB_ANNOTATION + "inbound-cidrs"
"""Sources of the ALB's frontend security group (the controller's default: 0.0.0.0/0)."""
_LABELS = {MANAGED_BY_LABEL: MANAGED_BY, "app.kubernetes.io/name": APP}


class LoadBalancerTask(Contract):
    """One iteration of the VerifyLoadBalancers Map: what the handler reads and returns."""

    cluster_name: str
    pod_cidr: str
    namespace: str
    poll_seconds: int
    check: LoadBalancerCheck


def object_name(kind: LoadBalancerKind) -> str:
    return f"podcidr-{kind}"


# --- the workload ---------------------------------------------------------------------------------


def namespace_body(name: str, execution_arn: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": dict(_LABELS)}
    if execution_arn:
        metadata["annotations"] = {EXECUTION_ANNOTATION: execution_arn}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": metadata}


def deployment_body(image: str, nodegroups: list[str] | None = None) -> dict[str, Any]:
    """With `nodegroups`, its pods run only on those nodegroups' nodes."""
    selector = {"app.kubernetes.io/name": APP}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "labels": dict(_LABELS)},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": dict(_LABELS)},
                "spec": {
                    "containers": [
                        {
                            "name": "web",
                            "image": image,
                            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                            "readinessProbe": {"httpGet": {"path": "/", "port": PORT}, "periodSeconds": 5},
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                        }
                    ]
                },
            },
        },
    }
    affinity = replacement_affinity(nodegroups or [])
    if affinity is not None:
        body["spec"]["template"]["spec"]["affinity"] = affinity
    return body


def changes_so_far(migration: Migration) -> int:
    """Lasting mutating calls this execution has made so far, the Map items' own counts included (not
    the access entry it made for itself and removes at its end)."""
    return (
        migration.changes
        - temporary_access_changes(migration)
        + sum(subnet.changes for subnet in migration.pod_subnets)
        + sum(item.changes for item in migration.nodegroups)
    )


def _record(kube: Kube, cluster: str) -> dict[str, str] | None:
    try:
        with kube_faults(f"get ConfigMap {RECORD}", cluster):
            found = plain(kube.core.read_namespaced_config_map(RECORD, KUBE_SYSTEM))
    except ApiException as error:
        if api_status(error) == 404:
            return None
        raise
    data: dict[str, str] = found.get("data", {})
    return data


def _record_covers(record: dict[str, str] | None, migration: Migration) -> bool:
    if not record or record.get("podCidr") != migration.pod_cidr.cidr:
        return False
    verified = set(record.get("loadBalancers", "").split(","))
    return {check.kind for check in migration.verification.load_balancers} <= verified


def deploy_verification_workload(migration: Migration, kube: Kube) -> Migration:
    """The namespace and the Deployment the load balancers send traffic to (created or adopted), its
    pods only on the replacement nodegroups' nodes (verification_placement.py).

    A re-run that has changed nothing (everything found done, no nodegroup left to replace) and finds
    the record of a passed load-balancer verification for this pod CIDR (ConfigMap
    kube-system/podcidr-verification) does not build the load balancers again: `workloads` =
    verified-before, each check `previously-verified`."""
    verification = migration.verification
    cluster, namespace = migration.cluster_name, verification.namespace
    # Plan lists only nodegroups still to replace (a replacement podcidr made is not replaced again)
    if (
        not migration.nodegroups
        and changes_so_far(migration) == 0
        and _record_covers(_record(kube, cluster), migration)
    ):
        verification.workloads = VERIFIED_BEFORE
        for check in verification.load_balancers:
            check.status = PREVIOUSLY_VERIFIED
        return migration
    try:
        with kube_faults(f"create Namespace {namespace}", cluster):
            kube.core.create_namespace(as_model(k8s.V1Namespace, namespace_body(namespace, migration.execution_arn)))
        migration.changes += 1
    except ApiException as error:
        if api_status(error) != 409:
            raise
        with kube_faults(f"get Namespace {namespace}", cluster):
            found = plain(kube.core.read_namespace(namespace))
        if found.get("metadata", {}).get("labels", {}).get(MANAGED_BY_LABEL) != MANAGED_BY:
            raise VerificationFailed(
                f"Namespace {namespace} exists in cluster {cluster} and is not podcidr's (no label "
                f"{MANAGED_BY_LABEL}={MANAGED_BY}); podcidr will not use or delete it. Remove it or rename it."
            ) from error
        if found.get("status", {}).get("phase") == "Terminating":
            raise VerificationFailed(
                f"Namespace {namespace} is still terminating from an earlier verification; run podcidr again "
                "in a few minutes."
            ) from error
        _claim(kube, migration, found)
    if _create_if_missing(
        kube,
        cluster,
        "Deployment",
        APP,
        lambda: kube.apps.create_namespaced_deployment(
            namespace,
            as_model(k8s.V1Deployment, deployment_body(verification.image, replacement_nodegroups(migration))),
        ),
    ):
        migration.changes += 1
    verification.workloads = "deployed"
    return migration


def start_load_balancers(migration: Migration, kube: Kube, ec2: EC2Client) -> Migration:
    """After deploy_verification_workload, before ReplaceNodegroups: each check's Service or Ingress,
    so the controller provisions the load balancers while the old nodes drain (VerifyLoadBalancers
    then only waits for them). Nothing to do on a verified-before re-run."""
    verification = migration.verification
    if verification.workloads != "deployed":
        return migration
    for index, check in enumerate(verification.load_balancers):
        if check.status is None:
            task = LoadBalancerTask(
                cluster_name=migration.cluster_name,
                pod_cidr=migration.pod_cidr.cidr,
                namespace=verification.namespace,
                poll_seconds=migration.poll_seconds,
                check=check,
            )
            start_load_balancer(task, kube, ec2)
            verification.load_balancers[index] = task.check
    return migration


def _claim(kube: Kube, migration: Migration, found: dict[str, Any]) -> None:
    """An adopted namespace (kept by an earlier run) is this execution's from now on: its clean-up's."""
    execution = migration.execution_arn
    if not execution or found.get("metadata", {}).get("annotations", {}).get(EXECUTION_ANNOTATION) == execution:
        return
    namespace = migration.verification.namespace
    with kube_faults(f"patch Namespace {namespace}", migration.cluster_name):
        kube.core.patch_namespace(namespace, {"metadata": {"annotations": {EXECUTION_ANNOTATION: execution}}})
    migration.changes += 1


def _create_if_missing(kube: Kube, cluster: str, kind: str, name: str, create: Any) -> bool:
    try:
        with kube_faults(f"create {kind} {name}", cluster):
            create()
        return True
    except ApiException as error:
        if api_status(error) == 409:
            return False  # there already (an earlier attempt): adopt it
        raise


# --- one load balancer ----------------------------------------------------------------------------


def service_body(task: LoadBalancerTask) -> dict[str, Any]:
    kind = task.check.kind
    annotations: dict[str, str] = {}
    spec: dict[str, Any] = {
        "selector": {"app.kubernetes.io/name": APP},
        "ports": [{"name": "http", "port": PORT, "targetPort": PORT, "protocol": "TCP"}],
    }
    if kind == "alb":
        spec["type"] = "ClusterIP"  # the ALB's backend; target type ip reaches the pods directly
    else:
        spec["type"] = "LoadBalancer"
        spec["loadBalancerClass"] = "service.k8s.aws/nlb"
        spec["loadBalancerSourceRanges"] = _source_cidrs(task)  # the frontend group's sources
        annotations[LB_ANNOTATION + "nlb-target-type"] = "ip"
        if kind == "public-nlb":
            annotations[LB_ANNOTATION + "scheme"] = "internet-facing"
        else:
            annotations[LB_ANNOTATION + "scheme"] = "internal"
            addresses = task.check.fixed_addresses
            annotations[LB_ANNOTATION + "private-ipv4-addresses"] = ", ".join(a.ip for a in addresses)
            annotations[LB_ANNOTATION + "subnets"] = ", ".join(a.subnet_id for a in addresses)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": object_name(kind), "labels": dict(_LABELS), "annotations": annotations},
        "spec": spec,
    }


def ingress_body(task: LoadBalancerTask) -> dict[str, Any]:
    name = object_name(task.check.kind)
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "labels": dict(_LABELS),
            "annotations": {
                ALB_ANNOTATION + "scheme": "internet-facing",
                ALB_ANNOTATION + "target-type": "ip",
                INBOUND_CIDRS: ",".join(_source_cidrs(task)),
            },
        },
        "spec": {
            "ingressClassName": "alb",
            "rules": [
                {
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": name, "port": {"number": PORT}}},
                            }
                        ]
                    }
                }
            ],
        },
    }


def _source_cidrs(task: LoadBalancerTask) -> list[str]:
    """Who may reach the load balancer: never everyone (the controller's default without them)."""
    cidrs = task.check.source_cidrs
    if not cidrs or "0.0.0.0/0" in cidrs:
        raise VerificationFailed(
            f"The {task.check.kind} check has no source CIDRs other than the whole internet ({cidrs or 'none'}); "
            "podcidr never opens a test load balancer to everyone. Give verify.sourceCidrs and run podcidr again."
        )
    return list(cidrs)


def _ceiling(task: LoadBalancerTask) -> int:
    return wait_ceiling(MAX_WAIT_SECONDS, task.poll_seconds)


def verify_load_balancer(
    task: LoadBalancerTask, kube: Kube, elbv2: ElasticLoadBalancingv2Client, ec2: EC2Client
) -> LoadBalancerTask:
    check = task.check
    if check.status == DONE:
        return task
    if check.status is None:  # not started by DeployVerificationWorkload (a state machine of an older version)
        start_load_balancer(task, kube, ec2)
    count_poll(
        check.polls, "wait", _ceiling(task), lambda checks: _failed(task, kube, f"not verified after {checks} checks")
    )

    found = _read_object(task, kube)
    refusal = controller_refusal(found, _raw_events(task, kube))
    if refusal:
        raise _failed(
            task,
            kube,
            f"the AWS Load Balancer Controller cannot build this load balancer: {refusal}. Nothing will "
            "change until its cause is fixed (for example one node subnet per Availability Zone, a free fixed "
            "address, a usable security group); fix it and run podcidr again",
        )
    hostname = _hostname(found)
    if not hostname:
        return task
    check.dns_name = hostname
    load_balancer = _find_load_balancer(elbv2, hostname)
    if load_balancer is None:
        return task  # published before ELBv2 lists it: look again
    targets = _targets(elbv2, load_balancer["LoadBalancerArn"])
    ips = sorted({target for target, _ in targets})
    healthy = sorted({target for target, state in targets if state == "healthy"})
    check.target_ips = ips
    check.healthy_targets = len(healthy)
    check.targets_in_pod_cidr = bool(ips) and all(in_cidr(ip, task.pod_cidr) for ip in ips)
    outside = [ip for ip in ips if not in_cidr(ip, task.pod_cidr)]
    if outside:
        raise _failed(task, kube, f"targets outside the pod CIDR {task.pod_cidr}: {', '.join(outside)}")
    if len(healthy) < REPLICAS and any(state == "unhealthy" for _, state in targets):
        blocked = _security_group_problem(task, kube)
        if blocked:
            raise _failed(
                task,
                kube,
                f"its targets can never become healthy, because the load balancer controller cannot let the "
                f"load balancer in: {blocked}. The pods' ENIs carry the ENIConfigs' security groups, and "
                "with several groups exactly one must be tagged kubernetes.io/cluster/<cluster> (the cluster "
                "security group is); fix eniConfigSecurityGroupIds (or the groups' tags) and run podcidr again",
            )
    if len(healthy) >= REPLICAS:
        check.status = DONE
    return task


def start_load_balancer(task: LoadBalancerTask, kube: Kube, ec2: EC2Client) -> None:
    """The check's Service (and Ingress): from then on the controller builds its load balancer. The
    private NLB's fixed addresses are chosen free now, when it is created."""
    check = task.check
    if check.kind == "private-nlb":
        check.fixed_addresses = free_fixed_addresses(ec2, check.fixed_addresses)
    _ensure_objects(task, kube)
    check.status = PROVISIONING


def _ensure_objects(task: LoadBalancerTask, kube: Kube) -> None:
    namespace, kind = task.namespace, task.check.kind
    name = object_name(kind)
    cluster = task.cluster_name
    if _create_if_missing(
        kube,
        cluster,
        "Service",
        name,
        lambda: kube.core.create_namespaced_service(namespace, as_model(k8s.V1Service, service_body(task))),
    ):
        task.check.changes += 1
    elif kind == "private-nlb":  # created by an earlier attempt: its addresses are the ones in use
        with kube_faults(f"get Service {name}", cluster):
            annotations = plain(kube.core.read_namespaced_service(name, namespace))["metadata"].get("annotations", {})
        task.check.fixed_addresses = annotated_addresses(
            annotations.get(LB_ANNOTATION + "subnets", ""),
            annotations.get(LB_ANNOTATION + "private-ipv4-addresses", ""),
        )
    if kind == "alb" and _create_if_missing(
        kube,
        cluster,
        "Ingress",
        name,
        lambda: kube.networking.create_namespaced_ingress(namespace, as_model(k8s.V1Ingress, ingress_body(task))),
    ):
        task.check.changes += 1


def _read_object(task: LoadBalancerTask, kube: Kube) -> dict[str, Any]:
    """The Ingress (alb) or Service the controller builds the load balancer from."""
    name, namespace = object_name(task.check.kind), task.namespace
    with kube_faults(f"get {name}", task.cluster_name):
        if task.check.kind == "alb":
            return dict(plain(kube.networking.read_namespaced_ingress(name, namespace)))
        return dict(plain(kube.core.read_namespaced_service(name, namespace)))


def _hostname(found: dict[str, Any]) -> str | None:
    for entry in found.get("status", {}).get("loadBalancer", {}).get("ingress", []):
        if entry.get("hostname"):
            return str(entry["hostname"])
    return None


def _find_load_balancer(elbv2: ElasticLoadBalancingv2Client, dns_name: str) -> dict[str, Any] | None:
    with transient_faults_retried("elasticloadbalancing:DescribeLoadBalancers"):
        for page in elbv2.get_paginator("describe_load_balancers").paginate():
            for load_balancer in page["LoadBalancers"]:
                if load_balancer.get("DNSName", "").lower() == dns_name.lower():
                    return dict(load_balancer)
    return None


def _targets(elbv2: ElasticLoadBalancingv2Client, load_balancer_arn: str) -> list[tuple[str, str]]:
    """(target ID, health state) over every target group of the load balancer."""
    result = []
    with transient_faults_retried("elasticloadbalancing:DescribeTargetGroups"):
        pages = elbv2.get_paginator("describe_target_groups").paginate(LoadBalancerArn=load_balancer_arn)
        groups = [group for page in pages for group in page["TargetGroups"]]
    for group in groups:
        result.extend(target_states(elbv2, group["TargetGroupArn"]) or [])
    return result


def _failed(task: LoadBalancerTask, kube: Kube, what: str) -> VerificationFailed:
    check = task.check
    seen = [
        f"DNS name {check.dns_name or 'not published'}",
        f"{check.healthy_targets} healthy of {REPLICAS} expected",
        f"targets {', '.join(check.target_ips) or 'none'}",
    ]
    events = _events(task, kube)
    return VerificationFailed(
        f"The {check.kind} check failed: {what} ({'; '.join(seen)}). "
        + (f"Events of {object_name(check.kind)}: {' | '.join(events)}. " if events else "")
        + "The test workloads in namespace "
        f"{task.namespace} are removed unless keepWorkloads is set."
    )


SECURITY_GROUP_PROBLEM = "expect exactly one securityGroup tagged with"
"""How the AWS Load Balancer Controller words a pod ENI without exactly one cluster-tagged group
(aws-load-balancer-controller #1897): it adds no rule, and the targets stay unhealthy for good."""


def _security_group_problem(task: LoadBalancerTask, kube: Kube) -> str | None:
    """The controller's event saying the targets' security groups keep the load balancer out, if any."""
    for event in _events(task, kube):
        if SECURITY_GROUP_PROBLEM in event:
            return event
    return None


def _events(task: LoadBalancerTask, kube: Kube) -> list[str]:
    try:
        with kube_faults("list Events", task.cluster_name):
            listing = kube.core.list_namespaced_event(
                task.namespace, field_selector=f"involvedObject.name={object_name(task.check.kind)}"
            )
    except Exception:  # noqa: BLE001 - events only enrich the message; never hide the failure itself
        return []
    return [
        f"{event.get('type', '')} {event.get('reason', '')}: {event.get('message', '')}".strip()
        for event in items(listing)[-5:]
    ]


def _raw_events(task: LoadBalancerTask, kube: Kube) -> list[dict[str, Any]]:
    """The events of the check's object (a failed listing is a failure: the refusal must not be missed)."""
    with kube_faults("list Events", task.cluster_name):
        listing = kube.core.list_namespaced_event(
            task.namespace, field_selector=f"involvedObject.name={object_name(task.check.kind)}"
        )
    return list(items(listing))


# --- removal --------------------------------------------------------------------------------------


def remove_verification_workloads(
    migration: Migration, kube: Kube, wait: bool = True, elbv2: ElasticLoadBalancingv2Client | None = None
) -> Migration:
    """Delete the test namespace (and with it the Services and Ingress, whose load balancers the
    controller then deletes). With `wait`, report `removing` until the namespace is gone; past the
    ceiling, a warning names what is left (with `elbv2`, its load balancers too)."""
    verification = migration.verification
    cluster, namespace = migration.cluster_name, verification.namespace
    if verification.keep_workloads:
        verification.workloads = "kept"
        if wait:
            _write_record(migration, kube)
        return migration
    try:
        with kube_faults(f"get Namespace {namespace}", cluster):
            found = plain(kube.core.read_namespace(namespace))
    except ApiException as error:
        if api_status(error) != 404:
            raise
        verification.workloads = "removed"
        if wait:
            _write_record(migration, kube)
        return migration
    if found.get("metadata", {}).get("labels", {}).get(MANAGED_BY_LABEL) != MANAGED_BY:
        verification.workloads = "removed"  # not ours: never delete it
        return migration
    if not found.get("metadata", {}).get("deletionTimestamp"):
        try:
            with kube_faults(f"delete Namespace {namespace}", cluster):
                kube.core.delete_namespace(namespace)
            migration.changes += 1
        except ApiException as error:
            if api_status(error) != 404:
                raise
            verification.workloads = "removed"
            return migration
    verification.workloads = "removing"
    if not wait:
        return migration
    ceiling = wait_ceiling(MAX_REMOVE_SECONDS, migration.poll_seconds)
    checks = migration.polls.get("RemoveVerificationWorkloads", 0) + 1
    migration.polls["RemoveVerificationWorkloads"] = checks
    if checks > ceiling:
        left = namespace_objects(kube, cluster, namespace)
        left += controller_load_balancers(elbv2, cluster, namespace) if elbv2 is not None else []
        migration.warnings.append(
            f"Namespace {namespace} was still terminating after {checks - 1} checks; its load balancers are removed "
            "by the AWS Load Balancer Controller once its Services and Ingress are gone. Check it later"
            + (f"; left for now: {'; '.join(left)}." if left else ".")
        )
        verification.workloads = "removal-pending"
        _write_record(migration, kube)
    return migration


def _write_record(migration: Migration, kube: Kube) -> None:
    """After a passed load-balancer verification: what was verified, so a re-run need not repeat it."""
    cluster = migration.cluster_name
    kinds: list[str] = sorted(str(c.kind) for c in migration.verification.load_balancers if c.status == DONE)
    if not kinds:
        return
    previous = _record(kube, cluster) or {}
    verified = sorted(set(kinds) | set(filter(None, previous.get("loadBalancers", "").split(","))))
    if previous.get("podCidr") == migration.pod_cidr.cidr:
        if previous.get("loadBalancers") == ",".join(verified):
            return
    else:
        verified = kinds
    data = {"podCidr": migration.pod_cidr.cidr, "loadBalancers": ",".join(verified), "verifiedAt": now_iso()}
    body = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": RECORD, "namespace": KUBE_SYSTEM, "labels": {MANAGED_BY_LABEL: MANAGED_BY}},
        "data": data,
    }
    if previous:
        with kube_faults(f"patch ConfigMap {RECORD}", cluster):
            kube.core.patch_namespaced_config_map(RECORD, KUBE_SYSTEM, {"data": data})
    else:
        try:
            with kube_faults(f"create ConfigMap {RECORD}", cluster):
                kube.core.create_namespaced_config_map(KUBE_SYSTEM, as_model(k8s.V1ConfigMap, body))
        except ApiException as error:
            if api_status(error) != 409:
                raise
            return  # written by an earlier attempt whose response was lost
    migration.changes += 1
