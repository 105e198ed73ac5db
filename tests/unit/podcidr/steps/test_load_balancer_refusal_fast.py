"""Whether the AWS Load Balancer Controller has refused a test load balancer (DESIGN.md step 11): its newest
Warning FailedBuildModel or FailedDeployModel of this very object, unless the load balancer was published since
or ELBv2 only throttled or failed for a while."""

from __future__ import annotations

from typing import Any

import pytest

from podcidr.steps.load_balancer_refusal import controller_refusal

UID = "5c0f9c35-2a5b-4d0e-9f3c-0b9e1b1f8a11"


def _service(uid: str | None = UID, published: bool = False) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "podcidr-private-nlb"}
    if uid:
        metadata["uid"] = uid
    status = {"loadBalancer": {"ingress": [{"hostname": "k8s-x.elb.amazonaws.com"}]}} if published else {}
    return {"metadata": metadata, "status": status}


def _event(reason: str, message: str, *, uid: str | None = UID, kind: str = "Warning", **when: str) -> dict[str, Any]:
    involved = {"kind": "Service", "name": "podcidr-private-nlb"} | ({"uid": uid} if uid else {})
    return {"type": kind, "reason": reason, "message": message, "involvedObject": involved, **when}


def test_the_newest_refusal_is_named_with_its_reason() -> None:
    events = [
        _event("FailedBuildModel", "older", lastTimestamp="2026-11-30T10:00:00Z"),
        _event(
            "FailedDeployModel", "InvalidConfigurationRequest: address in use", lastTimestamp="2026-11-30T11:00:00Z"
        ),
        _event("FailedBuildModel", "oldest", lastTimestamp="2026-11-30T09:00:00Z"),
    ]
    assert controller_refusal(_service(), events) == "FailedDeployModel: InvalidConfigurationRequest: address in use"


def test_event_time_and_first_timestamp_order_events_without_a_last_timestamp() -> None:
    events = [
        _event("FailedBuildModel", "by firstTimestamp", firstTimestamp="2026-11-30T10:00:00Z"),
        _event("FailedBuildModel", "by eventTime", eventTime="2026-11-30T11:00:00.000000Z"),
        _event("FailedBuildModel", "no time at all"),
    ]
    assert controller_refusal(_service(), events) == "FailedBuildModel: by eventTime"
    newest_last = [
        _event(
            "FailedBuildModel", "last wins", lastTimestamp="2026-11-30T12:00:00Z", firstTimestamp="2026-11-30T01:00:00Z"
        ),
        _event("FailedBuildModel", "first only", firstTimestamp="2026-11-30T11:00:00Z"),
    ]
    assert controller_refusal(_service(), newest_last) == "FailedBuildModel: last wins"


@pytest.mark.parametrize(
    "code", ["Throttling", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure", "InternalError"]
)
def test_a_passing_elbv2_fault_is_no_refusal_and_an_older_refusal_still_counts(code: str) -> None:
    passing = _event("FailedDeployModel", f"api error {code}: rate exceeded", lastTimestamp="2026-11-30T12:00:00Z")
    assert controller_refusal(_service(), [passing]) is None
    older = _event("FailedBuildModel", "two subnets in AZ a", lastTimestamp="2026-11-30T11:00:00Z")
    assert controller_refusal(_service(), [passing, older]) == "FailedBuildModel: two subnets in AZ a"


def test_a_build_refusal_mentioning_a_passing_code_is_still_a_refusal() -> None:
    event = _event("FailedBuildModel", "Throttling is not why: subnets conflict")
    assert controller_refusal(_service(), [event]) == "FailedBuildModel: Throttling is not why: subnets conflict"


def test_normal_events_other_reasons_and_other_objects_are_no_refusal() -> None:
    events = [
        _event("FailedBuildModel", "normal", kind="Normal"),
        _event("SuccessfullyReconciled", "fine"),
        _event("FailedBuildModel", "of a deleted object of the same name", uid="0ld"),
    ]
    assert controller_refusal(_service(), events) is None


def test_an_event_without_an_object_uid_or_an_object_without_one_counts() -> None:
    assert (
        controller_refusal(_service(), [_event("FailedBuildModel", "no uid", uid=None)]) == "FailedBuildModel: no uid"
    )
    assert controller_refusal(_service(uid=None), [_event("FailedBuildModel", "x", uid="any")]) == "FailedBuildModel: x"


def test_a_published_load_balancer_has_not_been_refused() -> None:
    assert controller_refusal(_service(published=True), [_event("FailedBuildModel", "earlier")]) is None
