"""`make bench ARGS="--fleet 20 --throttle 0.1"`: many small clusters migrated at once by the
FleetStateMachine in one twin, a fraction of the workflow's AWS calls throttled.

Each cluster has a VPC of its own (a VPC holds at most 5 blocks: twenty pod blocks do not fit in one),
one nodegroup of one node, no workload and no load-balancer verification, so twenty fit on a small
machine. The figures: clusters succeeded and failed, throttled calls (each retried by the SDK or the
state machine), the migrations' Task retries, wall time; and what would betray a race: a duplicate
pod block, pod subnet, ENIConfig or nodegroup, a lock left behind or a MigrationInProgress.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from rich.console import Console
from rich.table import Table

from localcloud.cluster import ClusterFleet
from localcloud.cluster.cni import ENICONFIGS
from localcloud.scenario import Scenario, parse_scenario
from localcloud.stepfunctions import ExecutionResult
from localcloud.twin import Twin

FLEET_POLL_SECONDS = 2
"""A wait gives up after 90 checks: at 2 s, three minutes, room for a loaded machine."""


def fleet_scenario(clusters: int, throttle: float = 0.0, seed: int = 1) -> Scenario:
    members = [
        {
            "name": cluster_name(i),
            "vpc": {"cidr": f"10.{i}.0.0/16"},
            "loadBalancerController": False,
            "nodegroups": [{"name": "ng", "minSize": 1, "desiredSize": 1, "maxSize": 2}],
            "workloads": [],
        }
        for i in range(1, clusters + 1)
    ]
    faults = [{"operation": "*", "rate": throttle, "seed": seed}] if throttle else []
    return parse_scenario({"clusters": members, "faults": faults})


def cluster_name(index: int) -> str:
    return f"fleet-{index:02d}"


@dataclass
class FleetFigures:
    clusters: int
    throttle: float
    succeeded: int = 0
    failed: int = 0
    notStarted: int = 0  # noqa: N815 - the JSON figure's name
    throttledCalls: int = 0  # noqa: N815
    taskRetries: int = 0  # noqa: N815
    wallSeconds: float = 0.0  # noqa: N815
    """The fleet execution, start to end."""
    setupSeconds: float = 0.0  # noqa: N815
    """Building the twin (every VPC and cluster, their API servers and nodes), before the execution."""
    status: str = ""
    duplicates: list[str] = field(default_factory=list)
    """What a race would leave: more than one pod block, pod subnet per AZ, ENIConfig per AZ or nodegroup."""
    locksLeft: int = 0  # noqa: N815
    errors: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    """Each failed cluster: {clusterName, error, cause}."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def run_fleet(clusters: int, throttle: float = 0.0, *, seed: int = 1, concurrency: int | None = None) -> FleetFigures:
    scenario = fleet_scenario(clusters, throttle, seed)
    names = [cluster_name(i) for i in range(1, clusters + 1)]
    figures = FleetFigures(clusters=clusters, throttle=throttle)
    fleet_input = {
        "clusters": names,
        "concurrency": concurrency or clusters,
        "input": {"pollSeconds": FLEET_POLL_SECONDS, "verify": {"loadBalancers": []}},
    }
    building = time.monotonic()
    with Twin(scenario, state_machine="FleetStateMachine") as twin:
        started = time.monotonic()
        figures.setupSeconds = round(started - building, 1)
        result = twin.execute(fleet_input, poll=1.0)
        figures.wallSeconds = round(time.monotonic() - started, 1)
        figures.status = result.status
        _outcomes(figures, result)
        figures.throttledCalls = len(twin.aws.faults.fired)
        figures.taskRetries = _task_retries(twin)
        figures.duplicates = _duplicates(twin, names)
        figures.locksLeft = _locks_left(twin)
    return figures


