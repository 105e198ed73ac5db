"""IAM for the calls Step Functions makes with each state machine's role, and EventBridge with each
rule target's role: a static check of template.yaml.

Static rather than per call: moto's interpreter makes its calls with one fixed identity, and many
Task states run on paths no rehearsal takes (a Catch's dead-letter send, a lock takeover). Walking
every Task state of every definition (inside Map and Parallel too) covers them all. For each one,
the actions and resources AWS authorizes with the state machine's role (Step Functions Developer
Guide, "IAM policies for integrated services"; "Logging" and "X-Ray" for the machine's own
configuration) are evaluated with localcloud.iam.evaluator against that role's policies as SAM
deploys them: the template goes through samtranslator's own Translator (as `sam deploy` does), which
expands policy templates, adds X-Ray's managed policy for `Tracing`, and generates each
EventBridgeRule's target role. A dead-letter queue is written by EventBridge under the queue's
resource policy: that policy is evaluated for the rule's ARN as `aws:SourceArn`.

    python -m localcloud.iam.state_machines [template.yaml]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from localcloud.iam import catalog
from localcloud.iam.evaluator import Decision, Request, Resource, evaluate
from localcloud.iam.policies import PolicyDocument, role_policies
from localcloud.stepfunctions import load_definition
from localcloud.template import DEFAULT_TEMPLATE, Account, Names, Resolver, Template, TemplateError

# CloudWatch Logs delivery, checked when a machine with Logging is created or updated
# (Step Functions Developer Guide, "Using CloudWatch Logs to log execution history").
LOG_DELIVERY = (
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
)
# X-Ray with `Tracing: Enabled` (Developer Guide, "IAM policies for using AWS X-Ray in Step Functions").
XRAY = ("xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets")
# startExecution.sync follows the child through this managed rule.
SYNC_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"
# aws-sdk integrations: the SDK's service name -> the IAM prefix where they differ.
_SDK_PREFIXES = {"sfn": "states"}
_EXAMPLE_EXECUTION = "any-execution"
"""An execution name the checked ARNs use where Step Functions names the execution."""


class UncheckableTask(TemplateError):
    """A Task whose IAM this check cannot derive (an integration it does not know, a resource given
    by a path with no witness): the check fails rather than pass it unseen."""


@dataclass(frozen=True)
class Need:
    where: str
    """`MigrationStateMachine/TakeLock`, `rule MigrationStateMachineMigrationRequested`."""
    role: str
    """The role's ARN."""
    request: Request


@dataclass(frozen=True)
class Denial:
    need: Need
    decision: Decision

    def __str__(self) -> str:
        why = "an explicit deny" if self.decision.explicit_deny else "no statement allows it"
        return (
            f"{self.need.where}: {self.need.role.rsplit('/', 1)[-1]} may not {self.need.request.action} "
            f"on {self.decision.resource} ({why})"
        )


# --- the template as SAM deploys it ------------------------------------------------------------


class _ManagedPolicies:
    """samtranslator's managed-policy loader: AWS managed policy names -> ARNs (moto's copy)."""

    def __init__(self, partition: str) -> None:
        self.partition = partition

    def load(self) -> dict[str, str]:
        from moto.iam.aws_managed_policies import aws_managed_policies_data

        return {
            name: f"arn:{self.partition}:iam::aws:policy{data.get('Path', '/')}{name}"
            for name, data in json.loads(aws_managed_policies_data).items()
        }


def sam_deployed(template: Template, account: Account, parameters: Mapping[str, str] | None = None) -> Template:
    """template.yaml transformed by samtranslator, as `sam deploy` transforms it (local code URIs
    stand for the S3 locations `sam package` gives them)."""
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    document = json.loads(json.dumps(template.document))
    code_keys = ("CodeUri", "DefinitionUri", "ContentUri")
    for resource in document["Resources"].values():
        props = resource.get("Properties") or {}
        for key in code_keys:
            if isinstance(props.get(key), str):
                props[key] = f"s3://podcidr-artifacts/{props[key]}"
    for section in (document.get("Globals") or {}).values():
        for key in code_keys:
            if isinstance(section.get(key), str):
                section[key] = f"s3://podcidr-artifacts/{section[key]}"
    session = boto3.Session(region_name=account.region, aws_access_key_id="unused", aws_secret_access_key="unused")
    values: dict[str, Any] = {**template.parameter_defaults, **(parameters or {})}
    values.update({"AWS::Region": account.region, "AWS::Partition": account.partition})
    loader = _ManagedPolicies(account.partition)
    translated = Translator(loader.load(), Parser(), boto_session=session).translate(document, parameter_values=values)
    return Template(path=template.path, document=translated)


