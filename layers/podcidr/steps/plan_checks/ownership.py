"""Is the cluster's VPC this account's? A participant of a VPC shared through RAM cannot
associate CIDR blocks with it (AWS-FACTS 7; docs/aws-facts.md)."""

from __future__ import annotations

from podcidr.errors import UnsupportedCluster
from podcidr.models.discovery import ClusterInfo, VpcInfo


def account_of(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4] else None


def check_vpc_owner(cluster: ClusterInfo, vpc: VpcInfo) -> None:
    account = account_of(cluster.arn)
    if account is None or vpc.owner_id is None or vpc.owner_id == account:
        return
    raise UnsupportedCluster(
        f"Cluster '{cluster.name}''s VPC {vpc.vpc_id} is owned by account {vpc.owner_id} and shared with this account "
        f"({account}) through AWS RAM: only the owner can add a CIDR block to it or create subnets outside the shared "
        f"ones. Run the migration's VPC part in account {vpc.owner_id} (the pod CIDR and one pod subnet per AZ, shared "
        "with this account), or migrate a cluster in a VPC this account owns. Nothing was changed."
    )
