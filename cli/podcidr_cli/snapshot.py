"""`podcidr snapshot`: a scenario file (localcloud/scenario.py) of a real cluster, its VPC and its
workloads, read with Describe/List/Get calls only, so that `python -m localcloud rehearse
--scenario FILE` rehearses that account's migration (DESIGN.md "Rehearsing a real account").

Only keys the scenario accepts are written. The VPC and the cluster are read here; the security
groups, nodegroups (with their launch templates) and the capacity that is not a managed nodegroup
in snapshot_capacity; the workloads with their PDBs and load balancers in snapshot_workloads, a StatefulSet's
volumes in snapshot_volumes.
What Plan reads is read with Plan's own functions (podcidr.aws.discovery, podcidr.aws.capacity).

`anonymize` replaces the account's names and IDs by pseudonyms numbered in a stable order
(the same account gives the same file), keeps the CIDRs, AZs and sizes a plan depends on, drops
tags other than `kubernetes.io/...` ones and replaces container images.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError
from kubernetes.client.exceptions import ApiException

from podcidr.aws.discovery import describe_cni, describe_nodegroups
from podcidr.steps.plan_checks.cni_settings import PREFIX_DELEGATION, prefix_delegation
from podcidr_cli import snapshot_capacity as capacity
from podcidr_cli.snapshot_common import Names, paginate, tag
from podcidr_cli.snapshot_common import SnapshotError as SnapshotError  # raised here, caught by podcidr_cli.main
from podcidr_cli.snapshot_workloads import Workloads

LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"
_CNI_TAG = re.compile(r":(v\d+\.\d+\.\d+)(-eksbuild\.\d+)?$")
_DEFAULT_ROUTE = "0.0.0.0/0"


def _own_names(resources: list[dict[str, Any]], id_key: str) -> dict[str, str]:
    """ID -> the resource's Name tag, or its ID when untagged or the name is not unique."""
    tagged = [tag(r, "Name") for r in resources]
    return {
        r[id_key]: name if name and tagged.count(name) == 1 else r[id_key]
        for r, name in zip(resources, tagged, strict=True)
    }


