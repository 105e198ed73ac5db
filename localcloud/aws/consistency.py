"""EC2's eventual consistency, for the workflow's calls (AWS-FACTS 7; scenario `timing.ec2Consistency`).

On AWS a resource may be missing from reads for a short while after the call that created it
returned: a DescribeSubnets right after CreateSubnet may not list it, or answer
InvalidSubnetID.NotFound when asked for it by ID, and so may other calls that name it (tags, route
table associations). moto sees everything at once. Here, for `window()` seconds after a workflow
call created a subnet, security group, network interface or route table:

- a workflow EC2 call that names its ID fails with the resource's NotFound error (it acts on
  nothing);
- a workflow Describe without its ID leaves it out of the answer.

The twin's own calls (building, controllers, state) see everything at once.
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

from localcloud.aws.protocol import StartResponse, WsgiApp, WsgiEnviron, call, read_body, send_error


@dataclass(frozen=True)
class _Kind:
    id_tag: str
    """The ID's element in the create response and in Describe items."""
    set_tag: str
    """The Describe response's list element."""
    error: str
    message: str


_CREATED = {
    "CreateSubnet": _Kind("subnetId", "subnetSet", "InvalidSubnetID.NotFound", "The subnet ID '{}' does not exist"),
    "CreateSecurityGroup": _Kind(
        "groupId", "securityGroupInfo", "InvalidGroup.NotFound", "The security group '{}' does not exist"
    ),
    "CreateNetworkInterface": _Kind(
        "networkInterfaceId",
        "networkInterfaceSet",
        "InvalidNetworkInterfaceID.NotFound",
        "The networkInterface ID '{}' does not exist",
    ),
    "CreateRouteTable": _Kind(
        "routeTableId", "routeTableSet", "InvalidRouteTableID.NotFound", "The routeTable ID '{}' does not exist"
    ),
}


class Ec2Consistency:
    def __init__(self, now: Callable[[], float], window: Callable[[], float]) -> None:
        self._now = now
        self.window = window
        self._lock = threading.Lock()
        self._young: dict[str, tuple[float, _Kind]] = {}
        """Resource ID -> (when it was created, its kind)."""

    def created(self, resource_id: str, kind: _Kind) -> None:
        with self._lock:
            self._young[resource_id] = (self._now(), kind)

    def young(self) -> dict[str, _Kind]:
        now, window = self._now(), self.window()
        with self._lock:
            for key in [k for k, (at, _) in self._young.items() if now - at >= window]:
                del self._young[key]
            return {k: kind for k, (_, kind) in self._young.items()}

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request = environ.get("localcloud.request")
            if request is None or request.service != "ec2" or environ.get("localcloud.caller") is None:
                return inner(environ, start_response)
            young = self.young() if self.window() > 0 else {}
            if young:
                params = parse_qs(read_body(environ).decode("utf-8", "replace"))
                for key, values in params.items():
                    if key.startswith("Filter."):
                        continue  # a filter on an ID nobody sees yet matches nothing; it is no error
                    for value in values:
                        if value in young:
                            missing = young[value]
                            return send_error(
                                start_response, request.protocol, missing.error, missing.message.format(value)
                            )
            kind = _CREATED.get(request.operation)
            if kind is None and not (young and request.operation.startswith("Describe")):
                return inner(environ, start_response)
            response = call(inner, environ)
            if response.status == 200 and kind is not None and self.window() > 0:
                match = re.search(rf"<{kind.id_tag}>([^<]+)</{kind.id_tag}>", response.body.decode("utf-8", "replace"))
                if match:
                    self.created(match.group(1), kind)
            elif response.status == 200 and young:
                response.body = _without(response.body, young)
            return response.replay(start_response)

        return app


def _without(body: bytes, young: dict[str, _Kind]) -> bytes:
    """A Describe response without the items of young resources."""
    text = body.decode("utf-8", "replace")
    namespace = re.match(r"\s*(?:<\?xml[^>]*\?>\s*)?<\w+\s+xmlns=\"([^\"]+)\"", text)
    if namespace is None:
        return body
    ns = namespace.group(1)
    ET.register_namespace("", ns)
    root = ET.fromstring(text)
    changed = False
    for kind in {k.set_tag: k for k in young.values()}.values():
        for listing in root.iter(f"{{{ns}}}{kind.set_tag}"):
            for item in list(listing):
                found = item.find(f"{{{ns}}}{kind.id_tag}")
                if found is not None and found.text in young:
                    listing.remove(item)
                    changed = True
    if not changed:
        return body
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")).encode()
