"""The AWS Load Balancer Controller (v2.x), when the scenario installs it.

A Service `type: LoadBalancer` with `loadBalancerClass: service.k8s.aws/nlb` (or the annotation
`service.beta.kubernetes.io/aws-load-balancer-type: external|nlb-ip`) becomes an NLB; an Ingress of
class `alb` (spec.ingressClassName or the `kubernetes.io/ingress.class` annotation) an ALB. Through
the twin's admin session (not workflow calls), with the controller's rules:

- scheme: `internal` by default (`...-scheme` / `alb.ingress.kubernetes.io/scheme`);
- subnets: the `...-subnets` annotation as given (one per AZ, ALB 2+), else discovery (AWS-FACTS
  section 3; the controller's networking/subnet_resolver.go): candidates tagged with the scheme's
  role tag (value `1` or empty); dropped: tagged `kubernetes.io/cluster/<other>` only, fewer than 8
  free addresses (not checked for an internal NLB with fixed addresses); one per AZ, a subnet tagged
  for this cluster first, else the lowest subnet ID; ALB needs 2 AZs, NLB 1;
- `...-security-groups` (lb_security_groups): the frontend groups by ID or Name tag; one not found
  is a FailedBuildModel, one of another VPC a FailedDeployModel;
- `...-private-ipv4-addresses`: internal only, as many as subnets, one inside each subnet; the
  addresses must be free (ELBv2 refuses an address in use; moto ignores them, so the twin records
  them and holds them with the load balancer's network interfaces);
- target type (`...-nlb-target-type` / `alb.ingress.kubernetes.io/target-type`, default instance):
  ip registers the ready pods' addresses, instance the nodes' instances on the node port; targets
  report `initial` for `timing.loadBalancer` seconds after registration, then `healthy`, except an
  IP target whose ENI's security groups keep the load balancer out (not exactly one group tagged
  for the cluster, and no rule of theirs letting it in: target_security): a Warning event
  FailedNetworkReconcile says why, and the target stays `unhealthy`;
- `status.loadBalancer.ingress[0].hostname` = the DNS name, `timing.loadBalancer` seconds after
  the load balancer was created;
- a request it cannot build or deploy: a Warning event (FailedBuildModel / FailedDeployModel, as
  the controller words them) and no load balancer;
- finalizers `service.k8s.aws/resources` / `ingress.k8s.aws/resources`: deleting the Service or
  Ingress (or its namespace) deletes the load balancer, its target groups and interfaces first.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from botocore.exceptions import ClientError

from localcloud.aws.protocol import StartResponse, WsgiApp, WsgiEnviron, call, read_body
from localcloud.cluster.events import EventRecorder
from localcloud.cluster.lb_frontend import (
    SourceRangesInvalid,
    delete_frontend_group,
    ensure_frontend_group,
    frontend_group_of,
)
from localcloud.cluster.lb_security_groups import (
    SecurityGroupsNotFound,
    SecurityGroupsUnusable,
    resolve_security_groups,
)
from localcloud.cluster.network import AddressesExhausted, Ec2Network, Subnet
from localcloud.cluster.nodes import NODES, PODS
from localcloud.cluster.pace import DEFAULT_DEREGISTRATION_DELAY
from localcloud.cluster.readiness_gates import Binding, containers_ready, gated, set_condition
from localcloud.cluster.target_group_bindings import bind, unbind
from localcloud.cluster.target_security import interfaces_by_address, target_reachability
from localcloud.cluster.workloads import node_ready, pod_ready
from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SERVICES = "v1/services"
INGRESSES = "networking.k8s.io/v1/ingresses"
NLB_CLASS = "service.k8s.aws/nlb"
SVC = "service.beta.kubernetes.io/aws-load-balancer-"
ALB = "alb.ingress.kubernetes.io/"
SERVICE_FINALIZER = "service.k8s.aws/resources"
INGRESS_FINALIZER = "ingress.k8s.aws/resources"
ROLE_TAGS = {"internet-facing": "kubernetes.io/role/elb", "internal": "kubernetes.io/role/internal-elb"}
MIN_FREE_ADDRESSES = 8


class ModelError(Exception):
    """The controller cannot build a model for the object (FailedBuildModel)."""


class DeployError(Exception):
    """AWS refused what the model asks for (FailedDeployModel)."""


@dataclass
class Stack:
    key: tuple[str, str, str]
    uid: str
    arn: str
    name: str
    dns_name: str
    kind: str
    """network or application."""
    scheme: str
    target_type: str
    subnets: list[str]
    fixed_addresses: dict[str, str]
    """Subnet -> the fixed private address asked for."""
    interfaces: list[str]
    addresses: dict[str, str]
    """Subnet -> the load balancer's address there."""
    created_at: float
    target_groups: dict[tuple[str, int], str] = field(default_factory=dict)
    """(service name, service port) -> target group ARN."""
    group_names: dict[str, str] = field(default_factory=dict)
    """Target group ARN -> its name (and its TargetGroupBinding's)."""
    deregistration_delay: dict[str, int] = field(default_factory=dict)
    """Target group ARN -> deregistration_delay.timeout_seconds."""
    published: bool = False
    frontend_group: str | None = None
    """The managed frontend security group (lb_frontend), when no `...-security-groups` names one."""


@dataclass
class Draining:
    port: int
    until: float


