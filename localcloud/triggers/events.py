"""EventBridge in the twin as AWS runs it for podcidr's rules (twin only; patches moto in-process).

moto's events backend matches rules' patterns but delivers only to log groups, archives, SQS and
other buses; a Step Functions or SNS target raises NotImplementedError. And nothing in moto emits
the events podcidr's rules listen to. This module adds, for the accounts and regions a twin
registers (`activate`):

- delivery to Step Functions targets (StartExecution with the target's InputTransformer, InputPath
  or Input; a failed start goes to the target's dead-letter queue) and to SNS targets;
- the CloudTrail record of EKS CreateCluster ("AWS API Call via CloudTrail"), in the EKS user guide's
  shape (`clusterName` in the request and in the response's cluster, tags in both), put on the
  default bus when moto's EKS creates a cluster, and with `errorCode` when it refuses to;
- "Step Functions Execution Status Change" events when a standard execution ends (AWS emits none
  for express workflows).

Pattern matching is moto's own (`moto.events.models.EventPattern`). Everything delivered is kept
in `deliveries()` for the twin's state and for tests.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from localcloud.triggers.interpreter import iso8601

_lock = threading.RLock()
_active: set[tuple[str, str]] = set()
_deliveries: list[Delivery] = []
_patched = False

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"
STATUS_CHANGE_DETAIL_TYPE = "Step Functions Execution Status Change"


@dataclass
class Delivery:
    """One event delivered (or not) to one target."""

    rule: str
    target: str
    """The target's ARN."""
    payload: Any
    """What the target was given (the transformed input)."""
    ok: bool = True
    result: str | None = None
    """The execution ARN started, the SNS message id, or the error."""
    source: str = ""
    detail_type: str = ""
    at: str = field(default_factory=lambda: iso8601(datetime.now(UTC)))


def activate(account_id: str, region: str) -> None:
    """Deliver and emit events for this account and region (installs the patches once)."""
    _install()
    with _lock:
        _active.add((account_id, region))


def deactivate(account_id: str, region: str) -> None:
    with _lock:
        _active.discard((account_id, region))


def is_active(account_id: str, region: str) -> bool:
    with _lock:
        return (account_id, region) in _active


def deliveries() -> list[Delivery]:
    with _lock:
        return list(_deliveries)


def clear_deliveries() -> None:
    with _lock:
        _deliveries.clear()


# --- input of a target, as EventBridge computes it ----------------------------------------------


def _json_path(document: Any, path: str) -> Any:
    """The value at a simple JSONPath ($, $.a.b, $.a[0]) of the event, or None."""
    if path in ("$", ""):
        return document
    value = document
    for part in path.removeprefix("$.").replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            index = int(part.strip("[]"))
            value = value[index] if isinstance(value, list) and -len(value) <= index < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value


def target_input(target: dict[str, Any], event: dict[str, Any]) -> Any:
    """What EventBridge passes to a target for this event: Input, InputPath, InputTransformer or the event."""
    if target.get("Input") is not None:
        return json.loads(target["Input"])
    if target.get("InputPath"):
        return _json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if transformer:
        from moto.events.utils import EventTemplateParser

        return EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,  # type: ignore[arg-type]
        )
    return event


# --- delivery ----------------------------------------------------------------------------------


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 else ""


def _record(delivery: Delivery) -> None:
    with _lock:
        _deliveries.append(delivery)


def _dead_letter(rule: Any, target: dict[str, Any], event: dict[str, Any], error: str) -> None:
    queue_arn = (target.get("DeadLetterConfig") or {}).get("Arn")
    if not queue_arn:
        return
    from moto.sqs.models import sqs_backends

    _, _, _, region, account, name = queue_arn.split(":", 5)
    # A missing queue loses the event, as on AWS.
    with contextlib.suppress(Exception):
        sqs_backends[account][region].send_message(
            name,
            json.dumps(event, default=str),
            message_attributes={
                "RULE_ARN": {"DataType": "String", "StringValue": rule.arn},
                "TARGET_ARN": {"DataType": "String", "StringValue": target["Arn"]},
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": error[:256]},
            },
        )


