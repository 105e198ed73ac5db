"""Can the cluster functions reach the cluster's API endpoint? (AWS-FACTS 4 and 7; docs/aws-facts.md)

A Lambda function outside a VPC reaches only a public endpoint, and from no fixed address, so
`publicAccessCidrs` must hold 0.0.0.0/0. A function attached to the cluster's VPC (the stack's
ClusterFunctionsSubnetIds) reaches a private endpoint (`endpointPrivateAccess`); it reaches the
public one through the VPC's NAT, whose address `publicAccessCidrs` must then allow. Functions
attached to another VPC reach the public endpoint through that VPC's NAT in the same way; a private
endpoint is not assumed reachable from there (peering or a transit gateway and DNS would have to be
set up for it, which Plan cannot see).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from podcidr.errors import ClusterEndpointUnreachable
from podcidr.models.discovery import ClusterInfo

FUNCTIONS_SUBNETS_ENV = "CLUSTER_FUNCTIONS_SUBNET_IDS"
"""The subnets the stack attached the cluster functions to (comma-separated; empty: no VPC)."""
ANYWHERE = "0.0.0.0/0"
_DEPLOY_IN_VPC = (
    "deploy the stack with ClusterFunctionsSubnetIds (private subnets of {vpc} with a NAT gateway or interface "
    "endpoints for eks, ec2, sts, elasticloadbalancing and states) and ClusterFunctionsSecurityGroupId (a group that "
    "the cluster security group lets reach port 443)"
)


@dataclass(frozen=True)
class FunctionsNetwork:
    """Where the cluster functions run."""

    subnet_ids: tuple[str, ...] = ()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> FunctionsNetwork:
        value = (os.environ if environ is None else environ).get(FUNCTIONS_SUBNETS_ENV, "")
        return cls(tuple(part.strip() for part in value.split(",") if part.strip()))


def check_endpoint_reachable(cluster: ClusterInfo, vpc_subnet_ids: set[str], functions: FunctionsNetwork) -> list[str]:
    """Warnings where reachability depends on what Plan cannot see; ClusterEndpointUnreachable where
    the functions certainly cannot reach the endpoint."""
    name, vpc = cluster.name, cluster.vpc_id
    public_open = cluster.endpoint_public_access and ANYWHERE in cluster.public_access_cidrs
    elsewhere = [sid for sid in functions.subnet_ids if sid not in vpc_subnet_ids]
    in_vpc = bool(functions.subnet_ids) and not elsewhere
    access = (
        f"endpointPublicAccess={str(cluster.endpoint_public_access).lower()}, "
        f"endpointPrivateAccess={str(cluster.endpoint_private_access).lower()}, "
        f"publicAccessCidrs={', '.join(cluster.public_access_cidrs)}"
    )
    if in_vpc and cluster.endpoint_private_access:
        return []
    if public_open:
        return []
    if in_vpc and cluster.endpoint_public_access:
        return [
            f"Cluster '{name}''s public endpoint accepts only {', '.join(cluster.public_access_cidrs)}; the cluster "
            f"functions (in {vpc}) reach it through the VPC's NAT, whose public address must be among them. Turning "
            "on endpointPrivateAccess avoids the question."
        ]
    if elsewhere and cluster.endpoint_public_access:
        return [
            f"Cluster '{name}''s public endpoint accepts only {', '.join(cluster.public_access_cidrs)}; the cluster "
            f"functions run in subnets outside {vpc} ({', '.join(elsewhere)}) and reach it through their VPC's NAT, "
            f"whose public address must be among them. Attaching them to subnets of {vpc} (ClusterFunctionsSubnetIds) "
            "with endpointPrivateAccess on avoids the question."
        ]
    if elsewhere and cluster.endpoint_private_access:
        found = f"the cluster functions run in subnets outside {vpc} ({', '.join(elsewhere)})"
        todo = f"attach them to subnets of {vpc} instead (ClusterFunctionsSubnetIds)"
    elif not cluster.endpoint_public_access:
        found = "the endpoint is private only and the cluster functions are not attached to the cluster's VPC"
        todo = _DEPLOY_IN_VPC.format(vpc=vpc) + ", or turn on endpointPublicAccess"
    elif not cluster.endpoint_private_access:
        found = (
            "publicAccessCidrs does not hold 0.0.0.0/0, a Lambda function outside a VPC calls from no fixed address, "
            "and the endpoint has no private access"
        )
        todo = (
            "turn on endpointPrivateAccess and "
            + _DEPLOY_IN_VPC.format(vpc=vpc)
            + f", or add {ANYWHERE} to publicAccessCidrs"
        )
    else:
        found = "publicAccessCidrs does not hold 0.0.0.0/0 and the cluster functions are not attached to the VPC"
        todo = (
            _DEPLOY_IN_VPC.format(vpc=vpc)
            + f" (the endpoint has private access), or add {ANYWHERE} to publicAccessCidrs"
        )
    raise ClusterEndpointUnreachable(
        f"podcidr's functions cannot reach cluster '{name}''s Kubernetes API ({access}): {found}. To migrate it, "
        f"{todo}; then run again. Nothing was changed."
    )
