"""LocalAws: the twin's AWS account, one local endpoint on 127.0.0.1:<free port>.

moto in server mode (its WSGI dispatcher) served by werkzeug, wrapped in these layers, outermost
first:

1. the gate: applies due timed transitions, names the call (service:Operation), and for workflow
   calls (signed with an assumed role's credentials) applies faults and writes the ledger; the
   calls Step Functions makes itself (moto's interpreter: Lambda Invoke, DynamoDB) are faulted
   too (`lambda:Invoke` ... `Lambda.TooManyRequestsException`), not written to the ledger;
1b. EC2's eventual consistency for workflow calls (consistency.Ec2Consistency: what a workflow call
    created is missing from the workflow's reads for `timing.ec2Consistency` seconds);
2. EC2 rules moto does not enforce (ec2.Ec2Rules: AssociateVpcCidrBlock rules and timing,
   CreateSubnet in an associated block only);
3. EKS what moto lacks (eks.EksStore: add-ons, updates, access entries, authenticationMode,
   timed cluster and nodegroup states); ELBv2's names and fixed addresses (elbv2.Elbv2Rules);
4. Step Functions as AWS answers (states.StepFunctionsRules: unnamed executions, history paging
   and order); EventBridge's PutTargets parses a target's Input as JSON (events.EventsRules);
5. the caller's `middlewares` (the runner's Lambda endpoint, the components'), just outside moto;
6. moto.

moto's backends are process-global: `start()` resets them, so only one LocalAws may be live in a
process at a time (a second `start()` while one runs raises RuntimeError). `start()` also sets
`MOTO_PORT` (moto's Step Functions interpreter sends Lambda tasks to http://localhost:$MOTO_PORT)
and turns on moto's state machine execution.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

import boto3
from moto.core.config import default_user_config
from moto.core.models import DEFAULT_ACCOUNT_ID
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.sts.models import sts_backends
from werkzeug.serving import BaseWSGIServer, make_server

from localcloud.aws.botocore_data import share_botocore_loader
from localcloud.aws.clock import Clock
from localcloud.aws.consistency import Ec2Consistency
from localcloud.aws.dynamodb_atomic import patch_atomic_writes
from localcloud.aws.ec2 import Ec2Rules
from localcloud.aws.eks import EksStore
from localcloud.aws.elbv2 import Elbv2Rules
from localcloud.aws.eni_prefixes import EniPrefixes
from localcloud.aws.events import EventsRules
from localcloud.aws.faults import Faults
from localcloud.aws.interface_groups import patch_interface_groups
from localcloud.aws.ledger import Ledger
from localcloud.aws.protocol import (
    AwsRequest,
    StartResponse,
    WsgiApp,
    WsgiEnviron,
    call,
    classify,
    send_error,
    service_error_status,
)
from localcloud.aws.states import StepFunctionsRules
from localcloud.scenario import Scenario

Authorizer = Callable[[AwsRequest, WsgiEnviron, str], Any]
"""(request, environ, caller ARN) -> None to let the call through, or a denial with `code` and `message`."""

ADMIN_ACCESS_KEY = "AKIATWINADMIN0000000"
ADMIN_SECRET_KEY = "twin-admin-secret"
INTERPRETER_ACCESS_KEY = "ak"
"""The key moto's Step Functions interpreter signs its own calls with (Lambda Invoke, DynamoDB, ...)."""

_live_lock = threading.Lock()
_live: LocalAws | None = None


