"""`make lint`'s IAM lint: every policy template.yaml deploys, linted with parliament.

Fails on an unknown service prefix or action, a condition key the action does not support, or a
resource that fits none of the action's resource types; parliament's other findings are printed as
notes. parliament's own resource check (RESOURCE_MISMATCH) asks one statement to name every
required resource type of an action, which refuses actions authorized on two resources (CreateSubnet:
the subnet and its VPC) granted by two statements, and the either/or types of
states:DescribeExecution (execution or express): the resource check here asks, per statement, that each
action has a resource that fits it and each resource fits some action (the reference's ARN
formats, matched by parliament.is_arn_match).

    python -m localcloud.iam.lint [template.yaml]
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import parliament

from localcloud.iam import catalog
from localcloud.iam.policies import PolicyDocument, role_policies
from localcloud.template import DEFAULT_TEMPLATE, Account, Names, Template

FAILING = {"UNKNOWN_PREFIX", "UNKNOWN_ACTION", "UNKNOWN_CONDITION_FOR_ACTION", "MALFORMED", "UNKNOWN_OPERATOR"}
_RESOURCE_POLICIES = {
    "AWS::SQS::QueuePolicy": "PolicyDocument",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::Events::EventBusPolicy": "Statement",
    "AWS::Events::EventBus": "Policy",
}


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def template_policies(template: Template, account: Account) -> Iterator[tuple[str, PolicyDocument]]:
    """(where, document) for every identity and resource policy of the template."""
    for role, documents in role_policies(template, account).items():
        for document in documents:
            yield role.rsplit("/", 1)[-1], document
    resolver = template.resolver(account)
    for logical_id, resource in template.of_type("AWS::Serverless::StateMachine", "AWS::Serverless::Function").items():
        for event, spec in ((resource.get("Properties") or {}).get("Events") or {}).items():
            if spec.get("Type") == "EventBridgeRule":  # SAM names the rule <resource><event>
                arn = f"arn:{account.partition}:events:{account.region}:{account.account_id}:rule/{logical_id}{event}"
                resolver.add(f"{logical_id}{event}", Names(ref=f"{logical_id}{event}", attributes={"Arn": arn}))
    for logical_id, resource in template.resources.items():
        key = _RESOURCE_POLICIES.get(str(resource.get("Type")))
        value = (resource.get("Properties") or {}).get(key) if key else None
        if value is None:
            continue
        document = resolver.resolve(value)
        if key == "Statement":
            document = {"Version": "2012-10-17", "Statement": [document]}
        yield logical_id, document


def _formats(name: str) -> list[str]:
    action = catalog.action(name)
    return [re.sub(r"\$\{[^}]*\}", "*", catalog.arn_format(action.service, rt.name)) for rt in action.resource_types]


def fits(name: str, resource: str) -> bool:
    """Whether an ARN (or `*`) fits one of the action's resource types in the reference."""
    formats = _formats(name)
    if resource == "*":
        return True
    return any(parliament.is_arn_match(name, fmt, resource) for fmt in formats)


def resource_mismatches(document: Mapping[str, Any]) -> list[str]:
    """In each statement: an action that none of the resources fits (it grants nothing), and a
    resource that fits none of the actions (the reference's ARN formats)."""
    problems = []
    for statement in _as_list(document.get("Statement", [])):
        if "Resource" not in statement:
            continue
        resources = [str(r) for r in _as_list(statement["Resource"])]
        actions = [
            name for pattern in _as_list(statement.get("Action", [])) for name in catalog.known_actions(str(pattern))
        ]
        for name in actions:
            if not any(fits(name, resource) for resource in resources):
                problems.append(
                    f"{name}: none of {resources} fits its resource types {sorted(set(_formats(name))) or ['*']}"
                )
        for resource in resources:
            if actions and not any(fits(name, resource) for name in actions):
                problems.append(f"{resource} fits none of the statement's actions {sorted(set(actions))}")
    return problems


def lint(template: Template, account: Account) -> tuple[list[str], list[str]]:
    """(failures, notes)."""
    failures: list[str] = []
    notes: list[str] = []
    for where, document in template_policies(template, account):
        analyzed = parliament.analyze_policy_string(json.dumps(document))
        for finding in analyzed.findings:
            line = f"{where}: {finding.issue} {finding.detail}"
            if finding.issue in FAILING:
                failures.append(line)
            elif finding.issue != "RESOURCE_MISMATCH":
                notes.append(line)
        failures.extend(f"{where}: RESOURCE_MISMATCH {problem}" for problem in resource_mismatches(document))
    return failures, notes


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    template = Template.load(Path(args[0]) if args else DEFAULT_TEMPLATE)
    failures, notes = lint(template, Account(region="us-east-1", account_id="123456789012"))
    for note in notes:
        print(f"note: {note}")
    for failure in failures:
        print(f"error: {failure}")
    print(f"IAM lint: {len(failures)} error(s), {len(notes)} note(s) in the policies of {template.path.name}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
