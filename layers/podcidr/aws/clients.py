"""The AWS clients a step uses, made once per Lambda container and passed to the logic."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, ReadTimeoutError

from podcidr.errors import THROTTLING_CODES, TransientAwsError

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client
    from mypy_boto3_sts import STSClient

# botocore retries a few times itself (standard mode: backoff with jitter); what still fails
# surfaces as TransientAwsError so the state machine's Retry takes over.
_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 4}, user_agent_extra="podcidr")


@dataclass(frozen=True)
class AwsClients:
    ec2: EC2Client
    eks: EKSClient
    elbv2: ElasticLoadBalancingv2Client
    sts: STSClient

    @classmethod
    def create(cls, session: boto3.Session | BotocoreSession | None = None) -> AwsClients:
        """Clients for the session's region (by default the Lambda environment's); AWS_ENDPOINT_URL (the
        twin) is honoured by botocore itself."""
        session = session or BotocoreSession()
        return cls(
            ec2=session.client("ec2", config=_CONFIG),
            eks=session.client("eks", config=_CONFIG),
            elbv2=session.client("elbv2", config=_CONFIG),
            sts=session.client("sts", config=_CONFIG),
        )


class BotocoreSession:
    """Makes clients as `boto3.Session` does, with botocore alone (boto3's clients are botocore's):
    `import boto3` also imports s3transfer and multiprocessing, about 50 ms of every cold start for
    nothing a function uses (README "Cold starts and the layer")."""

    def __init__(self) -> None:
        self._session = botocore.session.Session()

    @property
    def region_name(self) -> str | None:
        region: str | None = self._session.get_config_variable("region")
        return region

    def client(self, service_name: str, **options: Any) -> Any:
        return self._session.create_client(service_name, **options)


_CREDENTIALS_ENVIRONMENT = (
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SESSION_TOKEN",
)
_container_clients: dict[tuple[str | None, ...], AwsClients] = {}


def container_key() -> tuple[str | None, ...]:
    """What a container's clients are made from: in Lambda it never changes within a container;
    the local twin serves every function (each with its role's credentials) from one process."""
    return tuple(os.environ.get(name) for name in _CREDENTIALS_ENVIRONMENT)


def container_clients() -> AwsClients:
    """The clients of this Lambda container: made on first use, kept while it is warm (by container_key)."""
    key = container_key()
    found = _container_clients.get(key)
    if found is None:
        found = _container_clients[key] = AwsClients.create()
    return found


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


@contextmanager
def transient_faults_retried(operation: str) -> Iterator[None]:
    """Turn throttling, 5xx and connection faults of `operation` into TransientAwsError."""
    try:
        yield
    except ClientError as error:
        status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if error_code(error) in THROTTLING_CODES or status >= 500:
            raise TransientAwsError(f"{operation} failed with {error_code(error)}: {error}") from error
        raise
    except (ConnectionError, ReadTimeoutError) as error:
        raise TransientAwsError(f"{operation} could not reach AWS: {error}") from error
