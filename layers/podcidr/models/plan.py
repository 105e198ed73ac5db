"""The Plan step's event and outcome ($.plan in the state data, docs/architecture.md)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from podcidr.models.base import Contract
from podcidr.models.migration import Migration

PlanStatus = Literal["CLUSTER_CREATING", "NODEGROUPS_CREATING", "PLANNED", "VALID"]
"""VALID: the input is valid (a `validateOnly` event: nothing was looked up)."""


class PlanEvent(Contract):
    """What the state machine gives Plan: the execution input as given, and the checks made so far."""

    input: Any = None
    polls: int = Field(default=0, ge=0)
    validate_only: bool = False
    """Only check the input (ValidateInput, before the lock is taken): no AWS call."""


class PlanOutcome(Contract):
    status: PlanStatus
    polls: int = 0
    """How often Plan has found the cluster (or its nodegroups) CREATING so far."""
    poll_seconds: int
    """Seconds the state machine waits before planning again (the input's pollSeconds)."""
    migration: Migration | None = None
    """The migration document once PLANNED."""
