"""EKS what moto lacks, served in front of moto's EKS and kept in `EksStore`.

Served here (rest-json, shapes of botocore's eks service model): add-ons (Create/Describe/List/
Update/DeleteAddon, DescribeAddonVersions, DescribeAddonConfiguration with a per-version schema),
updates (DescribeUpdate, ListUpdates: InProgress -> Successful after the scenario's timing),
access entries and access policies, UpdateClusterConfig's accessConfig (one-way
CONFIG_MAP -> API_AND_CONFIG_MAP -> API). Enriched: DescribeCluster (accessConfig,
clusterSecurityGroupId, vpcId, kubernetesNetworkConfig, endpoint and CA when the cluster twin set
them, CREATING while the scenario says so). Timed: nodegroups CREATING -> ACTIVE (once their nodes
have joined, when the cluster twin runs; CREATE_FAILED with a NodeCreationFailure health issue when
they do not join in time), DeleteNodegroup DELETING -> gone.

Error codes and messages follow EKS where known; the ones marked (unverified) are our best
reading and are kept in one place here.

The Python side (`EksStore`) is what the cluster twin uses: nodegroups, add-on configuration,
access entries for a caller, the cluster endpoint, and change notifications (`subscribe`).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import jsonschema
import yaml
from moto.eks.models import eks_backends

from localcloud.aws.addon_schemas import (
    SUPPORTED_VERSIONS,
    VPC_CNI,
    configuration_schema,
    configuration_schema_text,
    is_known_version,
)
from localcloud.aws.addon_versions import check_version_change, kubernetes_versions
from localcloud.aws.eks_clusters import complete_cluster
from localcloud.aws.eks_errors import EksError
from localcloud.aws.eks_nodegroups import NodegroupRules, completed_members
from localcloud.aws.protocol import (
    AwsRequest,
    StartResponse,
    WsgiApp,
    WsgiEnviron,
    call,
    read_body,
    send_error,
    send_json,
)

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws

AUTH_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")
_NEXT_MODE = {"CONFIG_MAP": "API_AND_CONFIG_MAP", "API_AND_CONFIG_MAP": "API"}
ACCESS_POLICIES = (
    "AmazonEKSClusterAdminPolicy",
    "AmazonEKSAdminPolicy",
    "AmazonEKSEditPolicy",
    "AmazonEKSViewPolicy",
    "AmazonEKSAdminViewPolicy",
    "AmazonEKSNetworkingPolicy",
)
ACCESS_POLICY_ARN = "arn:aws:eks::aws:cluster-access-policy/{}"
ACCESS_ENTRY_TYPES = ("STANDARD", "FARGATE_LINUX", "EC2_LINUX", "EC2_WINDOWS", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX")
NODE_CREATION_FAILURE = "NodeCreationFailure"
INSTANCES_FAILED_TO_JOIN = "Instances failed to join the kubernetes cluster"
"""The health issue of a nodegroup whose instances never joined (as EKS reports it, e.g. in
CloudFormation's "Nodegroup ... failed to stabilize: [{Code: NodeCreationFailure, Message: Instances
failed to join the kubernetes cluster, ResourceIds: [i-...]}]"; the code is in the API's Issue shape)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _ts(value: datetime) -> float:
    return value.timestamp()


@dataclass
class Update:
    id: str
    type: str
    params: list[dict[str, str]]
    created_at: datetime
    status: str = "InProgress"
    nodegroup: str | None = None
    addon: str | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "type": self.type,
            "params": self.params,
            "createdAt": _ts(self.created_at),
            "errors": self.errors,
        }


@dataclass
class Addon:
    cluster: str
    name: str
    version: str
    arn: str
    created_at: datetime
    modified_at: datetime
    status: str = "ACTIVE"
    configuration_values: str = ""
    service_account_role_arn: str | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def configuration(self) -> dict[str, Any]:
        """configurationValues parsed (JSON or YAML), {} when empty."""
        if not self.configuration_values.strip():
            return {}
        document = yaml.safe_load(self.configuration_values)
        return document if isinstance(document, dict) else {}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "addonName": self.name,
            "clusterName": self.cluster,
            "status": self.status,
            "addonVersion": self.version,
            "health": {"issues": []},
            "addonArn": self.arn,
            "createdAt": _ts(self.created_at),
            "modifiedAt": _ts(self.modified_at),
            "tags": self.tags,
            "publisher": "eks",
            "owner": "aws",
        }
        if self.configuration_values:
            out["configurationValues"] = self.configuration_values
        if self.service_account_role_arn:
            out["serviceAccountRoleArn"] = self.service_account_role_arn
        return out


@dataclass
class AssociatedPolicy:
    policy_arn: str
    access_scope: dict[str, Any]
    associated_at: datetime
    modified_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "policyArn": self.policy_arn,
            "accessScope": self.access_scope,
            "associatedAt": _ts(self.associated_at),
            "modifiedAt": _ts(self.modified_at),
        }


@dataclass
class AccessEntry:
    cluster: str
    principal_arn: str
    arn: str
    type: str
    username: str
    kubernetes_groups: list[str]
    created_at: datetime
    modified_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    policies: dict[str, AssociatedPolicy] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "clusterName": self.cluster,
            "principalArn": self.principal_arn,
            "kubernetesGroups": self.kubernetes_groups,
            "accessEntryArn": self.arn,
            "createdAt": _ts(self.created_at),
            "modifiedAt": _ts(self.modified_at),
            "tags": self.tags,
            "username": self.username,
            "type": self.type,
        }


