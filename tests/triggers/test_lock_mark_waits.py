"""The clean-up's mark on the lock item, with the real definitions on the twin: a migration that meets an
unexpired mark waits until its time (WaitForCleanUp) and then takes the lock, instead of failing; an
expired mark blocks no one; ExecutionEnded started twice for one ended execution notifies and counts
it once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from localcloud.triggers import events
from localcloud.triggers.interpreter import iso8601
from tests.triggers.conftest import triggers_of, wait_until
from tests.triggers.test_twin_triggers import _failed_migrations_counted

pytestmark = pytest.mark.rehearsal

CLUSTER = "no-such-cluster"  # Plan fails at once with ClusterNotFound: the lock states are what is tested


def _ended(twin: Any, name: str) -> str:
    return str(twin.runner.arn.replace(":stateMachine:", ":execution:") + f":{name}")


def _put(twin: Any, item: dict[str, str]) -> None:
    dynamodb = twin.aws.admin_session().client("dynamodb", endpoint_url=twin.endpoint_url)
    dynamodb.put_item(TableName=triggers_of(twin).tables[0], Item={k: {"S": v} for k, v in item.items()})


def _in(seconds: float) -> str:
    return iso8601(datetime.now(UTC) + timedelta(seconds=seconds))


def _warm_up(twin: Any) -> None:
    """One migration first, so that ValidateInput is warm: the next one reaches TakeLock within the mark."""
    _ran(twin, twin.runner.start({"clusterName": "warm-up"}, name="warm-up"))


def _ran(twin: Any, arn: str) -> Any:
    """The execution's result once ExecutionEnded notified it (so that nothing of this test runs on into the
    next one's twin: moto is process-global)."""
    result = twin.runner.wait(arn)
    wait_until(lambda: [n for n in triggers_of(twin).notifications() if n["message"]["execution"] == arn], timeout=60)
    return result


def _entered(result: Any, state: str) -> list[str]:
    """When each visit of `state` began (the context object's format)."""
    return [
        iso8601(event["timestamp"])
        for event in result.events
        if event.get("stateEnteredEventDetails", {}).get("name") == state
    ]


@pytest.mark.parametrize("holder", ["ended", None], ids=["held-by-the-ended-execution", "no-holder"])
def test_a_migration_that_meets_a_mark_waits_until_its_time_then_takes_the_lock(
    twin_factory: Any, holder: str | None
) -> None:
    twin = twin_factory()
    _warm_up(twin)
    ended = _ended(twin, "stopped-earlier")
    until = _in(10)  # ValidateInput (warm) and TakeLock well within it, even on a loaded machine
    held = {"executionArn": ended, "startedAt": "2026-11-30T10:00:00.000Z"} if holder else {}
    _put(twin, {"clusterName": CLUSTER, **held, "cleaningFor": ended, "cleaningUntil": until})
    result = _ran(twin, twin.runner.start({"clusterName": CLUSTER}, name="waits"))
    states = [visit.name for visit in result.visits]
    assert (result.status, result.error) == ("FAILED", "ClusterNotFound"), (result.error, result.cause)
    assert states.count("WaitForCleanUp") == 1
    assert "Plan" in states and "MigrationInProgress" not in states
    (planned,) = _entered(result, "Plan")
    assert planned >= until
    if holder:
        assert "TakeOverLock" in states  # the stale holder, once its clean-up's mark expired
    assert triggers_of(twin).locks() == []


def test_an_expired_mark_blocks_no_one(twin_factory: Any) -> None:
    twin = twin_factory()
    ended = _ended(twin, "cleaned-long-ago")
    _put(twin, {"clusterName": CLUSTER, "cleaningFor": ended, "cleaningUntil": _in(-1)})
    result = _ran(twin, twin.runner.start({"clusterName": CLUSTER}, name="free"))
    states = [visit.name for visit in result.visits]
    assert result.error == "ClusterNotFound"
    assert "ReadLockHolder" not in states and "WaitForCleanUp" not in states
    assert states[states.index("TakeLock") + 1] == "Plan"


