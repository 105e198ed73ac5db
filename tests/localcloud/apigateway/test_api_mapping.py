"""The twin's API Gateway pieces on their own: VTL helpers, response selection, gateway responses,
the request validator's messages, and the template's API as the twin reads it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from localcloud.apigateway.definition import rest_apis
from localcloud.apigateway.gateway import select_response
from localcloud.apigateway.responses import Refused, gateway_response
from localcloud.apigateway.urls import on_twin
from localcloud.apigateway.validation import schema_errors
from localcloud.apigateway.vtl import Input, escape_javascript, render, url_encode
from localcloud.template import Account, Template

ACCOUNT = Account("ap-southeast-1", "123456789012")
ESCAPE_IN_JSON = """"$util.escapeJavaScript($input.json('$')).replaceAll("\\\\'", "'")\""""
"""The template's idiom: the body as a JSON string inside a JSON document."""


def _render(template: str, body: str = "{}", params: dict[str, dict[str, str]] | None = None) -> str:
    return render(template, payload=Input(body, params), context={"stage": "v1"})


@pytest.mark.parametrize(
    ("text", "escaped"),
    [
        ("plain ascii-text_0.9", "plain ascii-text_0.9"),
        ("it's", "it\\'s"),
        ('say "hi"', 'say \\"hi\\"'),
        ("back\\slash", "back\\\\slash"),
        ("a/b", "a\\/b"),
        ("line\nnext\r\ttab\b\f", "line\\nnext\\r\\ttab\\b\\f"),
        ("\x01\x1f", "\\u0001\\u001F"),
        ("\x7f", "\x7f"),
        ("é", "\\u00E9"),
        ("€", "\\u20AC"),
        ("😀", "\\uD83D\\uDE00"),
    ],
)
def test_escape_javascript_is_commons_lang_escape_javascript(text: str, escaped: str) -> None:
    assert escape_javascript(text) == escaped
    assert _render("$util.escapeJavaScript($input.path('$.s'))", json.dumps({"s": text})) == escaped


@pytest.mark.parametrize(
    "document",
    [
        {"clusterName": "x"},
        {"image": "it's \\' \"quoted\" /path"},
        {"text": "é€😀\n\ttabs", "n": [1, 2.5, True, None]},
        {"trailing": "\\"},
    ],
)
def test_escaped_body_with_quotes_unescaped_is_a_json_string_of_the_body(document: Any) -> None:
    rendered = _render(ESCAPE_IN_JSON, json.dumps(document, ensure_ascii=False))
    assert json.loads(json.loads(rendered)) == document


def test_input_path_returns_values_and_json_returns_json_text() -> None:
    body = json.dumps({"a": {"b": [1, {"c": "x"}]}, "n": 1.5, "flag": True})
    assert _render("$input.path('$.a.b[1].c')", body) == "x"
    assert _render("$input.path('$.a.b').size()", body) == "2"
    assert _render("#foreach($v in $input.path('$.a.b'))[$v]#end", body).startswith("[1]")
    assert _render("$input.json('$.a')", body) == '{"b":[1,{"c":"x"}]}'
    assert _render("$input.json('$.n')", body) == "1.5"
    assert _render("$input.json('$.missing')", body) == "null"
    assert _render("$input.body", body) == body
    assert _render("#if($input.path('$.flag'))yes#end", body) == "yes"


def test_input_params_look_in_path_then_query_then_headers() -> None:
    params = {"path": {"id": "p"}, "querystring": {"id": "q", "only": "q2"}, "header": {"X-Token": "h"}}
    assert _render("$input.params('id')|$input.params('only')|$input.params('x-token')", params=params) == "p|q2|h"
    assert _render("$input.params('nothing')", params=params) == ""
    assert _render("$input.params().path.id", params=params) == "p"


def test_java_string_methods_the_templates_use() -> None:
    arn = "arn:aws:states:ap-southeast-1:123456789012:execution:podcidr-migration:abc-1"
    template = (
        "#set($arn = $input.path('$.arn'))#set($cut = $arn.lastIndexOf(\":\") + 1)"
        '$arn.substring($cut)|$arn.indexOf("zz")|$arn.lastIndexOf("zz")|$arn.indexOf(":")'
    )
    assert _render(template, json.dumps({"arn": arn})) == "abc-1|-1|-1|3"


def test_util_url_encode_is_javas_url_encoder() -> None:
    assert url_encode("a b*~/é") == "a+b*%7E%2F%C3%A9"
    assert _render("$util.urlDecode($util.urlEncode($input.path('$.s')))", json.dumps({"s": "a b+c"})) == "a b+c"
    assert _render("$util.base64Decode($util.base64Encode('héllo'))") == "héllo"
    assert _render("$util.parseJson('{\"a\": [1]}').a.size()") == "1"


