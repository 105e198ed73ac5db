"""The local Lambda endpoint: Invoke runs a function's handler from template.yaml, in-process.

A WSGI middleware in front of moto answers `POST /2015-03-31/functions/<name|ARN>/invocations`
(everything else goes on to moto). The function's code runs as Lambda runs it:

- its handler (CodeUri + Handler), imported once per function like a warm container; every
  function's `app` module is imported under a name of its own so two functions' `app` never mix;
  the template's layers are on sys.path (layers/ holds the `podcidr` package);
- its environment: Globals merged with its own, the Lambda runtime's variables, AWS_ENDPOINT_URL
  (the twin), AWS_REGION, POWERTOOLS_TRACE_DISABLED=1 (no X-Ray daemon here) and the credentials
  of the function's IAM role, obtained by STS AssumeRole in moto (the role is created first when
  SAM would generate it), so the ledger and the Kubernetes emulator can tell who calls;
- a Lambda context object (function_name, aws_request_id, invoked_function_arn,
  memory_limit_in_mb, get_remaining_time_in_millis(), ...);
- the result as Lambda returns it: the JSON payload; for a raised exception HTTP 200 with
  `X-Amz-Function-Error: Unhandled` and `{"errorMessage", "errorType": <class name>,
  "stackTrace"}`, so the state machine's Retry/Catch match the class name; service errors
  (unknown function, bad payload, too large) as Lambda's HTTP errors, which the Step Functions
  interpreter names `Lambda.<code>`.

Invocations run at the same time, as on Lambda (a Map's iterations, Parallel branches): each runs
in the thread serving its Invoke request, in a warm container of its function that no other
invocation is using (a function invoked while all its containers are busy gets a new one: a cold
start, as Lambda scales out). Cold starts are serialized (imports, sys.path). The invoking thread
sees its function's variables in os.environ, other threads (moto's among them) the process's own
(localcloud.environ), and its own boto3 default session, made from them.
What a handler prints or logs is kept per invocation (and returned with `LogType: Tail`).
`concurrency` tells how many ran at once at most (`--state` `lambdas`).
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, TextIO
from urllib.parse import parse_qs

import boto3

from localcloud.aws.faults import Fault, Faults
from localcloud.environ import thread_environ
from localcloud.scenario import INVOKE_FAULT
from localcloud.template import TRUST_POLICIES, Account, FunctionSpec, Template

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

MAX_SYNC_PAYLOAD = 6 * 1024 * 1024
MAX_ASYNC_PAYLOAD = 256 * 1024

_INVOKE_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/invocations/?$")
_FUNCTION_ARN = re.compile(
    r"^(?:arn:(?P<partition>[^:]+):lambda:(?P<region>[^:]+):)?(?:(?P<account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[^:]+))?$"
)


class LambdaContext:
    """The context object of the Python runtime (awslambdaric's LambdaContext)."""

    def __init__(self, spec: FunctionSpec, request_id: str, invoked_arn: str, client_context: Any = None) -> None:
        self.function_name = spec.name
        self.function_version = "$LATEST"
        self.invoked_function_arn = invoked_arn
        self.memory_limit_in_mb = spec.memory_size
        self.aws_request_id = request_id
        self.log_group_name = f"/aws/lambda/{spec.name}"
        self.log_stream_name = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.identity: Any = None
        self.client_context = client_context
        self.tenant_id: str | None = None
        self._deadline = time.monotonic() + spec.timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass
class Invocation:
    """One invocation, as CloudWatch would tell it."""

    function: str
    request_id: str
    started: float
    duration: float = 0.0
    init_duration: float | None = None
    """Seconds spent importing the handler on a cold start; None when warm."""
    error_type: str | None = None
    log: str = ""
    peak_bytes: int | None = None
    """With `measure_memory`: the container process's peak resident memory by the invocation's end,
    what Lambda reports as Max Memory Used; None otherwise."""


@dataclass
class _Container:
    """A warm function: its handler and credentials, kept across invocations."""

    spec: FunctionSpec
    handler: Callable[[Any, LambdaContext], Any]
    credentials: dict[str, str]
    module: str
    process: ProcessHandler | None = None
    """With `measure_memory`: the process the handler runs in (then `handler` is this)."""

    def close(self) -> None:
        sys.modules.pop(self.module, None)
        if self.process is not None:
            self.process.close()


class _FunctionError(Exception):
    def __init__(self, error_type: str, message: str, stack: list[str] | None = None) -> None:
        super().__init__(message)
        self.payload = {"errorMessage": message, "errorType": error_type, "stackTrace": stack or []}


class _ServiceError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


CredentialsProvider = Callable[[FunctionSpec], dict[str, str]]


class LocalLambdas:
    """The template's functions behind Lambda's Invoke API; a WSGI middleware for LocalAws.

    `LocalLambdas(template, region=..., account_id=...)` is given to LocalAws as a middleware,
    then `bind(endpoint_url, admin_session)` once the endpoint runs (credentials come from it).
    """

    def __init__(
        self,
        template: Template,
        *,
        region: str,
        account_id: str,
        parameters: dict[str, str] | None = None,
        credentials: CredentialsProvider | None = None,
    ) -> None:
        self.template = template
        self.account = Account(region=region, account_id=account_id)
        self._parameters = parameters
        self.functions = template.functions(self.account, parameters)
        self.endpoint_url: str | None = None
        self.invocations: list[Invocation] = []
        self._admin_session: Callable[[], boto3.Session] | None = None
        self._credentials = credentials
        self._containers: dict[str, list[_Container]] = {}
        """Function name -> its idle warm containers."""
        self._role_credentials: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._cold_start_lock = threading.Lock()
        self._log_router = _ROUTER
        self._running = 0
        self.max_concurrent = 0
        """The most invocations that ran at the same time."""
        self.measure_memory = False
        """For `make bench`: each container is a process of its own (localcloud/lambda_process.py),
        so each invocation's peak_bytes is its container's Max Memory Used, as Lambda reports it."""
        self.process_runtime: ProcessRuntime | None = None
        """The Python and the layer those processes run (default: this interpreter and layers/)."""
        self.faults: Faults | None = None
        """The scenario's faults: `lambda:InvokeFunction <function>` ones with a `delay` slow an invocation
        (the twin sets them; an invocation in flight when its execution is stopped runs on, as on AWS)."""

    # -- wiring ---------------------------------------------------------------------------------

    def bind(
        self,
        endpoint_url: str,
        admin_session: Callable[[], boto3.Session] | None = None,
        *,
        account_id: str | None = None,
    ) -> None:
        """The twin's endpoint (AWS_ENDPOINT_URL of the functions), how to reach IAM/STS as admin,
        and the account (when it differs from the one given at construction)."""
        if account_id and account_id != self.account.account_id:
            self.account = Account(region=self.account.region, account_id=account_id)
            self.functions = self.template.functions(self.account, self._parameters)
        self.endpoint_url = endpoint_url
        self._admin_session = admin_session

    def forget(self, function: str) -> None:
        """Drop a function's warm containers: its next invocation is a cold start."""
        with self._lock:
            containers = self._containers.pop(function, [])
        for container in containers:
            container.close()

    def close(self) -> None:
        """Forget the warm containers: their modules (with their clients) leave sys.modules."""
        self._log_router.close()
        with self._lock:
            containers = [c for idle in self._containers.values() for c in idle]
            self._containers.clear()
        for container in containers:
            container.close()

    def concurrency(self) -> dict[str, int]:
        """`--state`'s `lambdas`: invocations so far and the most that ran at the same time."""
        with self._lock:
            return {"invocations": len(self.invocations), "maxConcurrent": self.max_concurrent}

    def __call__(self, app: WsgiApp) -> WsgiApp:
        def middleware(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            match = _INVOKE_PATH.match(environ.get("PATH_INFO", ""))
            if environ.get("REQUEST_METHOD") == "POST" and match:
                status, headers, body = self._handle(environ, match.group("function"))
                start_response(status, headers)
                return [body]
            return app(environ, start_response)

        return middleware

    def provision(self) -> None:
        """Create the roles SAM would create (and that the template declares) and take their credentials."""
        for spec in self.functions.values():
            self._credentials_for(spec)

    # -- the Invoke API -------------------------------------------------------------------------

    def _handle(self, environ: dict[str, Any], function_ref: str) -> tuple[str, list[tuple[str, str]], bytes]:
        request_id = str(uuid.uuid4())
        headers = [("x-amzn-RequestId", request_id), ("Content-Type", "application/json")]
        try:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            spec, invoked_arn = self._function(function_ref, (query.get("Qualifier") or [None])[0])
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            kind = environ.get("HTTP_X_AMZ_INVOCATION_TYPE", "RequestResponse")
            limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
            if len(body) > limit:
                message = f"Request must be smaller than {limit} bytes for the Invoke operation"
                raise _ServiceError(413, "RequestTooLargeException", message)
            try:
                event = json.loads(body) if body.strip() else {}
            except ValueError as error:
                raise _ServiceError(
                    400, "InvalidRequestContentException", f"Could not parse request body into json: {error}"
                ) from None
            client_context = _client_context(environ.get("HTTP_X_AMZ_CLIENT_CONTEXT"))
            if kind == "DryRun":
                return "204 No Content", headers, b""
            if kind == "Event":
                threading.Thread(
                    target=self.invoke,
                    args=(spec, event),
                    kwargs={"request_id": request_id, "invoked_arn": invoked_arn, "client_context": client_context},
                    daemon=True,
                ).start()
                return "202 Accepted", headers, b""
            if kind != "RequestResponse":
                raise _ServiceError(400, "InvalidParameterValueException", f"Invalid InvocationType: {kind}")
        except _ServiceError as error:
            headers.append(("x-amzn-ErrorType", error.code))
            body_out = json.dumps({"Type": "User", "message": error.message}).encode()
            return f"{error.status} {_REASONS.get(error.status, 'Error')}", headers, body_out

        payload, function_error, invocation = self.invoke(
            spec, event, request_id=request_id, invoked_arn=invoked_arn, client_context=client_context
        )
        headers.append(("X-Amz-Executed-Version", "$LATEST"))
        if function_error:
            headers.append(("X-Amz-Function-Error", function_error))
        if environ.get("HTTP_X_AMZ_LOG_TYPE") == "Tail":
            tail = invocation.log.encode()[-4096:]
            headers.append(("X-Amz-Log-Result", base64.b64encode(tail).decode()))
        return "200 OK", headers, payload

    def _function(self, ref: str, qualifier: str | None) -> tuple[FunctionSpec, str]:
        match = _FUNCTION_ARN.match(ref)
        spec = self.functions.get(match.group("name")) if match else None
        if match and spec:
            wrong_place = (match.group("region") or self.account.region) != self.account.region or (
                match.group("account") or self.account.account_id
            ) != self.account.account_id
            version = qualifier or match.group("qualifier")
            if not wrong_place and version in (None, "$LATEST"):
                return spec, spec.arn if version is None else f"{spec.arn}:{version}"
        name = ref if ref.startswith("arn:") else f"{self.functions_arn_prefix}{ref}"
        raise _ServiceError(404, "ResourceNotFoundException", f"Function not found: {name}")

    @property
    def functions_arn_prefix(self) -> str:
        return f"arn:aws:lambda:{self.account.region}:{self.account.account_id}:function:"

    def invoke(
        self,
        spec: FunctionSpec,
        event: Any,
        *,
        request_id: str | None = None,
        invoked_arn: str | None = None,
        client_context: Any = None,
    ) -> tuple[bytes, str | None, Invocation]:
        """Run the handler; (payload, function error or None, the invocation record)."""
        request_id = request_id or str(uuid.uuid4())
        record = Invocation(function=spec.name, request_id=request_id, started=time.time())
        with self._lock:
            self.invocations.append(record)
            self._running += 1
            self.max_concurrent = max(self.max_concurrent, self._running)
            idle = self._containers.get(spec.name)
            container = idle.pop() if idle else None
        log = io.StringIO()
        log.write(f"START RequestId: {request_id} Version: $LATEST\n")
        started = time.monotonic()
        try:
            credentials = container.credentials if container else self._credentials_for(spec)
            with self._log_router.capture(log), _environment(self._environment(spec, credentials)), _default_session():
                if container is None:
                    container = self._cold_start(spec, credentials, record)
                context = LambdaContext(spec, request_id, invoked_arn or spec.arn, client_context)
                self._slowed(spec, before=True)
                try:
                    payload = self._run(container, event, context)
                    self._slowed(spec, before=False)
                finally:
                    if container.process is not None:
                        self._record_process(container.process, record, log)
            elapsed = time.monotonic() - started
            if elapsed > spec.timeout:
                raise _FunctionError(
                    "Sandbox.Timedout",
                    f"RequestId: {request_id} Error: Task timed out after {spec.timeout:.2f} seconds",
                )
            function_error = None
        except _FunctionError as error:
            payload = json.dumps(error.payload).encode()
            function_error = "Unhandled"
            record.error_type = str(error.payload["errorType"])
            log.write(json.dumps(error.payload) + "\n")
        finally:
            with self._lock:
                self._running -= 1
                if container is not None and (container.process is None or container.process.alive):
                    self._containers.setdefault(spec.name, []).append(container)
                    container = None
        if container is not None:  # its process died: Lambda replaces the sandbox
            container.close()
        record.duration = time.monotonic() - started
        log.write(f"END RequestId: {request_id}\n")
        log.write(
            f"REPORT RequestId: {request_id}\tDuration: {record.duration * 1000:.2f} ms\t"
            f"Memory Size: {spec.memory_size} MB"
            + (f"\tInit Duration: {record.init_duration * 1000:.2f} ms" if record.init_duration else "")
            + "\n"
        )
        record.log = log.getvalue()
        return payload, function_error, record

    def _slowed(self, spec: FunctionSpec, *, before: bool) -> None:
        """Wait out a `delay` fault on this function (before its handler runs, or after it ran); past the
        function's timeout it times out, as Lambda ends it."""
        fault = self._delay_fault(spec, before=before)
        if fault is None or fault.delay is None:
            return
        time.sleep(min(fault.delay, spec.timeout))
        if before and fault.delay >= spec.timeout:
            raise _FunctionError(
                "Sandbox.Timedout", f"Error: Task timed out after {spec.timeout:.2f} seconds (delay fault)"
            )

    def _delay_fault(self, spec: FunctionSpec, *, before: bool) -> Fault | None:
        if self.faults is None:
            return None
        when = "before" if before else "after"
        for name in dict.fromkeys((spec.logical_id, spec.name)):
            fault = self.faults.take(f"{INVOKE_FAULT}{name}", workflow=False, when=when)
            if fault is not None:
                return fault
        return None

    # -- running a handler ----------------------------------------------------------------------

    @staticmethod
    def _record_process(process: ProcessHandler, record: Invocation, log: io.StringIO) -> None:
        log.write(process.new_log())
        record.peak_bytes = process.max_rss_bytes
        if process.init_duration is not None:
            record.init_duration = process.init_duration

    def _cold_start(self, spec: FunctionSpec, credentials: dict[str, str], record: Invocation) -> _Container:
        if self.measure_memory:  # os.environ is the function's here (_environment)
            runtime = self.process_runtime or ProcessRuntime(sys.executable, None)
            process = ProcessHandler(spec, runtime.environment(dict(os.environ)), runtime)
            return _Container(spec=spec, handler=process, credentials=credentials, module="", process=process)
        with self._cold_start_lock:  # one import at a time: sys.path and the import system are shared
            started = time.monotonic()
            module = (
                f"_localcloud_fn_{spec.logical_id}_{spec.handler.rpartition('.')[0].replace('.', '_')}"
                f"_{id(self):x}_{next(_CONTAINER_NUMBERS)}"
            )
            try:
                handler = _load_handler(spec, module)
            finally:
                record.init_duration = time.monotonic() - started
        return _Container(spec=spec, handler=handler, credentials=credentials, module=module)

    @staticmethod
    def _run(container: _Container, event: Any, context: LambdaContext) -> bytes:
        try:
            result = container.handler(event, context)
        except _FunctionError:
            raise
        except Exception as error:  # noqa: BLE001 - every exception is the function's error, as on Lambda
            stack = traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])
            raise _FunctionError(type(error).__name__, str(error), stack) from None
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as error:
            raise _FunctionError("Runtime.MarshalError", f"Unable to marshal response: {error}") from None
        if len(payload) > MAX_SYNC_PAYLOAD:
            raise _FunctionError(
                "Function.ResponseSizeTooLarge",
                f"Response payload size exceeded maximum allowed payload size ({MAX_SYNC_PAYLOAD} bytes).",
            )
        return payload

    def _environment(self, spec: FunctionSpec, credentials: dict[str, str]) -> dict[str, str]:
        region = self.account.region
        return {
            **spec.environment,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "_HANDLER": spec.handler,
            "POWERTOOLS_TRACE_DISABLED": "1",
            **({"AWS_ENDPOINT_URL": self.endpoint_url} if self.endpoint_url else {}),
            **credentials,
        }

    def _credentials_for(self, spec: FunctionSpec) -> dict[str, str]:
        if spec.name not in self._role_credentials:
            self._role_credentials[spec.name] = self._new_credentials(spec)
        return self._role_credentials[spec.name]

    def _new_credentials(self, spec: FunctionSpec) -> dict[str, str]:
        if self._credentials is not None:
            return self._credentials(spec)
        if self._admin_session is None:
            raise RuntimeError("LocalLambdas.bind() was not called: no way to get the functions' credentials")
        session = self._admin_session()
        iam = session.client("iam", endpoint_url=self.endpoint_url)
        try:
            iam.get_role(RoleName=spec.role_name)
        except iam.exceptions.NoSuchEntityException:
            iam.create_role(
                RoleName=spec.role_name,
                AssumeRolePolicyDocument=json.dumps(TRUST_POLICIES["lambda"]),
                Description=f"The role of {spec.logical_id} (created by the twin as SAM would)",
            )
            if spec.policy_statements:
                iam.put_role_policy(
                    RoleName=spec.role_name,
                    PolicyName=f"{spec.logical_id}Policy",
                    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": spec.policy_statements}),
                )
        assumed = session.client("sts", endpoint_url=self.endpoint_url).assume_role(
            RoleArn=spec.role_arn, RoleSessionName=spec.name
        )
        keys = assumed["Credentials"]
        return {
            "AWS_ACCESS_KEY_ID": keys["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": keys["SecretAccessKey"],
            "AWS_SESSION_TOKEN": keys["SessionToken"],
        }


_REASONS = {400: "Bad Request", 404: "Not Found", 413: "Request Entity Too Large", 429: "Too Many Requests"}

# Variables of the host that a Lambda function would not see and that would change what boto3 does.
_HIDDEN = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_SESSION_TOKEN")


def _environment(variables: dict[str, str]) -> AbstractContextManager[None]:
    """The function's variables for this thread while the invocation runs (localcloud.environ)."""
    return thread_environ().overlay(variables, hidden=_HIDDEN)


_CONTAINER_NUMBERS = itertools.count(1)

_invocation_sessions = threading.local()
_process_default_session = boto3._get_default_session


def _thread_default_session() -> boto3.Session:
    """boto3's default session: an invocation's own (made from its variables) in its thread."""
    if getattr(_invocation_sessions, "active", False):
        session: boto3.Session | None = getattr(_invocation_sessions, "session", None)
        if session is None:
            session = _invocation_sessions.session = boto3.Session()
        return session
    return _process_default_session()


@contextmanager
def _default_session() -> Iterator[None]:
    """While inside, `boto3.client(...)` in this thread uses a session of this invocation's own,
    as a fresh Lambda process would (another invocation running meanwhile has its own)."""
    boto3._get_default_session = _thread_default_session  # idempotent; boto3.client looks it up per call
    _invocation_sessions.active, _invocation_sessions.session = True, None
    try:
        yield
    finally:
        _invocation_sessions.active, _invocation_sessions.session = False, None


def _client_context(header: str | None) -> Any:
    if not header:
        return None
    try:
        return json.loads(base64.b64decode(header))
    except ValueError:
        return None


def _load_handler(spec: FunctionSpec, unique: str) -> Callable[[Any, LambdaContext], Any]:
    """Import the handler's module under a name of this container's own (`unique`).

    The layer's modules (podcidr) are imported once per process and shared, like sys.path entries.
    """
    module_path, _, attribute = spec.handler.rpartition(".")
    source = spec.code_uri.joinpath(*module_path.split(".")).with_suffix(".py")
    for path in [*reversed(spec.layer_paths), spec.code_uri]:
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))
    try:
        module = _import(unique, source)
    except Exception as error:  # noqa: BLE001 - an import failure is the function's error, as on Lambda
        raise _FunctionError("Runtime.ImportModuleError", f"Unable to import module '{module_path}': {error}") from None
    finally:
        if str(spec.code_uri) in sys.path:
            sys.path.remove(str(spec.code_uri))
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise _FunctionError("Runtime.HandlerNotFound", f"Handler '{attribute}' missing on module '{module_path}'")
    return handler  # type: ignore[no-any-return]