def _outcomes(figures: FleetFigures, result: ExecutionResult) -> None:
    report = result.output or {}
    outcomes = report.get("clusters") or []
    figures.succeeded = sum(c["outcome"] == "succeeded" for c in outcomes)
    figures.failed = sum(c["outcome"] == "failed" for c in outcomes)
    figures.notStarted = sum(c["outcome"] == "notStarted" for c in outcomes)
    figures.errors = dict(Counter(str(c.get("error")) for c in outcomes if c["outcome"] == "failed"))
    figures.failures = [
        {key: c.get(key) for key in ("clusterName", "error", "cause")} for c in outcomes if c["outcome"] == "failed"
    ]
    if result.status != "SUCCEEDED":
        figures.failures.append({"clusterName": None, "error": result.error, "cause": result.cause})


def _task_retries(twin: Twin) -> int:
    """Task attempts past the first, in every execution of the twin (fleet, migrations, replacements)."""
    sfn = twin.aws.admin_session().client("stepfunctions")
    return sum(
        _retries_in(sfn, execution["executionArn"])
        for machine in sfn.list_state_machines()["stateMachines"]
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]
    )


def _retries_in(sfn: Any, arn: str) -> int:
    retries = attempts = 0
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        for event in page["events"]:
            if event["type"] == "TaskStateEntered":
                attempts = 0
            elif event["type"] in ("TaskScheduled", "LambdaFunctionScheduled"):
                attempts += 1
                retries += attempts > 1
    return retries


def _duplicates(twin: Twin, names: list[str]) -> list[str]:
    session = twin.aws.admin_session()
    ec2, eks = session.client("ec2"), session.client("eks")
    found = []
    fleet = next(c for c in twin.components if isinstance(c, ClusterFleet))
    for name in names:
        vpc_id = twin.aws.builts[name].vpc_id
        vpc = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]
        blocks = [a for a in vpc["CidrBlockAssociationSet"] if a["CidrBlockState"]["State"] == "associated"]
        if len(blocks) != 2:
            found.append(f"{name}: {len(blocks)} associated blocks (the primary and one pod block expected)")
        owned = ec2.describe_subnets(Filters=[{"Name": "tag:podcidr:cluster", "Values": [name]}])["Subnets"]
        per_az = Counter(s["AvailabilityZone"] for s in owned)
        if sorted(per_az.values()) != [1, 1, 1]:
            found.append(f"{name}: pod subnets per AZ {dict(per_az)}")
        eniconfigs = fleet.clusters[name].store.list(ENICONFIGS)
        if len(eniconfigs) != 3:
            found.append(f"{name}: {len(eniconfigs)} ENIConfigs")
        nodegroups = eks.list_nodegroups(clusterName=name)["nodegroups"]
        if len(nodegroups) != 1:
            found.append(f"{name}: nodegroups {nodegroups}")
    return found


def _locks_left(twin: Twin) -> int:
    """Items left in the stack's tables: a held migration lock (an item of the lock table with an
    executionArn; one without holds no lock, only ExecutionEnded's claims) or a fleet's admission item."""
    dynamodb = twin.aws.admin_session().client("dynamodb")
    items = [item for table in dynamodb.list_tables()["TableNames"] for item in dynamodb.scan(TableName=table)["Items"]]
    return sum(1 for item in items if "executionArn" in item or "clusterName" not in item)


def print_fleet(console: Console, figures: FleetFigures) -> None:
    table = Table(title=f"fleet of {figures.clusters} clusters at once, {figures.throttle:.0%} of AWS calls throttled")
    for column in ("status", "succeeded", "failed", "not started", "throttled calls", "task retries", "wall s"):
        table.add_column(column, justify="left" if column == "status" else "right")
    table.add_row(
        figures.status,
        str(figures.succeeded),
        str(figures.failed),
        str(figures.notStarted),
        str(figures.throttledCalls),
        str(figures.taskRetries),
        f"{figures.wallSeconds:.1f}",
    )
    console.print(table)
    console.print(
        f"duplicates: {'; '.join(figures.duplicates) or 'none'}; locks left: {figures.locksLeft}; "
        f"twin built in {figures.setupSeconds:.1f}s (not in wall)"
    )
    for failure in figures.failures:
        console.print(f"failed: {failure['clusterName']}: {failure['error']}: {failure['cause']}")