def _deliver_state_machine(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    from moto.stepfunctions.responses import get_backend

    arn = target["Arn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    payload = target_input(target, event)
    delivery = Delivery(
        rule.name, arn, payload, source=event.get("source", ""), detail_type=event.get("detail-type", "")
    )
    try:
        execution = get_backend(account, region).start_execution(
            arn, name=str(uuid.uuid4()), execution_input=json.dumps(payload)
        )
        delivery.result = str(getattr(execution, "exec_arn", None) or execution.execution_arn)
    except Exception as error:  # noqa: BLE001 - EventBridge reports it to the dead-letter queue
        delivery.ok, delivery.result = False, f"{type(error).__name__}: {error}"
        _dead_letter(rule, target, event, delivery.result)
    _record(delivery)


def _deliver_topic(rule: Any, target: dict[str, Any], event: dict[str, Any]) -> None:
    from moto.sns.models import sns_backends

    arn = target["Arn"]
    _, _, _, region, account, _ = arn.split(":", 5)
    payload = target_input(target, event)
    message = payload if isinstance(payload, str) else json.dumps(payload)
    delivery = Delivery(
        rule.name, arn, payload, source=event.get("source", ""), detail_type=event.get("detail-type", "")
    )
    try:
        delivery.result = sns_backends[account][region].publish(message, arn=arn)
    except Exception as error:  # noqa: BLE001
        delivery.ok, delivery.result = False, f"{type(error).__name__}: {error}"
        _dead_letter(rule, target, event, delivery.result)
    _record(delivery)


_HANDLED = {"states": _deliver_state_machine, "sns": _deliver_topic}


# --- emitted events ----------------------------------------------------------------------------


def put_event(account_id: str, region: str, source: str, detail_type: str, detail: dict[str, Any]) -> None:
    """Put an event on the default bus of this account and region (as an AWS service does)."""
    from moto.events.models import events_backends

    events_backends[account_id][region].put_events(
        [{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail, default=str)}]
    )


def cloudtrail_create_cluster(
    account_id: str,
    region: str,
    name: str,
    tags: dict[str, str] | None,
    request: dict[str, Any] | None = None,
    *,
    members: str = "documented",
    error: tuple[str, str] | None = None,
) -> dict[str, Any]:
    """The detail of CloudTrail's record of an EKS CreateCluster.

    `members="documented"` names the cluster as the EKS user guide's example record does
    ("Analyze AWS CloudTrail log file entries": `requestParameters.clusterName`,
    `responseElements.cluster.clusterName`); `"api"` as the API's members (`name`). The tags are in
    the request and in the new cluster (both API shapes have them). A failed call (`error`: code,
    message) has `errorCode` and `errorMessage` and no `responseElements`.
    """
    key = "clusterName" if members == "documented" else "name"
    now = datetime.now(UTC)
    request_parameters: dict[str, Any] = {
        **{k: v for k, v in (request or {}).items() if v is not None},
        key: name,
        **({"tags": dict(tags)} if tags else {}),
    }
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "accountId": account_id},
        "eventTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "eks.amazonaws.com",
        "eventName": "CreateCluster",
        "awsRegion": region,
        "sourceIPAddress": "127.0.0.1",
        "userAgent": "podcidr-twin",
        "requestParameters": request_parameters,
        "requestID": str(uuid.uuid4()),
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account_id,
        "eventCategory": "Management",
    }
    if error is not None:
        record["errorCode"], record["errorMessage"] = error
        return record
    record["responseElements"] = {
        "cluster": {
            key: name,
            "arn": f"arn:aws:eks:{region}:{account_id}:cluster/{name}",
            "createdAt": round(now.timestamp(), 3),
            "status": "CREATING",
            "certificateAuthority": {},
            **{k: v for k, v in (request or {}).items() if k in ("roleArn", "version") and v is not None},
            **({"tags": dict(tags)} if tags else {}),
        }
    }
    return record


def _epoch_ms(moment: Any) -> int | None:
    return int(moment.timestamp() * 1000) if isinstance(moment, datetime) else None


