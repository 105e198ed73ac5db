"""Reading the ended execution's history: a Step Functions endpoint that does not answer (the cluster
functions in a VPC without a `states` endpoint or NAT) makes the clean-up assume calls in flight, well
within the function's Lambda timeout, instead of hanging until it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from botocore.stub import Stubber

from localcloud.template import Account, Template
from podcidr.aws.clients import BotocoreSession
from podcidr.steps.late_calls import HISTORY_CONFIG, HISTORY_READ_SECONDS, calls_in_flight, history_client

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

EXECUTION = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:stopped"


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """Accepts connections and never answers (a packet filter dropping the replies)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        server.close()


def test_an_unanswered_history_read_means_calls_in_flight_within_the_function_timeout(
    silent_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", silent_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-southeast-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    functions = Template.load().functions(Account(region="ap-southeast-1", account_id="123456789012"))
    (cleanup,) = (spec for spec in functions.values() if spec.logical_id == "CleanUpEndedExecutionFunction")
    answers: list[bool] = []
    reader = threading.Thread(target=lambda: answers.append(calls_in_flight(history_client(), EXECUTION)), daemon=True)
    reader.start()
    reader.join(timeout=cleanup.timeout)  # an upper bound only: a loaded machine stretches the read, not the test
    assert not reader.is_alive(), "the history read outlasted the function's Lambda timeout"
    assert answers == [True]
    # By its configuration, the read gives up within half the function's timeout (the round still has time to
    # look at the cluster): every attempt's connect and read timeouts, and standard mode's backoff (at most 1 s
    # after the first attempt).
    retries = HISTORY_CONFIG.retries or {}
    attempts = int(retries["total_max_attempts"])
    assert retries["mode"] == "standard"
    worst = attempts * (float(HISTORY_CONFIG.connect_timeout) + float(HISTORY_CONFIG.read_timeout)) + (attempts - 1)
    assert worst <= cleanup.timeout / 2


def _event(number: int, kind: str) -> dict[str, object]:
    return {"id": number, "type": kind, "timestamp": datetime(2026, 11, 30, tzinfo=UTC)}


def _history(*pages: list[dict[str, object]]) -> tuple[SFNClient, Stubber]:
    """A Step Functions client answering from a Stubber: requests checked against botocore's model,
    each page asked for with the largest page size."""
    sfn = BotocoreSession().client("stepfunctions", region_name="ap-southeast-1")
    stubber = Stubber(sfn)
    for index, events in enumerate(pages):
        expected = {"executionArn": EXECUTION, "includeExecutionData": False, "maxResults": 1000}
        response: dict[str, object] = {"events": events}
        if index:
            expected["nextToken"] = f"page-{index}"
        if index < len(pages) - 1:
            response["nextToken"] = f"page-{index + 1}"
        stubber.add_response("get_execution_history", response, expected)
    return sfn, stubber


def test_a_call_scheduled_on_a_later_page_and_never_ended_is_in_flight() -> None:
    sfn, stubber = _history(
        [_event(1, "LambdaFunctionScheduled"), _event(2, "LambdaFunctionSucceeded")],
        [_event(3, "TaskScheduled")],
    )
    with stubber:
        assert calls_in_flight(sfn, EXECUTION) is True
    stubber.assert_no_pending_responses()


def test_every_call_ended_means_none_in_flight() -> None:
    sfn, stubber = _history(
        [_event(1, "LambdaFunctionScheduled"), _event(2, "LambdaFunctionTimedOut")],
        [_event(3, "TaskScheduled"), _event(4, "TaskFailed")],
    )
    with stubber:
        assert calls_in_flight(sfn, EXECUTION) is False
    stubber.assert_no_pending_responses()


def test_a_history_too_long_to_read_in_time_means_calls_in_flight() -> None:
    """A long history read slowly (throttled) stops at the deadline: the round keeps its Lambda timeout."""
    sfn, stubber = _history(
        [_event(1, "LambdaFunctionScheduled"), _event(2, "LambdaFunctionSucceeded")],
        [_event(3, "TaskScheduled"), _event(4, "TaskSucceeded")],
    )
    ticks = iter([0.0, HISTORY_READ_SECONDS - 1, HISTORY_READ_SECONDS + 1])
    with stubber:
        assert calls_in_flight(sfn, EXECUTION, clock=lambda: next(ticks)) is True


def test_parallel_calls_of_which_one_ended_leave_the_other_in_flight() -> None:
    """A Map's iterations run at once: two calls scheduled, one ended, the other still runs."""
    sfn, stubber = _history(
        [_event(1, "LambdaFunctionScheduled"), _event(2, "LambdaFunctionScheduled")],
        [_event(3, "LambdaFunctionSucceeded")],
    )
    with stubber:
        assert calls_in_flight(sfn, EXECUTION) is True
    stubber.assert_no_pending_responses()


def test_a_history_read_by_its_deadline_is_read_to_the_end() -> None:
    sfn, stubber = _history(
        [_event(1, "TaskScheduled"), _event(2, "TaskSucceeded")],
        [_event(3, "LambdaFunctionScheduled"), _event(4, "LambdaFunctionFailed")],
    )
    ticks = iter([0.0, HISTORY_READ_SECONDS, HISTORY_READ_SECONDS])
    with stubber:
        assert calls_in_flight(sfn, EXECUTION, clock=lambda: next(ticks)) is False
    stubber.assert_no_pending_responses()


def test_an_execution_past_its_retention_has_nothing_in_flight_and_an_unreadable_one_is_assumed_to() -> None:
    expected = {"executionArn": EXECUTION, "includeExecutionData": False, "maxResults": 1000}
    sfn, stubber = _history()
    stubber.add_client_error(
        "get_execution_history", "ExecutionDoesNotExist", f"Execution Does Not Exist: '{EXECUTION}'", 400, expected
    )
    stubber.add_client_error("get_execution_history", "AccessDeniedException", "not authorized", 400, expected)
    with stubber:
        assert calls_in_flight(sfn, EXECUTION) is False
        assert calls_in_flight(sfn, EXECUTION) is True
    stubber.assert_no_pending_responses()
