r"""Request validation as an API Gateway request validator does it.

`validateRequestParameters`: every required parameter (path, query string, header) is present,
else BAD_REQUEST_PARAMETERS ("Missing required request parameters: [a, b]").
`validateRequestBody`: the body is checked against the model of its content type (JSON Schema
draft 4; a content type without a model is not checked), else BAD_REQUEST_BODY, message "Invalid
request body" and `$context.error.validationErrorString` the list of errors in the words of the
validator API Gateway runs (java-json-tools' json-schema-validator), e.g.
`[object has missing required properties (["clusterName"])]`.

Patterns are ECMA 262 regular expressions, as that validator runs them: `$` matches only at the
very end (Python's also before a final newline) and `\d`, `\w`, `\s` are ASCII (Python's Unicode).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from jsonschema import Draft4Validator, ValidationError, validators

from localcloud.apigateway.definition import Operation
from localcloud.apigateway.responses import Refused

INVALID_BODY = "Invalid request body"


def check_parameters(operation: Operation, params: Mapping[str, Mapping[str, str]]) -> None:
    if not operation.validate_parameters:
        return
    missing = []
    for parameter in operation.parameters:
        values = params.get(parameter.location) or {}
        if parameter.location == "header":
            values = {key.lower(): value for key, value in values.items()}
            present = parameter.name.lower() in values
        else:
            present = bool(values.get(parameter.name))
        if parameter.required and not present:
            missing.append(parameter.name)
    if missing:
        raise Refused(
            "BAD_REQUEST_PARAMETERS", f"Missing required request parameters: [{', '.join(missing)}]", status=400
        )


def check_body(operation: Operation, content_type: str, body: bytes) -> None:
    if not operation.validate_body:
        return
    schema = operation.models.get(content_type)
    if schema is None:
        return
    try:
        document = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise _invalid([f"the body is not JSON: {error}"]) from None
    errors = schema_errors(schema, document)
    if errors:
        raise _invalid(errors)


def _invalid(errors: list[str]) -> Refused:
    return Refused("BAD_REQUEST_BODY", INVALID_BODY, status=400, validation_errors=f"[{', '.join(errors)}]")


def ecma_262(pattern: str) -> re.Pattern[str]:
    r"""`pattern` compiled to behave as ECMA 262 does: ASCII classes, `$` only at the very end
    (outside a character class, an unescaped `$` becomes `\Z`)."""
    translated, escaped, in_class = [], False, False
    for char in pattern:
        if escaped:
            translated.append(char)
            escaped = False
        elif char == "\\":
            translated.append(char)
            escaped = True
        elif char == "[":
            in_class = True
            translated.append(char)
        elif char == "]":
            in_class = False
            translated.append(char)
        else:
            translated.append("\\Z" if char == "$" and not in_class else char)
    return re.compile("".join(translated), re.ASCII)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_262(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


ApiGatewayValidator = validators.extend(Draft4Validator, {"pattern": _ecma_pattern})


def schema_errors(schema: Mapping[str, Any], document: Any) -> list[str]:
    """Every way `document` breaks `schema` (draft 4), one message per keyword and location."""
    messages: list[str] = []
    for error in sorted(ApiGatewayValidator(schema).iter_errors(document), key=_position):
        message = _message(error)
        if message not in messages:
            messages.append(message)
    return messages


def _position(error: ValidationError) -> tuple[str, str]:
    return "/".join(str(part) for part in error.absolute_path), str(error.validator)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _message(error: ValidationError) -> str:
    keyword, expected, instance, schema = str(error.validator), error.validator_value, error.instance, error.schema
    if keyword == "required":
        missing = sorted(name for name in expected if name not in instance)
        return f"object has missing required properties ({_json(missing)})"
    if keyword == "additionalProperties":
        extra = sorted(_extra_properties(schema, instance))
        return f"object instance has properties which are not allowed by the schema: {_json(extra)}"
    if keyword == "type":
        allowed = sorted(expected if isinstance(expected, list) else [expected])
        return (
            f"instance type ({_type_name(instance)}) does not match any allowed primitive type "
            f"(allowed: {_json(allowed)})"
        )
    if keyword == "pattern":
        return f"ECMA 262 regex {_json(expected)} does not match input string {_json(instance)}"
    if keyword == "enum":
        return f"instance value ({_json(instance)}) not found in enum (possible values: {_json(expected)})"
    return _bounds_message(keyword, expected, instance) or str(error.message)


def _bounds_message(keyword: str, expected: Any, instance: Any) -> str | None:
    messages = {
        "minimum": f"numeric instance is lower than the required minimum (minimum: {expected}, found: {instance})",
        "maximum": f"numeric instance is greater than the required maximum (maximum: {expected}, found: {instance})",
        "minItems": (
            f"array is too short: must have at least {expected} elements but instance has "
            f"{len(instance) if isinstance(instance, list) else 0} elements"
        ),
        "maxItems": (
            f"array is too long: must have at most {expected} elements but instance has "
            f"{len(instance) if isinstance(instance, list) else 0} elements"
        ),
        "uniqueItems": "array must not contain duplicate elements",
        "minLength": (
            f"string {_json(instance)} is too short (length: {len(str(instance))}, required minimum: {expected})"
        ),
        "maxLength": (
            f"string {_json(instance)} is too long (length: {len(str(instance))}, maximum allowed: {expected})"
        ),
    }
    return messages.get(keyword)


def _extra_properties(schema: Mapping[str, Any], instance: Mapping[str, Any]) -> Iterator[str]:
    known = set(schema.get("properties") or {})
    patterns = [ecma_262(pattern) for pattern in schema.get("patternProperties") or {}]
    for name in instance:
        if name not in known and not any(pattern.search(name) for pattern in patterns):
            yield name
