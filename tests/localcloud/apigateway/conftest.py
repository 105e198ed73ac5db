"""A twin with the real template for the API's tests (one per module), and a SigV4 client."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from localcloud import twin as twin_module
from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from tests.triggers.conftest import start_twin, stop_twin

ADMIN = Credentials(ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY)


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


def send(
    method: str,
    url: str,
    body: bytes | str | None = None,
    *,
    credentials: Credentials | None = ADMIN,
    region: str = "ap-southeast-1",
    service: str = "execute-api",
    content_type: str = "application/json",
) -> Answer:
    """One HTTP request, signed with SigV4 unless `credentials` is None."""
    data = body.encode() if isinstance(body, str) else body
    request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": content_type} if data else {})
    if credentials is not None:
        SigV4Auth(credentials, service, region).add_auth(request)
    prepared = urllib.request.Request(
        str(request.url), data=data or None, headers=dict(request.headers.items()), method=method
    )
    try:
        with urllib.request.urlopen(prepared, timeout=30) as response:
            return Answer(response.status, dict(response.headers.items()), response.read().decode())
    except urllib.error.HTTPError as error:
        return Answer(error.code, dict(error.headers.items()), error.read().decode())


@pytest.fixture(scope="module")
def twin() -> Iterator[twin_module.Twin]:
    started = start_twin()
    yield started
    stop_twin(started)


@pytest.fixture(scope="module")
def api_url(twin: twin_module.Twin) -> str:
    """The stack output MigrationsApiUrl, as a client finds the API."""
    cloudformation = twin.aws.admin_session().client("cloudformation")
    stack = cloudformation.describe_stacks(StackName="podcidr")["Stacks"][0]
    return next(o["OutputValue"] for o in stack["Outputs"] if o["OutputKey"] == "MigrationsApiUrl")
