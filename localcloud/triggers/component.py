"""The triggers' part of the twin: what template.yaml deploys around the migration state machine.

A twin component (localcloud.twin): once LocalAws runs it creates, from template.yaml as the
stack would,
- the DynamoDB tables (the lock table), SNS topics and SQS queues;
- every other state machine (ExecutionEnded), on moto's interpreter;
- the event buses (the migration request bus) with their resource policies;
- every `EventBridgeRule` event of a state machine as a rule and target on its bus (pattern,
  InputTransformer or InputPath, retry policy, dead-letter queue), delivered by
  localcloud.triggers.events;
- a CloudFormation stack named like the twin's stack (podcidr) whose outputs are the template's
  Outputs, so that `podcidr --endpoint-url <twin>` finds the state machine as it would on AWS (an
  API's execute-api URL becomes where the twin serves it, localcloud.apigateway.urls).

Its `--state` part: the lock table's items, the notifications published, the dead letters and the
events delivered to targets.
"""

from __future__ import annotations

import contextlib
import json
import warnings
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from localcloud.apigateway.urls import on_twin
from localcloud.template import Account, Resolver, Template, TemplateError
from localcloud.triggers import events
from localcloud.triggers.interpreter import patch_interpreter

if TYPE_CHECKING:
    import boto3

    from localcloud.twin import Twin

MIGRATION_STATE_MACHINE = "MigrationStateMachine"
PLACEHOLDER_RESOURCE = "AWS::CloudFormation::WaitConditionHandle"
# moto warns that it cannot build the placeholder (the stack exists only for its outputs): not news to a user.
warnings.filterwarnings("ignore", message=f"Tried to parse {PLACEHOLDER_RESOURCE}", category=UserWarning)


