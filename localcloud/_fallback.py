"""Interim stand-ins for branch twin-aws's LocalAws and scenario loader, with their interface.

Plain moto server behind the given WSGI middlewares; no EKS extensions, VPC rules, faults or
ledger entries. Deleted once localcloud.aws.LocalAws and localcloud.scenario land.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import yaml
from werkzeug.serving import BaseWSGIServer, make_server

ADMIN_KEY = "admin"


class ScenarioError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


@dataclass
class _Cluster:
    name: str = "eksworkshop"


@dataclass
class Scenario:
    region: str = "ap-southeast-1"
    cluster: _Cluster = field(default_factory=_Cluster)
    timing: dict[str, float] = field(default_factory=dict)
    faults: list[Any] = field(default_factory=list)


def load_scenario(path: str | Path | None = None) -> Scenario:
    if path is None:
        return Scenario()
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
    except OSError as error:
        raise ScenarioError("scenario", f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ScenarioError("scenario", f"{path} is not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise ScenarioError("scenario", "a scenario is a mapping")
    cluster = document.get("cluster") or {}
    return Scenario(
        region=str(document.get("region", "ap-southeast-1")),
        cluster=_Cluster(name=str(cluster.get("name", "eksworkshop"))),
        timing=dict(document.get("timing") or {}),
        faults=list(document.get("faults") or []),
    )


class _Ledger:
    def __init__(self) -> None:
        self.execution = 0

    def entries(self, execution: int | None = None) -> list[Any]:
        return []

    def calls(self, execution: int | None = None) -> list[dict[str, Any]]:
        return []


Middleware = Callable[[Any], Any]


class LocalAws:
    def __init__(self, scenario: Scenario, *, middlewares: list[Middleware] | None = None) -> None:
        self.scenario = scenario
        self.region = scenario.region
        self.account_id = "123456789012"
        self.ledger = _Ledger()
        self._middlewares = middlewares or []
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_port}"

    def start(self) -> LocalAws:
        from moto.moto_api import state_manager  # noqa: F401 - registers moto's API
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

        app: Any = DomainDispatcherApplication(create_backend_app)
        for middleware in reversed(self._middlewares):
            app = middleware(app)

        class QuietHandler(MotoRequestHandler):
            def log_request(self, *args: Any) -> None:
                pass

        self._server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)
        os.environ["MOTO_PORT"] = str(self._server.server_port)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        request = urllib.request.Request(
            f"{self.endpoint_url}/moto-api/config",
            data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
            method="POST",
        )
        urllib.request.urlopen(request).read()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
            from moto.moto_api._internal.models import moto_api_backend

            moto_api_backend.reset()

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def admin_session(self) -> boto3.Session:
        return boto3.Session(aws_access_key_id=ADMIN_KEY, aws_secret_access_key=ADMIN_KEY, region_name=self.region)

    def state(self) -> dict[str, Any]:
        return {}