# --- what each Task needs ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Context:
    account: Account
    machine: str
    """The logical ID of the state machine being walked."""
    machine_arn: str
    machine_name: str

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.account.partition}:{service}:{self.account.region}:{self.account.account_id}:{resource}"


# A resource given by a path (`ExecutionArn.$`) is known only at run time: its witness is what the
# definition makes it (here: the lock's holder, written by TakeLock from $$.Execution.Id, is an
# execution of this same machine). A new dynamic resource needs its witness added here.
WITNESSES: dict[tuple[str, str], str] = {
    ("MigrationStateMachine", "DescribeLockHolder"): "execution-of-this-machine",
}


def _static(ctx: _Context, state: str, parameters: Mapping[str, Any], key: str) -> str:
    if key in parameters:
        return str(parameters[key])
    if f"{key}.$" in parameters:
        witness = WITNESSES.get((ctx.machine, state))
        if witness == "execution-of-this-machine":
            return ctx.arn("states", f"execution:{ctx.machine_name}:{_EXAMPLE_EXECUTION}")
        raise UncheckableTask(
            f"{ctx.machine}/{state}: {key} is given by a path; add its witness to "
            "localcloud.iam.state_machines.WITNESSES"
        )
    raise UncheckableTask(f"{ctx.machine}/{state}: no {key} among its Parameters")


def _resource(ctx: _Context, state: str, parameters: Mapping[str, Any]) -> Resource:
    """The resource a Task's Parameters address, by the parameter that names it."""
    if "TableName" in parameters or "TableName.$" in parameters:
        name = _static(ctx, state, parameters, "TableName")
        return Resource(name if name.startswith("arn:") else ctx.arn("dynamodb", f"table/{name}"), "table")
    if "FunctionName" in parameters or "FunctionName.$" in parameters:
        name = _static(ctx, state, parameters, "FunctionName")
        return Resource(name if name.startswith("arn:") else ctx.arn("lambda", f"function:{name}"), "function")
    if "StateMachineArn" in parameters or "StateMachineArn.$" in parameters:
        return Resource(_static(ctx, state, parameters, "StateMachineArn"), "statemachine")
    if "ExecutionArn" in parameters or "ExecutionArn.$" in parameters:
        return Resource(_static(ctx, state, parameters, "ExecutionArn"), "execution")
    if "TopicArn" in parameters or "TopicArn.$" in parameters:
        return Resource(_static(ctx, state, parameters, "TopicArn"), "topic")
    if "QueueUrl" in parameters or "QueueUrl.$" in parameters:
        return Resource(_queue_arn(ctx.account, _static(ctx, state, parameters, "QueueUrl")), "queue")
    raise UncheckableTask(f"{ctx.machine}/{state}: the check does not know which resource its Parameters address")


def _queue_arn(account: Account, url: str) -> str:
    """https://sqs.<region>.amazonaws.com/<account>/<name> -> the queue's ARN."""
    owner, name = url.rstrip("/").rsplit("/", 2)[-2:]
    return f"arn:{account.partition}:sqs:{account.region}:{owner}:{name}"


def _request(ctx: _Context, role: str, action: str, resources: list[Resource], **context: list[str]) -> Request:
    return Request(principal=role, action=action, resources=tuple(resources), context=context)


