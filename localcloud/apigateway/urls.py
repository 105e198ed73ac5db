"""Where the twin serves an API: the invoke URL of `https://<api>.execute-api.<region>.amazonaws.com/<stage>`.

The twin's endpoint answers method requests under `/restapis/<api>/<stage>/_user_request_/<path>`
(as LocalStack does), so a stack output holding an execute-api URL is rewritten to that address:
a client that reads the output and appends `/migrations` reaches the API as it would on AWS.
"""

from __future__ import annotations

import re

INVOKE_PATH = re.compile(r"^/restapis/(?P<api>[a-z0-9]+)/(?P<stage>[^/]+)/_user_request_(?P<path>/.*)?$")
_EXECUTE_API_URL = re.compile(
    r"^https://(?P<api>[a-z0-9]+)\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?/(?P<stage>[^/]+)(?P<rest>/.*)?$"
)


def invoke_url(endpoint_url: str, api_id: str, stage: str) -> str:
    """The base URL of a stage on the twin (what `https://<api>.execute-api.../<stage>` is on AWS)."""
    return f"{endpoint_url.rstrip('/')}/restapis/{api_id}/{stage}/_user_request_"


def on_twin(value: str, endpoint_url: str) -> str:
    """`value` with an execute-api URL replaced by where the twin serves it; anything else unchanged."""
    match = _EXECUTE_API_URL.match(value)
    if match is None:
        return value
    return invoke_url(endpoint_url, match.group("api"), match.group("stage")) + (match.group("rest") or "")
