"""IAM on the twin: every call made with a stack role's credentials (the functions', the API's)
is checked against that role's policies as template.yaml deploys them, and refused as its
service refuses it:
- EC2: `UnauthorizedOperation` with an encoded authorization failure message;
- JSON and REST-JSON services (EKS, DynamoDB, Step Functions, Lambda, ...): `AccessDeniedException`;
- query and XML services (IAM, STS, ELBv2): `AccessDenied`;
- EKS CreateNodegroup without `iam:GetRole` on the nodegroup service-linked role, or without
  `iam:CreateServiceLinkedRole` where that role does not exist yet: `InvalidRequestException`
  worded as EKS words it (shared/AWS-FACTS.md section 7). When the caller may create it and it
  does not exist, the twin creates it, as EKS does.
Roles made in the account (CreateRole, then PutRolePolicy or AttachRolePolicy) are checked too,
against their inline and attached policies as they are at the time of the call. Calls with other
credentials are not checked: the twin's admin, and roles with no policy at all (tests' identities
that stand for a caller whose permissions are not the point; on AWS such a role may do nothing).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.aws.protocol import AwsRequest, WsgiEnviron, read_body
from localcloud.iam import requests as iam_requests
from localcloud.iam.evaluator import Decision, evaluate
from localcloud.iam.policies import PolicyDocument, role_policies
from localcloud.template import Account, Template

if TYPE_CHECKING:
    from localcloud.aws.server import LocalAws

_ASSUMED = re.compile(r"^arn:(?P<partition>[^:]+):sts::(?P<account>\d{12}):assumed-role/(?P<role>[^/]+)/.+$")


@dataclass(frozen=True)
class Denial:
    code: str
    message: str


def _denied_message(principal: str, action: str, resource: str, decision: Decision) -> str:
    why = (
        "with an explicit deny in an identity-based policy"
        if decision.explicit_deny
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {principal} is not authorized to perform: {action} on resource: {resource} {why}"


def _encoded(principal: str, action: str, resource: str, decision: Decision, context: Mapping[str, Any]) -> str:
    """EC2's encoded authorization failure message (AWS encrypts it; the twin only encodes it)."""
    document = {
        "allowed": False,
        "explicitDeny": decision.explicit_deny,
        "context": {"principal": {"arn": principal}, "action": action, "resource": resource, "conditions": context},
    }
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


