"""IPv4 prefixes on network interfaces, as EC2 keeps them for prefix delegation (moto ignores them,
and even assigns a secondary address instead).

AssignPrivateIpAddresses with Ipv4Prefix.N (a /28 inside the interface's subnet, on a /28 boundary)
or Ipv4PrefixCount assigns /28 prefixes; DescribeNetworkInterfaces then lists them under
Ipv4Prefixes, and every address inside them is held (ec2_addresses: the twin's nodes and load
balancers take none of them). A prefix is refused when it overlaps an address or prefix in use or a
subnet CIDR reservation of type explicit (codes unverified: InvalidParameterValue).
"""

from __future__ import annotations

import ipaddress
import re
import threading
import uuid
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

from moto.ec2.models import ec2_backends

from localcloud.aws.protocol import AwsRequest, StartResponse, WsgiApp, WsgiEnviron, call, read_body, send, send_error

PREFIX_LENGTH = 28
_PREFIXES: dict[tuple[str, str], dict[str, list[str]]] = {}
"""(account, region) -> network interface ID -> its /28 prefixes (moto's backends are process-wide too)."""
_LOCK = threading.Lock()


def prefixes_of(account_id: str, region: str, eni_id: str) -> list[str]:
    with _LOCK:
        return list(_PREFIXES.get((account_id, region), {}).get(eni_id, []))


def held_prefixes(backend: Any) -> dict[str, list[ipaddress.IPv4Network]]:
    """Subnet ID -> the prefixes its live network interfaces hold."""
    with _LOCK:
        known = dict(_PREFIXES.get((backend.account_id, backend.region_name), {}))
    out: dict[str, list[ipaddress.IPv4Network]] = {}
    for eni_id, prefixes in known.items():
        eni = backend.enis.get(eni_id)
        if eni is not None:
            out.setdefault(eni.subnet.id, []).extend(ipaddress.IPv4Network(p) for p in prefixes)
    return out


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class EniPrefixes:
    def __init__(self, account_id: str) -> None:
        self.account_id = account_id

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request: AwsRequest | None = environ.get("localcloud.request")
            if request is None or request.service != "ec2":
                return inner(environ, start_response)
            if request.operation == "DescribeNetworkInterfaces":
                return self._describe(inner, environ, start_response, request.region or "")
            if request.operation != "AssignPrivateIpAddresses":
                return inner(environ, start_response)
            params = {k: v[0] for k, v in parse_qs(read_body(environ).decode()).items()}
            asked = [v for k, v in params.items() if re.fullmatch(r"Ipv4Prefix\.\d+", k)]
            count = int(params.get("Ipv4PrefixCount", "0") or 0)
            if not asked and not count:
                return inner(environ, start_response)
            try:
                assigned = self._assign(request.region or "", params.get("NetworkInterfaceId", ""), asked, count)
            except Refused as refused:
                return send_error(start_response, "ec2", refused.code, refused.message)
            items = "".join(f"<item><ipv4Prefix>{p}</ipv4Prefix></item>" for p in assigned)
            body = (
                '<?xml version="1.0" encoding="UTF-8"?>'
                '<AssignPrivateIpAddressesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
                f"<requestId>{uuid.uuid4()}</requestId><networkInterfaceId>{params.get('NetworkInterfaceId')}"
                f"</networkInterfaceId><assignedPrivateIpAddressesSet/><assignedIpv4PrefixSet>{items}"
                "</assignedIpv4PrefixSet></AssignPrivateIpAddressesResponse>"
            ).encode()
            return send(start_response, 200, [("Content-Type", "text/xml")], body)

        return app

    def _assign(self, region: str, eni_id: str, asked: list[str], count: int) -> list[str]:
        backend = ec2_backends[self.account_id][region]
        eni = backend.enis.get(eni_id)
        if eni is None:
            raise Refused("InvalidNetworkInterfaceID.NotFound", f"The networkInterface ID '{eni_id}' does not exist")
        subnet = ipaddress.IPv4Network(eni.subnet.cidr_block)
        held = held_prefixes(backend).get(eni.subnet.id, [])
        taken = {ipaddress.IPv4Address(a) for a in _addresses(backend, eni.subnet.id)}
        explicit = [
            ipaddress.IPv4Network(r.cidr)
            for r in getattr(eni.subnet, "_cidr_reservations", [])
            if r.reservation_type == "explicit"
        ]
        wanted: list[ipaddress.IPv4Network] = []
        for raw in asked:
            try:
                prefix = ipaddress.IPv4Network(raw)
            except ValueError:
                raise Refused("InvalidParameterValue", f"Invalid IPv4 prefix: {raw}") from None
            if prefix.prefixlen != PREFIX_LENGTH or not prefix.subnet_of(subnet):
                raise Refused("InvalidParameterValue", f"The prefix {raw} is not a /28 in subnet {eni.subnet.id}")
            wanted.append(prefix)
        if count:
            first_hosts = set(list(subnet)[:4]) | {subnet.broadcast_address}
            for candidate in subnet.subnets(new_prefix=PREFIX_LENGTH):
                if len(wanted) == len(asked) + count:
                    break
                if _free(candidate, held + wanted + explicit, taken | first_hosts):
                    wanted.append(candidate)
            if len(wanted) < len(asked) + count:
                raise Refused("InsufficientCidrBlocks", f"There are not enough free /28 prefixes in {eni.subnet.id}")
        for prefix in wanted[: len(asked)]:
            if not _free(prefix, held + explicit, taken):
                raise Refused("InvalidParameterValue", f"The prefix {prefix} is in use in subnet {eni.subnet.id}")
        with _LOCK:
            mine = _PREFIXES.setdefault((self.account_id, region), {}).setdefault(eni_id, [])
            mine.extend(str(p) for p in wanted)
        return [str(p) for p in wanted]

    def _describe(
        self, inner: WsgiApp, environ: WsgiEnviron, start_response: StartResponse, region: str
    ) -> Iterable[bytes]:
        response = call(inner, environ)
        with _LOCK:
            known = {k: list(v) for k, v in _PREFIXES.get((self.account_id, region), {}).items() if v}
        if response.status != 200 or not known:
            return response.replay(start_response)

        def add(match: re.Match[str]) -> str:
            prefixes = known.get(match.group(1))
            if not prefixes:
                return match.group(0)
            members = "".join(f"<item><ipv4Prefix>{p}</ipv4Prefix></item>" for p in prefixes)
            return f"{match.group(0)}<ipv4PrefixSet>{members}</ipv4PrefixSet>"

        text = response.body.decode("utf-8")
        response.body = re.sub(r"<networkInterfaceId>([^<]+)</networkInterfaceId>", add, text).encode()
        return response.replay(start_response)


def _addresses(backend: Any, subnet_id: str) -> set[str]:
    out: set[str] = set()
    for eni in list(backend.enis.values()):
        if eni.subnet.id != subnet_id:
            continue
        out.update(a.get("PrivateIpAddress") for a in eni.private_ip_addresses or [] if a.get("PrivateIpAddress"))
        if eni.private_ip_address:
            out.add(eni.private_ip_address)
    return out


def _free(prefix: ipaddress.IPv4Network, held: list[ipaddress.IPv4Network], taken: set[ipaddress.IPv4Address]) -> bool:
    return not any(prefix.overlaps(other) for other in held) and not any(a in prefix for a in taken)