class TargetHealth:
    """How long ago each target was registered, which ones the load balancer cannot reach, and which
    ones are draining; a WSGI middleware that makes DescribeTargetHealth say `initial`
    (Elb.RegistrationInProgress) until `delay()` seconds have passed, as ELBv2 does while health checks
    first run (moto says `healthy` at once), `unhealthy` (Target.FailedHealthChecks) for a target its
    security groups keep the load balancer from (target_security), and list a deregistered target as
    `draining` (Target.DeregistrationInProgress) for its group's deregistration delay (moto forgets it
    at once). Times are the twin's clock (`now`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._registered: dict[tuple[str, str], float] = {}
        """(group, target) -> when it was registered (-inf: while no delay applied, the twin settling)."""
        self._unreachable: set[tuple[str, str]] = set()
        self._not_in_use: set[tuple[str, str]] = set()
        """IP targets in an Availability Zone their load balancer does not enable: ELBv2 sends them no
        traffic and says `unused` (Target.NotInUse), whatever their health checks."""
        self._draining: dict[tuple[str, str], Draining] = {}
        self.delay: Callable[[], float] = lambda: 0.0
        self.now: Callable[[], float] = time.monotonic

    def unreachable(self, target_group: str, target: str) -> None:
        with self._lock:
            self._unreachable.add((target_group, target))

    def not_in_use(self, target_group: str, target: str) -> None:
        with self._lock:
            self._not_in_use.add((target_group, target))

    def unused(self, target_group: str) -> set[str]:
        with self._lock:
            return {t for (g, t) in self._not_in_use if g == target_group}

    def failing(self, target_group: str) -> set[str]:
        with self._lock:
            return {t for (g, t) in self._unreachable if g == target_group}

    def registered(self, target_group: str, target: str) -> None:
        at = self.now() if self.delay() > 0 else -math.inf
        with self._lock:
            self._draining.pop((target_group, target), None)  # registered again: initial again
            self._registered.setdefault((target_group, target), at)

    def deregistered(self, target_group: str, target: str, port: int, drain_for: float) -> None:
        """The target leaves the group: draining for `drain_for` seconds (no new requests meanwhile)."""
        now = self.now()
        with self._lock:
            self._registered.pop((target_group, target), None)
            self._unreachable.discard((target_group, target))
            self._not_in_use.discard((target_group, target))
            if drain_for > 0:
                self._draining[(target_group, target)] = Draining(port, now + drain_for)

    def forget(self, target_group: str, target: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._registered if k[0] == target_group and (target is None or k[1] == target)]:
                del self._registered[key]
            for key in [k for k in self._draining if k[0] == target_group and (target is None or k[1] == target)]:
                del self._draining[key]
            self._unreachable = {
                k for k in self._unreachable if not (k[0] == target_group and (target is None or k[1] == target))
            }
            self._not_in_use = {
                k for k in self._not_in_use if not (k[0] == target_group and (target is None or k[1] == target))
            }

    def young(self, target_group: str) -> set[str]:
        now, delay = self.now(), self.delay()
        with self._lock:
            return {t for (g, t), at in self._registered.items() if g == target_group and now - at < delay}

    def draining(self, target_group: str) -> dict[str, int]:
        """Target -> port of the group's targets still draining."""
        now = self.now()
        with self._lock:
            for key in [k for k, d in self._draining.items() if d.until <= now]:
                del self._draining[key]
            return {t: d.port for (g, t), d in self._draining.items() if g == target_group}

    def healthy(self, target_group: str) -> set[str]:
        """The group's registered targets that pass health checks now (what receives new requests)."""
        now, delay = self.now(), self.delay()
        with self._lock:
            return {
                t
                for (g, t), at in self._registered.items()
                if g == target_group
                and now - at >= delay
                and (g, t) not in self._unreachable
                and (g, t) not in self._not_in_use
            }

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request = environ.get("localcloud.request")
            if (
                request is None
                or request.service != "elasticloadbalancing"
                or request.operation != ("DescribeTargetHealth")
            ):
                return inner(environ, start_response)
            params = parse_qs(read_body(environ).decode("utf-8", "replace"))
            group = (params.get("TargetGroupArn") or [""])[0]
            asked = {v[0] for k, v in params.items() if k.startswith("Targets.member.") and k.endswith(".Id")}
            response = call(inner, environ)
            unused = self.unused(group)
            young = self.young(group) - unused
            failing = self.failing(group) - young - unused
            draining = {t: p for t, p in self.draining(group).items() if not asked or t in asked}
            if response.status == 200 and young:
                response.body = _with_health(response.body.decode("utf-8"), young, _INITIAL).encode()
            if response.status == 200 and failing:
                response.body = _with_health(response.body.decode("utf-8"), failing, _UNHEALTHY).encode()
            if response.status == 200 and unused:
                response.body = _with_health(response.body.decode("utf-8"), unused, _UNUSED).encode()
            if response.status == 200 and draining:
                response.body = _with_draining(response.body.decode("utf-8"), draining).encode()
            return response.replay(start_response)

        return app


_REGISTERING = "Target registration is in progress"
_INITIAL = (
    "<TargetHealth><State>initial</State><Reason>Elb.RegistrationInProgress</Reason>"
    "<Description>Target registration is in progress</Description></TargetHealth>"
)
_UNHEALTHY = (
    "<TargetHealth><State>unhealthy</State><Reason>Target.FailedHealthChecks</Reason>"
    "<Description>Health checks failed</Description></TargetHealth>"
)

