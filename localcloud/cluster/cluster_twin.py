"""`ClusterTwin`: the scenario's EKS cluster next to LocalAws (a Twin component, see localcloud/twin.py).

    cluster = ClusterTwin(scenario)
    aws = LocalAws(scenario, middlewares=cluster.middlewares())      # a Twin does this itself
    aws.start(); cluster.start(aws)                                 # or cluster.start(twin)
    ...   # the real kubernetes client at aws's DescribeCluster endpoint, with an EKS token
    cluster.stop(); aws.stop()

start(): serves the Kubernetes API (HTTPS, the cluster's CA) and registers its endpoint and CA with
LocalAws's EKS so DescribeCluster returns them; authenticates with LocalAws's access entries and
authentication mode; records Kubernetes calls in LocalAws's ledger (with the execution number) and
applies the scenario's `kubernetes:<verb> <Kind>` faults, for the workflow's principals only
(tokens of assumed roles, as AWS calls are counted; an outside kubectl is neither counted nor
faulted); bootstraps the cluster (aws-node per the CNI version, kube-proxy, CoreDNS, the ENIConfig
CRD, the Load Balancer Controller when the scenario has it), writes the managed add-on's
configuration onto aws-node, creates the scenario's workloads, and settles: the existing
nodegroups' nodes Ready and the pods Running before anything else runs.
Then one controller thread reconciles (nodegroups and the CNI, workloads, load balancers) on every
change and every `interval` seconds, timed by the scenario's `timing`; it tells EKS when a creating
nodegroup's nodes failed to join (CREATE_FAILED, NodeCreationFailure).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from localcloud.aws import ec2_addresses, root
from localcloud.cluster import cni, pace
from localcloud.cluster.instances import InstanceTypes
from localcloud.cluster.loadbalancers import LoadBalancerController, TargetHealth
from localcloud.cluster.network import Ec2Network
from localcloud.cluster.nodes import DRAIN_TIMEOUT, Nodes
from localcloud.cluster.probes import Probes, probes_for
from localcloud.cluster.readiness_gates import ReadinessGateWebhook
from localcloud.cluster.scenario_objects import create_scenario_objects
from localcloud.cluster.state import cluster_state
from localcloud.cluster.statefulsets import create_statefulset
from localcloud.cluster.volumes import Volumes
from localcloud.cluster.workloads import Workloads
from localcloud.kube.bootstrap import bootstrap_eks_cluster
from localcloud.kube.server import KubeApiServer
from localcloud.kube.store import ObjectStore, WatchEvent
from localcloud.scenario import Scenario

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws
    from localcloud.lambdas import WsgiApp

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Middleware = Callable[["WsgiApp"], "WsgiApp"]


class ClusterTwin:
    name = "cluster"

    def __init__(
        self,
        scenario: Scenario,
        *,
        drain_timeout: float = DRAIN_TIMEOUT,
        interval: float = 0.1,
        standalone: bool = True,
    ) -> None:
        self.scenario = scenario
        """The scenario, or with several clusters the member scenario of this one (Scenario.members)."""
        self.standalone = standalone
        """False for a cluster of a fleet (ClusterFleet): its probes are in its own state, not the twin's."""
        self.cluster_name = scenario.cluster.name
        self.drain_timeout = drain_timeout
        self.interval = interval
        self.health = TargetHealth()
        self.health.delay = lambda: 0.0 if self._settling else pace.target_registration(self.scenario.timing)
        self.store = ObjectStore(service_cidr=scenario.cluster.service_ipv4_cidr)
        self.aws: LocalAws | None = None
        self.server: KubeApiServer | None = None
        self.nodes: Nodes | None = None
        self.workloads: Workloads | None = None
        self.load_balancers: LoadBalancerController | None = None
        self.probes: Probes | None = None
        self._settling = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._errors = 0
        self.passes = 0
        """Controller passes made by the loop so far (tests wait on it)."""

    # -- the Twin component protocol ---------------------------------------------------------------
    def middlewares(self) -> list[Middleware]:
        return [self.health.middleware]

    def start(self, twin: Any) -> None:
        aws: LocalAws = getattr(twin, "aws", twin)
        self.aws = aws
        self.health.now = lambda: aws.clock.now()  # the twin's clock: a test that holds it holds target health
        scenario, cluster = self.scenario, self.scenario.cluster
        built = self._built()
        vpc_id = built.vpc_id if built else ""
        server = KubeApiServer(
            self.cluster_name,
            self._access,
            auth_mode_getter=lambda: aws.eks.authentication_mode(self.cluster_name),
            ledger_hook=self._ledger,
            fault_hook=lambda operation: aws.faults.take(operation, cluster=self.cluster_name),
            counted=lambda access_key: aws.caller_of(access_key) is not None,
            store=self.store,
            kubernetes_version=cluster.version,
            credential_resolver=root.credential_resolver(aws.account_id),
            cluster_creator_arn=root.root_arn(aws.account_id),
        )
        self.server = server.start()
        aws.eks.set_cluster_endpoint(self.cluster_name, server.endpoint, server.ca_data)
        bootstrap_eks_cluster(
            self.store,
            cni_version=cluster.vpc_cni.version,
            load_balancer_controller=cluster.load_balancer_controller,
            cluster_name=self.cluster_name,
            region=scenario.region,
            vpc_id=vpc_id,
            kubernetes_version=cluster.version,
        )
        self._sync_addon({"resolveConflicts": "OVERWRITE"})
        session = aws.admin_session()
        ec2 = session.client("ec2")
        volumes = Volumes(self.store, ec2, cluster_name=self.cluster_name)
        for workload in cluster.workloads:
            if workload.kind == "StatefulSet":
                create_statefulset(self.store, volumes, workload)
            else:
                self._create_workload(workload.namespace, workload.name, workload.replicas, workload.image)
        create_scenario_objects(self.store, cluster)
        ec2_backend = ec2_addresses.backend(aws.account_id, aws.region)
        network = Ec2Network(
            ec2, self.cluster_name, lambda subnet_id: ec2_addresses.addresses_taken(ec2_backend, subnet_id)
        )
        timing = scenario.timing
        self.nodes = Nodes(
            self.store,
            network,
            InstanceTypes(ec2),
            cluster_name=self.cluster_name,
            region=scenario.region,
            kubernetes_version=cluster.version,
            cluster_security_group=built.cluster_security_group_id if built else "",
            node_ready=lambda: 0.0 if self._settling else timing.node_ready,
            node_join=lambda: timing.node_join,
            drain_timeout=self.drain_timeout,
        )
        self.workloads = Workloads(
            self.store,
            self.nodes,
            pod_ready_delay=lambda: 0.0 if self._settling else timing.pod_ready,
            volumes=volumes,
            pace=self._pace,
        )
        if cluster.load_balancer_controller:
            self.load_balancers = LoadBalancerController(
                self.store,
                network,
                session.client("elbv2"),
                self.health,
                cluster_name=self.cluster_name,
                vpc_id=vpc_id,
                delay=lambda: 0.0 if self._settling else timing.load_balancer,
                pace=self._pace,
            )
            controller = self.load_balancers
            self.store.admission.append(ReadinessGateWebhook(self.store, controller.bindings))
        self.probes = Probes(self.store, self.load_balancers, probes_for(cluster.workloads))
        if self.standalone and hasattr(twin, "state_contributors"):
            twin.state_contributors.append(("probes", self.probes.state))
        aws.eks.subscribe(self._eks_event)
        aws.eks.hold_nodegroup_deletion(self.nodes.deletion_held)
        aws.eks.hold_nodegroup_creation(self.nodes.creation_held)
        self._unsubscribe = self.store.subscribe(self._store_event)
        self.settle()
        self.probes.start(aws.clock.now())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"cluster-{self.cluster_name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> ClusterTwin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def state(self) -> dict[str, Any]:
        assert self.nodes is not None
        state = cluster_state(self)
        if not self.standalone and self.probes is not None:
            state["probes"] = self.probes.state()
        return state

    def _built(self) -> Any:
        """What the build made for this cluster (its VPC's IDs, its security group)."""
        assert self.aws is not None
        return self.aws.builts.get(self.cluster_name, self.aws.built)

    # -- the API server's hooks ------------------------------------------------------------------------
    def _access(self, cluster: str, principal_arn: str) -> list[Obj] | None:
        """The entry's policies as the API server sees them: an entry, and each policy association,
        applies `timing.accessEntry` seconds after it was made (EKS: a few seconds, 401/403 meanwhile)."""
        assert self.aws is not None
        entry = self.aws.eks.access_entry(cluster, principal_arn)
        delay = self.scenario.timing.access_entry
        now = self.wall_clock()
        if entry is None or (now - entry.created_at).total_seconds() < delay:
            return None
        return [p.to_json() for p in entry.policies.values() if (now - p.modified_at).total_seconds() >= delay]

    @staticmethod
    def wall_clock() -> datetime:
        """Now, as EKS stamps access entries (tests may hold it)."""
        return datetime.now(UTC)

    def _ledger(self, operation: str, mutating: bool, result: str) -> None:
        assert self.aws is not None
        self.aws.ledger.record("kubernetes", operation, mutating=mutating, result=result)

    # -- events ----------------------------------------------------------------------------------------
    def _store_event(self, event: WatchEvent) -> None:
        self._wake.set()

    def _eks_event(self, event: str, details: dict[str, Any]) -> None:
        """From a LocalAws request thread, under its clock lock: no AWS calls here."""
        if details.get("cluster") not in (None, self.cluster_name):
            return
        if event == "nodegroup-creating" and self.nodes is not None:
            self.nodes.nodegroup_created(str(details.get("nodegroup")))
        elif event == "addon-updated" and details.get("addon") == "vpc-cni":
            self._sync_addon(details)
        self._wake.set()

    def _sync_addon(self, details: dict[str, Any]) -> None:
        """An add-on created or updated: EKS writes its configuration onto aws-node."""
        assert self.aws is not None
        addon = self.aws.eks.extra(self.cluster_name).addons.get("vpc-cni")
        if addon is None:
            return
        built = self._built()
        vpc_id = built.vpc_id if built else ""
        written_before = None
        if details.get("previousVersion"):  # an update: what EKS wrote at the previous configuration
            written_before = cni.addon_env(
                str(details["previousVersion"]),
                details.get("previousConfiguration") or {},
                cluster_name=self.cluster_name,
                vpc_id=vpc_id,
            )
        cni.apply_addon(
            self.store,
            version=addon.version,
            configuration=addon.configuration,
            resolve_conflicts=str(details.get("resolveConflicts") or "NONE"),
            cluster_name=self.cluster_name,
            vpc_id=vpc_id,
            region=self.scenario.region,
            written_before=written_before,
        )

    # -- the scenario's workloads ----------------------------------------------------------------------
    def _create_workload(self, namespace: str, name: str, replicas: int, image: str) -> None:
        if self.store.find("v1/namespaces", namespace) is None:
            self.store.create("v1/namespaces", {"metadata": {"name": namespace}})
        if self.store.find("apps/v1/deployments", name, namespace=namespace) is not None:
            return
        labels = {"app": name}
        self.store.create(
            "apps/v1/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": name, "namespace": namespace, "labels": labels},
                "spec": {
                    "replicas": replicas,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {"name": name, "image": image, "ports": [{"containerPort": 80, "protocol": "TCP"}]}
                            ]
                        },
                    },
                },
            },
            namespace=namespace,
        )

    # -- the controller loop ---------------------------------------------------------------------------
    def reconcile(self) -> None:
        """One pass of every controller."""
        assert self.aws is not None and self.nodes is not None and self.workloads is not None
        now = self.aws.clock.now()  # the AWS twin's clock: a test that holds it holds the controllers too
        nodegroups = self.aws.eks.nodegroups(self.cluster_name)
        self.nodes.reconcile(nodegroups, now)
        for nodegroup, instance_ids in self.nodes.never_joined(nodegroups, now).items():
            self.aws.eks.nodegroup_failed_to_join(self.cluster_name, nodegroup, instance_ids)
        self.workloads.reconcile(now)
        if self.load_balancers is not None:
            self.load_balancers.reconcile(now)
        if self.probes is not None:
            self.probes.tick(now)

    def _pace(self, seconds: float) -> float:
        """Twin seconds for AWS or Kubernetes seconds (localcloud/cluster/pace.py); none while settling."""
        return 0.0 if self._settling else pace.scaled(self.scenario.timing, seconds)

    def settle(self, passes: int = 30) -> None:
        """Reconcile with every delay at zero until nothing changes (the cluster as it stands when
        the twin starts: nodes Ready, pods Running)."""
        self._settling = True
        try:
            for _ in range(passes):
                version = self.store.resource_version
                self.reconcile()
                if self.store.resource_version == version:
                    return
        finally:
            self._settling = False

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.reconcile()
                self.passes += 1
            except Exception:  # a controller bug must not kill the cluster; it is logged
                self._errors += 1
                log.exception("cluster twin: a controller pass failed")
            self._wake.wait(self.interval)


def component(scenario: Scenario, template: Any) -> ClusterTwin | ClusterFleet:
    """The Twin's component factory (localcloud.twin.COMPONENTS): one cluster, or a fleet of them."""
    if not scenario.clusters:
        return ClusterTwin(scenario)
    return ClusterFleet([ClusterTwin(member, standalone=False) for member in scenario.members()])


class ClusterFleet:
    """The scenario's `clusters`: one ClusterTwin each (its own API server, controllers and nodes),
    started in the scenario's order; `--state` has each one's part under `clusters.<name>`."""

    name = "clusters"

    def __init__(self, clusters: list[ClusterTwin]) -> None:
        self.clusters = {cluster.cluster_name: cluster for cluster in clusters}
        self._started: list[ClusterTwin] = []

    def middlewares(self) -> list[Middleware]:
        return [m for cluster in self.clusters.values() for m in cluster.middlewares()]

    def start(self, twin: Any) -> None:
        for cluster in self.clusters.values():
            cluster.start(twin)
            self._started.append(cluster)

    def stop(self) -> None:
        while self._started:
            self._started.pop().stop()

    def state(self) -> dict[str, Any]:
        return {name: cluster.state() for name, cluster in self.clusters.items()}