@dataclass
class ClusterExtra:
    """What the twin keeps about a cluster beyond moto's model."""

    name: str
    authentication_mode: str = "API_AND_CONFIG_MAP"
    cluster_security_group_id: str | None = None
    vpc_id: str | None = None
    service_ipv4_cidr: str = "10.100.0.0/16"
    endpoint: str | None = None
    certificate_authority: str | None = None
    auto_mode_node_role: str | None = None
    """EKS Auto Mode is on (computeConfig.enabled) with this node role."""
    addons: dict[str, Addon] = field(default_factory=dict)
    access_entries: dict[str, AccessEntry] = field(default_factory=dict)
    updates: dict[str, Update] = field(default_factory=dict)


@dataclass(frozen=True)
class NodegroupInfo:
    cluster: str
    name: str
    status: str
    subnets: list[str]
    instance_types: list[str]
    labels: dict[str, str]
    taints: list[dict[str, str]]
    scaling_config: dict[str, int]
    node_role: str
    ami_type: str
    capacity_type: str
    created_at: datetime
    launch_template: dict[str, str] | None


Listener = Callable[[str, dict[str, Any]], None]
"""(event, details): nodegroup-creating, nodegroup-active, nodegroup-create-failed, nodegroup-deleting,
nodegroup-deleted, cluster-active, addon-updating, addon-updated, access-changed,
authentication-mode-changed."""


def principal_exists(account_id: str, kind: str, name: str) -> bool:
    """An IAM role or user of the account, in moto's IAM (CreateAccessEntry needs a principal that exists)."""
    from moto.iam.models import iam_backends

    backend = iam_backends[account_id]["global"]
    if kind == "role":
        return any(role.name == name for role in backend.get_roles())
    return name in backend.users


def _role_arn_of(caller_arn: str) -> str:
    """arn:aws:sts::ACCT:assumed-role/NAME/SESSION -> arn:aws:iam::ACCT:role/NAME."""
    match = re.fullmatch(r"arn:(aws[a-z-]*):sts::(\d{12}):assumed-role/([^/]+)/[^/]+", caller_arn)
    if match:
        return f"arn:{match.group(1)}:iam::{match.group(2)}:role/{match.group(3)}"
    return caller_arn


def _without_path(role_arn: str) -> str:
    match = re.fullmatch(r"(arn:aws[a-z-]*:iam::\d{12}:role/)(?:.*/)?([^/]+)", role_arn)
    return f"{match.group(1)}{match.group(2)}" if match else role_arn


