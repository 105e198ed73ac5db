"""Mapping templates as API Gateway renders them: Velocity (airspeed-ext) with `$input`, `$util`,
`$context` and `$stageVariables`.

The variables follow the API Gateway mapping template reference ("Variables for data
transformations"):

- `$input.body` the raw payload; `$input.json(x)` the JSON text of JSONPath `x` over it;
  `$input.path(x)` the value itself (a map, a list, a string, a number) so that templates can
  walk it; `$input.params()` every request parameter (`path`, `querystring`, `header`);
  `$input.params(x)` one of them, looked up in that order.
- `$util.escapeJavaScript(s)` escapes as Apache Commons Lang's StringEscapeUtils.escapeJavaScript,
  which API Gateway uses: `"` `'` `\\` `/` get a backslash, \\b \\f \\n \\r \\t their short escape,
  other control characters and everything past ASCII a `\\uXXXX` escape of each UTF-16 unit (so
  the result is JSON-safe except for `\\'`, which is why templates `.replaceAll("\\\\'", "'")`);
  `parseJson`, `urlEncode`/`urlDecode` (Java's URLEncoder: form encoding, space as `+`),
  `base64Encode`/`base64Decode` (UTF-8).

Velocity's string literals keep their backslashes (`"\\\\'"` is three characters, the Java regex
of a backslash and a quote), as airspeed-ext does. Java `String` methods that templates call and
airspeed lacks are added (`lastIndexOf`, ...), with Java's results (-1 when not found).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import airspeed
from jsonpath_ng.exceptions import JsonPathParserError
from jsonpath_ng.ext.parser import parse as parse_jsonpath

_SHORT_ESCAPES = {"\b": "\\b", "\n": "\\n", "\t": "\\t", "\f": "\\f", "\r": "\\r"}
_BACKSLASHED = {"'", '"', "\\", "/"}


class MappingTemplateError(Exception):
    """The template cannot be rendered (API Gateway answers 500, "Internal server error")."""


def escape_javascript(text: str) -> str:
    """Apache Commons Lang 2 StringEscapeUtils.escapeJavaScript (API Gateway's $util.escapeJavaScript)."""
    escaped: list[str] = []
    for char in text:
        code = ord(char)
        if code > 0xFFFF:  # Java strings hold UTF-16 units: each is escaped on its own
            unit = code - 0x10000
            escaped.append(f"\\u{0xD800 + (unit >> 10):04X}\\u{0xDC00 + (unit & 0x3FF):04X}")
        elif code > 0x7F:
            escaped.append(f"\\u{code:04X}")
        elif code < 32:
            escaped.append(_SHORT_ESCAPES.get(char, f"\\u{code:04X}"))
        elif char in _BACKSLASHED:
            escaped.append("\\" + char)
        else:
            escaped.append(char)
    return "".join(escaped)


def url_encode(text: str) -> str:
    """java.net.URLEncoder.encode(text, "UTF-8"): letters, digits and `.-*_` stay, space is `+`."""
    return quote_plus(text, safe="*").replace("~", "%7E")


class Util:
    """`$util`."""

    def escapeJavaScript(self, value: Any) -> str | None:  # noqa: N802 - the template's name
        return None if value is None else escape_javascript(java_string(value))

    def parseJson(self, value: Any) -> Any:  # noqa: N802
        try:
            return json.loads(java_string(value))
        except (TypeError, ValueError) as error:
            raise MappingTemplateError(f"$util.parseJson: not JSON: {error}") from None

    def urlEncode(self, value: Any) -> str | None:  # noqa: N802
        return None if value is None else url_encode(java_string(value))

    def urlDecode(self, value: Any) -> str | None:  # noqa: N802
        return None if value is None else unquote_plus(java_string(value))

    def base64Encode(self, value: Any) -> str | None:  # noqa: N802
        return None if value is None else base64.b64encode(java_string(value).encode()).decode()

    def base64Decode(self, value: Any) -> str | None:  # noqa: N802
        return None if value is None else base64.b64decode(java_string(value)).decode("utf-8", "replace")


def java_string(value: Any) -> str:
    """A value as Java's String.valueOf shows it, for the scalars JSON has."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def json_path(document: Any, path: str) -> Any:
    """The value at JSONPath `path` in `document` (a list when the path selects several), or None."""
    if path.strip() == "$":
        return document
    try:
        matches = [match.value for match in parse_jsonpath(path).find(document)]
    except (JsonPathParserError, ValueError, TypeError) as error:
        raise MappingTemplateError(f"invalid JSONPath {path!r}: {error}") from None
    if not matches:
        return None
    return matches[0] if len(matches) == 1 and not _selects_many(path) else matches


def _selects_many(path: str) -> bool:
    return "*" in path or ".." in path or "?(" in path or ":" in path or "," in path


class Input:
    """`$input` over one payload (the method request's body, or the integration's response)."""

    def __init__(self, body: str, params: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.body = body
        self._params = {kind: dict((params or {}).get(kind) or {}) for kind in ("path", "querystring", "header")}
        self._document: Any = None
        self._parsed = False

    def _json(self) -> Any:
        if not self._parsed:
            self._parsed = True
            try:
                self._document = json.loads(self.body) if self.body.strip() else {}
            except ValueError as error:
                raise MappingTemplateError(f"the payload is not JSON: {error}") from None
        return self._document

    def json(self, path: str) -> str:
        return json.dumps(json_path(self._json(), path), separators=(",", ":"), ensure_ascii=False)

    def path(self, path: str) -> Any:
        return json_path(self._json(), path)

    def params(self, name: str | None = None) -> Any:
        if name is None:
            return self._params
        for kind in ("path", "querystring", "header"):
            values = self._params[kind]
            if kind == "header":
                values = {key.lower(): value for key, value in values.items()}
                name_in_kind = name.lower()
            else:
                name_in_kind = name
            if name_in_kind in values:
                return values[name_in_kind]
        return ""


def _last_index_of(text: str, part: str, start: int | None = None) -> int:
    return text.rfind(part) if start is None else text.rfind(part, 0, start + len(part))


def _index_of(text: str, part: str, start: int = 0) -> int:
    return text.find(part, start)


_JAVA_STRING_METHODS: dict[str, Callable[..., Any]] = {
    "lastIndexOf": _last_index_of,
    "indexOf": _index_of,
    "endsWith": lambda text, suffix: text.endswith(suffix),
    "equals": lambda text, other: text == other,
    "isEmpty": lambda text: not text,
    "toLowerCase": lambda text: text.lower(),
    "toUpperCase": lambda text: text.upper(),
    "trim": lambda text: text.strip(" \t\n\r\x0b\f\x00"),
    "replace": lambda text, old, new: text.replace(old, new),
    "charAt": lambda text, index: text[index],
    "toString": lambda text: text,
}
airspeed.operators.__additional_methods__[str].update(_JAVA_STRING_METHODS)


def render(
    template: str,
    *,
    payload: Input,
    context: Mapping[str, Any],
    stage_variables: Mapping[str, str] | None = None,
) -> str:
    """The template rendered over `$input`, `$context`, `$util` and `$stageVariables`."""
    namespace = {
        "input": payload,
        "context": dict(context),
        "util": Util(),
        "stageVariables": dict(stage_variables or {}),
    }
    try:
        return str(airspeed.Template(template).merge(namespace))
    except MappingTemplateError:
        raise
    except airspeed.TemplateError as error:
        raise MappingTemplateError(str(error)) from None
