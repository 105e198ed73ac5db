"""Calls of an ended execution that may still run: Step Functions does not cancel a Lambda invocation
in flight when an execution is stopped, times out or fails elsewhere (a Map's other iterations), so
such a call can still create a namespace, a load balancer or an access entry after the execution
ended. ExecutionEnded's clean-up reads the execution's history: a task scheduled and not ended is in
flight, and the clean-up does not finish before it must have ended (LONGEST_STEP_SECONDS after the
execution stopped)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from podcidr.aws.clients import error_code

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient

LONGEST_STEP_SECONDS = 120
"""The longest timeout of the migration's functions (template.yaml Globals Function Timeout; a test
holds them to it), plus nothing: a call in flight ends, or is killed, within it."""
CLOCK_MARGIN_SECONDS = 25
"""Between the Lambda service's clock and the stop date Step Functions records, and a cold start's init,
which may run outside the function's timeout."""
HISTORY_CONFIG = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "total_max_attempts": 2}, user_agent_extra="podcidr"
)
"""Short: a Step Functions endpoint the function cannot reach (in a VPC with no `states` interface endpoint
nor NAT) must not hold the round until its Lambda timeout; unanswered, calls are assumed in flight."""
HISTORY_PAGE_EVENTS = 1000
"""GetExecutionHistory's largest page (its default is 100): a history of 25,000 events in 25 calls."""
HISTORY_READ_SECONDS = 8.0
"""Past this, the rest of the history is not read and calls are assumed in flight: a round keeps most of its
30 s Lambda timeout for the deletes (a throttled read of a long history could take them all)."""
_SCHEDULED = {"LambdaFunctionScheduled", "TaskScheduled"}
_ENDED = {
    "LambdaFunctionSucceeded",
    "LambdaFunctionFailed",
    "LambdaFunctionTimedOut",
    "LambdaFunctionStartFailed",
    "LambdaFunctionScheduleFailed",
    "TaskSucceeded",
    "TaskFailed",
    "TaskTimedOut",
    "TaskStartFailed",
    "TaskSubmitFailed",
}


def history_client() -> SFNClient:
    """Made only on an execution's first round; with botocore alone (no boto3 import at a cold start)."""
    from podcidr.aws.clients import BotocoreSession

    client: SFNClient = BotocoreSession().client("stepfunctions", config=HISTORY_CONFIG)
    return client


def calls_in_flight(sfn: SFNClient, execution_arn: str, *, clock: Callable[[], float] = time.monotonic) -> bool:
    """Whether a task of the execution was scheduled and never ended (True when that cannot be told, in
    HISTORY_READ_SECONDS)."""
    open_calls = 0
    deadline = clock() + HISTORY_READ_SECONDS
    try:
        for page in sfn.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn,
            includeExecutionData=False,
            PaginationConfig={"PageSize": HISTORY_PAGE_EVENTS},
        ):
            if clock() > deadline:
                return True
            for event in page["events"]:
                if event["type"] in _SCHEDULED:
                    open_calls += 1
                elif event["type"] in _ENDED:
                    open_calls -= 1
    except ClientError as error:
        return error_code(error) != "ExecutionDoesNotExist"  # gone (past its retention): nothing runs
    except BotoCoreError:
        return True
    return open_calls > 0
