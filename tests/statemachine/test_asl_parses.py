"""statemachine/migration.asl.yaml through moto's ASL parser (the one the twin runs): it reads every
state, as written, in JSONPath (docs/architecture.md "ASL conventions")."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser, ASLParserException

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "migration.asl.yaml"


def _definition() -> dict[str, Any]:
    text = re.sub(r"\$\{(\w+)\}", r"arn:aws:lambda:ap-southeast-1:123456789012:function:\1", ASL.read_text())
    definition: dict[str, Any] = yaml.safe_load(text)
    return definition


def _parse(definition: dict[str, Any]) -> Any:
    program, _ = AmazonStateLanguageParser.parse(json.dumps(definition))
    return program


def test_the_parser_reads_every_state_in_jsonpath() -> None:
    definition = _definition()
    program = _parse(definition)
    assert program.start_at.start_at_name == definition["StartAt"]
    parsed = program.states.states
    assert list(parsed) == list(definition["States"])
    for name, state in parsed.items():
        assert state.name == name
        assert state.query_language.query_language_mode == QueryLanguageMode.JSONPath, name


def test_the_parser_refuses_what_step_functions_refuses() -> None:
    """The check above is only as good as the parser's strictness: a misspelt field is an error."""
    definition = _definition()
    definition["States"]["RoutePodSubnets"]["Nxt"] = definition["States"]["RoutePodSubnets"].pop("Next")
    with pytest.raises(ASLParserException, match="Nxt"):
        _parse(definition)
