"""Triggers end to end on the twin: rules start executions, one migration per cluster, locks
released on every way out, notifications."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from localcloud.triggers import events
from tests.triggers.conftest import triggers_of, wait_until

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"


def _cloudtrail(twin: Any, name: str, tags: dict[str, str] | None, **shape: Any) -> None:
    drop = shape.pop("drop", ())  # e.g. [("requestParameters", "tags")]: the record carries no such member
    detail = events.cloudtrail_create_cluster(str(twin.aws.account_id), twin.region, name, tags, **shape)
    for where, member in drop:
        detail.get(where, {}).pop(member, None)
    twin.aws.admin_session().client("events", endpoint_url=twin.endpoint_url).put_events(
        Entries=[{"Source": "aws.eks", "DetailType": events.CLOUDTRAIL_DETAIL_TYPE, "Detail": json.dumps(detail)}]
    )


def _migrations(twin: Any) -> list[str]:
    """The migration executions, oldest first."""
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    listed = sfn.list_executions(stateMachineArn=twin.runner.arn)["executions"]
    return [e["executionArn"] for e in sorted(listed, key=lambda e: e["startDate"])]


def _started_by(rule_suffix: str) -> list[str]:
    return [d.result or "" for d in events.iter_state_machine_deliveries(rule_suffix) if d.ok]


def _result(twin: Any, arn: str) -> Any:
    assert twin.runner is not None
    return twin.runner.wait(arn)


def _states(result: Any) -> list[str]:
    return [visit.name for visit in result.visits]


def _held_creating(twin: Any) -> Callable[[], None]:
    """The scenario's cluster CREATING until the test calls the function returned (no timer to race)."""
    with twin.aws.clock.lock:
        cluster = twin.aws.eks.backend.clusters[CLUSTER]
        cluster.status = "CREATING"

    def activate() -> None:
        with twin.aws.clock.lock:
            cluster.status = "ACTIVE"

    return activate


def _entered(twin: Any, arn: str, state: str) -> bool:
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return any(e.get("stateEnteredEventDetails", {}).get("name") == state for e in history)


def _just_created(twin: Any, seconds: float) -> None:
    """The scenario's cluster as CreateCluster leaves it: CREATING, ACTIVE `seconds` later."""
    with twin.aws.clock.lock:
        cluster = twin.aws.eks.backend.clusters[CLUSTER]
        cluster.status = "CREATING"
        twin.aws.clock.after(seconds, lambda: setattr(cluster, "status", "ACTIVE"))


def test_new_opted_in_cluster_in_creating_is_migrated_without_anyone_starting_it(twin_factory: Any) -> None:
    twin = twin_factory()
    activate = _held_creating(twin)
    try:
        _cloudtrail(twin, CLUSTER, {"podcidr:enabled": "true", "team": "a"})  # the EKS user guide's shape
        (arn,) = wait_until(lambda: _migrations(twin), timeout=15)
        wait_until(lambda: _entered(twin, arn, "WaitForClusterActive"), timeout=30)
    finally:
        activate()
    result = _result(twin, arn)
    states = _states(result)
    assert states[:5] == ["Start", "Lockable?", "ApplyDefaults", "ValidateInput", "TakeLock"]
    assert result.status == "SUCCEEDED", (result.error, result.cause)
    assert "WaitForClusterActive" in states
    assert result.output["clusterName"] == CLUSTER
    assert states[-2:] == ["ReleaseLock", "MigrationComplete"]
    assert triggers_of(twin).locks() == []


def test_cluster_created_without_the_tag_or_refused_starts_nothing(twin_factory: Any) -> None:
    twin = twin_factory()
    _cloudtrail(twin, "other", {"team": "a"})
    _cloudtrail(twin, "other2", {"podcidr:enabled": "false"})
    _cloudtrail(twin, "other3", None)
    _cloudtrail(twin, "refused", {"podcidr:enabled": "true"}, error=("ResourceLimitExceededException", "quota"))
    assert _started_by("NewCluster") == []  # the rules deliver as PutEvents returns: nothing was
    assert _migrations(twin) == []
    # The same rules, live, start the one record that opted in; sent last, so the others had their turn.
    _cloudtrail(twin, "opted-in", {"podcidr:enabled": "true"})
    assert len(_started_by("NewCluster")) == 1
    (arn,) = wait_until(lambda: _migrations(twin), timeout=60)
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    assert json.loads(sfn.describe_execution(executionArn=arn)["input"]) == {"clusterName": "opted-in"}


