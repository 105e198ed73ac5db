"""A Lambda container as a process of its own, for `make bench`'s memory figures.

`python lambda_process.py CODE_URI HANDLER [LAYER ...]` imports the handler as the Python runtime
does (the code first on sys.path, then the layers), then answers invocations: one JSON request a
line on stdin (`{"event", "context"}`), one JSON answer a line on stdout (`{"figures": {"maxRssBytes",
"initDuration"}, "answer": {"result"} or {"error": {"errorType", "errorMessage", "stackTrace"}}}`).
What the handler prints goes to stderr, its log.

`maxRssBytes` is the process's peak resident memory so far, what Lambda reports as "Max Memory
Used": the interpreter, the imports and every invocation the container has served. Only the
standard library is imported here, so the figure is the function's own.
"""

from __future__ import annotations

import importlib
import json
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import Any


class Context:
    """The runtime's context object, rebuilt from the fields the twin sends."""

    def __init__(self, fields: dict[str, Any]) -> None:
        timeout = fields.pop("timeout")
        self.__dict__.update(fields)
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def _error(error_type: str, message: str, stack: list[str] | None = None) -> dict[str, Any]:
    return {"error": {"errorType": error_type, "errorMessage": message, "stackTrace": stack or []}}


def _max_rss_bytes() -> int:
    """The process's peak resident size. On Linux, VmHWM: ru_maxrss would also count the parent's
    peak, which a child inherits at fork and keeps through exec."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)


def main(argv: list[str]) -> int:
    code_uri, handler_name, *layers = argv
    answers = sys.stdout
    sys.stdout = sys.stderr  # the handler's prints are its log, not answers
    sys.path[:0] = [code_uri, *layers]
    module_name, _, attribute = handler_name.rpartition(".")
    started = time.monotonic()
    handler = None
    import_error = None
    try:
        handler = getattr(importlib.import_module(module_name), attribute)
    except Exception as error:  # noqa: BLE001 - an import failure is the function's error, as on Lambda
        import_error = _error("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}")
    init_duration: float | None = time.monotonic() - started
    for line in sys.stdin:
        request = json.loads(line)
        if handler is None:
            answer = import_error or _error("Runtime.HandlerNotFound", handler_name)
        else:
            trace = request["context"].pop("traceId", None)
            if trace:
                os.environ["_X_AMZN_TRACE_ID"] = trace
            try:
                answer = {"result": handler(request["event"], Context(request["context"]))}
            except Exception as error:  # noqa: BLE001 - every exception is the function's error, as on Lambda
                stack = traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])
                answer = _error(type(error).__name__, str(error), stack)
        try:
            text = json.dumps(answer)
        except (TypeError, ValueError) as error:
            text = json.dumps(_error("Runtime.MarshalError", f"Unable to marshal response: {error}"))
        # the peak read after the answer's text is made: that text counts too
        figures = json.dumps({"maxRssBytes": _max_rss_bytes(), "initDuration": init_duration})
        init_duration = None
        text = f'{{"figures": {figures}, "answer": {text}}}'
        answers.write(text + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
