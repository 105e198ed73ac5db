"""DefaultInput is parsed as JSON when the stack is deployed: the template gives it as the Input of a
(disabled) rule's target, which EventBridge's PutTargets parses as strict JSON, so a value that is not
JSON fails the stack's creation, on the twin with AWS's error, instead of every execution."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from localcloud import twin as twin_module
from localcloud.aws.events import json_error
from localcloud.template import Template
from podcidr.models.input import parse_execution_input
from tests.triggers.conftest import _cold_start_functions, _scenario

pytestmark = pytest.mark.rehearsal

ROOT = Path(__file__).resolve().parents[2]


def _twin(default_input: str) -> twin_module.Twin:
    _cold_start_functions()
    template = Template.load()
    scenario = _scenario({})
    return twin_module.Twin(
        scenario,
        template=template,
        components=twin_module.default_components(scenario, template),
        parameters={"DefaultInput": default_input},
    )


def test_a_default_input_that_is_not_json_fails_the_stack_with_eventbridges_error() -> None:
    # "{dryRun: true}" matches the parameter's AllowedPattern, and a YAML definition would read it.
    # The twin stops itself when its start fails.
    with pytest.raises(ClientError) as refused, _twin("{dryRun: true}"):
        pass
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"].startswith("JSON syntax error in input for target DefaultInput: "), error
    assert refused.value.operation_name == "PutTargets"


def test_a_json_default_input_deploys_its_check_rule_disabled() -> None:
    with _twin('{"dryRun": true}') as twin:
        events = twin.aws.admin_session().client("events", endpoint_url=twin.endpoint_url)
        rule = events.describe_rule(Name="podcidr-DefaultInputCheck", EventBusName="podcidr-migration-requests")
        assert rule["State"] == "DISABLED"
        (target,) = events.list_targets_by_rule(
            Rule="podcidr-DefaultInputCheck", EventBusName="podcidr-migration-requests"
        )["Targets"]
        assert target["Input"] == '{"dryRun": true}'


def _deployed_default_inputs() -> dict[str, str]:
    """DefaultInput as each way of deploying this repository gives it: the template's default, and each
    samconfig.toml environment's parameter_overrides that set it."""
    values = {"template default": str(Template.load().parameters["DefaultInput"]["Default"])}
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    for environment, commands in config.items():
        if not isinstance(commands, dict):
            continue
        overrides = str(((commands.get("deploy") or {}).get("parameters") or {}).get("parameter_overrides") or "")
        for item in overrides.split():
            key, _, value = item.partition("=")
            if key == "DefaultInput":
                values[f"samconfig {environment}"] = value.strip("\"'")
    return values


def test_the_repositorys_default_inputs_are_json_objects_the_contract_accepts() -> None:
    for where, value in _deployed_default_inputs().items():
        assert json_error(value) is None, (where, value)
        defaults = json.loads(value)
        assert isinstance(defaults, dict), where
        parse_execution_input({**defaults, "clusterName": "eksworkshop"})  # ValidateInput accepts the merged input