@pytest.mark.parametrize(
    ("status", "chosen"),
    [(200, "202"), (400, "400"), (404, "400"), (499, "400"), (4000, "202"), (500, "202"), (140, "202")],
)
def test_integration_response_is_chosen_by_the_status_code_matched_in_full(status: int, chosen: str) -> None:
    responses = {"default": {"statusCode": "202"}, "4\\d{2}": {"statusCode": "400"}}
    assert (select_response(responses, status) or {})["statusCode"] == chosen


def test_without_a_default_an_unmatched_status_selects_nothing() -> None:
    assert select_response({"4\\d{2}": {"statusCode": "400"}}, 200) is None


def test_gateway_response_substitutes_context_without_velocity() -> None:
    customized = {
        "BAD_REQUEST_BODY": {
            "statusCode": 422,
            "responseTemplates": {
                "application/json": '{"m": "$context.error.validationErrorString", "id": "$context.requestId"}'
            },
        },
        "DEFAULT_4XX": {"responseTemplates": {"application/json": '{"fallback": $context.error.messageString}'}},
    }
    refusal = Refused("BAD_REQUEST_BODY", "Invalid request body", status=400, validation_errors='[bad "x"]')
    response = gateway_response(refusal, customized, {"requestId": "r-1"})
    assert response.status == 422
    assert json.loads(response.body) == {"m": '[bad "x"]', "id": "r-1"}
    denied = gateway_response(Refused("MISSING_AUTHENTICATION_TOKEN", 'say "no"'), customized, {})
    assert denied.status == 403
    assert json.loads(denied.body) == {"fallback": 'say "no"'}
    assert ("x-amzn-ErrorType", "MissingAuthenticationTokenException") in denied.headers


def test_validation_messages_are_api_gateways() -> None:
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["a", "b"],
        "properties": {"a": {"type": "integer", "maximum": 3}, "b": {"type": "array", "uniqueItems": True}},
    }
    assert schema_errors(schema, {"a": 1, "b": []}) == []
    assert schema_errors(schema, {"z": 1, "y": 2}) == [
        'object instance has properties which are not allowed by the schema: ["y","z"]',
        'object has missing required properties (["a","b"])',
    ]
    assert schema_errors(schema, {"a": 4, "b": [1, 1]}) == [
        "numeric instance is greater than the required maximum (maximum: 3, found: 4)",
        "array must not contain duplicate elements",
    ]
    assert schema_errors(schema, {"a": 1.5, "b": []}) == [
        'instance type (number) does not match any allowed primitive type (allowed: ["integer"])'
    ]


def test_the_templates_api_as_the_twin_reads_it() -> None:
    template = Template.load()
    resolver = template.resolver(ACCOUNT)
    (api,) = rest_apis(template, resolver)
    assert api.api_id == resolver.ref("MigrationsApi") and len(api.api_id) == 10 and api.api_id.isalnum()
    assert api.stage == "v1"
    start, describe = api.operations
    assert (start.method, start.resource_path, start.authorization) == ("POST", "/migrations", "AWS_IAM")
    assert start.validate_body and start.models["application/json"]["required"] == ["clusterName"]
    assert describe.match("GET", "/migrations/a%3Ab") == {"id": "a:b"}
    assert describe.match("GET", "/migrations/a/b") is None and describe.match("POST", "/migrations/a") is None
    assert describe.method_responses == {"200", "400", "404", "429", "500", "502", "503"}
    assert start.integration["credentials"] == resolver.get_att("MigrationsApiRole", "Arn")
    assert "arn:aws:states:ap-southeast-1:123456789012:stateMachine:podcidr-migration" in str(
        start.integration["requestTemplates"]
    )


def test_stack_outputs_with_an_execute_api_url_point_at_the_twin() -> None:
    endpoint = "http://127.0.0.1:4566"
    assert on_twin("https://abc123def0.execute-api.ap-southeast-1.amazonaws.com/v1", endpoint) == (
        f"{endpoint}/restapis/abc123def0/v1/_user_request_"
    )
    assert on_twin("https://abc123def0.execute-api.ap-southeast-1.amazonaws.com/v1/migrations", endpoint).endswith(
        "/_user_request_/migrations"
    )
    assert (
        on_twin("arn:aws:states:ap-southeast-1:1:stateMachine:x", endpoint)
        == "arn:aws:states:ap-southeast-1:1:stateMachine:x"
    )