def status_change_detail(execution: Any) -> dict[str, Any]:
    """The detail of a "Step Functions Execution Status Change" event for a moto execution."""
    status = str(execution.exec_status.value if hasattr(execution.exec_status, "value") else execution.exec_status)
    output = execution.output
    return {
        "executionArn": execution.exec_arn,
        "stateMachineArn": execution.state_machine.arn,
        "name": execution.name,
        "status": status,
        "startDate": _epoch_ms(execution.start_date),
        "stopDate": _epoch_ms(execution.stop_date),
        "input": execution.input_data if isinstance(execution.input_data, str) else json.dumps(execution.input_data),
        "output": None if output is None else (output if isinstance(output, str) else json.dumps(output)),
        "inputDetails": {"included": True},
        "outputDetails": {"included": True} if output is not None else None,
        "error": execution.error,
        "cause": execution.cause,
    }


# --- the patches -------------------------------------------------------------------------------


def _install() -> None:
    global _patched
    with _lock:
        if _patched:
            return
        from moto.eks.models import EKSBackend
        from moto.events.models import Rule
        from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

        send_to_targets = Rule.send_to_targets

        def send_to_targets_with_twin(self: Any, original_event: Any, transform_input: bool = True) -> None:
            if not is_active(self.account_id, self.region_name):
                send_to_targets(self, original_event, transform_input)
                return
            ours = [t for t in self.targets if _service(t["Arn"]) in _HANDLED]
            if ours and self.event_pattern.matches_event(original_event):
                event = json.loads(json.dumps(original_event, default=str))
                for target in ours:
                    _HANDLED[_service(target["Arn"])](self, target, event)
            others = [t for t in self.targets if _service(t["Arn"]) not in _HANDLED]
            if others:
                kept = self.targets
                self.targets = others
                try:
                    send_to_targets(self, original_event, transform_input)
                finally:
                    self.targets = kept

        create_cluster = EKSBackend.create_cluster

        def create_cluster_with_trail(self: Any, *args: Any, **kwargs: Any) -> Any:
            active = is_active(self.account_id, self.region_name)
            name = kwargs.get("name") or (args[0] if args else "")
            tags = kwargs.get("tags") or {}
            try:
                cluster = create_cluster(self, *args, **kwargs)
            except Exception as refused:
                if active:  # CloudTrail records failed calls too: errorCode, no responseElements
                    code = str(getattr(refused, "error_type", None) or type(refused).__name__)
                    detail = cloudtrail_create_cluster(
                        self.account_id, self.region_name, str(name), tags, error=(code, str(refused))
                    )
                    put_event(self.account_id, self.region_name, "aws.eks", CLOUDTRAIL_DETAIL_TYPE, detail)
                raise
            if active:
                tags = tags or getattr(cluster, "tags", None) or {}
                request = {"version": getattr(cluster, "version", None), "roleArn": getattr(cluster, "role_arn", None)}
                detail = cloudtrail_create_cluster(self.account_id, self.region_name, cluster.name, tags, request)
                put_event(self.account_id, self.region_name, "aws.eks", CLOUDTRAIL_DETAIL_TYPE, detail)
            return cluster

        terminated = BaseExecutionWorkerCommunication.terminated

        def terminated_with_event(self: Any) -> None:
            terminated(self)
            execution = self.execution
            if str(getattr(execution.sm_type, "value", execution.sm_type)) != "STANDARD":
                return
            if is_active(execution.account_id, execution.region_name):
                put_event(
                    execution.account_id,
                    execution.region_name,
                    "aws.states",
                    STATUS_CHANGE_DETAIL_TYPE,
                    status_change_detail(execution),
                )

        setattr(Rule, "send_to_targets", send_to_targets_with_twin)  # noqa: B010
        setattr(EKSBackend, "create_cluster", create_cluster_with_trail)  # noqa: B010
        setattr(BaseExecutionWorkerCommunication, "terminated", terminated_with_event)  # noqa: B010
        _patched = True


def matching(pattern: dict[str, Any] | str, event: dict[str, Any]) -> bool:
    """Whether an EventBridge pattern matches an event, by moto's matcher (the twin's EventBridge)."""
    from moto.events.models import EventPattern

    raw = pattern if isinstance(pattern, str) else json.dumps(pattern)
    return bool(EventPattern.load(raw).matches_event(event))  # type: ignore[arg-type]


def iter_state_machine_deliveries(rule_suffix: str | None = None) -> Iterator[Delivery]:
    """Deliveries that started executions (optionally only of rules whose name ends so)."""
    for delivery in deliveries():
        if _service(delivery.target) == "states" and (rule_suffix is None or delivery.rule.endswith(rule_suffix)):
            yield delivery
