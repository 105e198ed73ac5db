"""Whether the AWS Load Balancer Controller has refused to build a load balancer (DESIGN.md step 11).

The controller reports a model it cannot build (two subnets in one Availability Zone, fixed
addresses that do not fit the subnets, an unusable security group) as a Warning event
`FailedBuildModel`, and one ELBv2 refuses (an address already in use, a security group it cannot
attach) as `FailedDeployModel`; it then retries for ever, so waiting for the DNS name is futile.
An ELBv2 throttle or server error is also reported as FailedDeployModel, but passes: that one is
not a refusal.
"""

from __future__ import annotations

from typing import Any

REFUSALS = ("FailedBuildModel", "FailedDeployModel")
PASSING = ("Throttling", "RequestLimitExceeded", "ServiceUnavailable", "InternalFailure", "InternalError")
"""Error codes of a FailedDeployModel that a later reconcile gets past."""


def controller_refusal(obj: dict[str, Any], events: list[dict[str, Any]]) -> str | None:
    """The controller's newest refusal of this very object (same uid), as `Reason: message`, if any
    and if the load balancer has not been published since."""
    uid = obj.get("metadata", {}).get("uid")
    if obj.get("status", {}).get("loadBalancer", {}).get("ingress"):
        return None
    mine = [
        event
        for event in events
        if event.get("type") == "Warning"
        and event.get("reason") in REFUSALS
        and (uid is None or event.get("involvedObject", {}).get("uid") in (None, uid))
    ]
    for event in sorted(mine, key=_when, reverse=True):
        message = str(event.get("message", ""))
        if event.get("reason") == "FailedDeployModel" and any(code in message for code in PASSING):
            continue
        return f"{event['reason']}: {message}"
    return None


def _when(event: dict[str, Any]) -> str:
    return str(event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp") or "")
