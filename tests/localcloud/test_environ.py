"""os.environ as the twin's Lambda invocations see it: their variables in their thread only."""

from __future__ import annotations

import os
import threading

from localcloud.environ import thread_environ


def test_an_invocation_sees_its_variables_and_other_threads_never_do() -> None:
    environ = thread_environ()
    assert os.environ is environ and thread_environ() is environ
    os.environ["PODCIDR_TEST_HOST_ONLY"] = "host"
    seen: dict[str, object] = {}
    try:
        with environ.overlay({"POWERTOOLS_SERVICE_NAME": "podcidr"}, hidden=["PODCIDR_TEST_HOST_ONLY"]):
            assert os.getenv("POWERTOOLS_SERVICE_NAME") == "podcidr"
            assert "PODCIDR_TEST_HOST_ONLY" not in os.environ
            os.environ["SET_BY_HANDLER"] = "1"

            def elsewhere() -> None:
                seen["service"] = os.getenv("POWERTOOLS_SERVICE_NAME")
                seen["host"] = os.environ.get("PODCIDR_TEST_HOST_ONLY")
                seen["copy"] = os.environ.copy()

            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
            assert os.environ.copy()["SET_BY_HANDLER"] == "1"
        assert seen["service"] is None and seen["host"] == "host"
        assert "POWERTOOLS_SERVICE_NAME" not in seen["copy"]  # type: ignore[operator]
        assert "SET_BY_HANDLER" not in os.environ and os.environ["PODCIDR_TEST_HOST_ONLY"] == "host"
    finally:
        del os.environ["PODCIDR_TEST_HOST_ONLY"]


def test_listing_the_environment_while_invocations_come_and_go_never_fails() -> None:
    """The race that failed CI: a thread copying os.environ while a function's variables left it."""
    environ = thread_environ()
    stop = threading.Event()
    failures: list[BaseException] = []

    def invocations() -> None:
        while not stop.is_set():
            with environ.overlay({f"FUNCTION_VARIABLE_{i}": "x" for i in range(50)}):
                pass

    def reader() -> None:
        try:
            for _ in range(2000):
                os.environ.copy()
                dict(os.environ.items())
        except KeyError as error:
            failures.append(error)

    writer = threading.Thread(target=invocations)
    writer.start()
    try:
        reader()
    finally:
        stop.set()
        writer.join()
    assert failures == []