class EksStore:
    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self._lock = aws.clock.lock
        self.clusters: dict[str, ClusterExtra] = {}
        self._listeners: list[Listener] = []
        self._deleting: dict[tuple[str, str], Any] = {}
        self._listener_lock = threading.Lock()
        self._deletion_holds: list[Callable[[str, str], bool]] = []
        self._creation_holds: list[Callable[[str, str], bool]] = []
        self.nodegroup_rules = NodegroupRules(aws)

    @property
    def backend(self) -> Any:
        return eks_backends[self.aws.account_id][self.aws.region]

    # -- Python accessors (the cluster twin) -------------------------------------------------------

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(event, details)` on each change (from the request thread, under the lock)."""
        with self._listener_lock:
            self._listeners.append(listener)

    def hold_nodegroup_deletion(self, hold: Callable[[str, str], bool]) -> None:
        """A DELETING nodegroup disappears only once `timing.nodegroupDelete` has passed *and* no
        hold(cluster, nodegroup) says True (the cluster twin holds it while it drains its nodes, as
        EKS deletes the nodegroup after its instances are terminated). Called under the lock: a
        hold must answer without AWS calls."""
        with self._listener_lock:
            self._deletion_holds.append(hold)

    def hold_nodegroup_creation(self, hold: Callable[[str, str], bool]) -> None:
        """A CREATING nodegroup becomes ACTIVE only once `timing.nodegroupCreate` has passed *and* no
        hold(cluster, nodegroup) says True (the cluster twin holds it while its nodes are joining: EKS
        reports ACTIVE once the instances have joined the cluster). Called under the lock, like the
        deletion holds."""
        with self._listener_lock:
            self._creation_holds.append(hold)

    def _held(self, cluster: str, nodegroup: str, *, creating: bool = False) -> bool:
        with self._listener_lock:
            holds = list(self._creation_holds if creating else self._deletion_holds)
        return any(hold(cluster, nodegroup) for hold in holds)

    def nodegroup_failed_to_join(self, cluster: str, nodegroup: str, instance_ids: list[str]) -> bool:
        """EKS gives up on a CREATING nodegroup whose instances did not join the cluster in time:
        CREATE_FAILED, with a NodeCreationFailure health issue naming the instances. The instances stay
        (as on AWS: the nodegroup can only be deleted, which terminates them). False when the
        nodegroup is not CREATING any more."""
        with self._lock:
            moto_cluster = self.backend.clusters.get(cluster)
            moto_ng = moto_cluster.nodegroups.get(nodegroup) if moto_cluster is not None else None
            if moto_ng is None or moto_ng.status != "CREATING":
                return False
            moto_ng.status = "CREATE_FAILED"
            moto_ng.health = {  # a new dict: moto's default health is one dict shared by all nodegroups
                "issues": [
                    {
                        "code": NODE_CREATION_FAILURE,
                        "message": INSTANCES_FAILED_TO_JOIN,
                        "resourceIds": sorted(instance_ids),
                    }
                ]
            }
            self._emit("nodegroup-create-failed", cluster=cluster, nodegroup=nodegroup)
            return True

    def _emit(self, event: str, **details: Any) -> None:
        with self._listener_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event, details)

    def extra(self, cluster: str) -> ClusterExtra:
        if cluster not in self.clusters:
            self.clusters[cluster] = ClusterExtra(name=cluster)
        return self.clusters[cluster]

    def cluster_status(self, cluster: str) -> str | None:
        self.aws.clock.tick()
        moto_cluster = self.backend.clusters.get(cluster)
        return None if moto_cluster is None else str(moto_cluster.status)

    def authentication_mode(self, cluster: str) -> str:
        self.aws.clock.tick()
        return self.extra(cluster).authentication_mode

    def nodegroups(self, cluster: str) -> list[NodegroupInfo]:
        """The cluster's nodegroups (ACTIVE, CREATING, DELETING) as they stand now."""
        self.aws.clock.tick()
        with self._lock:
            moto_cluster = self.backend.clusters.get(cluster)
            if moto_cluster is None:
                return []
            return [
                NodegroupInfo(
                    cluster=cluster,
                    name=ng.nodegroup_name,
                    status=ng.status,
                    subnets=list(ng.subnets),
                    instance_types=list(ng.instance_types or []) or self.nodegroup_rules.template_instance_types(ng),
                    labels=dict(ng.labels or {}),
                    taints=list(ng.taints or []),
                    scaling_config=dict(ng.scaling_config or {}),
                    node_role=ng.node_role,
                    ami_type=ng.ami_type,
                    capacity_type=ng.capacity_type,
                    created_at=ng.created_at if isinstance(ng.created_at, datetime) else _now(),
                    launch_template=dict(ng.launch_template) if ng.launch_template else None,
                )
                for ng in moto_cluster.nodegroups.values()
            ]

    def addon(self, cluster: str, name: str = VPC_CNI) -> Addon | None:
        self.aws.clock.tick()
        return self.extra(cluster).addons.get(name)

    def addon_configuration(self, cluster: str, name: str = VPC_CNI) -> dict[str, Any]:
        """The add-on's configurationValues, parsed; {} without the add-on or its values."""
        addon = self.addon(cluster, name)
        return addon.configuration if addon else {}

    def access_entries(self, cluster: str) -> list[AccessEntry]:
        self.aws.clock.tick()
        return list(self.extra(cluster).access_entries.values())

    def access_entry(self, cluster: str, principal_arn: str) -> AccessEntry | None:
        """The entry for a principal: an IAM role or user ARN, or an STS assumed-role ARN (as
        GetCallerIdentity returns it), matched as EKS does (role path ignored)."""
        self.aws.clock.tick()
        wanted = _without_path(_role_arn_of(principal_arn))
        for entry in self.extra(cluster).access_entries.values():
            if _without_path(entry.principal_arn) == wanted:
                return entry
        return None

    def access_policies(self, cluster: str, principal_arn: str) -> list[AssociatedPolicy]:
        entry = self.access_entry(cluster, principal_arn)
        return list(entry.policies.values()) if entry else []

    def set_cluster_endpoint(self, cluster: str, url: str, ca_pem_b64: str) -> None:
        """What DescribeCluster returns as `endpoint` and `certificateAuthority.data` (the cluster twin's)."""
        with self._lock:
            extra = self.extra(cluster)
            extra.endpoint = url
            extra.certificate_authority = ca_pem_b64

    # -- the twin's build --------------------------------------------------------------------------

    def register_cluster(
        self,
        cluster: str,
        *,
        authentication_mode: str,
        cluster_security_group_id: str,
        vpc_id: str,
        service_ipv4_cidr: str,
        creating_for: float | None = None,
        on_active: Callable[[], None] | None = None,
    ) -> None:
        with self._lock:
            extra = self.extra(cluster)
            extra.authentication_mode = authentication_mode
            extra.cluster_security_group_id = cluster_security_group_id
            extra.vpc_id = vpc_id
            extra.service_ipv4_cidr = service_ipv4_cidr
            if creating_for is not None:
                self.backend.clusters[cluster].status = "CREATING"

                def activate() -> None:
                    self.backend.clusters[cluster].status = "ACTIVE"
                    if on_active is not None:
                        on_active()
                    self._emit("cluster-active", cluster=cluster)

                self.aws.clock.after(creating_for, activate)

    def install_addon(self, cluster: str, name: str, version: str, configuration_values: str = "") -> Addon:
        with self._lock:
            now = _now()
            addon = Addon(
                cluster=cluster,
                name=name,
                version=version,
                arn=f"arn:aws:eks:{self.aws.region}:{self.aws.account_id}:addon/{cluster}/{name}/{uuid.uuid4()}",
                created_at=now,
                modified_at=now,
                configuration_values=configuration_values,
            )
            self.extra(cluster).addons[name] = addon
            return addon

    def settle_nodegroups(self) -> None:
        """Make every CREATING nodegroup ACTIVE now (the twin's build uses it)."""
        with self._lock:
            for moto_cluster in self.backend.clusters.values():
                for ng in moto_cluster.nodegroups.values():
                    if ng.status == "CREATING":
                        ng.status = "ACTIVE"

    # -- the middleware ----------------------------------------------------------------------------

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        handlers: dict[str, Callable[..., Any]] = {
            "DescribeCluster": self._describe_cluster,
            "UpdateClusterConfig": self._update_cluster_config,
            "CreateNodegroup": self._create_nodegroup,
            "DeleteNodegroup": self._delete_nodegroup,
            "ListAddons": self._list_addons,
            "DescribeAddon": self._describe_addon,
            "CreateAddon": self._create_addon,
            "DeleteAddon": self._delete_addon,
            "UpdateAddon": self._update_addon,
            "DescribeAddonVersions": self._describe_addon_versions,
            "DescribeAddonConfiguration": self._describe_addon_configuration,
            "DescribeUpdate": self._describe_update,
            "ListUpdates": self._list_updates,
            "CreateAccessEntry": self._create_access_entry,
            "DescribeAccessEntry": self._describe_access_entry,
            "ListAccessEntries": self._list_access_entries,
            "UpdateAccessEntry": self._update_access_entry,
            "DeleteAccessEntry": self._delete_access_entry,
            "AssociateAccessPolicy": self._associate_access_policy,
            "ListAssociatedAccessPolicies": self._list_associated_access_policies,
            "DisassociateAccessPolicy": self._disassociate_access_policy,
            "ListAccessPolicies": self._list_access_policies,
            "TagResource": self._tag_resource,
            "UntagResource": self._untag_resource,
            "ListTagsForResource": self._list_tags_for_resource,
        }

        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request: AwsRequest | None = environ.get("localcloud.request")
            if request is None or request.service != "eks" or request.operation not in handlers:
                return inner(environ, start_response)
            raw = read_body(environ)
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                return send_error(
                    start_response, "rest-json", "InvalidParameterException", "The request body is not JSON."
                )
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            with self._lock:
                try:
                    result = handlers[request.operation](
                        inner=inner, environ=environ, params=request.path_params, body=body, query=query
                    )
                except EksError as error:
                    return send_error(start_response, "rest-json", error.code, error.message)
            if isinstance(result, Response):
                replayed: list[bytes] = result.captured.replay(start_response)
                return replayed
            return send_json(start_response, result)

        return app

    # -- helpers -----------------------------------------------------------------------------------

    def _cluster(self, name: str) -> Any:
        cluster = self.backend.clusters.get(name)
        if cluster is None:
            raise EksError("ResourceNotFoundException", f"No cluster found for name: {name}.")
        return cluster

    def _active_cluster(self, name: str) -> Any:
        cluster = self._cluster(name)
        if cluster.status != "ACTIVE":
            raise EksError("InvalidRequestException", f"Cluster '{name}' is not in ACTIVE status")
        return cluster

    def _addon(self, cluster: str, name: str) -> Addon:
        self._cluster(cluster)
        addon = self.extra(cluster).addons.get(name)
        if addon is None:
            raise EksError("ResourceNotFoundException", f"No addon: {name} found in cluster: {cluster}")
        return addon

    def _api_mode(self, cluster: str) -> ClusterExtra:
        self._cluster(cluster)
        extra = self.extra(cluster)
        if extra.authentication_mode == "CONFIG_MAP":
            raise EksError(
                "InvalidRequestException",
                "The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform this "
                "operation.",
            )
        return extra

    def _entry(self, cluster: str, principal_arn: str) -> AccessEntry:
        extra = self._api_mode(cluster)
        entry = extra.access_entries.get(principal_arn)
        if entry is None:
            raise EksError(
                "ResourceNotFoundException",
                "The specified principalArn could not be found. You can view your available access entries with "
                "'list-access-entries'.",
            )
        return entry

    def _new_update(self, cluster: str, kind: str, params: list[dict[str, str]], *, addon: str | None = None) -> Update:
        update = Update(id=str(uuid.uuid4()), type=kind, params=params, created_at=_now(), addon=addon)
        self.extra(cluster).updates[update.id] = update
        return update

    # -- clusters ----------------------------------------------------------------------------------

    def _describe_cluster(self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], **_: Any) -> Any:
        response = call(inner, environ)
        if response.status != 200:
            return Response(response)
        document = json.loads(response.body)
        cluster = document.get("cluster", {})
        extra = self.extra(cluster.get("name", params.get("name", "")))
        cluster["accessConfig"] = {
            "bootstrapClusterCreatorAdminPermissions": True,
            "authenticationMode": extra.authentication_mode,
        }
        vpc_config = cluster.setdefault("resourcesVpcConfig", {})
        if extra.cluster_security_group_id:
            vpc_config["clusterSecurityGroupId"] = extra.cluster_security_group_id
        if extra.vpc_id:
            vpc_config["vpcId"] = extra.vpc_id
        cluster["kubernetesNetworkConfig"] = {
            **(cluster.get("kubernetesNetworkConfig") or {}),
            "serviceIpv4Cidr": extra.service_ipv4_cidr,
            "ipFamily": "ipv4",
        }
        if extra.endpoint:
            cluster["endpoint"] = extra.endpoint
        if extra.certificate_authority:
            cluster["certificateAuthority"] = {"data": extra.certificate_authority}
        if extra.auto_mode_node_role:
            cluster["computeConfig"] = {
                "enabled": True,
                "nodePools": ["general-purpose", "system"],
                "nodeRoleArn": extra.auto_mode_node_role,
            }
        complete_cluster(cluster)
        response.body = json.dumps(document).encode()
        return Response(response)

    def _update_cluster_config(
        self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], body: dict[str, Any], **_: Any
    ) -> Any:
        access = body.get("accessConfig")
        if not access:
            return Response(call(inner, environ))
        name = params.get("name", "")
        self._active_cluster(name)
        extra = self.extra(name)
        others = [k for k in body if k not in {"accessConfig", "clientRequestToken"}]
        if others:
            raise EksError("InvalidParameterException", "Only one type of update can be allowed.")
        mode = access.get("authenticationMode")
        if mode not in AUTH_MODES:
            raise EksError("InvalidParameterException", f"Unsupported authentication mode: {mode}")
        if any(u.status == "InProgress" for u in extra.updates.values()):
            raise EksError("ResourceInUseException", "Cannot update cluster while another update is in progress.")
        if _NEXT_MODE.get(extra.authentication_mode) != mode:
            raise EksError(
                "InvalidParameterException",
                f"Unsupported authentication mode update from {extra.authentication_mode} to {mode}",
            )
        update = self._new_update(name, "AccessConfigUpdate", [{"type": "AuthenticationMode", "value": mode}])

        def done() -> None:
            extra.authentication_mode = mode
            update.status = "Successful"
            self._emit("authentication-mode-changed", cluster=name, mode=mode)

        self.aws.clock.after(self.aws.scenario.timing.addon_update, done)
        return {"update": update.to_json()}

    # -- nodegroups --------------------------------------------------------------------------------

    def _create_nodegroup(
        self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], body: dict[str, Any], **_: Any
    ) -> Any:
        moto_cluster = self.backend.clusters.get(params.get("name", ""))
        if (
            moto_cluster is not None
            and moto_cluster.is_active
            and body.get("nodegroupName") not in moto_cluster.nodegroups
        ):
            self.nodegroup_rules.check_create(moto_cluster, body)
        response = call(inner, environ)
        if response.status != 200:
            return Response(response)
        document = json.loads(response.body)
        nodegroup = document.get("nodegroup", {})
        moto_ng = moto_cluster.nodegroups[nodegroup.get("nodegroupName", "")]
        self.nodegroup_rules.complete(moto_cluster, moto_ng, body)
        document["nodegroup"] = nodegroup = completed_members(nodegroup, moto_ng)
        self.track_new_nodegroup(params.get("name", ""), nodegroup.get("nodegroupName", ""))
        from localcloud.aws.access_bootstrap import grant_node_role

        grant_node_role(self, params.get("name", ""), str(nodegroup.get("nodeRole") or ""))
        nodegroup["status"] = "CREATING"
        response.body = json.dumps(document).encode()
        return Response(response)

    def track_new_nodegroup(self, cluster: str, name: str) -> None:
        """A nodegroup just made in moto: CREATING now, ACTIVE after timing.nodegroupCreate and once
        no creation hold says its nodes are still joining."""
        with self._lock:
            moto_ng = self.backend.clusters[cluster].nodegroups[name]
            moto_ng.status = "CREATING"

            def active() -> None:
                current = self.backend.clusters.get(cluster)
                if current is None or current.nodegroups.get(name) is not moto_ng or moto_ng.status != "CREATING":
                    return
                if self._held(cluster, name, creating=True):
                    self.aws.clock.after(0.1, active)
                    return
                moto_ng.status = "ACTIVE"
                self._emit("nodegroup-active", cluster=cluster, nodegroup=name)

            self.aws.clock.after(self.aws.scenario.timing.nodegroup_create, active)
        self._emit("nodegroup-creating", cluster=cluster, nodegroup=name)

    def _delete_nodegroup(self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], **_: Any) -> Any:
        cluster, name = params.get("name", ""), params.get("nodegroupName", "")
        moto_cluster = self.backend.clusters.get(cluster)
        moto_ng = moto_cluster.nodegroups.get(name) if moto_cluster is not None else None
        if moto_ng is not None and moto_ng.status == "DELETING":
            raise EksError("ResourceInUseException", f"Nodegroup {name} is already being deleted.")  # (unverified)
        response = call(inner, environ)
        if response.status != 200 or moto_cluster is None or moto_ng is None:
            return Response(response)
        moto_ng.status = "DELETING"
        moto_cluster.nodegroups[name] = moto_ng
        moto_cluster.nodegroup_count += 1
        document = json.loads(response.body)
        document.setdefault("nodegroup", {})["status"] = "DELETING"
        response.body = json.dumps(document).encode()

        def gone() -> None:
            if moto_cluster.nodegroups.get(name) is moto_ng and self._held(cluster, name):
                self.aws.clock.after(0.1, gone)
                return
            if moto_cluster.nodegroups.get(name) is moto_ng:
                del moto_cluster.nodegroups[name]
                moto_cluster.nodegroup_count -= 1
                self.nodegroup_rules.remove(moto_ng)
                self._emit("nodegroup-deleted", cluster=cluster, nodegroup=name)

        self.aws.clock.after(self.aws.scenario.timing.nodegroup_delete, gone)
        self._emit("nodegroup-deleting", cluster=cluster, nodegroup=name)
        return Response(response)

    # -- add-ons -----------------------------------------------------------------------------------

    def _list_addons(self, *, params: dict[str, str], **_: Any) -> Any:
        name = params.get("name", "")
        self._cluster(name)
        return {"addons": sorted(self.extra(name).addons)}

    def _describe_addon(self, *, params: dict[str, str], **_: Any) -> Any:
        return {"addon": self._addon(params.get("name", ""), params.get("addonName", "")).to_json()}

    def _validated_values(self, addon_name: str, version: str, values: Any) -> str:
        if values is None or values == "":
            return ""
        if not isinstance(values, str):
            raise EksError("InvalidParameterException", "configurationValues must be a string (JSON or YAML).")
        try:
            document = yaml.safe_load(values)
        except yaml.YAMLError as error:
            raise EksError(
                "InvalidParameterException",
                f"ConfigurationValue provided in request is not supported: Json/Yaml parse failed: {error}",
            ) from None
        schema = configuration_schema(addon_name, version)
        if schema is None:
            raise EksError("InvalidParameterException", f"Addon version {version} of {addon_name} is not supported")
        validator = jsonschema.Draft7Validator(schema)
        problems = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        if problems:
            described = ", ".join(
                f"$.{'.'.join(str(p) for p in e.absolute_path)}: {e.message}" if e.absolute_path else f"$: {e.message}"
                for e in problems
            )
            raise EksError(
                "InvalidParameterException",
                f"ConfigurationValue provided in request is not supported: Json schema validation failed with error: "
                f"[{described}]",
            )
        return values

    def _resolve_conflicts(self, body: dict[str, Any]) -> str:
        value = body.get("resolveConflicts", "NONE")
        if value not in {"OVERWRITE", "PRESERVE", "NONE"}:
            raise EksError(
                "InvalidParameterException", f"resolveConflicts {value} is not one of OVERWRITE, NONE, PRESERVE"
            )
        return str(value)

    def _create_addon(self, *, params: dict[str, str], body: dict[str, Any], **_: Any) -> Any:
        cluster = params.get("name", "")
        self._active_cluster(cluster)
        name = str(body.get("addonName", ""))
        if name in self.extra(cluster).addons:
            raise EksError("ResourceInUseException", f"Addon already exists with name: {name}")  # (unverified wording)
        version = str(body.get("addonVersion") or SUPPORTED_VERSIONS[-1])
        if not is_known_version(name, version):
            raise EksError("InvalidParameterException", f"Addon version specified is not supported: {name} {version}")
        self._resolve_conflicts(body)
        check_version_change(name, version, version, str(self._cluster(cluster).version))
        values = self._validated_values(name, version, body.get("configurationValues"))
        addon = self.install_addon(cluster, name, version, values)
        addon.status = "CREATING"
        addon.tags = dict(body.get("tags") or {})

        def active() -> None:
            addon.status = "ACTIVE"
            self._emit(
                "addon-updated", cluster=cluster, addon=name, resolveConflicts=body.get("resolveConflicts", "NONE")
            )

        self.aws.clock.after(self.aws.scenario.timing.addon_update, active)
        return {"addon": addon.to_json()}

    def _delete_addon(self, *, params: dict[str, str], **_: Any) -> Any:
        cluster, name = params.get("name", ""), params.get("addonName", "")
        addon = self._addon(cluster, name)
        addon.status = "DELETING"
        document = {"addon": addon.to_json()}
        del self.extra(cluster).addons[name]
        self._emit("addon-deleted", cluster=cluster, addon=name)
        return document

    def _update_addon(self, *, params: dict[str, str], body: dict[str, Any], **_: Any) -> Any:
        cluster, name = params.get("name", ""), params.get("addonName", "")
        self._active_cluster(cluster)
        addon = self._addon(cluster, name)
        resolve = self._resolve_conflicts(body)
        version = str(body.get("addonVersion") or addon.version)
        if not is_known_version(name, version):
            raise EksError("InvalidParameterException", f"Addon version specified is not supported: {name} {version}")
        if "addonVersion" in body:
            check_version_change(name, addon.version, version, str(self._cluster(cluster).version))
        if addon.status != "ACTIVE":
            raise EksError(  # (unverified wording)
                "ResourceInUseException", f"Addon {name} cannot be updated as it is currently in {addon.status} state"
            )
        values_given = "configurationValues" in body
        values = self._validated_values(name, version, body.get("configurationValues")) if values_given else None
        update_params = [{"type": "ResolveConflicts", "value": resolve}]
        if "addonVersion" in body:
            update_params.append({"type": "AddonVersion", "value": version})
        if values is not None:
            update_params.append({"type": "ConfigurationValues", "value": values})
        update = self._new_update(cluster, "AddonUpdate", update_params, addon=name)
        addon.status = "UPDATING"
        addon.modified_at = _now()
        self._emit("addon-updating", cluster=cluster, addon=name)

        def done() -> None:
            before = {"previousVersion": addon.version, "previousConfiguration": addon.configuration}
            addon.version = version
            if values is not None:
                addon.configuration_values = values
            addon.status = "ACTIVE"
            addon.modified_at = _now()
            update.status = "Successful"
            self._emit("addon-updated", cluster=cluster, addon=name, resolveConflicts=resolve, **before)

        self.aws.clock.after(self.aws.scenario.timing.addon_update, done)
        return {"update": update.to_json()}

    def _describe_addon_versions(self, *, query: dict[str, str], **_: Any) -> Any:
        name = query.get("addonName", VPC_CNI)
        if name != VPC_CNI:
            return {"addons": []}
        return {
            "addons": [
                {
                    "addonName": VPC_CNI,
                    "type": "networking",
                    "addonVersions": [
                        {
                            "addonVersion": v,
                            "architecture": ["amd64", "arm64"],
                            "compatibilities": [
                                {
                                    "clusterVersion": k,
                                    "platformVersions": ["*"],
                                    "defaultVersion": v == SUPPORTED_VERSIONS[-2],
                                }
                                for k in kubernetes_versions(v)
                            ],
                            "requiresConfiguration": False,
                        }
                        for v in reversed(SUPPORTED_VERSIONS)
                    ],
                    "publisher": "eks",
                    "owner": "aws",
                }
            ]
        }

    def _describe_addon_configuration(self, *, query: dict[str, str], **_: Any) -> Any:
        name, version = query.get("addonName", ""), query.get("addonVersion", "")
        if not name or not version:
            raise EksError("InvalidParameterException", "addonName and addonVersion are required")
        schema = configuration_schema_text(name, version)
        if schema is None:
            raise EksError("ResourceNotFoundException", f"No addon version found for {name} {version}")  # (unverified)
        return {
            "addonName": name,
            "addonVersion": version,
            "configurationSchema": schema,
            "podIdentityConfiguration": [],
        }

    # -- updates -----------------------------------------------------------------------------------

    def _describe_update(self, *, params: dict[str, str], query: dict[str, str], **_: Any) -> Any:
        cluster = params.get("name", "")
        self._cluster(cluster)
        update = self.extra(cluster).updates.get(params.get("updateId", ""))
        if update is None or (query.get("addonName") and update.addon != query.get("addonName")):
            raise EksError("ResourceNotFoundException", f"No update found for ID: {params.get('updateId')}")
        return {"update": update.to_json()}

    def _list_updates(self, *, params: dict[str, str], query: dict[str, str], **_: Any) -> Any:
        cluster = params.get("name", "")
        self._cluster(cluster)
        addon, nodegroup = query.get("addonName"), query.get("nodegroupName")
        if addon:
            self._addon(cluster, addon)
        ids = [u.id for u in self.extra(cluster).updates.values() if u.addon == addon and u.nodegroup == nodegroup]
        return _page_of(ids, "updateIds", query)

    # -- access entries ----------------------------------------------------------------------------

    def _create_access_entry(self, *, params: dict[str, str], body: dict[str, Any], **_: Any) -> Any:
        cluster = params.get("name", "")
        self._cluster(cluster)
        extra = self._api_mode(cluster)
        principal = str(body.get("principalArn", ""))
        match = re.fullmatch(r"arn:aws[a-z-]*:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)", principal)
        if not match:
            raise EksError("InvalidParameterException", f"The principalArn parameter format is not valid: {principal}")
        if principal in extra.access_entries or any(
            _without_path(p) == _without_path(principal) for p in extra.access_entries
        ):
            raise EksError(
                "ResourceInUseException", "The specified access entry resource is already in use on this cluster."
            )
        kind = str(body.get("type", "STANDARD"))
        if kind not in ACCESS_ENTRY_TYPES:
            raise EksError("InvalidParameterException", f"The type {kind} is not valid")
        groups = [str(g) for g in body.get("kubernetesGroups") or []]
        if kind != "STANDARD" and (groups or body.get("username")):
            raise EksError(
                "InvalidParameterException", "kubernetesGroups and username can only be set for STANDARD access entries"
            )
        account, what, name = match.groups()
        if account == self.aws.account_id and not principal_exists(self.aws.account_id, what, name):
            raise EksError(  # (unverified wording)
                "InvalidParameterException", f"The specified principalArn is invalid: {principal} does not exist."
            )
        default_user = (
            f"arn:aws:sts::{account}:assumed-role/{name}/{{{{SessionName}}}}" if what == "role" else principal
        )
        if kind == "EC2_LINUX":
            default_user = "system:node:{{EC2PrivateDNSName}}"
        now = _now()
        entry = AccessEntry(
            cluster=cluster,
            principal_arn=principal,
            arn=f"arn:aws:eks:{self.aws.region}:{self.aws.account_id}:access-entry/{cluster}/{what}/{account}/{name}/{uuid.uuid4()}",
            type=kind,
            username=str(body.get("username") or default_user),
            kubernetes_groups=groups,
            created_at=now,
            modified_at=now,
            tags=dict(body.get("tags") or {}),
        )
        extra.access_entries[principal] = entry
        self._emit("access-changed", cluster=cluster, principalArn=principal)
        return {"accessEntry": entry.to_json()}

    def _describe_access_entry(self, *, params: dict[str, str], **_: Any) -> Any:
        return {"accessEntry": self._entry(params.get("name", ""), params.get("principalArn", "")).to_json()}

    def _list_access_entries(self, *, params: dict[str, str], query: dict[str, str], **_: Any) -> Any:
        extra = self._api_mode(params.get("name", ""))
        policy = query.get("associatedPolicyArn")
        return {
            "accessEntries": [
                arn for arn, entry in extra.access_entries.items() if policy is None or policy in entry.policies
            ]
        }

    def _update_access_entry(self, *, params: dict[str, str], body: dict[str, Any], **_: Any) -> Any:
        entry = self._entry(params.get("name", ""), params.get("principalArn", ""))
        if "kubernetesGroups" in body:
            entry.kubernetes_groups = [str(g) for g in body["kubernetesGroups"] or []]
        if body.get("username"):
            entry.username = str(body["username"])
        entry.modified_at = _now()
        self._emit("access-changed", cluster=entry.cluster, principalArn=entry.principal_arn)
        return {"accessEntry": entry.to_json()}

    def _delete_access_entry(self, *, params: dict[str, str], **_: Any) -> Any:
        cluster = params.get("name", "")
        entry = self._entry(cluster, params.get("principalArn", ""))
        del self.extra(cluster).access_entries[entry.principal_arn]
        self._emit("access-changed", cluster=cluster, principalArn=entry.principal_arn)
        return {}

    # -- tags of access entries (moto's EKS tags clusters and nodegroups only) --------------------------

    def _tagged_entry(self, arn: str) -> AccessEntry | None:
        for cluster in list(self.backend.clusters):
            for entry in self.extra(cluster).access_entries.values():
                if entry.arn == arn:
                    return entry
        if ":access-entry/" in arn:
            raise EksError("NotFoundException", f"Resource {arn} not found")  # (unverified wording)
        return None

    def _tag_resource(
        self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], body: dict[str, Any], **_: Any
    ) -> Any:
        entry = self._tagged_entry(params.get("resourceArn", ""))
        if entry is None:
            return Response(call(inner, environ))
        entry.tags.update({str(k): str(v) for k, v in (body.get("tags") or {}).items()})
        return {}

    def _untag_resource(
        self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], query: dict[str, str], **_: Any
    ) -> Any:
        entry = self._tagged_entry(params.get("resourceArn", ""))
        if entry is None:
            return Response(call(inner, environ))
        for key in parse_qs(environ.get("QUERY_STRING", "")).get("tagKeys", []):
            entry.tags.pop(key, None)
        return {}

    def _list_tags_for_resource(self, *, inner: WsgiApp, environ: WsgiEnviron, params: dict[str, str], **_: Any) -> Any:
        entry = self._tagged_entry(params.get("resourceArn", ""))
        if entry is None:
            return Response(call(inner, environ))
        return {"tags": dict(entry.tags)}

    def _associate_access_policy(self, *, params: dict[str, str], body: dict[str, Any], **_: Any) -> Any:
        cluster = params.get("name", "")
        entry = self._entry(cluster, params.get("principalArn", ""))
        policy = str(body.get("policyArn", ""))
        if policy not in {ACCESS_POLICY_ARN.format(p) for p in ACCESS_POLICIES}:
            raise EksError(
                "ResourceNotFoundException", f"The specified policyArn {policy} could not be found."
            )  # (unverified)
        if entry.type != "STANDARD":
            raise EksError(
                "InvalidRequestException", "Access policies can only be associated with STANDARD access entries"
            )
        scope = body.get("accessScope") or {}
        kind = scope.get("type")
        namespaces = [str(n) for n in scope.get("namespaces") or []]
        if kind not in {"cluster", "namespace"}:
            raise EksError("InvalidParameterException", "accessScope.type must be cluster or namespace")
        if kind == "namespace" and not namespaces:
            raise EksError("InvalidParameterException", "accessScope.namespaces is required for the namespace scope")
        if kind == "cluster" and namespaces:
            raise EksError("InvalidParameterException", "accessScope.namespaces is only valid for the namespace scope")
        now = _now()
        existing = entry.policies.get(policy)
        associated = AssociatedPolicy(
            policy_arn=policy,
            access_scope={"type": kind, "namespaces": namespaces},
            associated_at=existing.associated_at if existing else now,
            modified_at=now,
        )
        entry.policies[policy] = associated
        self._emit("access-changed", cluster=cluster, principalArn=entry.principal_arn)
        return {
            "clusterName": cluster,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicy": associated.to_json(),
        }

    def _list_associated_access_policies(self, *, params: dict[str, str], **_: Any) -> Any:
        cluster = params.get("name", "")
        entry = self._entry(cluster, params.get("principalArn", ""))
        return {
            "clusterName": cluster,
            "principalArn": entry.principal_arn,
            "associatedAccessPolicies": [p.to_json() for p in entry.policies.values()],
        }

    def _disassociate_access_policy(self, *, params: dict[str, str], **_: Any) -> Any:
        cluster = params.get("name", "")
        entry = self._entry(cluster, params.get("principalArn", ""))
        policy = params.get("policyArn", "")
        if policy not in entry.policies:
            raise EksError(
                "ResourceNotFoundException", f"The specified policyArn {policy} is not associated."
            )  # (unverified)
        del entry.policies[policy]
        self._emit("access-changed", cluster=cluster, principalArn=entry.principal_arn)
        return {}

    def _list_access_policies(self, **_: Any) -> Any:
        return {"accessPolicies": [{"name": p, "arn": ACCESS_POLICY_ARN.format(p)} for p in ACCESS_POLICIES]}


@dataclass
class Response:
    """A response from moto (possibly edited) to pass on as it is."""

    captured: Any


def _page_of(values: list[str], key: str, query: dict[str, str]) -> dict[str, Any]:
    """One page of a List* answer as EKS pages it: `maxResults` 1 to 100 (default 100), `nextToken`."""
    raw_size = query.get("maxResults", "100")
    if not raw_size.isdigit() or not 1 <= int(raw_size) <= 100:
        raise EksError("InvalidParameterException", "maxResults must be between 1 and 100")
    size, token = int(raw_size), query.get("nextToken")
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError as error:
        raise EksError("InvalidParameterException", "The nextToken parameter is not valid") from error
    page: dict[str, Any] = {key: values[start : start + size]}
    if start + size < len(values):
        page["nextToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return page


def encode_ca(pem: bytes) -> str:
    """certificateAuthority.data as EKS returns it: the PEM, base64."""
    return base64.b64encode(pem).decode()
