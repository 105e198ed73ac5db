"""Managed nodegroups' nodes and each node's VPC CNI (its ENIs and pod addresses).

- A nodegroup that is CREATING or ACTIVE in the twin's EKS gets `desiredSize` nodes, spread over the
  AZs of its subnets: an EC2 instance in a node subnet, and a Node with the labels EKS and the
  kubelet set, its InternalIP, and capacity pods = max pods as EKS computed it when the nodegroup was
  *created* (custom-networking formula only if the CNI had custom networking on then; AWS-FACTS
  section 2).
- A CREATING nodegroup becomes ACTIVE only once its nodes are Ready (`EksStore.hold_nodegroup_creation`).
  If one of them is still NotReady `timing.nodeJoin` seconds after it registered (#2683 below, say),
  the nodegroup's instances failed to join: `never_joined` names them, and EKS marks the nodegroup
  CREATE_FAILED with a NodeCreationFailure health issue. Its nodes stay (and may still become Ready).
- A node's network comes up as aws-node's ipamd brings it up, with the CNI env of the moment the
  node registered: without custom networking it hands out secondary addresses of ENIs in the node
  subnet; with it, of ENIs in the subnet of the node's ENIConfig (the primary ENI gives none). With
  custom networking on and no ENIConfig for the node (or one whose subnet is not in the node's AZ)
  the node stays NotReady (amazon-vpc-cni-k8s #2683) until one appears. Whole ENIs are attached at a
  time (WARM_ENI_TARGET=1), up to the instance type's ENI limit.
- A rollout of a new aws-node env restarts aws-node on every node: switching custom networking on
  before a node's ENIConfig exists breaks existing nodes too (NotReady, with the reason), not only
  new ones (`_restart_aws_node`).
- A DELETING nodegroup: its nodes are cordoned and drained (evictions honour PodDisruptionBudgets;
  DaemonSet pods stay), a drained node is removed (Node deleted, instance terminated, ENIs freed),
  and EKS finishes the deletion only once no node is left (`EksStore.hold_nodegroup_deletion`).
  EKS forces termination of a node not drained after 5 minutes (`drain_timeout`).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localcloud.cluster import cni
from localcloud.cluster.events import EventRecorder
from localcloud.cluster.heartbeats import NodeLeases
from localcloud.cluster.instances import InstanceType, InstanceTypes
from localcloud.cluster.launch_templates import template_data
from localcloud.cluster.network import AddressesExhausted, Ec2Network, Subnet
from localcloud.kube.errors import ApiError
from localcloud.kube.store import ObjectStore, now_rfc3339

if TYPE_CHECKING:
    from localcloud.aws.eks import NodegroupInfo

log = logging.getLogger(__name__)

Obj = dict[str, Any]
NODES = "v1/nodes"
PODS = "v1/pods"
NODEGROUP_LABEL = "eks.amazonaws.com/nodegroup"
NOT_READY_TAINT = {"key": "node.kubernetes.io/not-ready", "effect": "NoSchedule"}
UNSCHEDULABLE_TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
DRAIN_TIMEOUT = 300.0


@dataclass
class NodeRecord:
    name: str
    nodegroup: str
    instance_id: str
    subnet: Subnet
    ip: str
    primary_eni: str
    kind: InstanceType
    max_pods: int
    security_groups: list[str]
    env: dict[str, str]
    """aws-node's env when the node registered (what its ipamd runs with)."""
    registered_at: float
    custom: bool
    network_ready: bool = False
    network_error: str | None = None
    eniconfig: str | None = None
    pod_subnet: Subnet | None = None
    enis: list[str] = field(default_factory=list)
    """ENIs attached after the primary one."""
    pool: list[str] = field(default_factory=list)
    """Free pod addresses."""
    assigned: dict[str, str] = field(default_factory=dict)
    """Pod address -> pod uid."""
    drain_started: float | None = None
    restart_error: str | None = None
    """Why aws-node, restarted by a rollout of a new env, fails on this node (it stays NotReady)."""

    @property
    def eni_count(self) -> int:
        return 1 + len(self.enis)