_NOT_IN_USE = "Target is in an Availability Zone that is not enabled for the load balancer"
_UNUSED = (
    "<TargetHealth><State>unused</State><Reason>Target.NotInUse</Reason>"
    f"<Description>{_NOT_IN_USE}</Description></TargetHealth>"
)

_DRAINING = (
    "<TargetHealth><State>draining</State><Reason>Target.DeregistrationInProgress</Reason>"
    "<Description>Target deregistration is in progress</Description></TargetHealth>"
)


def _with_draining(body: str, targets: dict[str, int]) -> str:
    """Add the draining targets that moto no longer lists (a target registered again is listed once)."""
    listed = set(re.findall(r"<Target>\s*<Id>([^<]+)</Id>", body))
    members = "".join(
        f"<member><Target><Id>{t}</Id><Port>{p}</Port></Target><HealthCheckPort>{p}</HealthCheckPort>{_DRAINING}</member>"
        for t, p in sorted(targets.items())
        if t not in listed
    )
    if not members:
        return body
    if "<TargetHealthDescriptions/>" in body:
        return body.replace(
            "<TargetHealthDescriptions/>", f"<TargetHealthDescriptions>{members}</TargetHealthDescriptions>"
        )
    return body.replace("</TargetHealthDescriptions>", f"{members}</TargetHealthDescriptions>", 1)


