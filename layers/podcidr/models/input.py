"""The execution input of DESIGN.md.

Every key has its JSON type and nothing else: no string is read as a boolean or a number, no
number as a string, and `null` is not a value (omit a key for its default). The API's request
model (template.yaml, `ExecutionInput`) is generated from this model (podcidr.models.input_schema),
so the API and Plan accept the same inputs.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, ValidationError, WithJsonSchema, model_validator

from podcidr.errors import InvalidInput
from podcidr.models.base import Contract

MIN_PREFIX = 16
MAX_PREFIX = 28
MAX_AVAILABILITY_ZONES = 16
MAX_NODEGROUPS = 100
MAX_PROBLEMS_SHOWN = 10
"""An InvalidInput Cause names this many problems, then counts the rest: a Cause stays far below Step
Functions' 32 KB cause limit whatever the input."""
MAX_ENI_CONFIG_SECURITY_GROUPS = 5
"""An ENI takes at most 5 security groups (the VPC quota's default)."""
MAX_SOURCE_CIDRS = 60
"""A security group takes 60 inbound rules (the VPC quota's default); the controller's frontend group
of a test load balancer has one rule per source CIDR and listener port (one port)."""

CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
"""EKS CreateCluster's rule: letters, digits, hyphens and underscores, starting alphanumeric, 1..100."""
_AZ_NAME = re.compile(r"^[a-z]{2,4}(-[a-z0-9]+)+[a-z]$")
"""Region zones (ap-southeast-1a, us-gov-west-1a, eusc-de-east-1a), Local Zones (us-west-2-lax-1a) and
Wavelength zones; not zone IDs (apse1-az1). ASCII classes only: the API's model is ECMA 262."""
_SECURITY_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
_NODEGROUP_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,62}$")
_IMAGE = r"^\S+$"

LoadBalancerKind = Literal["alb", "public-nlb", "private-nlb"]
LOAD_BALANCER_KINDS: tuple[LoadBalancerKind, ...] = ("alb", "public-nlb", "private-nlb")
DEFAULT_IMAGE = "public.ecr.aws/nginx/nginx:1.27-alpine-slim"


def _octet_values(step: int) -> str:
    """A regular expression alternative of the multiples of `step` from 0 to 255."""
    return "(" + "|".join(str(v) for v in range(0, 256, step)) + ")"


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"


PRIVATE_BLOCKS = tuple(
    ipaddress.IPv4Network(block)
    for block in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "198.19.0.0/16")
)
"""Where a pod block may be: RFC 1918, the shared address space (RFC 6598) and 198.19.0.0/16, the
ranges AWS documents for VPC blocks besides publicly routable ones. A public block would hide that
range of the internet from the whole VPC, nodes included (its `local` route wins)."""
_PRIVATE_FIRST_OCTETS = (
    f"10\\.{_OCTET}",
    "172\\.(1[6-9]|2[0-9]|3[01])",
    "192\\.168",
    "100\\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])",
    "198\\.19",
)
"""The first two octets of a /16 or longer block inside PRIVATE_BLOCKS."""


def ipv4_block_pattern() -> str:
    """The IPv4 blocks /16../28 with their host bits zero, as one regular expression (for the
    API's request model, which has no other way to say it)."""
    per_prefix = []
    for prefix in range(MIN_PREFIX, MAX_PREFIX + 1):
        if prefix < 24:
            per_prefix.append(f"{_octet_values(2 ** (24 - prefix))}\\.0/{prefix}")
        else:
            per_prefix.append(f"{_OCTET}\\.{_octet_values(2 ** (32 - prefix))}/{prefix}")
    return f"^({'|'.join(_PRIVATE_FIRST_OCTETS)})\\.({'|'.join(per_prefix)})$"


def _ipv4_block(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"{value!r} is not an IPv4 CIDR block with its host bits zero ({error}); e.g. 100.64.0.0/16"
        ) from None
    if not MIN_PREFIX <= network.prefixlen <= MAX_PREFIX:
        raise ValueError(f"{value} is a /{network.prefixlen}; a VPC block must be /{MIN_PREFIX} to /{MAX_PREFIX}")
    if str(network) != value:
        raise ValueError(f"{value!r} is not written as AWS writes a CIDR block; write {network}")
    if not any(network.subnet_of(block) for block in PRIVATE_BLOCKS):
        raise ValueError(
            f"{value} is publicly routable: the VPC would route that range of the internet to the pods; "
            "send a block in 100.64.0.0/10 (or in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, 198.19.0.0/16)"
        )
    return value


def source_cidr_pattern() -> str:
    """The IPv4 blocks /1../32 with their host bits zero, as one regular expression (the API's model)."""
    per_prefix = []
    for prefix in range(1, 33):
        whole, bits = divmod(prefix, 8)
        octets = [_OCTET] * whole
        if bits:
            octets.append(_octet_values(2 ** (8 - bits)))
        octets += ["0"] * (4 - len(octets))
        per_prefix.append("\\.".join(octets) + f"/{prefix}")
    return f"^({'|'.join(per_prefix)})$"


