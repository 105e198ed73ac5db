"""A twin as rehearsals run it (the cluster twin and the triggers) for the tests of this folder."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from localcloud import twin as twin_module
from localcloud.scenario import load_scenario
from localcloud.template import Template
from localcloud.triggers.component import Triggers


def start_twin(
    scenario_document: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
) -> twin_module.Twin:
    """A twin of the real template with the default components (the cluster twin, the triggers),
    rehearsals' default input; stop it with `stop_twin`."""
    _cold_start_functions()
    template = Template.load()
    scenario = _scenario(scenario_document or {})
    twin = twin_module.Twin(
        scenario,
        template=template,
        components=twin_module.default_components(scenario, template),
        parameters={"DefaultInput": '{"pollSeconds": 1}', **(parameters or {})},
    )
    return twin.start()


def stop_twin(twin: twin_module.Twin) -> None:
    _stop_executions(twin)
    twin.stop()


@pytest.fixture
def twin_factory() -> Iterator[Callable[..., twin_module.Twin]]:
    started: list[twin_module.Twin] = []

    def make(
        scenario_document: dict[str, Any] | None = None, parameters: dict[str, str] | None = None
    ) -> twin_module.Twin:
        twin = start_twin(scenario_document, parameters)
        started.append(twin)
        return twin

    yield make
    for twin in started:
        stop_twin(twin)


def _cold_start_functions() -> None:
    """Forget the handler modules a previous twin of this process imported: their module-level
    clients point at that twin's endpoint (the twin keeps them as warm containers)."""
    for name in [name for name in sys.modules if name.startswith("_localcloud_fn_")]:
        del sys.modules[name]


def _stop_executions(twin: twin_module.Twin) -> None:
    """Stop what still runs, so that no execution outlives its twin (moto is process-global)."""
    sfn = twin.aws.admin_session().client("stepfunctions", endpoint_url=twin.endpoint_url)
    for machine in sfn.list_state_machines()["stateMachines"]:
        for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")[
            "executions"
        ]:
            sfn.stop_execution(executionArn=execution["executionArn"])
    time.sleep(0.3)


def _scenario(document: dict[str, Any]) -> Any:
    import tempfile
    from pathlib import Path

    import yaml

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenario.yaml"
        path.write_text(yaml.safe_dump(document))
        return load_scenario(path)


def wait_until(condition: Callable[[], Any], timeout: float = 30, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not within {timeout}s")


def triggers_of(twin: twin_module.Twin) -> Triggers:
    """The twin's triggers component (lock table, topic, rules)."""
    return next(component for component in twin.components if isinstance(component, Triggers))