class Nodes:
    """The nodegroup controller and the per-node CNI. Runs in the cluster twin's controller thread."""

    def __init__(
        self,
        store: ObjectStore,
        network: Ec2Network,
        instance_types: InstanceTypes,
        *,
        cluster_name: str,
        region: str,
        kubernetes_version: str,
        cluster_security_group: str,
        node_ready: Callable[[], float],
        node_join: Callable[[], float],
        drain_timeout: float = DRAIN_TIMEOUT,
    ) -> None:
        self.store = store
        self.network = network
        self.instance_types = instance_types
        self.cluster_name = cluster_name
        self.region = region
        self.kubernetes_version = kubernetes_version
        self.cluster_security_group = cluster_security_group
        self.node_ready = node_ready
        self.node_join = node_join
        self.drain_timeout = drain_timeout
        self.records: dict[str, NodeRecord] = {}
        self.custom_at_creation: dict[str, bool] = {}
        """Nodegroup -> whether custom networking was on when it was created (max pods)."""
        self.holding: frozenset[str] = frozenset()
        """Nodegroups that still have nodes (read by EKS's deletion hold, from other threads)."""
        self.joining: frozenset[str] = frozenset()
        """CREATING nodegroups with a node not Ready yet (read by EKS's creation hold)."""
        self.announced: set[str] = set()
        """Nodegroups created since the last pass, whose nodes are not launched yet (creation hold)."""
        self._recorders: dict[str, EventRecorder] = {}
        """Node -> its kubelet's event recorder."""
        self.leases = NodeLeases(store)

    # -- EKS events (called from request threads: no AWS calls here) -------------------------------
    def nodegroup_created(self, name: str) -> None:
        env = cni.effective_env(self.store)
        self.custom_at_creation[name] = cni.custom_networking(env)
        self.announced.add(name)

    def deletion_held(self, cluster: str, nodegroup: str) -> bool:
        return cluster == self.cluster_name and nodegroup in self.holding

    def creation_held(self, cluster: str, nodegroup: str) -> bool:
        return cluster == self.cluster_name and (nodegroup in self.announced or nodegroup in self.joining)

    # -- the loop ------------------------------------------------------------------------------------
    def reconcile(self, nodegroups: list[NodegroupInfo], now: float) -> None:
        by_name = {ng.name: ng for ng in nodegroups}
        for ng in nodegroups:
            if ng.status in ("CREATING", "ACTIVE"):
                self._scale(ng, now)
        self.announced.difference_update(by_name)
        for record in list(self.records.values()):
            ng_info = by_name.get(record.nodegroup)
            if ng_info is None:
                self.remove(record)
            elif ng_info.status == "DELETING":
                self._drain(record, now)
        env = cni.effective_env(self.store)
        for record in list(self.records.values()):
            if record.name in self.records:
                self._network(record)
                self._restart_aws_node(record, env)
                self._status(record, now)
        self.holding = frozenset(r.nodegroup for r in self.records.values())
        creating = {ng.name for ng in nodegroups if ng.status == "CREATING"}
        self.joining = frozenset(
            r.nodegroup for r in self.records.values() if r.nodegroup in creating and not self.ready(r, now)
        )

    def never_joined(self, nodegroups: list[NodegroupInfo], now: float) -> dict[str, list[str]]:
        """CREATING nodegroups with a node still NotReady `node_join` seconds after it registered ->
        the instance ids of their NotReady nodes (what EKS reports as failed to join)."""
        out: dict[str, list[str]] = {}
        for ng in nodegroups:
            if ng.status != "CREATING":
                continue
            late = [r for r in self.records.values() if r.nodegroup == ng.name and not self.ready(r, now)]
            if any(now - r.registered_at >= self.node_join() for r in late):
                out[ng.name] = sorted(r.instance_id for r in late)
        return out

    # -- registration ----------------------------------------------------------------------------------
    def _scale(self, ng: NodegroupInfo, now: float) -> None:
        mine = [r for r in self.records.values() if r.nodegroup == ng.name]
        desired = int(ng.scaling_config.get("desiredSize", 0))
        for _ in range(desired - len(mine)):
            subnets = [s for s in (self.network.subnet(sid) for sid in ng.subnets) if s is not None]
            if not subnets:
                return
            per_az: dict[str, int] = {}
            for r in self.records.values():
                if r.nodegroup == ng.name:
                    per_az[r.subnet.availability_zone] = per_az.get(r.subnet.availability_zone, 0) + 1
            subnet = min(subnets, key=lambda s: (per_az.get(s.availability_zone, 0), s.availability_zone, s.subnet_id))
            try:
                self._register(ng, subnet, now)
            except AddressesExhausted as error:
                log.warning("nodegroup %s cannot launch a node: %s", ng.name, error)
                return

    def _register(self, ng: NodegroupInfo, subnet: Subnet, now: float) -> NodeRecord:
        kind = self.instance_types.get(ng.instance_types[0] if ng.instance_types else "t3.medium")
        custom_then = self.custom_at_creation.setdefault(ng.name, False)
        env = cni.effective_env(self.store)
        max_pods = kind.max_pods(custom_networking=custom_then, prefix_delegation=cni.prefix_delegation(env))
        # EKS puts the cluster security group on a managed node unless its launch template names groups
        groups = [self.cluster_security_group] if self.cluster_security_group else []
        template = template_data(self.network.ec2, ng.launch_template)
        if template is not None and template.security_groups:
            groups = list(template.security_groups)
        if template is not None and template.custom_ami:
            max_pods = template.max_pods or kind.max_pods(prefix_delegation=cni.prefix_delegation(env))
        tags = {
            "eks:cluster-name": self.cluster_name,
            "eks:nodegroup-name": ng.name,
            f"kubernetes.io/cluster/{self.cluster_name}": "owned",
            "Name": f"{ng.name}-node",
        }
        instance_id, ip, eni = self.network.launch(subnet, kind.name, groups, tags)
        name = f"ip-{ip.replace('.', '-')}.{self.region}.compute.internal"
        record = NodeRecord(
            name=name,
            nodegroup=ng.name,
            instance_id=instance_id,
            subnet=subnet,
            ip=ip,
            primary_eni=eni,
            kind=kind,
            max_pods=max_pods,
            security_groups=groups,
            env=env,
            registered_at=now,
            custom=cni.custom_networking(env),
        )
        self.records[name] = record
        node = self.store.create(NODES, self._node_object(record, ng), with_status=True)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in node["status"]["conditions"])
        status = "NodeReady" if ready else "NodeNotReady"
        self._events(record).normal(node, status, f"Node {name} status is now: {status}")
        return record

    def _node_object(self, record: NodeRecord, ng: NodegroupInfo) -> Obj:
        az = record.subnet.availability_zone
        kind = record.kind
        labels = {
            "beta.kubernetes.io/arch": "amd64",
            "beta.kubernetes.io/instance-type": kind.name,
            "beta.kubernetes.io/os": "linux",
            "eks.amazonaws.com/capacityType": ng.capacity_type or "ON_DEMAND",
            NODEGROUP_LABEL: ng.name,
            "eks.amazonaws.com/nodegroup-image": "ami-0a0b0c0d0e0f01234",
            "failure-domain.beta.kubernetes.io/region": self.region,
            "failure-domain.beta.kubernetes.io/zone": az,
            "k8s.io/cloud-provider-aws": uuid.uuid5(uuid.NAMESPACE_DNS, self.cluster_name).hex,
            "kubernetes.io/arch": "amd64",
            "kubernetes.io/hostname": record.name,
            "kubernetes.io/os": "linux",
            "node.kubernetes.io/instance-type": kind.name,
            "topology.k8s.aws/zone-id": f"{self.region[:3]}{self.region.split('-')[-1]}-az{ord(az[-1]) - 96}",
            "topology.kubernetes.io/region": self.region,
            "topology.kubernetes.io/zone": az,
            **ng.labels,
        }
        taints = [_node_taint(t) for t in ng.taints] + [dict(NOT_READY_TAINT)]
        memory_ki = kind.memory_mib * 1024
        capacity = {
            "cpu": str(kind.vcpus),
            "ephemeral-storage": "20959212Ki",
            "hugepages-1Gi": "0",
            "hugepages-2Mi": "0",
            "memory": f"{memory_ki}Ki",
            "pods": str(record.max_pods),
        }
        allocatable = {
            **capacity,
            "cpu": f"{kind.vcpus * 1000 - 90}m",
            "ephemeral-storage": "18242267924",
            "memory": f"{max(memory_ki - 1_000_000, memory_ki // 2)}Ki",
        }
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": record.name,
                "labels": labels,
                "annotations": {
                    "alpha.kubernetes.io/provided-node-ip": record.ip,
                    "node.alpha.kubernetes.io/ttl": "0",
                    "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                },
            },
            "spec": {"providerID": f"aws:///{az}/{record.instance_id}", "taints": taints},
            "status": {
                "capacity": capacity,
                "allocatable": allocatable,
                "addresses": [
                    {"type": "InternalIP", "address": record.ip},
                    {"type": "InternalDNS", "address": record.name},
                    {"type": "Hostname", "address": record.name},
                ],
                "conditions": self._conditions(
                    False,
                    "container runtime network not ready: NetworkReady=false "
                    "reason:NetworkPluginNotReady message:Network plugin returns error: "
                    "cni plugin not initialized",
                ),
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {
                    "architecture": "amd64",
                    "bootID": str(uuid.uuid4()),
                    "containerRuntimeVersion": "containerd://1.7.22",
                    "kernelVersion": "6.1.112-124.190.amzn2023.x86_64",
                    "kubeProxyVersion": f"v{self.kubernetes_version}.4-eks-a737599",
                    "kubeletVersion": f"v{self.kubernetes_version}.4-eks-a737599",
                    "machineID": uuid.uuid4().hex,
                    "operatingSystem": "linux",
                    "osImage": "Amazon Linux 2023.6.20241031",
                    "systemUUID": str(uuid.uuid4()),
                },
            },
        }

    @staticmethod
    def _conditions(ready: bool, message: str) -> list[Obj]:
        stamp = now_rfc3339()
        out = [
            {
                "type": kind,
                "status": "False",
                "reason": reason,
                "message": text,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
            }
            for kind, reason, text in (
                ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
            )
        ]
        out.append(
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "reason": "KubeletReady" if ready else "KubeletNotReady",
                "message": message,
                "lastHeartbeatTime": stamp,
                "lastTransitionTime": stamp,
            }
        )
        return out

    # -- the node's network (aws-node's ipamd) ------------------------------------------------------
    def _network(self, record: NodeRecord) -> None:
        if record.network_ready:
            return
        try:
            if record.custom:
                node = self.store.find(NODES, record.name)
                if node is None:
                    return
                name = cni.eniconfig_name(node, record.env)
                eniconfig = self.store.find(cni.ENICONFIGS, name) if self._eniconfig_served() else None
                if eniconfig is None:
                    record.network_error = (
                        f"Failed to attach any ENIs for custom networking: ENIConfig {name!r} not found"
                    )
                    return
                spec = eniconfig.get("spec") or {}
                subnet = self.network.subnet(str(spec.get("subnet", "")))
                if subnet is None or subnet.availability_zone != record.subnet.availability_zone:
                    record.network_error = (
                        f"Failed to attach any ENIs for custom networking: ENIConfig {name!r} subnet "
                        f"{spec.get('subnet')!r} is not a subnet of {record.subnet.availability_zone}"
                    )
                    return
                record.eniconfig = name
                record.pod_subnet = subnet
                groups = [str(g) for g in spec.get("securityGroups") or []]
                if groups:
                    record.security_groups = groups
                self.store.mutate(
                    NODES, record.name, lambda n: n["metadata"]["labels"].update({cni.ENICONFIG_NODE_LABEL: name})
                )
            record.network_ready = True
            record.network_error = None
            self._grow(record)
        except AddressesExhausted as error:
            record.network_error = str(error)

    def _restart_aws_node(self, record: NodeRecord, env: dict[str, str]) -> None:
        """A rollout of aws-node's env restarts it on every node, not only on new ones: with custom
        networking switched on, aws-node on a node whose AZ has no ENIConfig fails ("Failed to attach
        any ENIs for custom networking") and the node goes NotReady (amazon-vpc-cni-k8s #2683), until
        one appears (aws-node restarts until then). A node keeps the ENIs it has (pods on it keep
        node-subnet addresses: only nodes that register after the switch use the pod subnets)."""
        if env != record.env:
            record.env = dict(env)
            record.restart_error = self._custom_networking_problem(record) if cni.custom_networking(env) else None
        elif record.restart_error is not None:
            record.restart_error = self._custom_networking_problem(record)

    def _custom_networking_problem(self, record: NodeRecord) -> str | None:
        node = self.store.find(NODES, record.name)
        if node is None:
            return None
        name = cni.eniconfig_name(node, record.env)
        eniconfig = self.store.find(cni.ENICONFIGS, name) if self._eniconfig_served() else None
        if eniconfig is None:
            return f"Failed to attach any ENIs for custom networking: ENIConfig {name!r} not found"
        subnet_id = str((eniconfig.get("spec") or {}).get("subnet", ""))
        subnet = self.network.subnet(subnet_id)
        if subnet is None or subnet.availability_zone != record.subnet.availability_zone:
            return (
                f"Failed to attach any ENIs for custom networking: ENIConfig {name!r} subnet "
                f"{subnet_id!r} is not a subnet of {record.subnet.availability_zone}"
            )
        return None

    def _eniconfig_served(self) -> bool:
        try:
            self.store.resource(cni.ENICONFIGS)
        except ApiError:
            return False
        return True

    def _grow(self, record: NodeRecord) -> bool:
        """Attach addresses for pods (a whole ENI's worth); False when the node has no room left."""
        per_eni = record.kind.ips_per_eni - 1
        if not record.custom and not record.pool and not record.assigned and not record.enis:
            # without custom networking the primary ENI's secondary addresses come first
            record.pool.extend(self.network.add_addresses(record.primary_eni, record.subnet, per_eni))
            return True
        subnet = record.pod_subnet if record.custom else record.subnet
        if subnet is None or record.eni_count >= record.kind.enis:
            return False
        eni, addresses = self.network.create_interface(
            subnet,
            per_eni + 1,
            security_groups=record.security_groups,
            description="aws-K8S-" + record.instance_id,
        )
        self.network.attach(eni, record.instance_id, record.eni_count)
        record.enis.append(eni)
        record.pool.extend(addresses[1:])
        return True

    def assign(self, node_name: str, pod_uid: str) -> str | None:
        """A pod address on the node, or None when the CNI has none to give (ipamd: no free IP)."""
        record = self.records.get(node_name)
        if record is None or not record.network_ready:
            return None
        for address, owner in record.assigned.items():
            if owner == pod_uid:
                return address
        if not record.pool:
            try:
                if not self._grow(record):
                    return None
            except AddressesExhausted:
                return None
        address = record.pool.pop(0)
        record.assigned[address] = pod_uid
        if not record.pool:  # WARM_ENI_TARGET=1: keep an ENI's worth spare when the node can
            with contextlib.suppress(AddressesExhausted):
                self._grow(record)
        return address

    def release(self, live_pods: set[str]) -> None:
        """Return the addresses of pods that are gone to their nodes' pools."""
        for record in self.records.values():
            for address, owner in list(record.assigned.items()):
                if owner not in live_pods:
                    del record.assigned[address]
                    record.pool.append(address)

    # -- status ----------------------------------------------------------------------------------------
    def ready(self, record: NodeRecord, now: float) -> bool:
        return record.network_ready and record.restart_error is None and now - record.registered_at >= self.node_ready()

    def _status(self, record: NodeRecord, now: float) -> None:
        ready = self.ready(record, now)
        message = (
            "kubelet is posting ready status"
            if ready
            else (
                record.restart_error
                or record.network_error
                or "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady "
                "message:Network plugin returns error: cni plugin not initialized"
            )
        )
        node = self.store.find(NODES, record.name)
        if node is None:
            return
        self.leases.renew(node, now)
        current = next((c for c in node.get("status", {}).get("conditions") or [] if c.get("type") == "Ready"), None)
        want = "True" if ready else "False"
        if current is None or current.get("status") != want or current.get("message") != message:
            conditions = self._conditions(ready, message)

            def status(obj: Obj) -> None:
                obj.setdefault("status", {})["conditions"] = conditions

            self.store.mutate(NODES, record.name, status, subresource="status")
            if current is None or current.get("status") != want:
                reason = "NodeReady" if ready else "NodeNotReady"
                # kubelet's words; the why is the Ready condition's message (`describe node`).
                self._events(record).record(node, "Normal", reason, f"Node {record.name} status is now: {reason}")
        taints = node.get("spec", {}).get("taints") or []
        has_taint = any(t.get("key") == NOT_READY_TAINT["key"] for t in taints)
        if has_taint == ready:

            def spec(obj: Obj) -> None:
                current_taints = [t for t in obj["spec"].get("taints") or [] if t.get("key") != NOT_READY_TAINT["key"]]
                if not ready:
                    current_taints.append(dict(NOT_READY_TAINT))
                if current_taints:
                    obj["spec"]["taints"] = current_taints
                else:
                    obj["spec"].pop("taints", None)

            self.store.mutate(NODES, record.name, spec)

    def _events(self, record: NodeRecord) -> EventRecorder:
        if record.name not in self._recorders:
            self._recorders[record.name] = EventRecorder(self.store, "kubelet", host=record.name)
        return self._recorders[record.name]

    # -- draining and removal ------------------------------------------------------------------------
    def _drain(self, record: NodeRecord, now: float) -> None:
        if record.drain_started is None:
            record.drain_started = now

            def cordon(node: Obj) -> None:
                spec = node.setdefault("spec", {})
                spec["unschedulable"] = True
                taints = spec.get("taints") or []
                if not any(t.get("key") == UNSCHEDULABLE_TAINT["key"] for t in taints):
                    spec["taints"] = [*taints, {**UNSCHEDULABLE_TAINT, "timeAdded": now_rfc3339()}]

            with contextlib.suppress(ApiError):
                self.store.mutate(NODES, record.name, cordon)
        forced = now - record.drain_started >= self.drain_timeout
        left = 0
        for pod in self.store.list(PODS, field_selector=f"spec.nodeName={record.name}"):
            meta = pod["metadata"]
            if _daemonset_pod(pod) or meta.get("deletionTimestamp"):
                continue
            try:
                if forced:
                    self.store.delete(PODS, meta["name"], namespace=meta["namespace"])
                else:
                    self.store.evict(meta["namespace"], meta["name"])
            except ApiError as error:
                if error.code == 429:
                    left += 1
                elif error.code != 404:
                    raise
        if left == 0:
            self.remove(record)

    def remove(self, record: NodeRecord) -> None:
        """The instance is gone: its Node, its pods (the pod garbage collector, terminating ones too), its ENIs."""
        for pod in self.store.list(PODS, field_selector=f"spec.nodeName={record.name}"):
            meta = pod["metadata"]
            try:
                self.store.delete(PODS, meta["name"], namespace=meta["namespace"])
            except ApiError as error:
                if error.code != 404:
                    raise
            self.store.finish_termination(meta["namespace"], meta["name"])
        try:
            self.store.delete(NODES, record.name)
        except ApiError as error:
            if error.code != 404:
                raise
        self.leases.remove(record.name)
        self._recorders.pop(record.name, None)
        self.network.terminate(record.instance_id, record.primary_eni, record.enis)
        self.records.pop(record.name, None)


def _daemonset_pod(pod: Obj) -> bool:
    return any(ref.get("kind") == "DaemonSet" for ref in pod["metadata"].get("ownerReferences") or [])


def monotonic() -> float:
    return time.monotonic()


_TAINT_EFFECTS = {"NO_SCHEDULE": "NoSchedule", "NO_EXECUTE": "NoExecute", "PREFER_NO_SCHEDULE": "PreferNoSchedule"}


def _node_taint(taint: dict[str, str]) -> dict[str, str]:
    """A nodegroup taint (EKS spells the effect NO_SCHEDULE) as the node carries it (NoSchedule)."""
    out = {"key": taint["key"], "effect": _TAINT_EFFECTS.get(taint["effect"], taint["effect"])}
    if taint.get("value"):
        out["value"] = taint["value"]
    return out