def _import(name: str, source: Path) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    module_spec = importlib.util.spec_from_file_location(name, source)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"No module named '{source.stem}' in {source.parent}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


@dataclass(frozen=True)
class ProcessRuntime:
    """What a measured container runs: `python` (Lambda's 3.13 where the machine has it), the layer's
    folder (None: the template's layers, i.e. the source), and whether X-Ray tracing is on as with
    `Tracing: Active` (segments go by UDP to a local address no daemon listens on)."""

    python: str
    layer: Path | None
    tracing: bool = False

    def describe(self) -> str:
        layer = str(self.layer) if self.layer is not None else "the layer's source (layers/)"
        return f"{self.python}, {layer}, tracing {'on' if self.tracing else 'off'}"

    def environment(self, function: dict[str, str]) -> dict[str, str]:
        if not self.tracing:
            return function
        env = {k: v for k, v in function.items() if k != "POWERTOOLS_TRACE_DISABLED"}
        env.update(AWS_XRAY_CONTEXT_MISSING="LOG_ERROR", AWS_XRAY_DAEMON_ADDRESS="127.0.0.1:2000")
        return env


class ProcessHandler:
    """A function's handler running in a process of its own (localcloud/lambda_process.py), called
    like the handler: the event and the context go to the process, its result or error comes back."""

    SCRIPT = Path(__file__).with_name("lambda_process.py")

    def __init__(self, spec: FunctionSpec, environment: dict[str, str], runtime: ProcessRuntime) -> None:
        self._log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - open as long as the container lives
        self._log_read = 0
        self._tracing = runtime.tracing
        layers = [runtime.layer] if runtime.layer is not None else spec.layer_paths
        # -I: no user site, no PYTHON* variables, not the script's folder on sys.path, as on Lambda
        self._process = subprocess.Popen(
            [runtime.python, "-I", str(self.SCRIPT), str(spec.code_uri), spec.handler, *map(str, layers)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=environment,
        )
        self.max_rss_bytes: int | None = None
        self.init_duration: float | None = None

    def __call__(self, event: Any, context: LambdaContext) -> Any:
        assert self._process.stdin is not None and self._process.stdout is not None
        fields = {key: value for key, value in vars(context).items() if not key.startswith("_")}
        fields["timeout"] = context.get_remaining_time_in_millis() / 1000
        if self._tracing:  # Lambda's per-invocation trace header, sampled
            root = f"1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
            fields["traceId"] = f"Root={root};Parent={uuid.uuid4().hex[:16]};Sampled=1"
        try:
            self._process.stdin.write(json.dumps({"event": event, "context": fields}) + "\n")
            self._process.stdin.flush()
        except BrokenPipeError:
            pass  # the process has exited: readline says so below
        line = self._process.stdout.readline()
        if not line:
            raise _FunctionError(
                "Runtime.ExitError",
                f"RequestId: {context.aws_request_id} Error: Runtime exited with error: "
                f"exit status {self._process.wait()}",
            )
        reply = json.loads(line)
        answer = reply["answer"]
        self.max_rss_bytes, self.init_duration = reply["figures"]["maxRssBytes"], reply["figures"]["initDuration"]
        if "error" in answer:
            error = answer["error"]
            raise _FunctionError(error["errorType"], error["errorMessage"], error["stackTrace"])
        return answer["result"]

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def new_log(self) -> str:
        """What the process wrote to its log since the last call."""
        self._log.seek(self._log_read)
        text = self._log.read()
        self._log_read = self._log.tell()
        return text

    def close(self) -> None:
        if self._process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):  # the process died first
                self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._log.close()