class IamEnforcement:
    """Built from the template (and its parameter values); `attach` puts it in LocalAws's gate."""

    def __init__(self, template: Template, parameters: Mapping[str, str] | None = None) -> None:
        self.template = template
        self.parameters = dict(parameters or {})
        self._policies: dict[str, list[PolicyDocument]] = {}
        self._aws: LocalAws | None = None
        self.denials: list[dict[str, str]] = []

    def attach(self, aws: LocalAws) -> None:
        account = Account(region=aws.region, account_id=str(aws.account_id))
        by_arn = role_policies(self.template, account, self.parameters)
        self._policies = {arn.rsplit("/", 1)[-1]: documents for arn, documents in by_arn.items()}
        self._aws = aws
        aws.authorizer = self.check
        if self._account_has_nodegroups(aws):  # their creation made the nodegroup service-linked role
            self._create_nodegroup_slr(str(aws.account_id))

    @staticmethod
    def _account_has_nodegroups(aws: LocalAws) -> bool:
        from moto.eks.models import eks_backends

        return any(cluster.nodegroups for cluster in eks_backends[aws.account_id][aws.region].clusters.values())

    def policies_of(self, caller: str) -> list[PolicyDocument] | None:
        match = _ASSUMED.match(caller)
        if match is None:
            return None
        stack_role = self._policies.get(match.group("role"))
        if stack_role is not None:
            return stack_role
        return account_role_policies(self._iam_backend(match.group("account")), match.group("role"))

    # -- the gate's hook ---------------------------------------------------------------------

    def check(self, request: AwsRequest, environ: WsgiEnviron, caller: str) -> Denial | None:
        if request.service == "execute-api":
            return None  # the API authorizes its method requests itself, on the method's ARN (apigateway/sigv4.py)
        policies = self.policies_of(caller)
        match = _ASSUMED.match(caller)
        if policies is None or match is None or self._aws is None:
            return None
        body = read_body(environ)
        params = iam_requests.parse_params(request.protocol, body, environ.get("QUERY_STRING", ""), request.path_params)
        call = iam_requests.Call(
            service=request.service,
            operation=request.operation,
            principal=caller,
            partition=match.group("partition"),
            region=request.region or self._aws.region,
            account=match.group("account"),
            params=params,
            lookup=self._lookup(),
        )
        try:
            wanted = iam_requests.authorizations(call)
        except iam_requests.NoBuilder as missing:
            return Denial(
                "InternalFailure",
                f"the twin cannot authorize {request.action}: {missing}; add a builder in localcloud.iam.requests",
            )
        for authorization in wanted:
            denial = self._authorize(request, authorization, policies, call)
            if denial is not None:
                self.denials.append({"caller": caller, "action": authorization.request.action, "code": denial.code})
                return denial
        return None

    def _authorize(
        self,
        request: AwsRequest,
        authorization: iam_requests.Authorization,
        policies: list[PolicyDocument],
        call: iam_requests.Call,
    ) -> Denial | None:
        asked = authorization.request
        if authorization.refusal == "nodegroup-slr-create" and self._nodegroup_slr_exists(call.account):
            return None
        decision = evaluate(policies, asked)
        if decision.allowed:
            if authorization.refusal == "nodegroup-slr-create":
                self._create_nodegroup_slr(call.account)
            return None
        if authorization.refusal == "nodegroup-slr-get":
            return Denial(
                "InvalidRequestException",
                f"Failed to validate if SLR: {iam_requests.NODEGROUP_SLR_NAME} already exists due to missing "
                "permissions for 'iam:GetRole'",
            )
        if authorization.refusal == "nodegroup-slr-create":
            return Denial(
                "InvalidRequestException",
                f"Failed to create service linked role {iam_requests.NODEGROUP_SLR_NAME} due to missing permissions "
                "for 'iam:CreateServiceLinkedRole'",
            )
        message = _denied_message(asked.principal, asked.action, decision.resource, decision)
        if request.protocol == "ec2":
            encoded = _encoded(asked.principal, asked.action, decision.resource, decision, dict(asked.context))
            return Denial(
                "UnauthorizedOperation",
                f"You are not authorized to perform this operation. {message}. "
                f"Encoded authorization failure message: {encoded}",
            )
        if request.protocol in ("query", "rest-xml"):
            return Denial("AccessDenied", message)
        return Denial("AccessDeniedException", message)

    # -- what the twin knows about resources ---------------------------------------------------

    def _lookup(self) -> iam_requests.Lookup:
        aws = self._aws
        assert aws is not None

        def ec2_tags(resource_id: str) -> Mapping[str, str]:
            from moto.ec2.models import ec2_backends

            return dict(ec2_backends[aws.account_id][aws.region].tags.get(resource_id, {}))

        def nodegroup_arn(cluster: str, nodegroup: str) -> str | None:
            from moto.eks.models import eks_backends

            found = eks_backends[aws.account_id][aws.region].clusters.get(cluster)
            group = found.nodegroups.get(nodegroup) if found is not None else None
            return str(group.arn) if group is not None else None

        def addon_arn(cluster: str, addon: str) -> str | None:
            found = aws.eks.clusters.get(cluster)
            item = found.addons.get(addon) if found is not None else None
            return str(item.arn) if item is not None else None

        def access_entry_arn(cluster: str, principal: str) -> str | None:
            if cluster not in aws.eks.clusters:
                return None
            entry = aws.eks.access_entry(cluster, principal)
            return str(entry.arn) if entry is not None else None

        def access_entry_tags(cluster: str, principal: str) -> Mapping[str, str]:
            if cluster not in aws.eks.clusters:
                return {}
            entry = aws.eks.access_entry(cluster, principal)
            return dict(entry.tags) if entry is not None else {}

        def eks_tags(arn: str) -> Mapping[str, str]:
            from moto.eks.models import eks_backends

            for name, cluster in list(eks_backends[aws.account_id][aws.region].clusters.items()):
                if cluster.arn == arn:
                    return dict(cluster.tags or {})
                for group in list(cluster.nodegroups.values()):
                    if group.arn == arn:
                        return dict(group.tags or {})
                if name in aws.eks.clusters:
                    for entry in aws.eks.access_entries(name):
                        if entry.arn == arn:
                            return dict(entry.tags)
            return {}

        return iam_requests.Lookup(
            ec2_tags=ec2_tags,
            nodegroup_arn=nodegroup_arn,
            addon_arn=addon_arn,
            access_entry_arn=access_entry_arn,
            access_entry_tags=access_entry_tags,
            eks_tags=eks_tags,
        )

    def _iam_backend(self, account: str) -> Any:
        from moto.iam.models import iam_backends

        return iam_backends[account]["global"]

    def _nodegroup_slr_exists(self, account: str) -> bool:
        return any(role.name == iam_requests.NODEGROUP_SLR_NAME for role in self._iam_backend(account).get_roles())

    def _create_nodegroup_slr(self, account: str) -> None:
        if self._nodegroup_slr_exists(account):
            return
        create_nodegroup_slr(self._iam_backend(account))


def account_role_policies(backend: Any, role_name: str) -> list[PolicyDocument] | None:
    """The inline and attached policies of a role made through IAM, or None if it has none (or no such role)."""
    role = next((r for r in backend.get_roles() if r.name == role_name), None)
    if role is None:
        return None
    documents = [_document(text) for text in role.policies.values()]
    for policy in role.managed_policies.values():
        version = next((v for v in policy.versions if v.is_default_version), None)
        if version is not None:
            documents.append(_document(version.document))
    return documents or None


def _document(text: Any) -> PolicyDocument:
    return dict(json.loads(text)) if isinstance(text, str) else dict(text)


def create_nodegroup_slr(backend: Any) -> None:
    """AWSServiceRoleForAmazonEKSNodegroup, as EKS creates it (moto's CreateServiceLinkedRole names it otherwise)."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": iam_requests.NODEGROUP_SLR_SERVICE},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    backend.create_role(
        iam_requests.NODEGROUP_SLR_NAME,
        json.dumps(trust),
        f"/aws-service-role/{iam_requests.NODEGROUP_SLR_SERVICE}/",
        permissions_boundary=None,
        description="Allows EKS to manage nodegroups on your behalf",
        tags=[],
        max_session_duration="3600",
        linked_service=iam_requests.NODEGROUP_SLR_SERVICE,
    )
