"""Reading the ended execution's history: a Step Functions endpoint that does not answer (the cluster
functions in a VPC without a `states` endpoint or NAT) makes the clean-up assume calls in flight, well
within the function's Lambda timeout, instead of hanging until it."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from localcloud.template import Account, Template
from podcidr.steps.late_calls import calls_in_flight, history_client

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
    # half the function's timeout: the round still has time to look at the cluster
    reader.join(timeout=cleanup.timeout / 2)
    assert not reader.is_alive(), "the history read outlasted half the function's Lambda timeout"
    assert answers == [True]
