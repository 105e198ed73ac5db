"""`KubeApiServer`: one EKS cluster's Kubernetes API endpoint, served over HTTPS on 127.0.0.1.

    server = KubeApiServer("eksworkshop", access_resolver, auth_mode_getter=lambda: "API_AND_CONFIG_MAP")
    with server:
        eks.set_cluster_endpoint("eksworkshop", server.endpoint, server.ca_data)
        bootstrap_eks_cluster(server.store, cni_version="v1.18.3-eksbuild.1", load_balancer_controller=True)

Clients reach it as Lambda code reaches EKS: host = `endpoint`, CA = base64-decoded `ca_data`
written to a file (`ssl_ca_cert`), `Authorization: Bearer k8s-aws-v1....`.
"""

from __future__ import annotations

import datetime
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from localcloud.kube import tls
from localcloud.kube.auth import (
    AccessResolver,
    AuthModeGetter,
    Authorizer,
    CredentialResolver,
    TokenVerifier,
    is_sts_host,
    moto_credential_resolver,
)
from localcloud.kube.http import FaultHook, KubeApi, LedgerHook, default_version
from localcloud.kube.store import ObjectStore


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class KubeApiServer:
    def __init__(
        self,
        cluster_name: str,
        access_resolver: AccessResolver,
        *,
        auth_mode_getter: AuthModeGetter,
        ledger_hook: LedgerHook | None = None,
        fault_hook: FaultHook | None = None,
        counted: Callable[[str | None], bool] | None = None,
        store: ObjectStore | None = None,
        credential_resolver: CredentialResolver = moto_credential_resolver,
        cluster_creator_arn: str | None = None,
        kubernetes_version: str = "1.30",
        sts_host_allowed: Callable[[str], bool] = is_sts_host,
        now: Callable[[], datetime.datetime] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.cluster_name = cluster_name
        self.store = store or ObjectStore()
        self.certificates = tls.generate(cluster_name)
        self._stop = threading.Event()
        verifier = TokenVerifier(
            cluster_name,
            credential_resolver,
            sts_host_allowed=sts_host_allowed,
            **({"now": now} if now is not None else {}),
        )
        authorizer = Authorizer(
            cluster_name,
            access_resolver,
            auth_mode_getter,
            aws_auth=lambda: self.store.find("v1/configmaps", "aws-auth", namespace="kube-system"),
            cluster_creator_arn=cluster_creator_arn,
        )
        self.app = KubeApi(
            self.store,
            verifier=verifier,
            authorizer=authorizer,
            ledger_hook=ledger_hook,
            fault_hook=fault_hook,
            counted=counted,
            version=default_version(kubernetes_version),
            stop=self._stop,
        )
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -------------------------------------------------------------------------------------
    def start(self) -> KubeApiServer:
        if self._server is not None:
            return self
        self._stop.clear()
        with tempfile.TemporaryDirectory(prefix="kube-api-") as directory:
            context = self.certificates.server_context(Path(directory))
        self._server = make_server(
            self._host, self._port, self.app, threaded=True, ssl_context=context, request_handler=_QuietHandler
        )
        self.app.server_address = f"{self._host}:{self._server.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"kube-api-{self.cluster_name}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> KubeApiServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # what DescribeCluster returns ------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the server is not started")
        return int(self._server.port)

    @property
    def endpoint(self) -> str:
        """`https://127.0.0.1:<port>`, as DescribeCluster's `endpoint`."""
        return f"https://{self._host}:{self.port}"

    @property
    def ca_data(self) -> str:
        """Base64 of the CA's PEM, as DescribeCluster's `certificateAuthority.data`."""
        return self.certificates.ca_data
