"""The twin: LocalAws + the template's functions + the state machine + optional components.

A component is anything else a rehearsal runs next to the AWS endpoint: the cluster twin (the
Kubernetes API emulator and its controllers) is the first. It may put WSGI middlewares in front of
moto, is started once LocalAws runs (it gets the Twin: endpoint, admin session, ledger), stopped
before it, and contributes to `--state`. Components come from factories; the rehearse command
uses `default_components(scenario)`, which imports COMPONENTS ("module:function" strings) so a
component's module registers itself with one line here, without the runner importing it by name.

    class ClusterTwin:                                    # localcloud/cluster/... (kube-api)
        name = "cluster"                                  # its key in --state
        def middlewares(self): return [...]               # may be []
        def start(self, twin): ...                        # twin.aws, twin.endpoint_url, ...
        def stop(self): ...
        def state(self): return {"eniConfigs": ..., "nodes": ..., "pods": ...}

    def component(scenario, template): return ClusterTwin(scenario)   # or None to stay out
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from localcloud.aws.server import LocalAws
from localcloud.iam.enforcer import IamEnforcement
from localcloud.lambdas import LocalLambdas, WsgiApp
from localcloud.scenario import Scenario
from localcloud.stepfunctions import ExecutionResult, ProgressEvent, StateMachineRunner
from localcloud.template import Account, Template

Middleware = Callable[[WsgiApp], WsgiApp]
DEFAULT_ACCOUNT_ID = "123456789012"


class TwinComponent(Protocol):
    name: str

    def middlewares(self) -> list[Middleware]: ...

    def start(self, twin: Twin) -> None: ...

    def stop(self) -> None: ...

    def state(self) -> dict[str, Any] | None: ...


ComponentFactory = Callable[[Scenario, Template], "TwinComponent | None"]

COMPONENTS: list[str] = [
    "localcloud.cluster:component",
    "localcloud.triggers.component:component",
    "localcloud.apigateway.component:component",
]
"""Factories of the components every rehearsal runs, as "module:function" (the cluster twin adds itself)."""

StateContributor = Callable[[], Any]


def default_components(scenario: Scenario, template: Template) -> list[TwinComponent]:
    components = []
    for spec in COMPONENTS:
        module_name, _, function = spec.partition(":")
        factory: ComponentFactory = getattr(importlib.import_module(module_name), function)
        component = factory(scenario, template)
        if component is not None:
            components.append(component)
    return components


class Twin:
    """A whole local stand-in for one account: start(), execute() as often as wanted, stop()."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        template: Template | None = None,
        components: list[TwinComponent] | None = None,
        state_machine: str | None = None,
        parameters: dict[str, str] | None = None,
    ) -> None:
        self.scenario = scenario
        self.parameters = dict(parameters or {})
        """Template parameter values (the others take their defaults), e.g. DefaultInput."""
        self.template = template or Template.load()
        self.components = default_components(scenario, self.template) if components is None else components
        self.lambdas = LocalLambdas(self.template, region=scenario.region, account_id=DEFAULT_ACCOUNT_ID)
        middlewares: list[Middleware] = [self.lambdas]
        for component in self.components:
            middlewares.extend(component.middlewares())
        self.aws = LocalAws(scenario, middlewares=middlewares)
        self.lambdas.faults = self.aws.faults
        self.iam = IamEnforcement(self.template, self.parameters)
        """IAM on every call made with a stack role's credentials (template.yaml's policies)."""
        self._state_machine_id = state_machine
        self.runner: StateMachineRunner | None = None
        self.executions = 0
        self.state_contributors: list[tuple[str | None, StateContributor]] = []
        """(key, contributor): each adds its part to --state (under its key, or merged when None)."""
        self._started: list[TwinComponent] = []

    @property
    def state_machine_id(self) -> str:
        """The logical ID of the state machine this twin's runner executes (the migration by default)."""
        return self._state_machine_id or "MigrationStateMachine"

    @property
    def endpoint_url(self) -> str:
        return str(self.aws.endpoint_url)

    @property
    def region(self) -> str:
        return str(self.aws.region)

    def start(self) -> Twin:
        self.aws.start()
        try:
            account_id = str(self.aws.account_id)
            self.iam.attach(self.aws)
            self.lambdas.bind(self.endpoint_url, self.aws.admin_session, account_id=account_id)
            self.lambdas.provision()
            self.state_contributors.append((None, self.aws.state))
            self.state_contributors.append(("calls", lambda: self.aws.ledger.calls()))
            self.state_contributors.append(("lambdas", self.lambdas.concurrency))
            for component in self.components:
                component.start(self)
                self._started.append(component)
                self.state_contributors.append((component.name, _or_empty(component.state)))
            account = Account(self.region, account_id)
            spec = self.template.state_machine(account, self._state_machine_id, self.parameters)
            self.runner = StateMachineRunner(self.aws.admin_session(), self.endpoint_url, spec)
            self.runner.deploy()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for component in reversed(self._started):
            component.stop()
        self._started.clear()
        self.lambdas.close()
        self.aws.stop()

    def __enter__(self) -> Twin:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def follow(self, execution_input: Any, *, poll: float = 0.2) -> Iterator[ProgressEvent | ExecutionResult]:
        """Start the next execution; its progress events, then its result."""
        assert self.runner is not None, "start() first"
        self.executions += 1
        self.aws.ledger.execution = self.executions
        arn = self.runner.start(execution_input, name=f"rehearsal-{self.executions}")
        yield from self.runner.follow(arn, poll=poll)

    def execute(self, execution_input: Any, *, poll: float = 0.2) -> ExecutionResult:
        result = None
        for item in self.follow(execution_input, poll=poll):
            if isinstance(item, ExecutionResult):
                result = item
        assert result is not None
        return result

    def state(self) -> dict[str, Any]:
        """The --state document: LocalAws's state, `calls` (the ledger), each component's part."""
        document: dict[str, Any] = {}
        for key, contributor in self.state_contributors:
            part = contributor()
            if key is None:
                document.update(part)
            else:
                document[key] = part
        return json.loads(json.dumps(document, default=str))  # type: ignore[no-any-return]


def _or_empty(state: Callable[[], dict[str, Any] | None]) -> StateContributor:
    return lambda: state() or {}