@pytest.mark.parametrize(
    ("members", "drop"),
    [
        ("documented", [("requestParameters", "tags")]),  # clusterName; the tag only on the new cluster
        ("api", []),  # name, as the API's members
    ],
)
def test_a_record_in_either_shape_starts_the_named_cluster_s_migration(
    twin_factory: Any, members: str, drop: list[tuple[str, str]]
) -> None:
    twin = twin_factory()
    _cloudtrail(twin, "no-such-cluster", {"podcidr:enabled": "true"}, members=members, drop=drop)
    (arn,) = wait_until(lambda: _migrations(twin), timeout=15)
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    assert json.loads(sfn.describe_execution(executionArn=arn)["input"]) == {"clusterName": "no-such-cluster"}


def test_eks_create_cluster_in_the_twin_emits_the_cloudtrail_event(twin_factory: Any) -> None:
    twin = twin_factory()
    session = twin.aws.admin_session()
    iam = session.client("iam", endpoint_url=twin.endpoint_url)
    role = iam.create_role(RoleName="eks-cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    eks = session.client("eks", endpoint_url=twin.endpoint_url)
    eks.create_cluster(
        name="fresh", roleArn=role, resourcesVpcConfig={"subnetIds": []}, tags={"podcidr:enabled": "true"}
    )
    eks.create_cluster(name="plain", roleArn=role, resourcesVpcConfig={"subnetIds": []})
    with pytest.raises(eks.exceptions.ResourceInUseException):  # a failed call is recorded (errorCode), starts nothing
        eks.create_cluster(
            name="fresh", roleArn=role, resourcesVpcConfig={"subnetIds": []}, tags={"podcidr:enabled": "true"}
        )
    assert len(_started_by("NewCluster")) == 1  # the rules deliver as PutEvents returns: "plain" and the refusal not
    (arn,) = wait_until(lambda: _migrations(twin), timeout=60)
    sfn = session.client("stepfunctions", endpoint_url=twin.endpoint_url)
    assert json.loads(sfn.describe_execution(executionArn=arn)["input"]) == {"clusterName": "fresh"}


def test_custom_event_starts_a_migration_with_its_detail_as_input(twin_factory: Any) -> None:
    twin = twin_factory()
    client = twin.aws.admin_session().client("events", endpoint_url=twin.endpoint_url)
    request = {"Source": "podcidr", "DetailType": "Migration Requested"}
    client.put_events(Entries=[{**request, "Detail": json.dumps({"clusterName": "on-default-bus"})}])
    bus = "podcidr-migration-requests"  # the stack's bus (output EventBusName), never the default bus
    policy = json.loads(client.describe_event_bus(Name=bus)["Policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [{"AWS": twin.aws.account_id}]
    client.put_events(
        Entries=[{**request, "EventBusName": bus, "Detail": json.dumps({"clusterName": "x", "dryRun": True})}]
    )
    (arn,) = wait_until(lambda: _started_by("MigrationRequested"), timeout=10)
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    assert json.loads(sfn.describe_execution(executionArn=arn)["input"]) == {"clusterName": "x", "dryRun": True}


def test_second_migration_of_a_cluster_fails_with_migration_in_progress_and_changes_nothing(twin_factory: Any) -> None:
    twin = twin_factory()
    activate = _held_creating(twin)  # the first migration waits, holding the lock, until the test lets it on
    assert twin.runner is not None
    # 5 s between Plan's checks: its ceiling (90 checks) is minutes away, whatever the second run takes
    first = twin.runner.start({"clusterName": CLUSTER, "pollSeconds": 5}, name="first")
    triggers = triggers_of(twin)
    try:
        wait_until(lambda: triggers.locks(), timeout=30)  # after ValidateInput's Lambda invocation
        second = _result(twin, twin.runner.start({"clusterName": CLUSTER}, name="second"))
        assert second.status == "FAILED"
        assert second.error == "MigrationInProgress"
        assert first in second.cause and CLUSTER in second.cause
        assert "Plan" not in _states(second)
        assert [lock["executionArn"] for lock in triggers.locks()] == [first]
    finally:
        activate()
    assert _result(twin, first).status == "SUCCEEDED"
    assert triggers.locks() == []


def test_failed_execution_releases_its_lock_and_notifies(twin_factory: Any) -> None:
    twin = twin_factory()
    assert twin.runner is not None
    result = _result(twin, twin.runner.start({"clusterName": "no-such-cluster"}, name="failing"))
    assert result.status == "FAILED"
    assert result.error == "ClusterNotFound"
    assert {"TakeLock", "ReleaseLockOnFailure"} <= set(_states(result))
    triggers = triggers_of(twin)
    assert triggers.locks() == []
    notification = wait_until(lambda: triggers.notifications(), timeout=10)[0]["message"]
    assert notification["cluster"] == "no-such-cluster"
    assert notification["outcome"] == "FAILED"
    assert notification["error"] == "ClusterNotFound"
    assert notification["console"].endswith(result.arn)
    # a failed execution's clean-up runs too: here there is no cluster to clean
    assert notification["cleanup"].startswith("cluster no-such-cluster cannot be reached")
    assert notification["cleanup"].endswith("cluster access entry: none")


def test_aborted_execution_lock_is_released_by_the_status_change_rule(twin_factory: Any) -> None:
    twin = twin_factory()
    _held_creating(twin)  # never ACTIVE: the execution is stopped while it waits
    assert twin.runner is not None
    # 30 s between Plan's checks: its ceiling (90 checks) is 45 minutes away, so only the stop ends the execution
    arn = twin.runner.start({"clusterName": CLUSTER, "pollSeconds": 30}, name="aborted")
    triggers = triggers_of(twin)
    wait_until(lambda: _entered(twin, arn, "WaitForClusterActive"), timeout=120)
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    sfn.stop_execution(executionArn=arn, error="Operator", cause="stopped by hand")
    assert sfn.describe_execution(executionArn=arn)["status"] == "ABORTED"
    wait_until(lambda: not triggers.locks(), timeout=120)
    notification = wait_until(lambda: triggers.notifications(), timeout=60)[0]["message"]
    assert notification["outcome"] == "ABORTED", notification


def test_stale_lock_of_an_ended_execution_is_taken_over(twin_factory: Any) -> None:
    twin = twin_factory()
    assert twin.runner is not None
    triggers = triggers_of(twin)
    ghost = twin.runner.arn.replace(":stateMachine:", ":execution:") + ":long-gone"
    dynamodb = twin.aws.admin_session().client("dynamodb", endpoint_url=twin.endpoint_url)
    dynamodb.put_item(
        TableName=triggers.tables[0],
        Item={"clusterName": {"S": "no-such-cluster"}, "executionArn": {"S": ghost}, "startedAt": {"S": "x"}},
    )
    result = _result(twin, twin.runner.start({"clusterName": "no-such-cluster"}, name="taker"))
    assert {"DescribeLockHolder", "TakeOverLock", "Plan"} <= set(_states(result))
    assert triggers.locks() == []


def test_stack_outputs_name_the_state_machine(twin_factory: Any) -> None:
    twin = twin_factory()
    cloudformation = twin.aws.admin_session().client("cloudformation", endpoint_url=twin.endpoint_url)
    outputs = {
        o["OutputKey"]: o["OutputValue"]
        for o in cloudformation.describe_stacks(StackName="podcidr")["Stacks"][0]["Outputs"]
    }
    assert outputs["MigrationStateMachineArn"] == twin.runner.arn


def test_podcidr_start_watch_against_the_twin_shows_progress_and_the_report(
    twin_factory: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from podcidr_cli.main import main

    twin = twin_factory()
    _just_created(twin, 2)
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    where = ["--endpoint-url", twin.endpoint_url, "--region", twin.region, "--plain", "--poll", "0.3"]
    code = main(["start", "--cluster", CLUSTER, "--watch", *where])
    out = capsys.readouterr().out
    assert code == 0, out
    assert f"Migrating {CLUSTER}" in out
    assert "TakeLock" in out and "] Plan" in out
    assert "Migration SUCCEEDED" in out
    assert "cluster" in out and CLUSTER in out  # the report's summary table
    assert main(["list", *where]) == 0
    assert CLUSTER in capsys.readouterr().out
    assert main(["start", "--cluster", "no-such-cluster", "--watch", *where]) == 1
    assert "ClusterNotFound" in capsys.readouterr().out
    assert main(["watch", "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:nope", *where]) == 2


def test_an_ended_execution_without_input_is_released_by_its_arn_and_notified(twin_factory: Any) -> None:
    # EventBridge may leave detail.input null (a large input): the lock is found by the execution.
    twin = twin_factory()
    triggers = triggers_of(twin)
    ended = twin.runner.arn.replace(":stateMachine:", ":execution:") + ":big-input"
    other = twin.runner.arn.replace(":stateMachine:", ":execution:") + ":still-running"
    session = twin.aws.admin_session()
    dynamodb = session.client("dynamodb", endpoint_url=twin.endpoint_url)
    for cluster, arn in ((CLUSTER, ended), ("other", other)):
        dynamodb.put_item(
            TableName=triggers.tables[0],
            Item={"clusterName": {"S": cluster}, "executionArn": {"S": arn}, "startedAt": {"S": "x"}},
        )
    detail = {
        "executionArn": ended,
        "stateMachineArn": twin.runner.arn,
        "name": "big-input",
        "status": "FAILED",
        "input": None,
        "inputDetails": {"included": False},
        "error": "States.DataLimitExceeded",
        "cause": "too large",
    }
    session.client("events", endpoint_url=twin.endpoint_url).put_events(
        Entries=[{"Source": "aws.states", "DetailType": events.STATUS_CHANGE_DETAIL_TYPE, "Detail": json.dumps(detail)}]
    )
    notification = wait_until(lambda: triggers.notifications(), timeout=20)[0]["message"]
    assert (notification["cluster"], notification["outcome"]) == (CLUSTER, "FAILED")
    assert [lock["executionArn"] for lock in triggers.locks()] == [other]
    assert _failed_migrations_counted(twin) == 1


def _failed_migrations_counted(twin: Any) -> float:
    """The alarm's metric: Podcidr MigrationsFailed (no dimension), summed."""
    from datetime import UTC, datetime, timedelta

    cloudwatch = twin.aws.admin_session().client("cloudwatch", endpoint_url=twin.endpoint_url)
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="Podcidr",
        MetricName="MigrationsFailed",
        StartTime=now - timedelta(hours=1),
        EndTime=now + timedelta(minutes=5),
        Period=3600,
        Statistics=["Sum"],
    )["Datapoints"]
    return float(sum(point["Sum"] for point in points))


def test_the_alarm_counts_failed_and_aborted_migrations_not_refusals(twin_factory: Any) -> None:
    twin = twin_factory()
    assert twin.runner is not None
    first = twin.runner.start({"clusterName": "no-such-cluster"}, name="fails")
    _result(twin, first)
    triggers = triggers_of(twin)
    wait_until(lambda: len(triggers.notifications()) == 1, timeout=20)
    assert _failed_migrations_counted(twin) == 1
    _just_created(twin, 120)
    running = twin.runner.start({"clusterName": CLUSTER}, name="running")
    wait_until(lambda: triggers.locks(), timeout=10)
    refused = _result(twin, twin.runner.start({"clusterName": CLUSTER}, name="refused"))
    assert refused.error == "MigrationInProgress"
    wait_until(lambda: len(triggers.notifications()) == 2, timeout=20)
    assert _failed_migrations_counted(twin) == 1  # a refusal is not a failed migration
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    sfn.stop_execution(executionArn=running, error="Operator", cause="stopped by hand")
    wait_until(lambda: len(triggers.notifications()) == 3, timeout=20)
    assert _failed_migrations_counted(twin) == 2  # an aborted one is
