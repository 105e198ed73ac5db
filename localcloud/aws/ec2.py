"""EC2 as AWS answers where moto does not (AWS-FACTS section 1).

AssociateVpcCidrBlock (IPv4) is checked against every rule of the VPC user guide before moto acts:

| rule | code (message as AWS words it where seen) |
|---|---|
| not a CIDR block | InvalidParameterValue |
| outside /16../28 | InvalidVpc.Range "The CIDR '10.0.0.0/8' is invalid." (seen) |
| restricted by the primary block's range, or 169.254/16 | InvalidVpc.Range "The CIDR '...' is restricted. Use a |
|   | CIDR from the same private address range as the current VPC CIDR, or use a publicly-routable CIDR." (seen) |
| overlaps an associated block | InvalidVpc.Range (code as for the other range rules; message ours) |
| equal to or larger than a route destination | InvalidVpc.Range (code unverified) |
| overlaps an active peering's CIDR | InvalidVpc.Range (code unverified) |
| a peering request from this VPC is pending-acceptance | OperationNotPermitted (code unverified) |
| 5 IPv4 blocks already | CidrLimitExceeded (moto's wording) |

An accepted block is `associating` for `timing.cidrAssociate` seconds, then `associated`; its
`local` route appears in every route table of the VPC when it is associated.

CreateSubnet is checked as EC2 checks it (ec2_subnets: /16../28, no host bits, inside an
*associated* block, no overlap, a zone of the region).
AssociateRouteTable of a subnet that already has an explicit association fails with
Resource.AlreadyAssociated, as AWS does (moto returns the old association).
CreateLaunchTemplateVersion with SourceVersion starts from that version's data, the given members
overriding it, as AWS does (moto ignores SourceVersion; its response lists only the given members,
DescribeLaunchTemplateVersions has them all).
Describe* filter names are case-sensitive, as on AWS: `VPC-ID` is refused (InvalidParameterValue "The filter
'VPC-ID' is invalid"), where moto matched it as `vpc-id`. Every EC2 filter name is lower case but a tag key's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from moto.ec2.models import ec2_backends

from localcloud.aws.ec2_subnets import SubnetRefusal, check_create_subnet
from localcloud.aws.protocol import (
    AwsRequest,
    StartResponse,
    WsgiApp,
    WsgiEnviron,
    call,
    read_body,
    send_error,
)

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws

IPv4 = ipaddress.IPv4Network
RFC1918 = (IPv4("10.0.0.0/8"), IPv4("172.16.0.0/12"), IPv4("192.168.0.0/16"))
BENCHMARK = IPv4("198.19.0.0/16")
CGNAT = IPv4("100.64.0.0/10")
LINK_LOCAL = IPv4("169.254.0.0/16")
QUOTA = 5


class Refusal(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _restricted(cidr: str) -> Refusal:
    return Refusal(
        "InvalidVpc.Range",
        f"The CIDR '{cidr}' is restricted. Use a CIDR from the same private address range as the current VPC "
        "CIDR, or use a publicly-routable CIDR. For additional restrictions, see "
        "https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html",
    )


def forbidden_ranges(primary: IPv4) -> tuple[IPv4, ...]:
    """The ranges a VPC whose primary block is `primary` may not add (the restriction table)."""
    if primary.subnet_of(RFC1918[0]):
        return (RFC1918[1], RFC1918[2], BENCHMARK)
    if primary.subnet_of(RFC1918[1]):
        return (RFC1918[0], RFC1918[2], IPv4("172.31.0.0/16"), BENCHMARK)
    if primary.subnet_of(RFC1918[2]):
        return (RFC1918[0], RFC1918[1], BENCHMARK)
    if primary.subnet_of(BENCHMARK):
        return RFC1918
    return (*RFC1918, BENCHMARK)


class Ec2Rules:
    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws
        self.pending: dict[str, str] = {}
        """Association ID -> VPC ID of blocks still associating."""

    @property
    def backend(self) -> Any:
        return ec2_backends[self.aws.account_id][self.aws.region]

    # -- the rules -------------------------------------------------------------------------------

    def live_blocks(self, vpc: Any) -> list[tuple[IPv4, str, str]]:
        """(block, association ID, state) of the VPC's IPv4 blocks that count (not disassociated)."""
        out = []
        for assoc in vpc.get_cidr_block_association_set(ipv6=False):
            state = assoc["cidr_block_state"]["state"]
            if state not in {"disassociated", "failed"}:
                out.append((IPv4(assoc["cidr_block"], strict=False), assoc["association_id"], state))
        return out

    def check_association(self, vpc_id: str, cidr: str) -> None:
        """Raise Refusal if AWS would refuse to associate `cidr` with the VPC."""
        vpc = self.backend.get_vpc(vpc_id)
        try:
            block = IPv4(cidr, strict=True)
        except ValueError:
            raise Refusal(
                "InvalidParameterValue",
                f"Value ({cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
            ) from None
        if not 16 <= block.prefixlen <= 28:
            raise Refusal("InvalidVpc.Range", f"The CIDR '{cidr}' is invalid.")
        blocks = self.live_blocks(vpc)
        if len(blocks) >= QUOTA:
            raise Refusal(
                "CidrLimitExceeded", f"This network '{vpc_id}' has met its maximum number of allowed CIDRs: {QUOTA}"
            )
        primary = IPv4(vpc.cidr_block, strict=False)
        if block.overlaps(LINK_LOCAL) or any(block.overlaps(r) for r in forbidden_ranges(primary)):
            raise _restricted(cidr)
        if block.subnet_of(IPv4("10.0.0.0/16")) and any(b.subnet_of(IPv4("10.0.0.0/15")) for b, _, _ in blocks):
            raise _restricted(cidr)
        for existing, _, _ in blocks:
            if block.overlaps(existing):
                raise Refusal(
                    "InvalidVpc.Range", f"The CIDR '{cidr}' conflicts with another CIDR block ({existing}) of the VPC."
                )
        for table in self.backend.route_tables.values():
            if table.vpc_id != vpc_id:
                continue
            for route in table.routes:
                if route.local or not route.destination_cidr_block:
                    continue
                destination = IPv4(route.destination_cidr_block, strict=False)
                if block.supernet_of(destination):
                    raise Refusal(
                        "InvalidVpc.Range",
                        f"The CIDR '{cidr}' is equal to or larger than the destination {destination} of a route in "
                        f"route table {table.id}; only a more specific block may be added.",
                    )
        for pcx in self.backend.vpc_pcxs.values():
            status = pcx._status.code
            if status == "pending-acceptance" and pcx.vpc.id == vpc_id:
                raise Refusal(
                    "OperationNotPermitted",
                    f"The VPC peering connection {pcx.id} requested by {vpc_id} is pending acceptance; no CIDR block "
                    "can be added until it is accepted, rejected or deleted.",
                )
            if status != "active" or vpc_id not in {pcx.vpc.id, pcx.peer_vpc.id}:
                continue
            peer = pcx.peer_vpc if pcx.vpc.id == vpc_id else pcx.vpc
            for peer_block, _, _ in self.live_blocks(peer):
                if block.overlaps(peer_block):
                    raise Refusal(
                        "InvalidVpc.Range",
                        f"The CIDR '{cidr}' overlaps {peer_block} of {peer.id}, peered by active connection {pcx.id}.",
                    )

    # -- timed association -----------------------------------------------------------------------

    def _begin(self, vpc_id: str, association_id: str) -> None:
        vpc = self.backend.get_vpc(vpc_id)
        assoc = vpc._cidr_block_association_set[association_id]
        assoc["cidr_block_state"]["state"] = "associating"
        self._remove_local_routes(vpc_id, assoc["cidr_block"])
        self.pending[association_id] = vpc_id
        self.aws.clock.after(self.aws.scenario.timing.cidr_associate, lambda: self._complete(association_id))

    def _remove_local_routes(self, vpc_id: str, cidr: str) -> None:
        for table in self.backend.route_tables.values():
            if table.vpc_id == vpc_id:
                for route_id, route in list(table._routes.items()):
                    if route.local and route.destination_cidr_block == cidr:
                        del table._routes[route_id]

    def _complete(self, association_id: str) -> None:
        vpc_id = self.pending.pop(association_id, None)
        if vpc_id is None:
            return
        vpc = self.backend.vpcs.get(vpc_id)
        if vpc is None or association_id not in vpc._cidr_block_association_set:
            return
        assoc = vpc._cidr_block_association_set[association_id]
        if assoc["cidr_block_state"]["state"] != "associating":
            return
        assoc["cidr_block_state"]["state"] = "associated"
        for table in list(self.backend.route_tables.values()):
            if table.vpc_id == vpc_id and not any(
                r.local and r.destination_cidr_block == assoc["cidr_block"] for r in table.routes
            ):
                self.backend.create_route(table.id, assoc["cidr_block"], local=True)

    def settle(self) -> None:
        """Complete every pending association now (the twin's build uses it)."""
        with self.aws.clock.lock:
            for association_id in list(self.pending):
                self._complete(association_id)

    def associated_blocks(self, vpc_id: str) -> list[IPv4]:
        vpc = self.backend.get_vpc(vpc_id)
        return [b for b, _, state in self.live_blocks(vpc) if state == "associated"]

    # -- the middleware --------------------------------------------------------------------------

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request: AwsRequest | None = environ.get("localcloud.request")
            if request is None or request.service != "ec2":
                return inner(environ, start_response)
            if request.operation.startswith("Describe"):
                params = {k: v[0] for k, v in parse_qs(read_body(environ).decode()).items()}
                invalid = _invalid_filter(params)
                if invalid is not None:
                    return send_error(
                        start_response, "ec2", "InvalidParameterValue", f"The filter '{invalid}' is invalid"
                    )
            handler = {
                "AssociateVpcCidrBlock": self._associate_vpc_cidr_block,
                "CreateSubnet": self._create_subnet,
                "AssociateRouteTable": self._associate_route_table,
                "CreateLaunchTemplateVersion": self._create_launch_template_version,
            }.get(request.operation)
            if handler is None:
                return inner(environ, start_response)
            params = {k: v[0] for k, v in parse_qs(read_body(environ).decode()).items()}
            with self.aws.clock.lock:
                try:
                    return handler(inner, environ, start_response, params)
                except Refusal as refusal:
                    return send_error(start_response, "ec2", refusal.code, refusal.message)

        return app

    def _vpc_exists(self, vpc_id: str) -> None:
        if vpc_id not in self.backend.vpcs:
            raise Refusal("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")

    def _associate_vpc_cidr_block(
        self, inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse, params: dict[str, str]
    ) -> Iterable[bytes]:
        cidr = params.get("CidrBlock")
        if not cidr:
            return inner(environ, start_response)
        vpc_id = params.get("VpcId", "")
        self._vpc_exists(vpc_id)
        self.check_association(vpc_id, cidr)
        response = call(inner, environ)
        if response.status == 200:
            match = re.search(rb"<associationId>([^<]+)</associationId>", response.body)
            if match:
                self._begin(vpc_id, match.group(1).decode())
                response.body = response.body.replace(b"<state>associated</state>", b"<state>associating</state>")
        return response.replay(start_response)

    def _create_subnet(
        self, inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse, params: dict[str, str]
    ) -> Iterable[bytes]:
        vpc_id = params.get("VpcId", "")
        if vpc_id in self.backend.vpcs:
            blocks = [(b, state) for b, _, state in self.live_blocks(self.backend.get_vpc(vpc_id))]
            try:
                check_create_subnet(self.backend, self.aws.region, blocks, params)
            except SubnetRefusal as refusal:
                raise Refusal(refusal.code, refusal.message) from None
        return inner(environ, start_response)

    def _associate_route_table(
        self, inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse, params: dict[str, str]
    ) -> Iterable[bytes]:
        subnet_id = params.get("SubnetId")
        table_id = params.get("RouteTableId", "")
        if subnet_id:
            for table in self.backend.route_tables.values():
                if subnet_id in table._associations.values() and table_id in self.backend.route_tables:
                    raise Refusal(
                        "Resource.AlreadyAssociated",
                        f"the specified association for route table {table_id} conflicts with an existing association",
                    )
        return inner(environ, start_response)

    def _create_launch_template_version(
        self, inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse, params: dict[str, str]
    ) -> Iterable[bytes]:
        source = params.get("SourceVersion")
        response = call(inner, environ)
        if response.status == 200 and source:
            if params.get("LaunchTemplateId"):
                template = self.backend.get_launch_template(params["LaunchTemplateId"])
            else:
                template = self.backend.get_launch_template_by_name(params.get("LaunchTemplateName", ""))
            made = template.versions[-1]
            wanted = {"$Default": template.default_version_number, "$Latest": len(template.versions) - 1}.get(
                source, source
            )
            base = next((v for v in template.versions if str(v.number) == str(wanted)), None)
            if base is not None and base is not made:
                made.data = {**base.data, **made.data}
        return response.replay(start_response)


def _invalid_filter(params: dict[str, str]) -> str | None:
    for key, name in params.items():
        if re.fullmatch(r"Filter\.\d+\.Name", key) and not name.startswith("tag:") and name != name.lower():
            return name
    return None
