"""The access entries EKS makes by itself, in the API and API_AND_CONFIG_MAP authentication modes.

- The cluster creator's, when CreateCluster had `bootstrapClusterCreatorAdminPermissions: true`
  (the default, and what DescribeCluster says): a STANDARD entry for the creator's IAM principal
  with AmazonEKSClusterAdminPolicy at cluster scope.
- A managed nodegroup's node role's: an EC2_LINUX entry (username `system:node:{{EC2PrivateDNSName}}`,
  group `system:nodes`), once per role, no access policy.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from localcloud.aws.eks import ACCESS_POLICY_ARN, AccessEntry, AssociatedPolicy

if TYPE_CHECKING:
    from localcloud.aws.eks import EksStore

CLUSTER_ADMIN_POLICY = ACCESS_POLICY_ARN.format("AmazonEKSClusterAdminPolicy")
NODE_USERNAME = "system:node:{{EC2PrivateDNSName}}"


def _uses_access_entries(eks: EksStore, cluster: str) -> bool:
    return eks.extra(cluster).authentication_mode in ("API", "API_AND_CONFIG_MAP")


def _entry(eks: EksStore, cluster: str, principal: str, kind: str, username: str, groups: list[str]) -> AccessEntry:
    parts = principal.split(":", 5)
    account, resource = parts[4], parts[5]
    what, _, name = resource.partition("/")
    name = name.rsplit("/", 1)[-1] if name else what
    now = datetime.now(UTC)
    return AccessEntry(
        cluster=cluster,
        principal_arn=principal,
        arn=(
            f"arn:aws:eks:{eks.aws.region}:{eks.aws.account_id}:access-entry/{cluster}/{what}/{account}/{name}/"
            f"{uuid.uuid4()}"
        ),
        type=kind,
        username=username,
        kubernetes_groups=groups,
        created_at=now,
        modified_at=now,
    )


def grant_cluster_creator(eks: EksStore, cluster: str, creator_arn: str) -> None:
    if not _uses_access_entries(eks, cluster):
        return
    entries = eks.extra(cluster).access_entries
    if creator_arn in entries:
        return
    entry = _entry(eks, cluster, creator_arn, "STANDARD", creator_arn, [])
    entry.policies[CLUSTER_ADMIN_POLICY] = AssociatedPolicy(
        policy_arn=CLUSTER_ADMIN_POLICY,
        access_scope={"type": "cluster", "namespaces": []},
        associated_at=entry.created_at,
        modified_at=entry.created_at,
    )
    entries[creator_arn] = entry


def grant_node_role(eks: EksStore, cluster: str, role_arn: str) -> None:
    if not role_arn or not _uses_access_entries(eks, cluster):
        return
    entries = eks.extra(cluster).access_entries
    if role_arn in entries:  # (no eks.access_entry here: it ticks the clock, which a request thread holds)
        return
    entries[role_arn] = _entry(eks, cluster, role_arn, "EC2_LINUX", NODE_USERNAME, ["system:nodes"])
