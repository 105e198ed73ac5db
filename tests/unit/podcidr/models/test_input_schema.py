"""One set of accepted inputs: the API's request model (template.yaml) is the one generated from
the input model, and both accept and refuse the same documents (issue 15, item 2)."""

from __future__ import annotations

import ipaddress
import itertools
import re
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from localcloud.apigateway.validation import ApiGatewayValidator, schema_errors
from podcidr.errors import InvalidInput
from podcidr.models.input import (
    MAX_PREFIX,
    MIN_PREFIX,
    ExecutionInput,
    VerifyOptions,
    ipv4_block_pattern,
    parse_execution_input,
)
from podcidr.models.input_schema import BEGIN, END, request_model, template_text
from tests.fixtures.bad_inputs import MODEL_CASES, BadInput

ROOT = Path(__file__).resolve().parents[4]


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (kept as plain values)."""


_CfnLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _template_model() -> dict[str, Any]:
    template = yaml.load((ROOT / "template.yaml").read_text(), Loader=_CfnLoader)
    body = template["Resources"]["MigrationsApi"]["Properties"]["DefinitionBody"]
    model: dict[str, Any] = body["components"]["schemas"]["ExecutionInput"]
    return model


def test_the_template_holds_the_generated_model() -> None:
    # failing: run `python -m podcidr.models.input_schema --write template.yaml`
    assert _template_model() == request_model()
    text = (ROOT / "template.yaml").read_text()
    assert template_text() in text
    assert text.count(BEGIN) == text.count(END) == 1


def _draft4() -> Any:
    """The request model as API Gateway validates it (draft 4, ECMA 262 patterns)."""
    return ApiGatewayValidator(request_model())


VALID: list[Any] = [
    {"clusterName": "eksworkshop"},
    {"clusterName": "a"},
    {"clusterName": "A" + "b" * 99},
    {"clusterName": "eks_1-x", "podCidr": "100.64.0.0/16", "podSubnetPrefixLength": 16},
    {"clusterName": "x", "podCidr": "100.64.16.0/20", "podSubnetPrefixLength": 22},
    {"clusterName": "x", "podCidr": "10.1.2.240/28", "podSubnetPrefixLength": 28},
    {"clusterName": "x", "podSubnetPrefixLength": 16},
    {"clusterName": "x", "availabilityZones": ["us-gov-west-1a", "ap-southeast-1c"]},
    {"clusterName": "x", "eniConfigSecurityGroupIds": [], "nodegroups": []},
    {"clusterName": "x", "eniConfigSecurityGroupIds": ["sg-01234567", "sg-0123456789abcdef0"]},
    {"clusterName": "x", "verify": {}, "dryRun": False, "pollSeconds": 300, "tagLoadBalancerSubnets": False},
    {"clusterName": "x", "verify": {"loadBalancers": [], "image": "a", "keepWorkloads": False}},
    {"clusterName": "x", "nodegroups": ["n" * 63], "replaceNodegroups": False},
]


@pytest.mark.parametrize("document", VALID)
def test_both_accept(document: Any) -> None:
    _draft4().validate(document)
    parse_execution_input(document)


@pytest.mark.parametrize("case", MODEL_CASES, ids=lambda case: case.id)
def test_both_refuse(case: BadInput) -> None:
    assert not _draft4().is_valid(case.document)
    with pytest.raises(InvalidInput) as raised:
        parse_execution_input(case.document)
    assert case.hint in raised.value.cause


JSON_VALUES: list[Any] = [
    True, False, 0, 1, 19, 19.0, 19.5, -1, "19", "true", "yes", "", "alb", "100.64.0.0/16", None, [], {}, ["a"], ["alb"]
]  # fmt: skip
TOP_KEYS = [field.alias or name for name, field in ExecutionInput.model_fields.items()]
VERIFY_KEYS = [field.alias or name for name, field in VerifyOptions.model_fields.items()]


def _document(key: str, value: Any) -> dict[str, Any]:
    if key.startswith("verify."):
        return {"clusterName": "x", "verify": {key.removeprefix("verify."): value}}
    return {"clusterName": "x", key: value}


@pytest.mark.parametrize(
    ("key", "value"), list(itertools.product([*TOP_KEYS, *(f"verify.{k}" for k in VERIFY_KEYS)], JSON_VALUES))
)
def test_every_key_and_json_type_gets_the_same_answer(key: str, value: Any) -> None:
    document = _document(key, value)
    schema_accepts = _draft4().is_valid(document)
    try:
        parse_execution_input(document)
        model_accepts = True
    except InvalidInput:
        model_accepts = False
    assert schema_accepts == model_accepts
    schema = request_model()
    if key.startswith("verify."):
        schema = schema["properties"]["verify"]
    expected = schema["properties"][key.removeprefix("verify.")]["type"]
    if value is None or (isinstance(value, str) and expected != "string"):
        assert not model_accepts  # null is no value, and no string is read as another type
    if expected == "string" and not isinstance(value, str):
        assert not model_accepts  # and no number or boolean is read as a string


def test_the_cidr_pattern_is_the_cidr_rule() -> None:
    pattern = re.compile(ipv4_block_pattern())
    for prefix in range(MIN_PREFIX - 2, MAX_PREFIX + 3):
        for third, fourth in itertools.product(range(256), (0, 1, 2, 4, 8, 16, 17, 32, 64, 128, 255)):
            text = f"100.64.{third}.{fourth}/{prefix}"
            try:
                network = ipaddress.IPv4Network(text, strict=True)
                valid = MIN_PREFIX <= network.prefixlen <= MAX_PREFIX
            except ValueError:
                valid = False
            assert bool(pattern.search(text)) == valid, text


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        for field in annotation.model_fields.values():
            yield from _models(field.annotation)
    for argument in typing.get_args(annotation):
        yield from _models(argument)


def test_every_model_of_the_input_is_strict() -> None:
    # a key added later (nodeReplacement, ...) is strict too, or this fails
    models = set(_models(ExecutionInput))
    assert VerifyOptions in models
    for model in models:
        assert model.model_config.get("strict") is True, model.__name__
        assert model.model_config.get("extra") == "forbid", model.__name__


@pytest.mark.parametrize(
    ("block", "private"),
    [
        ("100.64.0.0/16", True),
        ("100.127.240.0/20", True),
        ("100.128.0.0/16", False),
        ("10.200.0.0/16", True),
        ("172.16.0.0/16", True),
        ("172.31.255.0/24", True),
        ("172.32.0.0/16", False),
        ("192.168.0.0/16", True),
        ("192.169.0.0/16", False),
        ("198.19.0.0/16", True),
        ("198.18.0.0/16", False),
        ("8.8.0.0/16", False),
    ],
)
def test_a_public_pod_block_is_refused_by_the_model_and_the_pattern(block: str, private: bool) -> None:
    assert bool(re.compile(ipv4_block_pattern()).search(block)) == private
    try:
        ExecutionInput.model_validate({"clusterName": "c", "podCidr": block})
        accepted = True
    except ValidationError as error:
        accepted = False
        assert "publicly routable" in str(error) and "100.64.0.0/10" in str(error)
    assert accepted == private


@pytest.mark.parametrize(
    "document",
    [{"clusterName": "eksworkshop\n"}, {"clusterName": "c", "availabilityZones": ["us-east-\u0661a"]}],
    ids=["trailing-newline", "non-ascii-digit"],
)
def test_the_api_model_runs_its_patterns_as_ecma_262_does(document: dict[str, Any]) -> None:
    """Python's `$` also matches before a final newline and its `\\d` any Unicode digit; API Gateway's
    validator (ECMA 262) refuses both, and so do the twin's API and the model."""
    assert schema_errors(request_model(), document)
    with pytest.raises(ValidationError):
        ExecutionInput.model_validate(document)
