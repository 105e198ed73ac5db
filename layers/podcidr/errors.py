"""Typed errors. Each class name is an error name of DESIGN.md, so the state machine's
Retry and Catch can match it (Lambda reports the exception's class name as errorType).

The message is the Fail state's Cause: it says what was found and what to do.
"""

from __future__ import annotations


class PodcidrError(Exception):
    """Base of every error podcidr raises on purpose."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause

    @property
    def name(self) -> str:
        return type(self).__name__


class InvalidInput(PodcidrError):
    """The execution input does not match the contract."""


class ClusterNotFound(PodcidrError):
    """No EKS cluster of that name in this account and region."""


class ClusterNotActive(PodcidrError):
    """The cluster is not ACTIVE (or stayed CREATING past the wait ceiling)."""


class UnsupportedCluster(PodcidrError):
    """The cluster cannot be migrated by podcidr (IPv6, no managed nodegroups, ...)."""


class CidrNotAllowed(PodcidrError):
    """The pod CIDR breaks an AWS rule for secondary VPC blocks."""


class CidrOverlap(PodcidrError):
    """The pod CIDR overlaps a VPC block, a route destination or a peering."""


class CidrQuotaExceeded(PodcidrError):
    """The VPC already holds as many IPv4 blocks as its quota allows."""


class NoCidrAvailable(PodcidrError):
    """No default candidate block passes every rule."""


class SubnetSizing(PodcidrError):
    """The pod subnets do not fit the block, or are too small to be useful."""


class NodeRouteTableMissing(PodcidrError):
    """No route table can be chosen for an AZ's pod subnet."""


class ClusterAccessDenied(PodcidrError):
    """podcidr cannot get access to the Kubernetes API of the cluster."""


class CniConfigConflict(PodcidrError):
    """The VPC CNI configuration cannot be changed without overwriting someone else's."""


class EniConfigCrdMissing(PodcidrError):
    """The ENIConfig CustomResourceDefinition is not installed in the cluster."""


class NodegroupReplacementFailed(PodcidrError):
    """A replacement nodegroup failed, or the old one could not be removed."""


class LoadBalancerControllerMissing(PodcidrError):
    """Load-balancer verification is asked but the AWS Load Balancer Controller is not running."""


class VerificationFailed(PodcidrError):
    """The migrated cluster does not behave as custom networking should."""


class MigrationInProgress(PodcidrError):
    """Another execution is migrating this cluster."""


class PodSecurityGroupConflict(PodcidrError):
    """The pods' security groups would not carry exactly one group tagged kubernetes.io/cluster/<name>
    (the AWS Load Balancer Controller needs exactly one on every IP target's ENI, AWS-FACTS 8)."""


class ClusterEndpointUnreachable(PodcidrError):
    """The functions cannot reach the cluster's API: a private-only endpoint, or publicAccessCidrs."""


class DrainBlocked(PodcidrError):
    """Evictions refused by PodDisruptionBudgets past podEvictionTimeoutSeconds; the old nodes stay
    cordoned and nothing is deleted."""


class TransientAwsError(Exception):
    """An AWS call failed in a way that a later attempt may not (throttling, a 5xx, a timeout).

    Not a contract error name: the state machine's Retry matches it with backoff and jitter.
    """


THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServerException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


ERROR_NAMES: tuple[str, ...] = tuple(cls.__name__ for cls in PodcidrError.__subclasses__())
"""The error names of DESIGN.md, in the order above."""