def _task_needs(ctx: _Context, role: str, state: str, spec: Mapping[str, Any]) -> list[Request]:
    target = str(spec.get("Resource", ""))
    parameters = spec.get("Parameters") or {}
    if ":lambda:" in target and ":function:" in target:  # a function's ARN as the Resource
        return [_request(ctx, role, "lambda:InvokeFunction", [Resource(target, "function")])]
    prefix = f"arn:{ctx.account.partition}:states:::"
    if not target.startswith(prefix) and not target.startswith("arn:aws:states:::"):
        raise UncheckableTask(f"{ctx.machine}/{state}: unknown Task resource {target}")
    integration = target.split(":::", 1)[1]
    service, _, rest = integration.partition(":")
    if service == "aws-sdk":
        sdk_service, _, sdk_action = rest.partition(":")
        action = f"{_SDK_PREFIXES.get(sdk_service, sdk_service)}:{sdk_action[:1].upper()}{sdk_action[1:]}"
        described = catalog.action(action)
        if not any(rt.required for rt in described.resource_types):
            context = {"cloudwatch:namespace": [str(parameters["Namespace"])]} if "Namespace" in parameters else {}
            return [_request(ctx, role, action, [Resource("*")], **context)]
        return [_request(ctx, role, action, [_resource(ctx, state, parameters)])]
    operation, _, pattern = rest.partition(".")
    if service == "lambda" and operation == "invoke":
        return [_request(ctx, role, "lambda:InvokeFunction", [_resource(ctx, state, parameters)])]
    if service in ("dynamodb", "sns", "sqs"):
        action = f"{service}:{operation[:1].upper()}{operation[1:]}"
        return [_request(ctx, role, action, [_resource(ctx, state, parameters)])]
    if service == "states" and operation == "startExecution":
        child = _resource(ctx, state, parameters)
        needs = [_request(ctx, role, "states:StartExecution", [child])]
        if pattern.startswith("sync"):  # .sync and .sync:2: Step Functions follows and can stop the child
            child_name = child.arn.rsplit(":", 1)[-1]
            execution = Resource(ctx.arn("states", f"execution:{child_name}:{_EXAMPLE_EXECUTION}"), "execution")
            rule = Resource(ctx.arn("events", f"rule/{SYNC_RULE}"), "rule-on-default-event-bus")
            needs += [_request(ctx, role, f"states:{a}", [execution]) for a in ("DescribeExecution", "StopExecution")]
            needs += [_request(ctx, role, f"events:{a}", [rule]) for a in ("PutTargets", "PutRule", "DescribeRule")]
        return needs
    raise UncheckableTask(f"{ctx.machine}/{state}: the check does not know the integration {target}")


