"""The twin's pace: what AWS and Kubernetes count in real minutes, the twin counts in its own timing.

`timing.targetRegistration` stands for an NLB IP target's registration on AWS (90 s at the least,
AWS-FACTS 8); other durations of the same world are scaled by the same ratio, so a scenario that
makes registration slow makes draining slow too:

- a target group's deregistration delay (`deregistration_delay.timeout_seconds`, 300 s by default):
  how long a deregistered target stays `draining`;
- a pod's termination grace period (`terminationGracePeriodSeconds`, 30 s by default): how long an
  evicted pod stays terminating before the kubelet removes it.
"""

from __future__ import annotations

from localcloud.scenario import TimingSpec

AWS_TARGET_REGISTRATION = 90.0
"""Seconds an NLB IP target takes to register on AWS, at the least (aws-load-balancer-controller #1834)."""
DEFAULT_DEREGISTRATION_DELAY = 300
DEFAULT_TERMINATION_GRACE = 30


def target_registration(timing: TimingSpec) -> float:
    """Twin seconds a new target stays `initial` (default: the load balancer's own delay)."""
    return timing.load_balancer if timing.target_registration is None else timing.target_registration


def scaled(timing: TimingSpec, aws_seconds: float) -> float:
    """Twin seconds standing for `aws_seconds` of AWS (or Kubernetes) time."""
    return aws_seconds * target_registration(timing) / AWS_TARGET_REGISTRATION
