"""Which vpc-cni versions an UpdateAddon / CreateAddon may ask for.

- Only versions DescribeAddonVersions lists for the cluster's Kubernetes version
  (`InvalidParameterException` "Addon version specified is not supported"); the twin's table of
  Kubernetes versions per add-on minor is its own reading of AWS's compatibility lists (unverified
  ranges), and DescribeAddonVersions reports the same table.
- vpc-cni moves one minor version at a time, up or down: "Updating VPC-CNI can only go up or down 1
  minor version at a time" (InvalidParameterException; seen in terraform-aws-eks #2749,
  awsdocs/amazon-eks-user-guide #672).
"""

from __future__ import annotations

from localcloud.aws.addon_schemas import VPC_CNI, parse_version
from localcloud.aws.eks_errors import EksError

KUBERNETES_BY_MINOR: tuple[tuple[int, tuple[str, ...]], ...] = (
    (18, ("1.25", "1.26", "1.27", "1.28", "1.29", "1.30", "1.31", "1.32")),
    (16, ("1.25", "1.26", "1.27", "1.28", "1.29", "1.30", "1.31")),
    (15, ("1.24", "1.25", "1.26", "1.27", "1.28", "1.29", "1.30")),
    (12, ("1.22", "1.23", "1.24", "1.25", "1.26", "1.27", "1.28", "1.29", "1.30")),
)
"""From an add-on minor version on (newest first): the Kubernetes versions it supports."""


def kubernetes_versions(addon_version: str) -> tuple[str, ...]:
    parsed = parse_version(addon_version)
    if parsed is None:
        return ()
    return next((versions for minor, versions in KUBERNETES_BY_MINOR if parsed[1] >= minor), ())


def check_version_change(name: str, current: str, wanted: str, cluster_version: str) -> None:
    if name != VPC_CNI:
        return
    if cluster_version not in kubernetes_versions(wanted):
        raise EksError(
            "InvalidParameterException",
            f"Addon version specified is not supported: {name} {wanted} on Kubernetes {cluster_version}",
        )
    old, new = parse_version(current), parse_version(wanted)
    if old is not None and new is not None and abs(new[1] - old[1]) > 1:
        raise EksError("InvalidParameterException", "Updating VPC-CNI can only go up or down 1 minor version at a time")
