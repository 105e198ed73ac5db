"""moto's Step Functions interpreter with its states running at the same time, as on AWS (twin only).

moto runs a Map's iterations (up to MaxConcurrency; 0 = all at once) and a Parallel's branches in
threads of their own. Each of their Task states makes a boto3 client with `boto3.client(...)`, i.e.
from the process's one default session, and creating clients from one session in several threads
at once is not thread-safe in botocore (it fails now and then with KeyError or a half-built
client). Here the interpreter's clients are made under a lock from a session of its own and kept
per (region, service): a botocore client may be used by many threads at once.

Outside the twin (moto's in-process mock, where its stubber answers the calls) the patch steps
aside and moto's own maker runs: the patch is process-wide and outlives the twin that made it.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

import boto3
from botocore.config import Config

_lock = threading.Lock()
_clients: dict[tuple[str, str, str], Any] = {}
_session: boto3.Session | None = None
_done = False
_original: Any = None


def _interpreter_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """What moto's `boto_client_for` returns (same key, endpoint and config), made thread-safely."""
    from moto.core.models import botocore_stubber
    from moto.settings import moto_server_port

    if botocore_stubber.enabled:  # an in-process mock: no server to send the calls to
        return _original(region, service, state_credentials)
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds

    global _session
    endpoint = f"http://localhost:{moto_server_port()}"
    key = (region, service, endpoint)
    with _lock:
        client = _clients.get(key)
        if client is None:
            if _session is None:
                _session = boto3.Session(aws_access_key_id="ak", aws_secret_access_key="sk")
            client = _clients[key] = _session.client(  # type: ignore[call-overload]
                service,
                region_name=region,
                endpoint_url=endpoint,
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    max_pool_connections=50,
                ),
            )
        return client


def patch_concurrent_states() -> None:
    """Give every module of moto's interpreter the thread-safe client maker (idempotent)."""
    global _done, _original
    with _lock:
        if _done:
            return
        import moto.stepfunctions.parser.asl.parse.asl_parser  # noqa: F401 - loads every state's module
        from moto.stepfunctions.parser.asl.utils import boto_client

        original = _original = boto_client.boto_client_for
        for name, module in list(sys.modules.items()):
            if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original:
                setattr(module, "boto_client_for", _interpreter_client)  # noqa: B010
        _done = True
