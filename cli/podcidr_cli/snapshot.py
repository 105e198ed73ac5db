"""`podcidr snapshot`: a scenario file (localcloud/scenario.py) of a real cluster, its VPC and its
workloads, read with Describe/List/Get calls only, so that `python -m localcloud rehearse
--scenario FILE` rehearses that account's migration (DESIGN.md "Rehearsing a real account").

Only keys the scenario accepts are written; not read yet although the scenario has keys for them:
security groups, the CNI's configuration and prefix delegation, launch templates, taints, update
configs, unmanaged capacity (self-managed, Karpenter, Fargate), PDBs and load balancers.

`anonymize` replaces the account's names and IDs by pseudonyms numbered in a stable order
(the same account gives the same file), keeps the CIDRs, AZs and sizes a plan depends on, drops
tags other than `kubernetes.io/...` ones and replaces container images.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from botocore.exceptions import ClientError

PUBLIC_DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:1.27-alpine-slim"
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
LOAD_BALANCER_CONTROLLER = "aws-load-balancer-controller"
_CNI_TAG = re.compile(r":(v\d+\.\d+\.\d+)(-eksbuild\.\d+)?$")
_DEFAULT_ROUTE = "0.0.0.0/0"


class SnapshotError(Exception):
    """The cluster or its VPC cannot be read into a scenario; the message says what to do."""


@dataclass
class Names:
    """What the file calls each resource: its own name (Name tag, else ID), or under `anonymize`
    a pseudonym `<kind>-<n>`, the same for the same original."""

    anonymize: bool
    _given: dict[tuple[str, str], str] = field(default_factory=dict)
    _counts: dict[str, int] = field(default_factory=dict)

    def name(self, kind: str, original: str) -> str:
        if not self.anonymize:
            return original
        key = (kind, original)
        if key not in self._given:
            self._counts[kind] = self._counts.get(kind, 0) + 1
            self._given[key] = f"{kind}-{self._counts[kind]}"
        return self._given[key]


def _tag(resource: dict[str, Any], key: str) -> str | None:
    for tag in resource.get("Tags") or []:
        if tag.get("Key") == key:
            return str(tag.get("Value"))
    return None


def _own_names(resources: list[dict[str, Any]], id_key: str) -> dict[str, str]:
    """ID -> the resource's Name tag, or its ID when untagged or the name is not unique."""
    tagged = [_tag(r, "Name") for r in resources]
    return {
        r[id_key]: name if name and tagged.count(name) == 1 else r[id_key]
        for r, name in zip(resources, tagged, strict=True)
    }


