"""One botocore data loader for the whole twin process.

Every Lambda invocation on the twin starts from a fresh default boto3 session (a new process would
see its own environment), and every role gets its own session: each new session reads and parses
botocore's endpoint rules and service models from disk again, which was a quarter of a rehearsal's
CPU. In Lambda, a container is a process that parses them once. Sessions sharing one loader cost
the twin the same; the data is read-only, as it already is between the clients of one session.
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.loaders
import botocore.session

_lock = threading.Lock()
_loaders: dict[str | None, botocore.loaders.Loader] = {}
_create_loader = botocore.loaders.create_loader


def _shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
    with _lock:
        loader = _loaders.get(search_path_string)
        if loader is None:
            loader = _loaders[search_path_string] = _create_loader(search_path_string)
        return loader


def share_botocore_loader() -> None:
    """Make every botocore session created from now on use one loader per data path (idempotent)."""
    session_module: Any = botocore.session
    session_module.create_loader = _shared_loader
