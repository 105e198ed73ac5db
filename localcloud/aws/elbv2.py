"""ELBv2 as AWS answers where moto does not.

CreateLoadBalancer:
- ARNs name the type: `loadbalancer/net/<name>/<id>` for a Network Load Balancer (moto wrote `app`
  for every type); DNS names are AWS's: an ALB `<name>-<10 digits>.<region>.elb.amazonaws.com`, an
  NLB `<name>-<16 hex>.elb.<region>.amazonaws.com`, `internal-` in front of an internal one's.
- `SubnetMappings.N.PrivateIPv4Address` (moto ignores it) is checked as the ELBv2 API reference and
  the Load Balancer Controller's annotation docs say (AWS-FACTS section 3): Network Load Balancers
  only, internal only, one mapping per subnet, the address inside its subnet, not one of the five
  addresses AWS reserves in each subnet, and not in use by a network interface. Refusals are
  `InvalidConfigurationRequest` (message wording unverified).

DescribeTags: one ARN of a load balancer or target group that does not exist fails the whole call
(`LoadBalancerNotFound` / `TargetGroupNotFound`), as AWS does; moto answered with empty tags for it.
"""

from __future__ import annotations

import ipaddress
import random
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from localcloud.aws.ec2_addresses import addresses_in_use
from localcloud.aws.protocol import AwsRequest, StartResponse, WsgiApp, WsgiEnviron, call, read_body, send_error

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws

_RESOURCE_ARN = re.compile(r"^ResourceArns\.member\.\d+$")
_MAPPING = re.compile(r"^SubnetMappings\.member\.(\d+)\.(SubnetId|PrivateIPv4Address)$")


class Refusal(Exception):
    def __init__(self, message: str, code: str = "InvalidConfigurationRequest") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def dns_name(name: str, kind: str, scheme: str, lb_id: str, region: str) -> str:
    prefix = "internal-" if scheme == "internal" else ""
    if kind == "network":
        return f"{prefix}{name}-{lb_id}.elb.{region}.amazonaws.com"
    digits = random.Random(lb_id).randrange(10**9, 10**10)  # stable for the load balancer
    return f"{prefix}{name}-{digits}.{region}.elb.amazonaws.com"


def reserved_addresses(network: ipaddress.IPv4Network) -> set[str]:
    """The five addresses AWS reserves in every subnet: network, router, DNS, future use, broadcast."""
    first = int(network.network_address)
    return {str(ipaddress.IPv4Address(first + i)) for i in range(4)} | {str(network.broadcast_address)}


class Elbv2Rules:
    def __init__(self, aws: LocalAws) -> None:
        self.aws = aws

    @property
    def _elbv2(self) -> Any:
        from moto.elbv2.models import elbv2_backends

        return elbv2_backends[self.aws.account_id][self.aws.region]

    @property
    def _ec2(self) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[self.aws.account_id][self.aws.region]

    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request: AwsRequest | None = environ.get("localcloud.request")
            if request is None or request.service != "elasticloadbalancing":
                return inner(environ, start_response)
            if request.operation == "DescribeTags":
                params = {k: v[0] for k, v in parse_qs(read_body(environ).decode()).items()}
                try:
                    self.check_tagged_resources_exist(params)
                except Refusal as refusal:
                    return send_error(start_response, "query", refusal.code, refusal.message)
                return inner(environ, start_response)
            if request.operation != "CreateLoadBalancer":
                return inner(environ, start_response)
            params = {k: v[0] for k, v in parse_qs(read_body(environ).decode()).items()}
            with self.aws.clock.lock:
                try:
                    self.check_fixed_addresses(params)
                except Refusal as refusal:
                    return send_error(start_response, "query", refusal.code, refusal.message)
                response = call(inner, environ)
                if response.status == 200:
                    response.body = self._name_as_aws(response.body)
            return response.replay(start_response)

        return app

    def check_fixed_addresses(self, params: dict[str, str]) -> None:
        mappings: dict[str, dict[str, str]] = {}
        for key, value in params.items():
            match = _MAPPING.fullmatch(key)
            if match:
                mappings.setdefault(match.group(1), {})[match.group(2)] = value
        fixed = {m.get("SubnetId", ""): m["PrivateIPv4Address"] for m in mappings.values() if "PrivateIPv4Address" in m}
        if not fixed:
            return
        if params.get("Type", "application") != "network":
            raise Refusal("Private IPv4 addresses can be specified only for Network Load Balancers.")
        if params.get("Scheme", "internet-facing") != "internal":
            raise Refusal("Private IPv4 addresses can be specified only for internal load balancers.")
        subnets = [m.get("SubnetId", "") for m in mappings.values()]
        if len(set(subnets)) != len(subnets):
            raise Refusal("A load balancer can have only one subnet mapping per subnet.")
        in_use = self._addresses_in_use()
        for subnet_id, address in fixed.items():
            subnet = self._ec2.get_subnet(subnet_id)
            network = ipaddress.IPv4Network(subnet.cidr_block)
            try:
                inside = ipaddress.IPv4Address(address) in network
            except ValueError:
                raise Refusal(f"'{address}' is not a valid IPv4 address.", "ValidationError") from None
            if not inside:
                raise Refusal(f"The private IPv4 address '{address}' is not in subnet '{subnet_id}' ({network}).")
            if address in reserved_addresses(network):
                raise Refusal(
                    f"The specified private IPv4 address '{address}' is reserved by AWS in subnet '{subnet_id}'"
                )
            if address in in_use.get(subnet_id, set()):
                raise Refusal(
                    f"The specified private IPv4 address '{address}' is already in use in subnet '{subnet_id}'"
                )

    def check_tagged_resources_exist(self, params: dict[str, str]) -> None:
        arns = [value for key, value in params.items() if _RESOURCE_ARN.fullmatch(key)]
        backend = self._elbv2
        for arn in arns:
            if ":loadbalancer/" in arn and arn not in backend.load_balancers:
                raise Refusal("One or more load balancers not found", "LoadBalancerNotFound")
            if ":targetgroup/" in arn and arn not in backend.target_groups:
                raise Refusal("One or more target groups not found", "TargetGroupNotFound")

    def _addresses_in_use(self) -> dict[str, set[str]]:
        return addresses_in_use(self._ec2)

    def _name_as_aws(self, body: bytes) -> bytes:
        match = re.search(rb"<LoadBalancerArn>([^<]+)</LoadBalancerArn>", body)
        if not match:
            return body
        old_arn = match.group(1).decode()
        backend = self._elbv2
        lb = backend.load_balancers.get(old_arn)
        if lb is None:
            return body
        lb_id = old_arn.rsplit("/", 1)[-1]
        new_arn = old_arn.replace("loadbalancer/app/", "loadbalancer/net/") if lb.type == "network" else old_arn
        old_dns = lb.dns_name
        lb.dns_name = dns_name(lb.name, lb.type, lb.scheme, lb_id, self.aws.region)
        if new_arn != old_arn:
            lb.arn = new_arn
            backend.load_balancers[new_arn] = backend.load_balancers.pop(old_arn)
            tags = backend.tagging_service.tags
            if old_arn in tags:
                tags[new_arn] = tags.pop(old_arn)
        return body.replace(old_arn.encode(), new_arn.encode()).replace(old_dns.encode(), lb.dns_name.encode())