def _with_health(body: str, targets: set[str], health: str) -> str:
    def member(match: re.Match[str]) -> str:
        text = match.group(0)
        target = re.search(r"<Id>([^<]+)</Id>", text)
        if target is None or target.group(1) not in targets:
            return text
        return re.sub(r"<TargetHealth>.*?</TargetHealth>", health, text, flags=re.S)

    return re.sub(r"<member>\s*<Target>.*?</TargetHealth>\s*</member>", member, body, flags=re.S)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class LoadBalancerController:
    def __init__(
        self,
        store: ObjectStore,
        network: Ec2Network,
        elbv2: Any,
        health: TargetHealth,
        *,
        cluster_name: str,
        vpc_id: str,
        delay: Callable[[], float],
        pace: Callable[[float], float] = lambda seconds: seconds,
    ) -> None:
        self.store = store
        self.pace = pace
        """Twin seconds for AWS seconds (a deregistration delay)."""
        self.network = network
        self.elbv2 = elbv2
        self.health = health
        self.cluster_name = cluster_name
        self.vpc_id = vpc_id
        self.delay = delay
        self.stacks: dict[tuple[str, str, str], Stack] = {}
        self.timeline: dict[tuple[str, str, str], dict[str, float]] = {}
        """(kind, namespace, name) -> when its load balancer was created, published (its DNS name in the
        object's status) and deleted, on the twin's clock; kept after the deletion (make bench's critical path)."""
        self._reported: dict[tuple[str, str, str], str] = {}
        """The last error reported for an object (one event per distinct error, as a retry storm would
        only bump the event's count)."""
        self._recorders: dict[str, EventRecorder] = {}
        self._network_reported: dict[tuple[tuple[str, str, str], str], str] = {}

    # -- which objects are ours ---------------------------------------------------------------------
    @staticmethod
    def wants_service(svc: Obj) -> bool:
        spec = svc.get("spec", {})
        if spec.get("type") != "LoadBalancer":
            return False
        if spec.get("loadBalancerClass") == NLB_CLASS:
            return True
        kind = (svc["metadata"].get("annotations") or {}).get(SVC + "type")
        return not spec.get("loadBalancerClass") and kind in ("external", "nlb-ip")

    @staticmethod
    def wants_ingress(ing: Obj) -> bool:
        spec = ing.get("spec", {})
        if spec.get("ingressClassName"):
            return bool(spec["ingressClassName"] == "alb")
        return (ing["metadata"].get("annotations") or {}).get("kubernetes.io/ingress.class") == "alb"

    # -- the loop ---------------------------------------------------------------------------------
    def reconcile(self, now: float) -> None:
        wanted: dict[tuple[str, str, str], Obj] = {}
        for svc in self.store.list(SERVICES):
            if self.wants_service(svc) or SERVICE_FINALIZER in (svc["metadata"].get("finalizers") or []):
                wanted[("Service", svc["metadata"]["namespace"], svc["metadata"]["name"])] = svc
        for ing in self.store.list(INGRESSES):
            if self.wants_ingress(ing) or INGRESS_FINALIZER in (ing["metadata"].get("finalizers") or []):
                wanted[("Ingress", ing["metadata"]["namespace"], ing["metadata"]["name"])] = ing
        for key, stack in list(self.stacks.items()):
            obj = wanted.get(key)
            if obj is None or obj["metadata"]["uid"] != stack.uid:
                self._delete(stack)
        for key, obj in wanted.items():
            kind = key[0]
            still_ours = self.wants_service(obj) if kind == "Service" else self.wants_ingress(obj)
            if obj["metadata"].get("deletionTimestamp") or not still_ours:
                if key in self.stacks:
                    self._delete(self.stacks[key])
                else:  # never deployed (a refused load balancer): its frontend group may exist
                    self._delete_frontend_group(key, obj)
                self._finalizer(key, obj, add=False)
                continue
            try:
                self._ensure(key, obj, now)
            except (ModelError, DeployError) as error:
                self._report(key, obj, error)

    # -- build -----------------------------------------------------------------------------------------
    def _ensure(self, key: tuple[str, str, str], obj: Obj, now: float) -> None:
        stack = self.stacks.get(key)
        if stack is None:
            self._finalizer(key, obj, add=True)
            stack = self._create(key, obj, now)
            self.stacks[key] = stack
            self.timeline[key] = {"created": now}
            self._reported.pop(key, None)
        self._targets(stack, obj)
        if not stack.published and now - stack.created_at >= self.delay():
            self._publish(key, obj, stack)
            if stack.published:
                self.timeline.setdefault(key, {}).setdefault("published", now)

    def _scheme(self, kind: str, annotations: dict[str, str]) -> str:
        raw = annotations.get(SVC + "scheme" if kind == "Service" else ALB + "scheme", "internal")
        if raw not in ("internal", "internet-facing"):
            raise ModelError(f"unknown scheme: {raw}")  # (unverified wording)
        if kind == "Service" and annotations.get(SVC + "internal") == "true":
            return "internal"
        return raw

    def _create(self, key: tuple[str, str, str], obj: Obj, now: float) -> Stack:
        kind, namespace, name = key
        annotations = dict(obj["metadata"].get("annotations") or {})
        lb_type = "network" if kind == "Service" else "application"
        scheme = self._scheme(kind, annotations)
        target_type = annotations.get(SVC + "nlb-target-type" if kind == "Service" else ALB + "target-type", "instance")
        if annotations.get(SVC + "type") == "nlb-ip":
            target_type = "ip"
        if target_type not in ("ip", "instance"):
            raise ModelError(f"unknown target type: {target_type}")  # (unverified wording)
        raw_fixed = annotations.get(SVC + "private-ipv4-addresses") if kind == "Service" else None
        fixed = _split(raw_fixed) if raw_fixed is not None else None
        explicit = annotations.get(SVC + "subnets" if kind == "Service" else ALB + "subnets")
        if explicit is not None:
            subnets = self._explicit_subnets(_split(explicit), lb_type)
        else:
            subnets = self._discover(scheme, lb_type, check_free=not (fixed is not None and scheme == "internal"))
        mapping = self._fixed_mapping(fixed, scheme, subnets) if fixed is not None else {}
        raw_groups = annotations.get(SVC + "security-groups" if kind == "Service" else ALB + "security-groups")
        try:
            groups = (
                resolve_security_groups(self.network.ec2, self.vpc_id, _split(raw_groups))
                if raw_groups is not None
                else []
            )
        except SecurityGroupsNotFound as error:
            raise ModelError(str(error)) from error
        except SecurityGroupsUnusable as error:
            raise DeployError(_elb_error("CreateLoadBalancer", str(error))) from error
        backends = self._backends(kind, obj, target_type)
        if raw_groups is None:
            groups = [self._frontend_group(key, obj, lb_type, backends)]
        # deploy: what ELBv2 would refuse
        for subnet in subnets:
            address = mapping.get(subnet.subnet_id)
            if address is None:
                continue
            if address in subnet.reserved():
                raise DeployError(
                    _elb_error(
                        "InvalidConfigurationRequest",
                        f"The specified private IPv4 address '{address}' is reserved by AWS in subnet "
                        f"'{subnet.subnet_id}'",
                    )
                )  # (unverified wording)
            if address in self.network.in_use(subnet.subnet_id):
                raise DeployError(
                    _elb_error(
                        "InvalidConfigurationRequest",
                        f"The specified private IPv4 address '{address}' is already in use in subnet "
                        f"'{subnet.subnet_id}'",
                    )
                )  # (unverified wording)
        lb_name = _name(self.cluster_name, namespace, name, obj["metadata"]["uid"], scheme)
        stack_tag = "service.k8s.aws/stack" if kind == "Service" else "ingress.k8s.aws/stack"
        tags = [
            {"Key": "elbv2.k8s.aws/cluster", "Value": self.cluster_name},
            {"Key": stack_tag, "Value": f"{namespace}/{name}"},
            {"Key": stack_tag.replace("/stack", "/resource"), "Value": "LoadBalancer"},
        ]
        try:
            created = self.elbv2.create_load_balancer(
                Name=lb_name,
                Type=lb_type,
                Scheme=scheme,
                SubnetMappings=[
                    {
                        "SubnetId": s.subnet_id,
                        **({"PrivateIPv4Address": mapping[s.subnet_id]} if s.subnet_id in mapping else {}),
                    }
                    for s in subnets
                ],
                Tags=tags,
                **({"SecurityGroups": groups} if groups else {}),
            )["LoadBalancers"][0]
        except Exception as error:
            raise DeployError(_elb_error("CreateLoadBalancer", str(error))) from error
        stack = Stack(
            key=key,
            uid=obj["metadata"]["uid"],
            arn=created["LoadBalancerArn"],
            name=lb_name,
            dns_name=created["DNSName"],
            kind=lb_type,
            scheme=scheme,
            target_type=target_type,
            subnets=[s.subnet_id for s in subnets],
            fixed_addresses=mapping,
            interfaces=[],
            addresses={},
            created_at=now,
            frontend_group=groups[0] if raw_groups is None else None,
        )
        lb_id = stack.arn.rsplit("/", 1)[-1]
        prefix = "net" if lb_type == "network" else "app"
        for subnet in subnets:
            try:
                eni, addresses = self.network.create_interface(
                    subnet,
                    1,
                    security_groups=[],
                    description=f"ELB {prefix}/{lb_name}/{lb_id}",
                    addresses=[mapping[subnet.subnet_id]] if subnet.subnet_id in mapping else None,
                )
            except AddressesExhausted:
                continue
            stack.interfaces.append(eni)
            stack.addresses[subnet.subnet_id] = addresses[0]
        for service, port, target_port, protocol in backends:
            group_name = _name(self.cluster_name, namespace, service, obj["metadata"]["uid"] + str(port), "tg")
            group = self.elbv2.create_target_group(
                Name=group_name,
                Protocol=protocol,
                Port=target_port,
                VpcId=self.vpc_id,
                TargetType=target_type,
                HealthCheckProtocol="TCP" if protocol == "TCP" else "HTTP",
                Tags=[
                    {"Key": "elbv2.k8s.aws/cluster", "Value": self.cluster_name},
                    {"Key": stack_tag, "Value": f"{namespace}/{name}"},
                ],
            )["TargetGroups"][0]
            arn = group["TargetGroupArn"]
            stack.target_groups[(service, port)] = arn
            stack.group_names[arn] = group_name
            stack.deregistration_delay[arn] = self._target_group_attributes(kind, annotations, arn)
            try:
                bind(
                    self.store,
                    owner_kind=kind,
                    owner_namespace=namespace,
                    owner_name=name,
                    name=group_name,
                    service=service,
                    port=port,
                    target_group_arn=arn,
                    target_type=target_type,
                )
            except ApiError as error:
                # The namespace is being deleted meanwhile: the stack is still returned and kept, so the
                # Service's deletion removes its load balancer next pass (the controller finds what it
                # built by its stack tags; an exception here used to leave it behind for good).
                if error.code != 404 and not (error.code == 403 and "being terminated" in error.message):
                    raise
            if lb_type == "network" or len(stack.target_groups) == 1:  # an ALB: one HTTP:80 listener
                self.elbv2.create_listener(
                    LoadBalancerArn=stack.arn,
                    Protocol=protocol,
                    Port=port if lb_type == "network" else 80,
                    DefaultActions=[{"Type": "forward", "TargetGroupArn": arn}],
                )
        return stack

    def _frontend_group(
        self, key: tuple[str, str, str], obj: Obj, lb_type: str, backends: list[tuple[str, int, int, str]]
    ) -> str:
        ports = [(protocol.lower(), port) for _, port, _, protocol in backends] if lb_type == "network" else []
        try:
            return ensure_frontend_group(
                self.network.ec2,
                vpc_id=self.vpc_id,
                cluster=self.cluster_name,
                kind=key[0],
                obj=obj,
                ports=ports or [("tcp", 80)],  # an ALB: its one HTTP:80 listener
            )
        except SourceRangesInvalid as error:
            raise ModelError(str(error)) from error

    def _delete_frontend_group(self, key: tuple[str, str, str], obj: Obj) -> None:
        group = frontend_group_of(self.network.ec2, vpc_id=self.vpc_id, cluster=self.cluster_name, obj=obj)
        if group is not None:
            delete_frontend_group(self.network.ec2, group)

    def _target_group_attributes(self, kind: str, annotations: dict[str, str], arn: str) -> int:
        """Apply the `...target-group-attributes` annotation; returns the deregistration delay in force."""
        raw = annotations.get(SVC + "target-group-attributes" if kind == "Service" else ALB + "target-group-attributes")
        attributes = []
        for pair in _split(raw or ""):
            key, _, value = pair.partition("=")
            attributes.append({"Key": key.strip(), "Value": value.strip()})
        if attributes:
            try:
                self.elbv2.modify_target_group_attributes(TargetGroupArn=arn, Attributes=attributes)
            except ClientError as error:
                raise DeployError(_elb_error("ModifyTargetGroupAttributes", str(error))) from error
        found = self.elbv2.describe_target_group_attributes(TargetGroupArn=arn)["Attributes"]
        delay = next((a.get("Value") for a in found if a.get("Key") == "deregistration_delay.timeout_seconds"), None)
        return int(delay) if delay is not None else DEFAULT_DEREGISTRATION_DELAY

    def bindings(self) -> list[Binding]:
        """The TargetGroupBindings the controller keeps, one per target group (named as it)."""
        out = []
        for stack in list(self.stacks.values()):
            for (service, _), group in list(stack.target_groups.items()):
                name = stack.group_names.get(group)
                if name is not None:
                    out.append(Binding(stack.key[1], service, name, stack.target_type))
        return out

    def _explicit_subnets(self, names: list[str], lb_type: str) -> list[Subnet]:
        subnets: list[Subnet] = []
        for name in names:
            found = self.network.subnet(name) if name.startswith("subnet-") else self._by_name(name)
            if found is None:
                raise ModelError(f"couldn't find all subnets, want: {names}")
            subnets.append(found)
        if not subnets:
            raise ModelError("unable to resolve at least one subnet")
        by_az: dict[str, list[str]] = {}
        for s in subnets:
            by_az.setdefault(s.availability_zone, []).append(s.subnet_id)
        for az, ids in by_az.items():
            if len(ids) > 1:
                raise ModelError(f"multiple subnets in same Availability Zone {az}: {ids}")
        minimal = 2 if lb_type == "application" else 1
        if len(subnets) < minimal:
            raise ModelError(f"subnets count less than minimal required count: {len(subnets)} < {minimal}")
        return subnets

    def _by_name(self, name: str) -> Subnet | None:
        for subnet in self.network.subnets(self.vpc_id):
            if subnet.tags.get("Name") == name:
                return subnet
        return None

    def _discover(self, scheme: str, lb_type: str, *, check_free: bool) -> list[Subnet]:
        role = ROLE_TAGS[scheme]
        candidates = [s for s in self.network.subnets(self.vpc_id) if s.tags.get(role) in ("", "1")]
        mine = f"kubernetes.io/cluster/{self.cluster_name}"
        other_cluster, too_full, eligible = [], [], []
        for subnet in candidates:
            tagged = [k for k in subnet.tags if k.startswith("kubernetes.io/cluster")]
            if tagged and mine not in tagged:
                other_cluster.append(subnet)
            elif check_free and subnet.available < MIN_FREE_ADDRESSES:
                too_full.append(subnet)
            else:
                eligible.append(subnet)
        by_az: dict[str, list[Subnet]] = {}
        for subnet in eligible:
            by_az.setdefault(subnet.availability_zone, []).append(subnet)
        chosen = sorted(
            (min(group, key=lambda s: (mine not in s.tags, s.subnet_id)) for group in by_az.values()),
            key=lambda s: s.subnet_id,
        )
        if not chosen:
            raise ModelError(
                "couldn't auto-discover subnets: unable to resolve at least one subnet. "
                f"Evaluated {len(candidates)} subnets: {len(other_cluster)} are tagged for other clusters, and "
                f"{len(too_full)} have insufficient available IP addresses"
            )
        minimal = 2 if lb_type == "application" else 1
        if len(chosen) < minimal:
            raise ModelError(
                f"couldn't auto-discover subnets: subnets count less than minimal required count: "
                f"{len(chosen)} < {minimal}"
            )
        return chosen

    @staticmethod
    def _fixed_mapping(addresses: list[str], scheme: str, subnets: list[Subnet]) -> dict[str, str]:
        if scheme != "internal":
            raise ModelError("private IPv4 addresses can only be set for internal load balancers")
        if len(addresses) != len(subnets):
            raise ModelError(
                f"count of private IPv4 addresses ({len(addresses)}) and subnets ({len(subnets)}) must match"
            )
        parsed = []
        for raw in addresses:
            try:
                address = ipaddress.ip_address(raw)
            except ValueError:
                raise ModelError(f"private IPv4 addresses must be valid IP address: {raw}") from None
            if address.version != 4:
                raise ModelError(f"private IPv4 addresses must be valid IPv4 address: {raw}")
            parsed.append(address)
        mapping = {}
        for subnet in subnets:
            inside = [a for a in parsed if a in subnet.network]
            if len(inside) != 1:
                raise ModelError(f"expect one private IPv4 address configured for subnet: {subnet.subnet_id}")
            mapping[subnet.subnet_id] = str(inside[0])
        return mapping

    def _backends(self, kind: str, obj: Obj, target_type: str) -> list[tuple[str, int, int, str]]:
        """(service, service port, target port, protocol) of each target group."""
        namespace = obj["metadata"]["namespace"]
        if kind == "Service":
            out = []
            for port in obj["spec"].get("ports") or []:
                target = port.get("nodePort") if target_type == "instance" else port.get("targetPort", port["port"])
                if not isinstance(target, int):
                    target = int(port["port"])
                out.append((obj["metadata"]["name"], int(port["port"]), int(target), str(port.get("protocol", "TCP"))))
            return out
        backends: list[tuple[str, int, int, str]] = []
        spec = obj.get("spec", {})
        refs = [spec["defaultBackend"]] if spec.get("defaultBackend") else []
        for rule in spec.get("rules") or []:
            refs.extend(path["backend"] for path in (rule.get("http") or {}).get("paths") or [])
        for ref in refs:
            service_ref = ref.get("service") or {}
            svc = self.store.find(SERVICES, service_ref.get("name", ""), namespace=namespace)
            if svc is None:
                raise ModelError(
                    f"failed to load service: {namespace}/{service_ref.get('name')}: Service "
                    f'"{service_ref.get("name")}" not found'
                )
            wanted = service_ref.get("port") or {}
            port = next(
                (
                    p
                    for p in svc["spec"].get("ports") or []
                    if p.get("port") == wanted.get("number") or (wanted.get("name") and p.get("name") == wanted["name"])
                ),
                None,
            )
            if port is None:
                raise ModelError(f"unable to find port {wanted} on service {namespace}/{svc['metadata']['name']}")
            if target_type == "instance" and svc["spec"].get("type") not in ("NodePort", "LoadBalancer"):
                raise ModelError(
                    f"{namespace}/{svc['metadata']['name']} service is not of type NodePort or "
                    "LoadBalancer and target-type is instance"
                )
            target = port.get("nodePort") if target_type == "instance" else port.get("targetPort", port["port"])
            backend = (
                svc["metadata"]["name"],
                int(port["port"]),
                int(target) if isinstance(target, int) else int(port["port"]),
                "HTTP",
            )
            if backend not in backends:
                backends.append(backend)
        if not backends:
            raise ModelError("ingress has no backends")  # (unverified wording)
        return backends

    # -- targets, status -----------------------------------------------------------------------------
    def _targets(self, stack: Stack, obj: Obj) -> None:
        namespace = stack.key[1]
        for (service, port), group in stack.target_groups.items():
            svc = self.store.find(SERVICES, service, namespace=namespace)
            binding = stack.group_names.get(group, "")
            wanted: dict[str, int] = {}
            gated_pods: dict[str, Obj] = {}
            if svc is not None:
                spec_port = next((p for p in svc["spec"].get("ports") or [] if p.get("port") == port), None)
                if spec_port is not None:
                    if stack.target_type == "ip":
                        target_port = spec_port.get("targetPort", port)
                        number = target_port if isinstance(target_port, int) else port
                        selector = svc["spec"].get("selector") or {}
                        if selector:  # read-only: peek, not 1,000 copies a pass
                            for pod in self.store.peek(
                                PODS, where=lambda p: p["metadata"].get("namespace") == namespace
                            ):
                                labels = pod["metadata"].get("labels") or {}
                                ip = pod.get("status", {}).get("podIP")
                                if not all(labels.get(k) == v for k, v in selector.items()) or not ip:
                                    continue
                                if pod["metadata"].get("deletionTimestamp"):
                                    continue  # terminating: its endpoint is not ready any more
                                if gated(pod, binding):
                                    gated_pods[ip] = pod
                                    if containers_ready(pod):
                                        wanted[ip] = int(number)
                                elif pod_ready(pod):
                                    wanted[ip] = int(number)
                    else:
                        node_port = spec_port.get("nodePort")
                        for node in self.store.list(NODES):
                            provider = node.get("spec", {}).get("providerID", "")
                            if node_port and node_ready(node) and provider:
                                wanted[provider.rsplit("/", 1)[-1]] = int(node_port)
            described = self.elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
            current = {
                d["Target"]["Id"]: int(d["Target"].get("Port", 0))
                for d in described
                if d.get("TargetHealth", {}).get("State") != "draining"
            }
            add: list[dict[str, Any]] = [{"Id": t, "Port": p} for t, p in wanted.items() if current.get(t) != p]
            remove: list[dict[str, Any]] = [{"Id": t, "Port": p} for t, p in current.items() if wanted.get(t) != p]
            if remove:
                self.elbv2.deregister_targets(TargetGroupArn=group, Targets=remove)
                delay = self.pace(stack.deregistration_delay.get(group, DEFAULT_DEREGISTRATION_DELAY))
                for target in remove:
                    self.health.deregistered(group, str(target["Id"]), int(target["Port"]), delay)
            if add:
                interfaces = interfaces_by_address(self.network.ec2) if stack.target_type == "ip" else {}
                outside = self._zones_outside(stack) if stack.target_type == "ip" else []
                # young before moto has them: a DescribeTargetHealth in between must not see them healthy
                for target in add:
                    self.health.registered(group, str(target["Id"]))
                    if stack.target_type == "ip":
                        self._judge_reachability(stack, obj, group, str(target["Id"]), int(target["Port"]), interfaces)
                        address = ipaddress.ip_address(str(target["Id"]))
                        if any(address in network for network in outside):
                            self.health.not_in_use(group, str(target["Id"]))
                self.elbv2.register_targets(TargetGroupArn=group, Targets=add)
            if gated_pods:
                self._gate_conditions(group, binding, gated_pods, set(wanted))

    def _zones_outside(self, stack: Stack) -> list[ipaddress.IPv4Network]:
        """The VPC's subnets in Availability Zones the load balancer does not enable (its subnets')."""
        subnets = self.network.subnets(self.vpc_id)
        enabled = {s.availability_zone for s in subnets if s.subnet_id in stack.subnets}
        return [s.network for s in subnets if s.availability_zone not in enabled]

    def _gate_conditions(self, group: str, binding: str, pods: dict[str, Obj], registered: set[str]) -> None:
        young, failing, unused = self.health.young(group), self.health.failing(group), self.health.unused(group)
        for ip, pod in pods.items():
            if ip not in registered:
                continue
            if ip in unused:
                set_condition(self.store, pod, binding, "unused", "Target.NotInUse", _NOT_IN_USE)
            elif ip in young:
                set_condition(self.store, pod, binding, "initial", "Elb.RegistrationInProgress", _REGISTERING)
            elif ip in failing:
                set_condition(
                    self.store, pod, binding, "unhealthy", "Target.FailedHealthChecks", "Health checks failed"
                )
            else:
                set_condition(self.store, pod, binding, "healthy", "", "")

    def _judge_reachability(
        self, stack: Stack, obj: Obj, group: str, target: str, port: int, interfaces: dict[str, Obj]
    ) -> None:
        found = target_reachability(
            self.network.ec2,
            cluster_name=self.cluster_name,
            target_ip=target,
            port=port,
            load_balancer_addresses=list(stack.addresses.values()),
            interfaces=interfaces,
        )
        if found.problem is not None:
            message = f"Failed to reconcile networking: {found.problem}"
            if self._network_reported.get((stack.key, target)) != message:
                self._network_reported[(stack.key, target)] = message
                self._event(stack.key, obj, "Warning", "FailedNetworkReconcile", message)
        if not found.reachable:
            self.health.unreachable(group, target)

    def _publish(self, key: tuple[str, str, str], obj: Obj, stack: Stack) -> None:
        ref = SERVICES if key[0] == "Service" else INGRESSES

        def change(current: Obj) -> None:
            current.setdefault("status", {})["loadBalancer"] = {"ingress": [{"hostname": stack.dns_name}]}

        try:
            self.store.mutate(ref, key[2], change, namespace=key[1], subresource="status")
        except ApiError as error:
            if error.code != 404:
                raise
            return
        stack.published = True
        self._event(key, obj, "Normal", "SuccessfullyReconciled", "Successfully reconciled")

    # -- deletion ------------------------------------------------------------------------------------
    def _delete(self, stack: Stack) -> None:
        self.timeline.setdefault(stack.key, {}).setdefault("deleted", self.health.now())
        try:
            self.elbv2.delete_load_balancer(LoadBalancerArn=stack.arn)
        except Exception as error:
            if "NotFound" not in str(error):
                raise
        for group in stack.target_groups.values():
            try:
                self.elbv2.delete_target_group(TargetGroupArn=group)
            except Exception as error:
                if "NotFound" not in str(error):
                    raise
            self.health.forget(group)
            binding = stack.group_names.get(group)
            if binding is not None:
                unbind(self.store, stack.key[1], binding)
            if binding is not None:  # the binding goes: its gate no longer holds pods (updatePodAsHealthyForDeletedTGB)
                for pod in self.store.list(PODS, namespace=stack.key[1]):
                    if gated(pod, binding):
                        set_condition(self.store, pod, binding, "healthy", "", "")
        for eni in stack.interfaces:
            self.network.delete_interface(eni)
        if stack.frontend_group is not None:
            delete_frontend_group(self.network.ec2, stack.frontend_group)
        self.stacks.pop(stack.key, None)

    def _finalizer(self, key: tuple[str, str, str], obj: Obj, *, add: bool) -> None:
        ref = SERVICES if key[0] == "Service" else INGRESSES
        name = SERVICE_FINALIZER if key[0] == "Service" else INGRESS_FINALIZER
        present = name in (obj["metadata"].get("finalizers") or [])
        if present == add:
            return

        def change(current: Obj) -> None:
            finalizers = [f for f in current["metadata"].get("finalizers") or [] if f != name]
            if add:
                finalizers.append(name)
            if finalizers:
                current["metadata"]["finalizers"] = finalizers
            else:
                current["metadata"].pop("finalizers", None)

        try:
            self.store.mutate(ref, key[2], change, namespace=key[1])
        except ApiError as error:
            if error.code != 404:
                raise

    # -- events ----------------------------------------------------------------------------------------
    def _report(self, key: tuple[str, str, str], obj: Obj, error: Exception) -> None:
        reason = "FailedBuildModel" if isinstance(error, ModelError) else "FailedDeployModel"
        message = f"Failed {'build' if reason == 'FailedBuildModel' else 'deploy'} model due to {error}"
        if self._reported.get(key) == message:
            return
        self._reported[key] = message
        self._event(key, obj, "Warning", reason, message)

    def _event(self, key: tuple[str, str, str], obj: Obj, kind: str, reason: str, message: str) -> None:
        component = "service" if key[0] == "Service" else "ingress"
        recorder = self._recorders.setdefault(component, EventRecorder(self.store, component))
        involved = {**obj, "kind": key[0], "metadata": {**obj["metadata"], "namespace": key[1], "name": key[2]}}
        recorder.record(involved, kind, reason, message)

    # -- state -------------------------------------------------------------------------------------------
    def state(self) -> list[Obj]:
        out = []
        for stack in sorted(self.stacks.values(), key=lambda s: s.key):
            targets = []
            for (service, port), group in stack.target_groups.items():
                unused = self.health.unused(group)
                young = self.health.young(group) - unused
                failing = self.health.failing(group) - unused
                try:
                    described = self.elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
                except ClientError as error:
                    if error.response.get("Error", {}).get("Code") != "TargetGroupNotFound":
                        raise
                    continue  # the controller is deleting this load balancer right now (a Service went away)
                for d in described:
                    target = d["Target"]["Id"]
                    targets.append(
                        {
                            "service": service,
                            "port": port,
                            "id": target,
                            "targetPort": d["Target"].get("Port"),
                            "health": "initial"
                            if target in young
                            else "unhealthy"
                            if target in failing
                            else d.get("TargetHealth", {}).get("State"),
                        }
                    )
            out.append(
                {
                    "for": f"{stack.key[0]} {stack.key[1]}/{stack.key[2]}",
                    "name": stack.name,
                    "type": stack.kind,
                    "scheme": stack.scheme,
                    "dnsName": stack.dns_name,
                    "published": stack.published,
                    "targetType": stack.target_type,
                    "subnets": stack.subnets,
                    "addresses": stack.addresses,
                    "fixedAddresses": stack.fixed_addresses,
                    "frontendSecurityGroup": stack.frontend_group,
                    "targets": targets,
                }
            )
        return out


def _name(cluster: str, namespace: str, name: str, uid: str, scheme: str) -> str:
    digest = hashlib.sha256(f"{cluster}{uid}{scheme}".encode()).hexdigest()
    clean = re.compile(r"[^A-Za-z0-9]")
    return f"k8s-{clean.sub('', namespace)[:8]}-{clean.sub('', name)[:8]}-{digest[:10]}"


def _elb_error(operation: str, message: str) -> str:
    return f"operation error Elastic Load Balancing v2: {operation}, api error {message}"