@dataclass
class Snapshot:
    session: boto3.Session
    endpoint_url: str | None
    cluster_name: str
    anonymize: bool = False

    def __post_init__(self) -> None:
        self.ec2 = self.session.client("ec2", endpoint_url=self.endpoint_url)
        self.eks = self.session.client("eks", endpoint_url=self.endpoint_url)
        self.names = Names(self.anonymize)
        self.cluster_alias = self.names.name("cluster", self.cluster_name)

    def scenario(self, connect: Callable[[], Any]) -> dict[str, Any]:
        """The scenario document (camelCase keys, as the file has them)."""
        try:
            cluster = self.eks.describe_cluster(name=self.cluster_name)["cluster"]
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
                raise SnapshotError(
                    f"no EKS cluster {self.cluster_name!r} in {self.session.region_name}: check --cluster and --region"
                ) from None
            raise
        vpc_id = cluster["resourcesVpcConfig"]["vpcId"]
        vpc, subnet_names = self._vpc(vpc_id)
        vpc["securityGroups"], group_names = capacity.security_groups(
            self.ec2, vpc_id, cluster["resourcesVpcConfig"].get("clusterSecurityGroupId"), self.names, self._tags
        )
        kube = connect()
        return {
            "region": self.session.region_name,
            "vpc": vpc,
            "cluster": self._cluster(cluster, subnet_names, group_names, kube),
        }

    # -- the VPC ------------------------------------------------------------------------------------
    def _vpc(self, vpc_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        described = self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        subnets = sorted(
            paginate(self.ec2, "describe_subnets", "Subnets", Filters=by_vpc),
            key=lambda s: ipaddress.IPv4Network(s["CidrBlock"]),
        )
        tables = paginate(self.ec2, "describe_route_tables", "RouteTables", Filters=by_vpc)
        nats = [
            n
            for n in paginate(self.ec2, "describe_nat_gateways", "NatGateways", Filter=by_vpc)
            if n.get("State") == "available" and n.get("ConnectivityType", "public") == "public"
        ]
        subnet_names = {i: self.names.name("subnet", n) for i, n in _own_names(subnets, "SubnetId").items()}
        nat_subnet = {n["NatGatewayId"]: subnet_names[n["SubnetId"]] for n in nats if n["SubnetId"] in subnet_names}

        table_of = self._table_members(tables, subnets)
        igw_tables = {t["RouteTableId"] for t in tables if _default_kind(t, nat_subnet)[0] == "internet-gateway"}
        public = {
            s["SubnetId"]
            for s in subnets
            if s.get("MapPublicIpOnLaunch")
            or table_of.get(s["SubnetId"]) in igw_tables
            or s["SubnetId"] in {n["SubnetId"] for n in nats}
        }
        vpc: dict[str, Any] = {
            "cidr": described["CidrBlock"],
            "secondaryCidrs": [
                a["CidrBlock"]
                for a in described.get("CidrBlockAssociationSet") or []
                if a["CidrBlock"] != described["CidrBlock"] and a.get("CidrBlockState", {}).get("State") == "associated"
            ],
            "subnets": [
                {
                    "name": subnet_names[s["SubnetId"]],
                    "az": s["AvailabilityZone"],
                    "cidr": s["CidrBlock"],
                    "public": s["SubnetId"] in public,
                    "tags": self._tags(s),
                }
                for s in subnets
            ],
            "natGateways": [{"subnet": name} for name in dict.fromkeys(sorted(nat_subnet.values()))],
        }
        vpc["routeTables"], vpc["routes"] = self._route_tables(tables, table_of, subnet_names, nat_subnet)
        vpc["peerings"] = self._peerings(vpc_id)
        return vpc, subnet_names

    @staticmethod
    def _table_members(tables: list[dict[str, Any]], subnets: list[dict[str, Any]]) -> dict[str, str]:
        """Subnet ID -> the ID of the route table it uses (its own association, else the main table)."""
        members: dict[str, str] = {}
        main = None
        for table in tables:
            for association in table.get("Associations") or []:
                if association.get("Main"):
                    main = table["RouteTableId"]
                elif association.get("SubnetId"):
                    members[association["SubnetId"]] = table["RouteTableId"]
        if main is not None:
            for subnet in subnets:
                members.setdefault(subnet["SubnetId"], main)
        return members

    def _route_tables(
        self,
        tables: list[dict[str, Any]],
        table_of: dict[str, str],
        subnet_names: dict[str, str],
        nat_subnet: dict[str, str],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        table_names = {i: self.names.name("route-table", n) for i, n in _own_names(tables, "RouteTableId").items()}
        written: list[dict[str, Any]] = []
        extra_routes: dict[tuple[str, str], list[str]] = {}
        for table in sorted(tables, key=lambda t: table_names[t["RouteTableId"]]):
            members = [subnet_names[s] for s, t in table_of.items() if t == table["RouteTableId"] and s in subnet_names]
            if not members:
                continue  # a table no subnet uses (often the main one) changes nothing for a migration
            kind, nat = _default_kind(table, nat_subnet)
            entry: dict[str, Any] = {"name": table_names[table["RouteTableId"]], "defaultRoute": kind}
            if nat is not None:
                entry["natSubnet"] = nat
            entry["subnets"] = sorted(members)
            written.append(entry)
            for route in table.get("Routes") or []:
                destination = route.get("DestinationCidrBlock")
                target = _target_kind(route, nat_subnet)[0]
                if destination and destination != _DEFAULT_ROUTE and target != "none":
                    extra_routes.setdefault((destination, target), []).append(entry["name"])
        routes = [
            {"destination": destination, "target": target, "routeTables": names}
            for (destination, target), names in sorted(extra_routes.items())
        ]
        return written, routes

    def _peerings(self, vpc_id: str) -> list[dict[str, Any]]:
        peerings: dict[str, dict[str, Any]] = {}
        for side, other in (("requester", "AccepterVpcInfo"), ("accepter", "RequesterVpcInfo")):
            filters = [{"Name": f"{side}-vpc-info.vpc-id", "Values": [vpc_id]}]
            for pcx in paginate(self.ec2, "describe_vpc_peering_connections", "VpcPeeringConnections", Filters=filters):
                status = pcx.get("Status", {}).get("Code")
                cidr = pcx.get(other, {}).get("CidrBlock")
                if status in ("active", "pending-acceptance") and cidr:
                    peerings[pcx["VpcPeeringConnectionId"]] = {"cidr": cidr, "status": status}
        return sorted(peerings.values(), key=lambda p: (p["cidr"], p["status"]))

    def _tags(self, resource: dict[str, Any]) -> dict[str, str]:
        tags: dict[str, str] = {}
        for item in resource.get("Tags") or []:
            key, value = str(item["Key"]), str(item.get("Value", ""))
            if key == "Name" or key.startswith("aws:"):
                continue  # the name is the entry's name; aws: tags are AWS's own, no one can create them
            if self.anonymize:
                if not key.startswith("kubernetes.io/"):
                    continue
                key = key.replace(self.cluster_name, self.cluster_alias)
                value = value.replace(self.cluster_name, self.cluster_alias)
            tags[key] = value
        return tags

    # -- the cluster --------------------------------------------------------------------------------
    def _cluster(
        self, cluster: Any, subnet_names: dict[str, str], group_names: dict[str, str], kube: Any
    ) -> dict[str, Any]:
        groups = describe_nodegroups(self.eks, self.ec2, self.cluster_name)
        own = [subnet_names[s] for s in cluster["resourcesVpcConfig"].get("subnetIds") or [] if s in subnet_names]
        # The scenario keeps nodegroups in the cluster's subnets: a nodegroup elsewhere widens the list.
        used = [subnet_names[s] for g in groups for s in g.subnets if s in subnet_names]
        document: dict[str, Any] = {
            "name": self.cluster_alias,
            "version": cluster["version"],
            "subnets": list(dict.fromkeys(own + used)),
            "authenticationMode": (cluster.get("accessConfig") or {}).get("authenticationMode", "CONFIG_MAP"),
        }
        access = cluster["resourcesVpcConfig"]
        document["endpoint"] = {
            "publicAccess": bool(access.get("endpointPublicAccess", True)),
            "privateAccess": bool(access.get("endpointPrivateAccess", False)),
            "publicAccessCidrs": list(access.get("publicAccessCidrs") or ["0.0.0.0/0"]),
        }
        service_cidr = (cluster.get("kubernetesNetworkConfig") or {}).get("serviceIpv4Cidr")
        if service_cidr:
            document["serviceIpv4Cidr"] = service_cidr
        deployments = kube.apps.list_deployment_for_all_namespaces().items
        document["vpcCni"] = self._vpc_cni(kube)
        document["loadBalancerController"] = any(
            d.metadata.name == LOAD_BALANCER_CONTROLLER
            or (d.metadata.labels or {}).get("app.kubernetes.io/name") == LOAD_BALANCER_CONTROLLER
            for d in deployments
        )
        if (cluster.get("computeConfig") or {}).get("enabled"):
            document["autoMode"] = True
        document["nodegroups"] = [
            capacity.nodegroup(g, cluster["version"], subnet_names, group_names, self.names) for g in groups
        ]
        document.update(capacity.unmanaged_capacity(self.ec2, self.eks, self.cluster_name, subnet_names, self.names))
        document["workloads"] = Workloads(kube, deployments, self.ec2).entries(self.names)
        return document

    def _vpc_cni(self, kube: Any) -> dict[str, Any]:
        """The add-on (its version, and prefix delegation from its configurationValues, read as Plan reads
        them), else the self-managed aws-node DaemonSet (its image tag and env)."""
        cni = describe_cni(self.eks, self.cluster_name)
        if cni.via == "addon":
            return {"addon": True, "version": cni.version, "prefixDelegation": prefix_delegation(cni)}
        aws_node = kube.apps.read_namespaced_daemon_set("aws-node", "kube-system")
        containers = aws_node.spec.template.spec.containers
        written: dict[str, Any] = {"addon": False}
        images = [c.image for c in containers if "amazon-k8s-cni" in (c.image or "")]
        found = _CNI_TAG.search(images[0]) if images else None
        if found is not None:
            written["version"] = found.group(1) + (found.group(2) or "")
        env = {e.name: e.value for c in containers if c.name == "aws-node" for e in c.env or [] if e.value is not None}
        written["prefixDelegation"] = env.get(PREFIX_DELEGATION, "false").strip().lower() == "true"
        return written


def _target_kind(route: dict[str, Any], nat_subnet: dict[str, str]) -> tuple[str, str | None]:
    if route.get("State") == "blackhole":
        return "none", None
    if str(route.get("GatewayId", "")).startswith("igw-"):
        return "internet-gateway", None
    if route.get("NatGatewayId") in nat_subnet:
        return "nat-gateway", nat_subnet[route["NatGatewayId"]]
    if route.get("TransitGatewayId"):
        return "transit-gateway", None
    return "none", None


def _default_kind(table: dict[str, Any], nat_subnet: dict[str, str]) -> tuple[str, str | None]:
    for route in table.get("Routes") or []:
        if route.get("DestinationCidrBlock") == _DEFAULT_ROUTE:
            return _target_kind(route, nat_subnet)
    return "none", None


def take_snapshot(
    session: boto3.Session, endpoint_url: str | None, cluster_name: str, *, anonymize: bool = False
) -> dict[str, Any]:
    """The scenario document of the cluster: AWS through `session`, Kubernetes with an EKS token."""
    from podcidr.errors import PodcidrError
    from podcidr.kube.client import KubeConnector

    snapshot = Snapshot(session, endpoint_url, cluster_name, anonymize)

    def connect() -> Any:
        try:
            return KubeConnector.create(session, snapshot.eks).connect(cluster_name)
        except PodcidrError as error:
            raise SnapshotError(f"cannot reach the cluster's Kubernetes API: {error}") from None

    try:
        return snapshot.scenario(connect)
    except ClientError as error:
        raise _refused(error, snapshot) or error from None
    except ApiException as error:
        if error.status not in (401, 403):
            raise
        raise SnapshotError(
            f"the cluster's Kubernetes API refused a read ({error.status} {error.reason}): give the caller an "
            "access entry with AmazonEKSViewPolicy (README, 'Rehearsing your own account'); nothing was written"
        ) from None


DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


def _refused(error: ClientError, snapshot: Snapshot) -> SnapshotError | None:
    """An AWS refusal, worded with the IAM action the caller lacks."""
    code = error.response.get("Error", {}).get("Code", "")
    if code not in DENIED:
        return None
    service = next(
        (
            c.meta.service_model.endpoint_prefix
            for c in (snapshot.ec2, snapshot.eks)
            if error.operation_name in c.meta.service_model.operation_names
        ),
        "?",
    )
    return SnapshotError(
        f"AWS refused {service}:{error.operation_name} ({code}: {error.response['Error'].get('Message', '')}). "
        "The snapshot needs the read-only policy README.md gives (section 'Rehearsing your own account'); "
        "nothing was written"
    )


def write_snapshot(
    session: boto3.Session, endpoint_url: str | None, cluster_name: str, output: Path | None, *, anonymize: bool
) -> None:
    document = take_snapshot(session, endpoint_url, cluster_name, anonymize=anonymize)
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