def test_a_running_holder_still_refuses_with_migration_in_progress_whatever_an_expired_mark_says(
    twin_factory: Any,
) -> None:
    twin = twin_factory()
    with twin.aws.clock.lock:
        twin.aws.eks.backend.clusters["eksworkshop"].status = "CREATING"  # the holder waits, holding the lock
    first = twin.runner.start({"clusterName": "eksworkshop"}, name="holder")
    wait_until(lambda: triggers_of(twin).locks(), timeout=30)
    dynamodb = twin.aws.admin_session().client("dynamodb", endpoint_url=twin.endpoint_url)
    dynamodb.update_item(
        TableName=triggers_of(twin).tables[0],
        Key={"clusterName": {"S": "eksworkshop"}},
        UpdateExpression="SET cleaningFor = :x, cleaningUntil = :t",
        ExpressionAttributeValues={":x": {"S": _ended(twin, "older")}, ":t": {"S": _in(-5)}},
    )
    refused = _ran(twin, twin.runner.start({"clusterName": "eksworkshop"}, name="refused"))
    assert refused.error == "MigrationInProgress"
    assert first in (refused.cause or "") and "is being migrated by execution" in (refused.cause or "")
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    sfn.stop_execution(executionArn=first, error="Test", cause="done")
    wait_until(lambda: [n for n in triggers_of(twin).notifications() if n["message"]["execution"] == first], timeout=60)


def test_duplicate_execution_ended_starts_notify_and_count_once(twin_factory: Any) -> None:
    """EventBridge delivers at least once: the same status change, twice at once, then once more later."""
    twin = twin_factory()
    triggers = triggers_of(twin)
    ended = _ended(twin, "failed-once")
    detail = {
        "executionArn": ended,
        "stateMachineArn": twin.runner.arn,
        "name": "failed-once",
        "status": "FAILED",
        "input": json.dumps({"clusterName": CLUSTER}),
        "error": "ClusterNotFound",
        "cause": "no such cluster",
    }
    client = twin.aws.admin_session().client("events", endpoint_url=twin.endpoint_url)
    entry = {"Source": "aws.states", "DetailType": events.STATUS_CHANGE_DETAIL_TYPE, "Detail": json.dumps(detail)}
    client.put_events(Entries=[entry, entry])
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)

    def ended_runs() -> list[str]:
        started = [d.result or "" for d in events.iter_state_machine_deliveries("ExecutionEnded") if d.ok]
        return [sfn.describe_execution(executionArn=arn)["status"] for arn in started]

    def notified() -> list[Any]:
        return [n for n in triggers.notifications() if n["message"]["execution"] == ended]

    def cleaned_up() -> list[bool]:
        """For each run, whether it cleaned up (not left it to another start for the same execution)."""
        started = [d.result or "" for d in events.iter_state_machine_deliveries("ExecutionEnded") if d.ok]
        return [
            not any(
                e.get("stateEnteredEventDetails", {}).get("name") == "CleanedUpElsewhere"
                for e in sfn.get_execution_history(executionArn=arn)["events"]
            )
            for arn in started
        ]

    wait_until(lambda: (runs := ended_runs()) and len(runs) == 2 and "RUNNING" not in runs, timeout=60)
    assert len(notified()) == 1
    assert _failed_migrations_counted(twin) == 1
    # one clean-up: failed before, both ran their rounds and each renewed and released the other's mark
    assert sorted(cleaned_up()) == [False, True]
    client.put_events(Entries=[entry])
    wait_until(lambda: (runs := ended_runs()) and len(runs) == 3 and "RUNNING" not in runs, timeout=60)
    assert ended_runs() == ["SUCCEEDED"] * 3
    assert sorted(cleaned_up()) == [False, False, True]
    assert len(notified()) == 1
    assert _failed_migrations_counted(twin) == 1
    assert triggers.locks() == []


def test_a_mark_renewed_past_the_bound_refuses_with_migration_in_progress_naming_the_clean_up(
    twin_factory: Any,
) -> None:
    """The waits are bounded: a mark that keeps being renewed (a clean-up never lasts that long) ends them."""
    import threading

    twin = twin_factory()
    _warm_up(twin)
    ended = _ended(twin, "cleaning-forever")
    stop = threading.Event()

    def renew() -> None:
        while not stop.is_set():
            _put(twin, {"clusterName": CLUSTER, "cleaningFor": ended, "cleaningUntil": _in(2)})
            stop.wait(0.3)

    renewer = threading.Thread(target=renew, daemon=True)
    renewer.start()
    try:
        result = _ran(twin, twin.runner.start({"clusterName": CLUSTER}, name="bounded"))
    finally:
        stop.set()
        renewer.join()
    states = [visit.name for visit in result.visits]
    assert result.error == "MigrationInProgress", (result.error, result.cause)
    assert states.count("WaitForCleanUp") == 20 and "Plan" not in states
    assert f"is being cleaned up after execution {ended} ended" in (result.cause or "")