class _LogRouter:
    """Routes what a handler writes to stdout/stderr into its invocation's log.

    For the length of an invocation sys.stdout/sys.stderr are the router's streams: writes from the
    thread running the handler go to that invocation's log, every other thread's writes go on to
    the streams that were there before. Loggers that bound sys.stdout at import (Powertools) keep
    the router's stream, so later invocations are captured too (and, between invocations, their
    writes go on to the current real stream).
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self.out = _RoutedStream(self, sys.stdout)
        self.err = _RoutedStream(self, sys.stderr)
        self._lock = threading.Lock()
        self._captures = 0
        self._saved: tuple[TextIO, TextIO] | None = None

    def close(self) -> None:
        self._local.log = None

    def target(self) -> io.StringIO | None:
        return getattr(self._local, "log", None)

    @contextmanager
    def capture(self, log: io.StringIO) -> Iterator[None]:
        """The router stays installed while any invocation captures (they run at the same time)."""
        with self._lock:
            if self._captures == 0:
                saved = sys.stdout, sys.stderr
                if saved[0] is not self.out:
                    self.out.stream = saved[0]
                if saved[1] is not self.err:
                    self.err.stream = saved[1]
                self._saved = saved
                sys.stdout, sys.stderr = self.out, self.err
            self._captures += 1
        self._local.log = log
        try:
            yield
        finally:
            self._local.log = None
            with self._lock:
                self._captures -= 1
                if self._captures == 0 and self._saved is not None:
                    if sys.stdout is self.out:
                        sys.stdout = self._saved[0]
                    if sys.stderr is self.err:
                        sys.stderr = self._saved[1]
                    self._saved = None


@dataclass
class _RoutedStream:
    router: _LogRouter
    stream: TextIO

    def write(self, text: str) -> int:
        log = self.router.target()
        return log.write(text) if log is not None else self.stream.write(text)

    def flush(self) -> None:
        if self.router.target() is None:
            self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


_ROUTER = _LogRouter()
"""One for the process: a logger bound to it by one twin's function keeps being routed in the next
twin's (Powertools' Logger reuses the logging.Logger of its service name, handler included)."""
