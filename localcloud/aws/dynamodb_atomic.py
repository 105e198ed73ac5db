"""A DynamoDB conditional write is atomic on the twin, as on AWS (twin fix to moto).

moto's PutItem, UpdateItem and DeleteItem read the item, evaluate the ConditionExpression, then write,
with nothing between two requests served at once (the twin's server is threaded, and Step Functions'
dynamodb integrations call in from the interpreter's threads): two conditional writes that exclude
each other could both succeed. On DynamoDB, one of them fails with ConditionalCheckFailedException.
The lock table relies on that (TakeLock, MarkLock, ClaimNotification). The twin serialises writes.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

_lock = threading.Lock()
_writes = threading.RLock()
_done = False
WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")


def _serialised(write: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(write)
    def one_at_a_time(*args: Any, **kwargs: Any) -> Any:
        with _writes:
            return write(*args, **kwargs)

    return one_at_a_time


def patch_atomic_writes() -> None:
    """Serialise moto's DynamoDB writes (idempotent)."""
    global _done
    with _lock:
        if _done:
            return
        from moto.dynamodb.models import DynamoDBBackend

        for name in WRITES:
            if hasattr(DynamoDBBackend, name):
                setattr(DynamoDBBackend, name, _serialised(getattr(DynamoDBBackend, name)))
        _done = True