class Triggers:
    """Twin component: lock table, notifications, rules and their delivery, stack outputs."""

    name = "triggers"

    def __init__(self, template: Template, parameters: dict[str, str] | None = None) -> None:
        self.template = template
        self.parameters = dict(parameters or {})
        self._session: boto3.Session | None = None
        self._endpoint_url = ""
        self._account: Account | None = None
        self.tables: list[str] = []
        self.topics: list[str] = []
        self.queues: dict[str, str] = {}
        """Queue ARN -> URL."""
        self.rules: list[dict[str, Any]] = []

    def middlewares(self) -> list[Any]:
        return []

    # --- start / stop ---------------------------------------------------------------------------

    def start(self, twin: Twin) -> None:
        patch_interpreter()
        parameters = {**self.parameters, **dict(getattr(twin, "parameters", None) or {})}
        self._account = Account(twin.region, str(twin.aws.account_id))
        self._session = twin.aws.admin_session()
        self._endpoint_url = twin.endpoint_url
        resolver = self.template.resolver(self._account, parameters)
        events.activate(self._account.account_id, self._account.region)
        self._create_tables(resolver)
        self._create_topics(resolver)
        self._create_queues(resolver)
        self._deploy_other_state_machines(parameters, getattr(twin, "state_machine_id", MIGRATION_STATE_MACHINE))
        self._create_buses(resolver)
        try:
            self._create_rules(resolver)
            self._create_stack_rules(resolver)
        except BaseException:
            self.stop()  # the twin does not stop a component whose start failed
            raise
        self.register_stack(resolver)

    def stop(self) -> None:
        if self._account is not None:
            events.deactivate(self._account.account_id, self._account.region)
        events.clear_deliveries()

    def _client(self, service: str) -> Any:
        assert self._session is not None
        return self._session.client(service, endpoint_url=self._endpoint_url)  # type: ignore[call-overload]

    def _create_tables(self, resolver: Resolver) -> None:
        dynamodb = self._client("dynamodb")
        for logical_id, resource in self.template.of_type("AWS::DynamoDB::Table").items():
            props = resolver.resolve(resource.get("Properties") or {})
            name = resolver.names(logical_id).ref
            dynamodb.create_table(
                TableName=name,
                KeySchema=props["KeySchema"],
                AttributeDefinitions=props["AttributeDefinitions"],
                BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"),
            )
            self.tables.append(name)

    def _create_topics(self, resolver: Resolver) -> None:
        sns = self._client("sns")
        for logical_id in self.template.of_type("AWS::SNS::Topic"):
            names = resolver.names(logical_id)
            self.topics.append(sns.create_topic(Name=names.attributes["TopicName"])["TopicArn"])

    def _create_queues(self, resolver: Resolver) -> None:
        sqs = self._client("sqs")
        for logical_id in self.template.of_type("AWS::SQS::Queue"):
            names = resolver.names(logical_id)
            self.queues[names.attributes["Arn"]] = sqs.create_queue(QueueName=names.attributes["QueueName"])["QueueUrl"]

    def _deploy_other_state_machines(self, parameters: dict[str, str], runners: str) -> None:
        """Every state machine but the one the twin's runner deploys (`runners`)."""
        from localcloud.stepfunctions import StateMachineRunner

        assert self._account is not None and self._session is not None
        for logical_id, spec in self.template.state_machines(self._account, parameters).items():
            if logical_id != runners:
                StateMachineRunner(self._session, self._endpoint_url, spec).deploy()

    def _create_buses(self, resolver: Resolver) -> None:
        """The template's event buses, with their resource policies (AWS::Events::EventBusPolicy)."""
        client = self._client("events")
        for logical_id in self.template.of_type("AWS::Events::EventBus"):
            with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                client.create_event_bus(Name=resolver.ref(logical_id))
        for resource in self.template.of_type("AWS::Events::EventBusPolicy").values():
            props = resolver.resolve(resource.get("Properties") or {})
            statement = {"Sid": props["StatementId"], **props["Statement"]}
            policy = {"Version": "2012-10-17", "Statement": [statement]}
            client.put_permission(EventBusName=props["EventBusName"], Policy=json.dumps(policy))

    def _create_rules(self, resolver: Resolver) -> None:
        client = self._client("events")
        for logical_id, resource in self.template.of_type("AWS::Serverless::StateMachine").items():
            props = resource.get("Properties") or {}
            for event_name, event in (props.get("Events") or {}).items():
                if event.get("Type") != "EventBridgeRule":
                    continue
                rule = resolver.resolve(event.get("Properties") or {})
                bus = str(rule.get("EventBusName") or "default")
                if bus != "default":
                    with contextlib.suppress(client.exceptions.ResourceAlreadyExistsException):
                        client.create_event_bus(Name=bus)
                name = str(rule.get("RuleName") or f"{logical_id}{event_name}")
                client.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(rule["Pattern"]), State="ENABLED")
                target: dict[str, Any] = {"Id": f"{logical_id}StepFunctionsTarget", "Arn": resolver.ref(logical_id)}
                for key in ("Input", "InputPath", "InputTransformer", "RetryPolicy"):
                    if key in rule:
                        target[key] = rule[key]
                dead_letter = rule.get("DeadLetterConfig") or {}
                if "Arn" in dead_letter:
                    target["DeadLetterConfig"] = {"Arn": dead_letter["Arn"]}
                client.put_targets(Rule=name, EventBusName=bus, Targets=[target])
                self.rules.append({"name": name, "bus": bus, "pattern": rule["Pattern"], "target": target})

    def _create_stack_rules(self, resolver: Resolver) -> None:
        """The template's own AWS::Events::Rule resources, as CloudFormation creates them (PutRule, then
        PutTargets): a target EventBridge refuses (an Input that is not JSON) fails the stack."""
        client = self._client("events")
        assert self._account is not None
        for logical_id, resource in self.template.of_type("AWS::Events::Rule").items():
            rule = resolver.resolve(resource.get("Properties") or {})
            bus = str(rule.get("EventBusName") or "default")
            name = str(rule.get("Name") or f"{self._account.stack_name}-{logical_id}")
            client.put_rule(
                Name=name,
                EventBusName=bus,
                EventPattern=json.dumps(rule["EventPattern"]),
                State=str(rule.get("State") or "ENABLED"),
                Description=str(rule.get("Description") or ""),
            )
            client.put_targets(Rule=name, EventBusName=bus, Targets=rule.get("Targets") or [])

    def register_stack(self, resolver: Resolver) -> dict[str, str]:
        """A stack in moto's CloudFormation whose outputs are the template's (those the twin can know)."""
        outputs: dict[str, str] = {}
        for key, output in (self.template.document.get("Outputs") or {}).items():
            try:
                outputs[key] = on_twin(str(resolver.resolve(output["Value"])), self._endpoint_url)
            except TemplateError:
                continue
        body = {
            "AWSTemplateFormatVersion": "2010-09-09",
            "Description": "podcidr twin: the outputs of template.yaml (resources live in the twin)",
            "Resources": {"Placeholder": {"Type": PLACEHOLDER_RESOURCE}},
            "Outputs": {key: {"Value": value} for key, value in outputs.items()},
        }
        assert self._account is not None
        self._client("cloudformation").create_stack(StackName=self._account.stack_name, TemplateBody=json.dumps(body))
        return outputs

    # --- state ----------------------------------------------------------------------------------

    def locks(self) -> list[dict[str, str]]:
        """The locks held: items with an executionArn (an item with only a clean-up's mark or the notification's
        claim holds none)."""
        return [item for item in self.lock_items() if "executionArn" in item]

    def lock_items(self) -> list[dict[str, str]]:
        dynamodb = self._client("dynamodb")
        items: list[dict[str, str]] = []
        for table in self.tables:
            for item in dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]:
                items.append({key: next(iter(value.values())) for key, value in item.items()})
        return items

    def notifications(self) -> list[dict[str, Any]]:
        from moto.sns.models import sns_backends

        assert self._account is not None
        backend = sns_backends[self._account.account_id][self._account.region]
        sent: list[dict[str, Any]] = []
        for arn in self.topics:
            for message_id, message, subject, attributes, _group in backend.topics[arn].sent_notifications:
                try:
                    body: Any = json.loads(message)
                except ValueError:
                    body = message
                sent.append(
                    {"topic": arn, "id": message_id, "subject": subject, "message": body, "attributes": attributes}
                )
        return sent

    def dead_letters(self) -> list[dict[str, Any]]:
        sqs = self._client("sqs")
        letters: list[dict[str, Any]] = []
        for arn, url in self.queues.items():
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            letters.append({"queue": arn, "messages": int(attributes["Attributes"]["ApproximateNumberOfMessages"])})
        return letters

    def state(self) -> dict[str, Any]:
        return {
            "locks": self.locks(),
            "notifications": self.notifications(),
            "deadLetters": self.dead_letters(),
            "deliveries": [asdict(delivery) for delivery in events.deliveries()],
        }


def component(scenario: Any, template: Template) -> Triggers | None:
    """Factory for localcloud.twin.COMPONENTS: only for a template with the lock table."""
    if not template.of_type("AWS::DynamoDB::Table"):
        return None
    return Triggers(template)
