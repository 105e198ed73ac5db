"""The FleetStateMachine's documents (DESIGN.md "Fleets"): its input, the plan of its Map, each
cluster's outcome and its output."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from podcidr.models.base import Contract

MAX_CONCURRENCY = 40
"""An inline Map runs at most 40 iterations at once (Step Functions quota)."""
MAX_CLUSTERS = 100
"""Each cluster's outcome is kept in the fleet's state, one Step Functions payload of at most 256 KiB:
100 outcomes of up to 2 KiB each (a failure's error and cause) fit with room to spare."""


class FleetInput(Contract):
    """JSON types only: no string read as a number or a boolean (as the migration's input)."""

    model_config = ConfigDict(**Contract.model_config, strict=True)

    clusters: list[str] = Field(min_length=1, max_length=MAX_CLUSTERS)
    concurrency: int = Field(default=1, ge=1, le=MAX_CONCURRENCY)
    halt_on_failure: bool = False
    input: dict[str, Any] = Field(default_factory=dict)
    """Merged under each cluster's migration input (clusterName is the cluster's)."""


class FleetItem(Contract):
    """One cluster's migration, as the Map starts it."""

    cluster_name: str
    execution_name: str
    """The child execution's name: the same on a retried start, so Step Functions starts it once."""
    input: dict[str, Any]


class FleetPlan(Contract):
    items: list[FleetItem]
    concurrency: int
    halt_on_failure: bool


Outcome = Literal["succeeded", "failed", "notStarted"]


class ClusterOutcome(Contract):
    cluster_name: str
    outcome: Outcome
    execution_arn: str | None = None
    error: str | None = None
    cause: str | None = None


class FleetReport(Contract):
    clusters: list[ClusterOutcome]
    succeeded: int
    failed: int
    not_started: int