def _paginate(client: Any, operation: str, key: str, **request: Any) -> list[Any]:
    items: list[Any] = []
    for page in client.get_paginator(operation).paginate(**request):
        items.extend(page.get(key) or [])
    return items


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
        kube = connect()
        return {
            "region": self.session.region_name,
            "vpc": vpc,
            "cluster": self._cluster(cluster, subnet_names, kube),
        }

    # -- the VPC ------------------------------------------------------------------------------------
    def _vpc(self, vpc_id: str) -> tuple[dict[str, Any], dict[str, str]]:
        by_vpc = [{"Name": "vpc-id", "Values": [vpc_id]}]
        described = self.ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        subnets = sorted(
            _paginate(self.ec2, "describe_subnets", "Subnets", Filters=by_vpc),
            key=lambda s: ipaddress.IPv4Network(s["CidrBlock"]),
        )
        tables = _paginate(self.ec2, "describe_route_tables", "RouteTables", Filters=by_vpc)
        nats = [
            n
            for n in _paginate(self.ec2, "describe_nat_gateways", "NatGateways", Filter=by_vpc)
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
            for pcx in _paginate(
                self.ec2, "describe_vpc_peering_connections", "VpcPeeringConnections", Filters=filters
            ):
                status = pcx.get("Status", {}).get("Code")
                cidr = pcx.get(other, {}).get("CidrBlock")
                if status in ("active", "pending-acceptance") and cidr:
                    peerings[pcx["VpcPeeringConnectionId"]] = {"cidr": cidr, "status": status}
        return sorted(peerings.values(), key=lambda p: (p["cidr"], p["status"]))

    def _tags(self, resource: dict[str, Any]) -> dict[str, str]:
        tags: dict[str, str] = {}
        for tag in resource.get("Tags") or []:
            key, value = str(tag["Key"]), str(tag.get("Value", ""))
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
    def _cluster(self, cluster: Any, subnet_names: dict[str, str], kube: Any) -> dict[str, Any]:
        groups = [
            self.eks.describe_nodegroup(clusterName=self.cluster_name, nodegroupName=name)["nodegroup"]
            for name in sorted(_paginate(self.eks, "list_nodegroups", "nodegroups", clusterName=self.cluster_name))
        ]
        own = [subnet_names[s] for s in cluster["resourcesVpcConfig"].get("subnetIds") or [] if s in subnet_names]
        # The scenario keeps nodegroups in the cluster's subnets: a nodegroup elsewhere widens the list.
        used = [subnet_names[s] for g in groups for s in g.get("subnets") or [] if s in subnet_names]
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
        document["nodegroups"] = [self._nodegroup(g, subnet_names) for g in groups]
        document["workloads"] = self._workloads(deployments)
        return document

    def _vpc_cni(self, kube: Any) -> dict[str, Any]:
        try:
            addon = self.eks.describe_addon(clusterName=self.cluster_name, addonName="vpc-cni")["addon"]
            return {"addon": True, "version": addon["addonVersion"]}
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise
        aws_node = kube.apps.read_namespaced_daemon_set("aws-node", "kube-system")
        images = [c.image for c in aws_node.spec.template.spec.containers if "amazon-k8s-cni" in (c.image or "")]
        found = _CNI_TAG.search(images[0]) if images else None
        if found is None:
            return {"addon": False}
        return {"addon": False, "version": found.group(1) + (found.group(2) or "-eksbuild.1")}

    def _nodegroup(self, group: Any, subnet_names: dict[str, str]) -> dict[str, Any]:
        scaling = group.get("scalingConfig") or {}
        labels = dict(group.get("labels") or {})
        if self.anonymize:
            labels = {key: self.names.name("label-value", value) for key, value in sorted(labels.items())}
        entry: dict[str, Any] = {
            "name": self.names.name("nodegroup", group["nodegroupName"]),
            "subnets": [subnet_names[s] for s in group.get("subnets") or [] if s in subnet_names],
            "instanceTypes": list(group.get("instanceTypes") or []),
            "minSize": scaling.get("minSize", 0),
            "desiredSize": scaling.get("desiredSize", 0),
            "maxSize": scaling.get("maxSize", 1),
            "labels": labels,
        }
        for key, scenario_key in (("amiType", "amiType"), ("capacityType", "capacityType")):
            if group.get(key):
                entry[scenario_key] = group[key]
        if not entry["instanceTypes"]:
            del entry["instanceTypes"]  # a launch template names it: the scenario's default stands in
        return entry

    def _workloads(self, deployments: Iterable[Any]) -> list[dict[str, Any]]:
        workloads = []
        for d in sorted(deployments, key=lambda d: (d.metadata.namespace, d.metadata.name)):
            namespace = d.metadata.namespace
            if namespace in SYSTEM_NAMESPACES:
                continue
            containers = d.spec.template.spec.containers or []
            image = containers[0].image if containers and containers[0].image else PUBLIC_DEFAULT_IMAGE
            workloads.append(
                {
                    "namespace": namespace if namespace == "default" else self.names.name("namespace", namespace),
                    "name": self.names.name("workload", f"{namespace}/{d.metadata.name}")
                    if self.anonymize
                    else d.metadata.name,
                    "replicas": d.spec.replicas if d.spec.replicas is not None else 1,
                    "image": PUBLIC_DEFAULT_IMAGE if self.anonymize else image,
                }
            )
        return workloads


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

    return snapshot.scenario(connect)


def write_snapshot(
    session: boto3.Session, endpoint_url: str | None, cluster_name: str, output: Path | None, *, anonymize: bool
) -> None:
    document = take_snapshot(session, endpoint_url, cluster_name, anonymize=anonymize)
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=False)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
