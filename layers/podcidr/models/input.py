"""The execution input of DESIGN.md."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, StrictBool, ValidationError, model_validator

from podcidr.errors import InvalidInput
from podcidr.models.base import Contract

MIN_PREFIX = 16
MAX_PREFIX = 28

_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
_AZ_NAME = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+[a-z]$")
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
_NODEGROUP_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,62}$")

LoadBalancerKind = Literal["alb", "public-nlb", "private-nlb"]
LOAD_BALANCER_KINDS: tuple[LoadBalancerKind, ...] = ("alb", "public-nlb", "private-nlb")
DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:1.27-alpine-slim"


def _ipv4_block(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"{value!r} is not an IPv4 CIDR block with its host bits zero ({error})") from None
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise ValueError(f"{value} is a /{network.prefixlen}; a VPC block must be /{MIN_PREFIX} to /{MAX_PREFIX}")
    return str(network)


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


def _unique(values: list[Any]) -> list[Any]:
    duplicates = sorted({str(v) for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries: {', '.join(duplicates)}")
    return values


Ipv4Block = Annotated[str, AfterValidator(_ipv4_block)]
AvailabilityZone = Annotated[str, _matching(_AZ_NAME, "availability zone name (e.g. ap-southeast-1a)")]
SecurityGroupId = Annotated[str, _matching(_SECURITY_GROUP_ID, "security group ID (sg-...)")]
NodegroupName = Annotated[str, _matching(_NODEGROUP_NAME, "nodegroup name")]


class VerifyOptions(Contract):
    model_config = ConfigDict(**{**Contract.model_config, "validate_by_name": False, "populate_by_name": False})

    load_balancers: Annotated[list[LoadBalancerKind], AfterValidator(_unique)] = Field(
        default_factory=lambda: list(LOAD_BALANCER_KINDS)
    )
    image: str = Field(default=DEFAULT_IMAGE, min_length=1, max_length=512, pattern=r"^\S+$")
    keep_workloads: bool = False


class ExecutionInput(Contract):
    """What an execution is asked to do. Only clusterName is required."""

    # Only the camelCase keys of the contract are accepted: cluster_name is an unknown key.
    model_config = ConfigDict(**{**Contract.model_config, "validate_by_name": False, "populate_by_name": False})

    cluster_name: Annotated[str, _matching(_CLUSTER_NAME, "EKS cluster name")]
    pod_cidr: Ipv4Block | None = None
    pod_subnet_prefix_length: int | None = Field(default=None, ge=MIN_PREFIX, le=MAX_PREFIX)
    availability_zones: Annotated[list[AvailabilityZone], AfterValidator(_unique)] | None = Field(
        default=None, min_length=1
    )
    eni_config_security_group_ids: Annotated[list[SecurityGroupId], AfterValidator(_unique)] = Field(
        default_factory=list, max_length=5
    )
    tag_load_balancer_subnets: bool = True
    nodegroups: Annotated[list[NodegroupName], AfterValidator(_unique)] | None = None
    replace_nodegroups: bool = True
    verify: VerifyOptions = Field(default_factory=VerifyOptions)
    keep_cluster_access: StrictBool = False
    """Keep the access entry EnsureClusterAccess created (by default it is removed at the end)."""
    dry_run: bool = False
    poll_seconds: int = Field(default=30, ge=1, le=300)

    @model_validator(mode="after")
    def _subnets_fit_block(self) -> ExecutionInput:
        if self.pod_cidr and self.pod_subnet_prefix_length is not None:
            block_prefix = ipaddress.IPv4Network(self.pod_cidr).prefixlen
            if self.pod_subnet_prefix_length < block_prefix:
                raise ValueError(
                    f"podSubnetPrefixLength /{self.pod_subnet_prefix_length} is larger than "
                    f"podCidr {self.pod_cidr}; choose /{block_prefix} or longer"
                )
        return self


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "input"


def parse_execution_input(document: Any) -> ExecutionInput:
    """Validate an execution input, or raise InvalidInput naming every offending key."""
    if not isinstance(document, dict):
        raise InvalidInput(f"the execution input must be a JSON object, found {type(document).__name__}")
    try:
        return ExecutionInput.model_validate(document)
    except ValidationError as error:
        problems = []
        for issue in error.errors(include_url=False):
            where = _location(issue["loc"])
            if issue["type"] == "extra_forbidden":
                problems.append(f"unknown key '{where}'")
            elif issue["type"] == "missing":
                problems.append(f"'{where}' is required")
            else:
                message = issue["msg"].removeprefix("Value error, ")
                problems.append(f"'{where}': {message}")
        raise InvalidInput(
            "The execution input is not valid: "
            + "; ".join(problems)
            + ". See the execution input contract in README.md; nothing was changed."
        ) from None