def _source_cidr(value: str) -> str:
    """One IPv4 block a test load balancer accepts traffic from: never the whole internet."""
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(
            f"{value!r} is not an IPv4 CIDR block with its host bits zero ({error}); e.g. 203.0.113.0/24"
        ) from None
    if str(network) != value:
        raise ValueError(f"{value!r} is not written as AWS writes a CIDR block; write {network}")
    if network.prefixlen == 0:
        raise ValueError(
            f"{value} would open the test load balancers to the whole internet; give the blocks that may reach "
            "them (omit verify.sourceCidrs for the VPC's own blocks)"
        )
    return value


def _not_everyone(values: list[str]) -> list[str]:
    if str(next(iter(ipaddress.collapse_addresses(ipaddress.IPv4Network(v) for v in values)), "")) == "0.0.0.0/0":
        raise ValueError(
            f"together {', '.join(values)} cover the whole internet (0.0.0.0/0); give the blocks that may reach "
            "the test load balancers (omit verify.sourceCidrs for the VPC's own blocks)"
        )
    return values


def _matching(pattern: re.Pattern[str], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{value!r} is not a valid {what}")
        return value

    return AfterValidator(check)


def _pattern(pattern: re.Pattern[str] | str) -> WithJsonSchema:
    """The JSON Schema of a string the validator next to it checks (for the API's request model)."""
    return WithJsonSchema({"type": "string", "pattern": pattern if isinstance(pattern, str) else pattern.pattern})


def _unique(values: list[Any]) -> list[Any]:
    duplicates = sorted({str(v) for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"duplicate entries: {', '.join(duplicates)}; give each once")
    return values


UNIQUE = AfterValidator(_unique)
UNIQUE_SCHEMA = Field(json_schema_extra={"uniqueItems": True})

Ipv4Block = Annotated[str, AfterValidator(_ipv4_block), _pattern(ipv4_block_pattern())]
SourceCidr = Annotated[str, AfterValidator(_source_cidr), _pattern(source_cidr_pattern())]
ClusterName = Annotated[
    str,
    _matching(CLUSTER_NAME, "EKS cluster name (letters, digits, - and _, starting alphanumeric, 1 to 100)"),
    _pattern(CLUSTER_NAME),
]
AvailabilityZone = Annotated[
    str,
    _matching(
        _AZ_NAME,
        "availability zone name (e.g. ap-southeast-1a; a zone ID such as apse1-az1 has its name in "
        "`aws ec2 describe-availability-zones --zone-ids apse1-az1`)",
    ),
    _pattern(_AZ_NAME),
]
SecurityGroupId = Annotated[
    str, _matching(_SECURITY_GROUP_ID, "security group ID (sg- and 8 or 17 hex digits)"), _pattern(_SECURITY_GROUP_ID)
]
NodegroupName = Annotated[str, _matching(_NODEGROUP_NAME, "nodegroup name"), _pattern(_NODEGROUP_NAME)]

STRICT = ConfigDict(**{**Contract.model_config, "validate_by_name": False, "populate_by_name": False, "strict": True})
"""Only the camelCase keys of the contract (cluster_name is an unknown key), JSON types only."""


def _no_nulls(model: type[Contract], data: Any) -> Any:
    """Refuse `null` values: JSON null is no value of any key (omit an optional key instead)."""
    if not isinstance(data, dict):
        return data
    required = {field.alias or name for name, field in model.model_fields.items() if field.is_required()}
    problems = []
    for key, value in data.items():
        if value is None:
            what = "give a value" if key in required else "omit the key to get its default"
            problems.append(f"{key} is null; {what}")
    if problems:
        raise ValueError("; ".join(problems))
    return data


class StrictContract(Contract):
    """A part of the execution input: camelCase keys and JSON types only, and no `null` values."""

    model_config = STRICT

    @model_validator(mode="before")
    @classmethod
    def _refuse_nulls(cls, data: Any) -> Any:
        return _no_nulls(cls, data)


class VerifyOptions(StrictContract):
    load_balancers: Annotated[list[LoadBalancerKind], UNIQUE, UNIQUE_SCHEMA] = Field(
        default_factory=lambda: list(LOAD_BALANCER_KINDS)
    )
    image: str = Field(default=DEFAULT_IMAGE, min_length=1, max_length=512, pattern=_IMAGE)
    keep_workloads: bool = False
    source_cidrs: Annotated[list[SourceCidr], UNIQUE, AfterValidator(_not_everyone), UNIQUE_SCHEMA] | None = Field(
        default=None, min_length=1, max_length=MAX_SOURCE_CIDRS
    )
    """Who may reach the internet-facing test load balancers; default: the VPC's IPv4 blocks (Plan)."""


NodeReplacementStrategy = Literal["drain", "delete"]
MAX_NODES_AT_ONCE = 450
"""EKS's quota of nodes per managed nodegroup (450): one batch of that many empties any nodegroup."""
MAX_POD_EVICTION_TIMEOUT_SECONDS = 24 * 3600


class NodeReplacementOptions(StrictContract):
    """How ReplaceNodegroups empties the old nodes (DESIGN step 10)."""

    strategy: NodeReplacementStrategy = "drain"
    """drain: cordon, then evict a few nodes at a time, waiting for the load balancers' targets;
    delete: delete the old nodegroup at once (EKS drains every node together)."""
    nodes_at_once: int = Field(default=1, ge=1, le=MAX_NODES_AT_ONCE)
    pod_eviction_timeout_seconds: int = Field(default=900, ge=0, le=MAX_POD_EVICTION_TIMEOUT_SECONDS)
    """How long evictions refused by PodDisruptionBudgets are retried before DrainBlocked."""


NESTED_OPTIONS: dict[str, type[Contract]] = {"verify": VerifyOptions, "nodeReplacement": NodeReplacementOptions}
"""The input's nested objects, by key: an unknown key inside one lists that object's keys."""


class ExecutionInput(StrictContract):
    """What an execution is asked to do. Only clusterName is required."""

    cluster_name: ClusterName
    pod_cidr: Ipv4Block | None = None
    pod_subnet_prefix_length: int | None = Field(default=None, ge=MIN_PREFIX, le=MAX_PREFIX)
    availability_zones: Annotated[list[AvailabilityZone], UNIQUE, UNIQUE_SCHEMA] | None = Field(
        default=None, min_length=1, max_length=MAX_AVAILABILITY_ZONES
    )
    eni_config_security_group_ids: Annotated[list[SecurityGroupId], UNIQUE, UNIQUE_SCHEMA] = Field(
        default_factory=list, max_length=MAX_ENI_CONFIG_SECURITY_GROUPS
    )
    tag_load_balancer_subnets: bool = True
    nodegroups: Annotated[list[NodegroupName], UNIQUE, UNIQUE_SCHEMA] | None = Field(
        default=None, max_length=MAX_NODEGROUPS
    )
    replace_nodegroups: bool = True
    verify: VerifyOptions = Field(default_factory=VerifyOptions)
    node_replacement: NodeReplacementOptions = Field(default_factory=NodeReplacementOptions)
    ignore_unmanaged_capacity: bool = False
    """Migrate the managed nodegroups of a cluster that also has self-managed, Karpenter, Fargate,
    Windows or Auto Mode capacity; that capacity is reported as not migrated."""
    keep_cluster_access: bool = False
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


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


_EXPECTED = {
    "bool_type": "a boolean (true or false, without quotes)",
    "int_type": "an integer (a JSON number without quotes or fraction)",
    "string_type": "a string",
    "list_type": "an array",
    "model_type": "an object",
    "dict_type": "an object",
    "literal_error": "",
}


def _problem(issue: Any) -> str:
    where = _location(issue["loc"])
    kind = issue["type"]
    if kind == "extra_forbidden":
        return f"unknown key '{where}'"
    if kind == "missing":
        return f"'{where}' is required"
    if kind in _EXPECTED and kind != "literal_error":
        return f"'{where}' must be {_EXPECTED[kind]}, found {_json_type(issue.get('input'))} {_shown(issue)}"
    message = str(issue["msg"]).removeprefix("Value error, ")
    return f"'{where}': {message}" if where != "input" else message


def _nested(loc: tuple[int | str, ...]) -> str | None:
    return str(loc[0]) if len(loc) > 1 and loc[0] in NESTED_OPTIONS else None


def _keys(loc: tuple[int | str, ...]) -> list[str]:
    nested = _nested(loc)
    model = NESTED_OPTIONS[nested] if nested else ExecutionInput
    return [field.alias or name for name, field in model.model_fields.items()]


def _level(loc: tuple[int | str, ...]) -> str:
    nested = _nested(loc)
    return f" of {nested}" if nested else ""


def _shown(issue: Any) -> str:
    text = repr(issue.get("input"))
    return text if len(text) <= 60 else text[:57] + "..."


def _location(loc: tuple[int | str, ...]) -> str:
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "input"


def parse_execution_input(document: Any) -> ExecutionInput:
    """Validate an execution input, or raise InvalidInput naming every offending key."""
    if not isinstance(document, dict):
        raise InvalidInput(
            f'The execution input must be a JSON object such as {{"clusterName": "my-cluster"}}, found '
            f"{_json_type(document)}. See the execution input contract in README.md; nothing was changed."
        )
    try:
        return ExecutionInput.model_validate(document)
    except ValidationError as error:
        issues = error.errors(include_url=False)
        problems = list(dict.fromkeys(_problem(issue) for issue in issues))
        shown = "; ".join(problems[:MAX_PROBLEMS_SHOWN])
        if len(problems) > MAX_PROBLEMS_SHOWN:
            shown += f"; and {len(problems) - MAX_PROBLEMS_SHOWN} more"
        levels = dict.fromkeys(issue["loc"][:-1] for issue in issues if issue["type"] == "extra_forbidden")
        for loc in levels:
            shown += f" (the keys{_level((*loc, ''))} are {', '.join(_keys((*loc, '')))})"
        raise InvalidInput(
            f"The execution input is not valid: {shown}. See the execution input contract in README.md; "
            "nothing was changed."
        ) from None
