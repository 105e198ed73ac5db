"""The frontend security group the AWS Load Balancer Controller makes for a load balancer when no
`...-security-groups` annotation names one (its docs: "Security Groups for Load Balancers"; NLBs
too since v2.6): one group per load balancer, `k8s-<namespace>-<name>-<hash>`, whose ingress rules
let the source ranges in on each listener port, and which it deletes with the load balancer.

The source ranges (the controller's model builders):
- Ingress: `alb.ingress.kubernetes.io/inbound-cidrs`, each entry parsed as a CIDR; a bad one fails
  the model ("invalid inbound-cidrs settings on Ingress: <ns>/<name>: invalid CIDR address: <x>");
- Service: `spec.loadBalancerSourceRanges`, else `service.beta.kubernetes.io/load-balancer-source-ranges`
  (the API server has refused malformed entries already); an IPv6 one on an IPv4 load balancer fails
  the model ("unsupported v6 cidr <x> when lb is not dualstack");
- none given: 0.0.0.0/0, open to everyone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from typing import Any

from botocore.exceptions import ClientError

from localcloud.kube.source_ranges import source_ranges

INBOUND_CIDRS = "alb.ingress.kubernetes.io/inbound-cidrs"
OPEN = "0.0.0.0/0"
DESCRIPTION = "[k8s] Managed SecurityGroup for LoadBalancer"
_INVALID_NAME = re.compile(r"[-\[\]_.:/\\ ]|[^A-Za-z0-9]")


class SourceRangesInvalid(Exception):
    """The controller cannot build the model from the object's source ranges (FailedBuildModel)."""


def _go_cidr(value: str) -> bool:
    """Whether Go's net.ParseCIDR takes `value` (an address, a slash, a prefix length)."""
    if "/" not in value:
        return False
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return True


def frontend_cidrs(kind: str, obj: dict[str, Any]) -> list[str]:
    """The CIDRs the frontend group lets in, as the controller reads them from the Ingress or Service."""
    metadata = obj["metadata"]
    if kind == "Ingress":
        raw = (metadata.get("annotations") or {}).get(INBOUND_CIDRS, "")
        cidrs = [part.strip() for part in raw.split(",") if part.strip()]
        for cidr in cidrs:
            if not _go_cidr(cidr):
                raise SourceRangesInvalid(
                    f"invalid inbound-cidrs settings on Ingress: {metadata['namespace']}/{metadata['name']}: "
                    f"invalid CIDR address: {cidr}"
                )
    else:
        cidrs = source_ranges(obj)
        for cidr in cidrs:
            if ":" in cidr:
                raise SourceRangesInvalid(f"unsupported v6 cidr {cidr} when lb is not dualstack")
    return cidrs or [OPEN]


def group_name(cluster: str, namespace: str, name: str, uid: str) -> str:
    digest = hashlib.sha256(f"{cluster}{name}{namespace}{uid}".encode()).hexdigest()
    return f"k8s-{_INVALID_NAME.sub('', namespace)[:8]}-{_INVALID_NAME.sub('', name)[:8]}-{digest[:10]}"


def ensure_frontend_group(
    ec2: Any, *, vpc_id: str, cluster: str, kind: str, obj: dict[str, Any], ports: list[tuple[str, int]]
) -> str:
    """The load balancer's managed frontend group (found or created), with one rule per (protocol,
    port) and CIDR. Raises SourceRangesInvalid before creating anything."""
    cidrs = frontend_cidrs(kind, obj)
    metadata = obj["metadata"]
    found = frontend_group_of(ec2, vpc_id=vpc_id, cluster=cluster, obj=obj)
    if found is not None:
        return found
    name = group_name(cluster, metadata["namespace"], metadata["name"], metadata["uid"])
    stack = "ingress.k8s.aws/stack" if kind == "Ingress" else "service.k8s.aws/stack"
    group_id = str(
        ec2.create_security_group(
            GroupName=name,
            Description=DESCRIPTION,
            VpcId=vpc_id,
            TagSpecifications=[
                {
                    "ResourceType": "security-group",
                    "Tags": [
                        {"Key": "elbv2.k8s.aws/cluster", "Value": cluster},
                        {"Key": stack, "Value": f"{metadata['namespace']}/{metadata['name']}"},
                        {"Key": "elbv2.k8s.aws/resource", "Value": "ManagedLBSecurityGroup"},
                    ],
                }
            ],
        )["GroupId"]
    )
    permissions = [
        {"IpProtocol": protocol, "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}
        for protocol, port in dict.fromkeys(ports)
        for cidr in cidrs
    ]
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
    return group_id


def frontend_group_of(ec2: Any, *, vpc_id: str, cluster: str, obj: dict[str, Any]) -> str | None:
    metadata = obj["metadata"]
    name = group_name(cluster, metadata["namespace"], metadata["name"], metadata["uid"])
    found = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc_id]}]
    )["SecurityGroups"]
    return str(found[0]["GroupId"]) if found else None


def delete_frontend_group(ec2: Any, group_id: str) -> None:
    try:
        ec2.delete_security_group(GroupId=group_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "InvalidGroup.NotFound":
            raise
