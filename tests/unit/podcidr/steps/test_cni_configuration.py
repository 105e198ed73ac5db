"""The vpc-cni add-on's configurationValues merged with the custom-networking env (pure), in their
format (JSON or YAML)."""

from __future__ import annotations

import json

import pytest
import yaml

from podcidr.errors import CniConfigConflict
from podcidr.steps.cni_configuration import merged_configuration_values, parse_configuration_values

ENV = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}


def test_empty_values_become_json_with_the_env() -> None:
    assert json.loads(merged_configuration_values(None, ENV) or "") == {"env": ENV}
    assert json.loads(merged_configuration_values("", ENV) or "") == {"env": ENV}


def test_json_values_keep_their_other_settings_and_format() -> None:
    current = json.dumps({"env": {"WARM_IP_TARGET": "5"}, "init": {"env": {"DISABLE_TCP_EARLY_DEMUX": "true"}}})
    merged = json.loads(merged_configuration_values(current, ENV) or "")
    assert merged == {"env": {"WARM_IP_TARGET": "5", **ENV}, "init": {"env": {"DISABLE_TCP_EARLY_DEMUX": "true"}}}


def test_yaml_values_stay_yaml() -> None:
    current = "env:\n  WARM_IP_TARGET: '5'\nenableNetworkPolicy: 'true'\n"
    merged = merged_configuration_values(current, ENV) or ""
    with pytest.raises(ValueError):
        json.loads(merged)
    assert yaml.safe_load(merged) == {"env": {"WARM_IP_TARGET": "5", **ENV}, "enableNetworkPolicy": "true"}


def test_already_configured_values_need_no_update() -> None:
    assert merged_configuration_values(json.dumps({"env": ENV}), ENV) is None
    assert merged_configuration_values(yaml.safe_dump({"env": {**ENV, "X": "1"}}), ENV) is None


@pytest.mark.parametrize("bad", ["[1, 2]", "env: [a", "env: [a, b]"])
def test_unusable_values_are_a_conflict(bad: str) -> None:
    with pytest.raises(CniConfigConflict):
        merged_configuration_values(bad, ENV)
    assert parse_configuration_values("") == ({}, "json")


def test_json_values_are_written_compact() -> None:
    assert merged_configuration_values('{"env": {"A": "1"}}', {"B": "2"}) == '{"env":{"A":"1","B":"2"}}'


def test_a_key_present_with_another_value_or_absent_is_set() -> None:
    assert json.loads(merged_configuration_values('{"env": {"B": "3"}}', {"B": "2"}) or "") == {"env": {"B": "2"}}
    assert merged_configuration_values("{}", {"B": "None"}) == '{"env":{"B":"None"}}'  # absent, not the string


def test_non_string_env_values_are_kept_as_strings() -> None:
    assert merged_configuration_values("env:\n  WARM_IP_TARGET: 5\n", {"B": "2"}) == (
        "env:\n  WARM_IP_TARGET: '5'\n  B: '2'\n"
    )


def test_blank_or_null_values_are_empty() -> None:
    assert parse_configuration_values("  \n") == ({}, "json")
    assert parse_configuration_values("null") == ({}, "json")
    assert parse_configuration_values("~\n") == ({}, "yaml")
    assert parse_configuration_values("a: 1") == ({"a": 1}, "yaml")


def test_the_conflicts_say_what_is_wrong() -> None:
    with pytest.raises(CniConfigConflict, match=r"are not an object: '\[1, 2\]'\."):
        parse_configuration_values("[1, 2]")
    with pytest.raises(CniConfigConflict, match=r"(?s)neither JSON nor YAML \(.*\); fix them first\."):
        parse_configuration_values("env: [a")
    with pytest.raises(CniConfigConflict, match=r"have an env that is not a map: \['a', 'b'\]\."):
        merged_configuration_values("env: [a, b]", ENV)
