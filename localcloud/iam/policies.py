"""Each role's identity-based policies, as the stack deploys them from template.yaml.

- `AWS::IAM::Role`: its inline `Policies` and its `ManagedPolicyArns`;
- `AWS::IAM::ManagedPolicy`: the stack's own managed policies (for principals outside the stack), by ARN;
- the role SAM generates for a function or state machine without `Role`: the function's basic
  execution policy, X-Ray write access with tracing on (either kind), then each item of `Policies`:
  an inline document, a SAM policy template (expanded by samtranslator's own processor, as
  `sam deploy` expands it) or an AWS managed policy by name or ARN.
AWS managed policies' documents come from moto's copy of them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from localcloud.template import Account, Resolver, Template, TemplateError

PolicyDocument = dict[str, Any]

_LAMBDA_BASIC = "AWSLambdaBasicExecutionRole"
_XRAY_WRITE = "AWSXrayWriteOnlyAccess"


@functools.cache
def _managed_documents() -> dict[str, PolicyDocument]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return {name: data["Document"] for name, data in json.loads(aws_managed_policies_data).items()}


def managed_policy(arn_or_name: str) -> PolicyDocument:
    """An AWS managed policy's document (`arn:aws:iam::aws:policy/service-role/X` or `X`)."""
    name = arn_or_name.rsplit("/", 1)[-1]
    document = _managed_documents().get(name)
    if document is None:
        raise TemplateError(f"the twin does not know the AWS managed policy {arn_or_name}")
    return document


@functools.cache
def _sam_templates() -> Any:
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def _sam_policy(resolver: Resolver, item: Any) -> PolicyDocument:
    if isinstance(item, str):
        return managed_policy(str(resolver.resolve(item)))
    if isinstance(item, dict) and "Statement" in item:
        return {"Version": item.get("Version", "2012-10-17"), "Statement": resolver.resolve(item["Statement"])}
    if isinstance(item, dict) and len(item) == 1:
        ((name, parameters),) = item.items()
        processor = _sam_templates()
        if processor.has(name):
            expanded = processor.convert(name, resolver.resolve(parameters or {}))
            return {"Version": "2012-10-17", "Statement": resolver.resolve(expanded["Statement"])}
        if name in ("Ref", "Fn::Sub", "Fn::Join"):
            return managed_policy(str(resolver.resolve(item)))
    raise TemplateError(f"the twin cannot read the policy {item!r}")


def _generated_role(
    resolver: Resolver, props: Mapping[str, Any], *, function: bool, tracing: bool
) -> list[PolicyDocument]:
    documents = [managed_policy(_LAMBDA_BASIC)] if function else []
    if tracing:  # a function's `Tracing: Active`, a state machine's `Tracing: {Enabled: true}`
        documents.append(managed_policy(_XRAY_WRITE))
    policies = props.get("Policies")
    for item in policies if isinstance(policies, list) else [policies] if policies else []:
        documents.append(_sam_policy(resolver, item))
    return documents


def _declared_role(resolver: Resolver, props: Mapping[str, Any]) -> list[PolicyDocument]:
    documents = [managed_policy(str(arn)) for arn in resolver.resolve(props.get("ManagedPolicyArns") or [])]
    for policy in props.get("Policies") or []:
        document = resolver.resolve(policy["PolicyDocument"])
        documents.append(document)
    return documents


def role_policies(
    template: Template, account: Account, parameters: Mapping[str, str] | None = None
) -> dict[str, list[PolicyDocument]]:
    """Role ARN -> its policy documents, for every role the stack deploys."""
    resolver = template.resolver(account, parameters)
    tracing_default = str(template.function_globals.get("Tracing") or "") == "Active"
    roles: dict[str, list[PolicyDocument]] = {}
    for logical_id, res in template.of_type("AWS::IAM::Role").items():
        roles[resolver.get_att(logical_id, "Arn")] = _declared_role(resolver, res.get("Properties") or {})
    for kind, function in (("AWS::Serverless::Function", True), ("AWS::Serverless::StateMachine", False)):
        for logical_id, res in template.of_type(kind).items():
            props = res.get("Properties") or {}
            if "Role" in props:
                continue
            if function:
                tracing = str(props.get("Tracing", "Active" if tracing_default else "")) == "Active"
            else:
                tracing = (props.get("Tracing") or {}).get("Enabled") is True
            roles[resolver.get_att(f"{logical_id}Role", "Arn")] = _generated_role(
                resolver, props, function=function, tracing=tracing
            )
    return roles


def managed_policies(
    template: Template, account: Account, parameters: Mapping[str, str] | None = None
) -> dict[str, PolicyDocument]:
    """Policy ARN -> its document, for every customer managed policy the stack deploys."""
    resolver = template.resolver(account, parameters)
    documents: dict[str, PolicyDocument] = {}
    for logical_id, res in template.of_type("AWS::IAM::ManagedPolicy").items():
        props = res.get("Properties") or {}
        documents[str(resolver.names(logical_id).ref)] = resolver.resolve(props["PolicyDocument"])
    return documents