def _states(states: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every state, those of Map item processors and Parallel branches included."""
    for name, spec in states.items():
        yield name, spec
        processor = spec.get("ItemProcessor") or spec.get("Iterator")
        if processor:
            if (processor.get("ProcessorConfig") or {}).get("Mode") == "DISTRIBUTED":
                raise UncheckableTask(f"{name}: a distributed Map (its child executions need their own check)")
            yield from _states(processor.get("States") or {})
        for branch in spec.get("Branches") or []:
            yield from _states(branch.get("States") or {})


def state_machine_needs(
    template: Template, account: Account, parameters: Mapping[str, str] | None = None
) -> list[Need]:
    """What each state machine's role must allow: its Tasks' calls, its logging and its tracing."""
    needs: list[Need] = []
    for logical_id, spec in template.state_machines(account, parameters).items():
        props = template.resources[logical_id].get("Properties") or {}
        ctx = _Context(account, logical_id, spec.arn, spec.name)
        definition = load_definition(spec.definition_path, spec.substitutions)
        for state, body in _states(definition["States"]):
            if body.get("Type") == "Task":
                needs += [
                    Need(f"{logical_id}/{state}", spec.role_arn, r)
                    for r in _task_needs(ctx, spec.role_arn, state, body)
                ]
        if (props.get("Logging") or {}).get("Destinations"):
            needs += [
                Need(f"{logical_id} Logging", spec.role_arn, _request(ctx, spec.role_arn, a, [Resource("*")]))
                for a in LOG_DELIVERY
            ]
        if (props.get("Tracing") or {}).get("Enabled") is True:
            needs += [
                Need(f"{logical_id} Tracing", spec.role_arn, _request(ctx, spec.role_arn, a, [Resource("*")]))
                for a in XRAY
            ]
    return needs


# --- rules -------------------------------------------------------------------------------------


def _rule_names(deployed: Template, resolver: Resolver, account: Account) -> None:
    """A rule's ARN: rule/<name> on the default bus, rule/<bus>/<name> on another."""
    for logical_id, resource in deployed.of_type("AWS::Events::Rule").items():
        props = resource.get("Properties") or {}
        bus = resolver.resolve(props["EventBusName"]) if props.get("EventBusName") else "default"
        name = str(props.get("Name") or logical_id)
        path = f"rule/{name}" if bus == "default" else f"rule/{bus}/{name}"
        arn = f"arn:{account.partition}:events:{account.region}:{account.account_id}:{path}"
        resolver.add(logical_id, Names(ref=name, attributes={"Arn": arn}))


def _queue_policy(deployed: Template, resolver: Resolver, queue_arn: str) -> list[PolicyDocument]:
    """The statements of the queue's resource policies that name EventBridge as their principal."""
    documents = []
    for resource in deployed.of_type("AWS::SQS::QueuePolicy").values():
        props = resource.get("Properties") or {}
        queues = [str(q) for q in resolver.resolve(props.get("Queues") or [])]
        arns = [_queue_arn(resolver.account, q) for q in queues]
        if queue_arn not in arns:
            continue
        document = resolver.resolve(props["PolicyDocument"])
        statements = document.get("Statement", [])
        for statement in statements if isinstance(statements, list) else [statements]:
            services = (statement.get("Principal") or {}).get("Service", [])
            if "events.amazonaws.com" in (services if isinstance(services, list) else [services]):
                documents.append({"Version": "2012-10-17", "Statement": [statement]})
    return documents


def check(template: Template, account: Account, parameters: Mapping[str, str] | None = None) -> list[Denial]:
    """Every call a state machine's role or a rule target's role must be allowed and is not."""
    deployed = sam_deployed(template, account, parameters)
    roles = role_policies(deployed, account, parameters)
    denials = []
    for need in state_machine_needs(template, account, parameters):
        if need.role not in roles:
            raise TemplateError(f"{need.where}: the role {need.role} is not one the stack deploys")
        decision = evaluate(roles[need.role], need.request)
        if not decision.allowed:
            denials.append(Denial(need, decision))
    resolver = deployed.resolver(account, parameters)
    _rule_names(deployed, resolver, account)
    for logical_id, resource in deployed.of_type("AWS::Events::Rule").items():
        rule_arn = resolver.get_att(logical_id, "Arn")
        for target in (resource.get("Properties") or {}).get("Targets") or []:
            target_arn = str(resolver.resolve(target["Arn"]))
            where = f"rule {logical_id} -> {target_arn.rsplit(':', 1)[-1]}"
            if ":states:" in target_arn and ":stateMachine:" in target_arn:
                if "RoleArn" not in target:
                    raise TemplateError(f"{where}: a state machine target needs a RoleArn")
                role = str(resolver.resolve(target["RoleArn"]))
                request = Request(role, "states:StartExecution", (Resource(target_arn, "statemachine"),))
                decision = evaluate(roles.get(role, []), request)
                if not decision.allowed:
                    denials.append(Denial(Need(where, role, request), decision))
            dead_letters = (target.get("DeadLetterConfig") or {}).get("Arn")
            if dead_letters:
                queue_arn = str(resolver.resolve(dead_letters))
                request = Request(
                    "events.amazonaws.com",
                    "sqs:SendMessage",
                    (Resource(queue_arn, "queue"),),
                    {"aws:SourceArn": [rule_arn]},
                )
                decision = evaluate(_queue_policy(deployed, resolver, queue_arn), request)
                if not decision.allowed:
                    need = Need(f"{where} dead letters", f"queue-policy/{queue_arn.rsplit(':', 1)[-1]}", request)
                    denials.append(Denial(need, decision))
    return denials


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    template = Template.load(Path(args[0]) if args else DEFAULT_TEMPLATE)
    denials = check(template, Account(region="us-east-1", account_id="123456789012"))
    for denial in denials:
        print(f"error: {denial}")
    print(f"State machine and rule target IAM: {len(denials)} denial(s) in {template.path.name}")
    return 1 if denials else 0


if __name__ == "__main__":
    raise SystemExit(main())