class _QuietHandler(MotoRequestHandler):
    """moto's request handler without the access log on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class TwinSession(boto3.Session):
    """A boto3 session whose clients and resources go to the twin's endpoint by default."""

    def __init__(self, endpoint_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.endpoint_url = endpoint_url
        self._client_lock = threading.Lock()

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        with self._client_lock:  # creating clients from one session is not thread-safe
            return super().client(service_name, *args, **kwargs)  # type: ignore[call-overload]

    def resource(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return super().resource(service_name, *args, **kwargs)  # type: ignore[call-overload]


class LocalAws:
    """The twin's AWS side for one scenario. Use as a context manager, or start()/stop()."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        middlewares: Sequence[Callable[[WsgiApp], WsgiApp]] = (),
        build: bool = True,
    ) -> None:
        self.scenario = scenario
        self.region = scenario.region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.endpoint_url = ""
        self.port = 0
        self.ledger = Ledger()
        self.faults = Faults(scenario.faults)
        self.clock = Clock()
        self.ec2 = Ec2Rules(self)
        self.eni_prefixes = EniPrefixes(self.account_id)
        self.consistency = Ec2Consistency(lambda: self.clock.now(), lambda: self.scenario.timing.ec2_consistency)
        self.eks = EksStore(self)
        self.elbv2 = Elbv2Rules(self)
        self.states = StepFunctionsRules()
        self.events = EventsRules()
        self.built: Any = None
        """What build.build_aws made (ids by scenario name) for the first cluster, once started."""
        self.builts: dict[str, Any] = {}
        """The same for every cluster of the scenario, by cluster name."""
        self._build = build
        self._middlewares = list(middlewares)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._callers: dict[str, str | None] = {}
        self.authorizer: Authorizer | None = None
        """IAM for workflow calls (localcloud.iam.enforcer): a Denial refuses the call before it acts."""
        self._admin: TwinSession | None = None

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        global _live
        with _live_lock:
            if _live is not None:
                raise RuntimeError("another LocalAws is live in this process; stop it first (moto is process-global)")
            _live = self
        try:
            share_botocore_loader()
            patch_interface_groups()
            patch_atomic_writes()
            moto_api_backend.reset()
            default_user_config["stepfunctions"] = {"execute_state_machine": True}
            self._server = make_server("127.0.0.1", 0, self.wsgi_app(), threaded=True, request_handler=_QuietHandler)
            self.port = int(self._server.server_address[1])
            self.endpoint_url = f"http://127.0.0.1:{self.port}"
            os.environ["MOTO_PORT"] = str(self.port)
            self._thread = threading.Thread(target=self._server.serve_forever, name="localaws", daemon=True)
            self._thread.start()
            if self._build:
                from localcloud.aws.build import build_aws

                self.builts = build_aws(self)
                self.built = next(iter(self.builts.values()))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        global _live
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None
        with _live_lock:
            if _live is self:
                _live = None

    def __enter__(self) -> LocalAws:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- sessions ------------------------------------------------------------------------------

    def assumed_session(self, role_arn: str, session_name: str = "twin") -> boto3.Session:
        """A session with the credentials of `role_arn`, assumed through the twin's STS: the calls of a
        principal holding that role (IAM evaluates its policies)."""
        credentials = self.admin_session().client("sts").assume_role(RoleArn=role_arn, RoleSessionName=session_name)
        return boto3.Session(
            aws_access_key_id=credentials["Credentials"]["AccessKeyId"],
            aws_secret_access_key=credentials["Credentials"]["SecretAccessKey"],
            aws_session_token=credentials["Credentials"]["SessionToken"],
            region_name=self.region,
        )

    def admin_session(self) -> TwinSession:
        """The twin's own session (building, controllers, state): never in the ledger, never faulted.
        Its clients default to the twin's endpoint. One session per LocalAws (models load once)."""
        if self._admin is None or self._admin.endpoint_url != self.endpoint_url:
            self._admin = self._new_admin_session()
        return self._admin

    def _new_admin_session(self) -> TwinSession:
        return TwinSession(
            self.endpoint_url,
            aws_access_key_id=ADMIN_ACCESS_KEY,
            aws_secret_access_key=ADMIN_SECRET_KEY,
            region_name=self.region,
        )

    def workflow_session(self, role_arn: str, session_name: str = "podcidr") -> TwinSession:
        """A session with the credentials of `role_arn` assumed through STS, as the runner gives
        each function: its calls are workflow calls (ledger, faults)."""
        sts = self.admin_session().client("sts")
        creds = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return TwinSession(
            self.endpoint_url,
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=self.region,
        )

    def caller_of(self, access_key: str | None) -> str | None:
        """The ARN of the assumed role whose credentials carry `access_key`, or None (admin key,
        the Step Functions interpreter's key, anything else)."""
        if not access_key or access_key in {ADMIN_ACCESS_KEY, INTERPRETER_ACCESS_KEY}:
            return None
        if access_key in self._callers:
            return self._callers[access_key]
        arn: str | None = None
        for account in list(sts_backends.keys()):
            for backend in sts_backends[account].values():
                role = backend.get_assumed_role_from_access_key(access_key)
                if role is not None:
                    arn = str(role.arn)
                    break
            if arn:
                break
        if arn:
            self._callers[access_key] = arn
        return arn

    # -- the endpoint --------------------------------------------------------------------------

    def wsgi_app(self) -> WsgiApp:
        app: WsgiApp = DomainDispatcherApplication(create_backend_app)
        for middleware in reversed(self._middlewares):
            app = middleware(app)
        app = self.states.middleware(app)
        app = self.events.middleware(app)
        from localcloud.aws.root import caller_identity_middleware  # root.py imports this module

        app = caller_identity_middleware(self.account_id)(app)
        app = self.eks.middleware(app)
        app = self.elbv2.middleware(app)
        app = self.eni_prefixes.middleware(app)
        app = self.ec2.middleware(app)
        app = self.consistency.middleware(app)
        return self._gate(app)

    def _gate(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            self.clock.tick()
            request = classify(environ)
            environ["localcloud.request"] = request
            if request is None:
                return inner(environ, start_response)
            caller = self.caller_of(request.access_key)
            environ["localcloud.caller"] = caller
            if caller is None:
                if request.access_key == INTERPRETER_ACCESS_KEY:  # Step Functions' own calls: faulted, not counted
                    fault = self.faults.take(request.action, workflow=False)
                    if fault is not None:
                        if not fault.before:
                            call(inner, environ)
                        return send_error(start_response, request.protocol, fault.error, fault.message)
                return inner(environ, start_response)
            if self.authorizer is not None:
                denial = self.authorizer(request, environ, caller)
                if denial is not None:
                    self.ledger.record(request.service, request.action, result=denial.code, caller=caller)
                    return send_error(start_response, request.protocol, denial.code, denial.message)
            fault = self.faults.take(request.action, cluster=_eks_cluster(request.service, environ))
            if fault is not None:
                if not fault.before:
                    call(inner, environ)  # it acts; its response is lost
                self.ledger.record(request.service, request.action, result=fault.error, caller=caller)
                status = service_error_status(request.service, fault.error)
                return send_error(start_response, request.protocol, fault.error, fault.message, status)
            response = call(inner, environ)
            result = (
                "ok" if response.status < 400 else (_error_code(request.protocol, response) or str(response.status))
            )
            self.ledger.record(request.service, request.action, result=result, caller=caller)
            return response.replay(start_response)

        return app

    # -- state ---------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """The AWS part of `--state` (DESIGN.md)."""
        from localcloud.aws.state import aws_state

        self.clock.tick()
        return aws_state(self)


def _error_code(protocol: str, response: Any) -> str | None:
    import json
    import re

    header = response.header("x-amzn-ErrorType")
    if header:
        return str(header).split(":", 1)[0]
    body = response.body.decode("utf-8", "replace")
    match = re.search(r"<Code>([^<]+)</Code>", body)
    if match:
        return match.group(1)
    try:
        document = json.loads(body)
    except ValueError:
        return None
    if isinstance(document, dict):
        code = document.get("__type") or document.get("code") or document.get("Code")
        if code:
            return str(code).rsplit("#", 1)[-1]
    return None


_EKS_CLUSTER_PATH = re.compile(r"^/clusters/([^/?]+)")


def _eks_cluster(service: str, environ: WsgiEnviron) -> str | None:
    """The cluster an EKS call names in its path (/clusters/<name>/...), for faults given a cluster."""
    if service != "eks":
        return None
    match = _EKS_CLUSTER_PATH.match(str(environ.get("PATH_INFO") or ""))
    return match.group(1) if match else None
