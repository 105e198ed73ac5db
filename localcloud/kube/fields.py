"""Unknown fields of built-in kinds, dropped as kube-apiserver drops them.

kube-apiserver decodes a create, update or patch into the kind's Go type: a field the type does not
declare is dropped, and the request's `fieldValidation` says what the client hears (Kubernetes API
concepts, "Field validation"; KEP-2885, GA in 1.27):
- `Ignore`: nothing;
- `Warn` (the server's default): one `Warning: 299 - "unknown field \\"spec.foo\\""` header per field;
- `Strict` (what kubectl sends by default): 400 BadRequest, `<Kind> in version "v1" cannot be handled
  as a <Kind>: strict decoding error: unknown field "spec.foo", unknown field ...`; nothing is written.

The schema is the kubernetes Python client's models (each model's `openapi_types` and
`attribute_map`, generated from the API server's OpenAPI document), not a hand-written list.
Custom resources are pruned by their CRD's structural schema instead (localcloud.kube.defaults).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import kubernetes.client.models as models

from localcloud.kube.errors import ApiError, bad_request
from localcloud.kube.resources import ResourceType

DIRECTIVES = ("Ignore", "Warn", "Strict")
DEFAULT_DIRECTIVE = "Warn"
_LIST = re.compile(r"^List\[(.+)\]$")
_MAP = re.compile(r"^Dict\[str, (.+)\]$")
_OPAQUE = frozenset({"str", "int", "bool", "float", "bytes", "datetime", "date", "object"})
"""Leaves; `object` is a free-form value (IntOrString, RawExtension, fieldsV1): nothing to prune in it."""


class NoSchema(LookupError):
    """A built-in kind the Python client has no model for (the twin would prune nothing)."""


def model_name(resource: ResourceType) -> str:
    """`V1Pod`, `V1Deployment`; core `Event` is `CoreV1Event` in the client."""
    version = resource.version[:1].upper() + resource.version[1:]
    for name in (f"{version}{resource.kind}", f"Core{version}{resource.kind}"):
        if hasattr(models, name):
            return name
    raise NoSchema(f"the kubernetes client has no model for {resource.kind} ({resource.api_version})")


@functools.cache
def _fields(name: str) -> dict[str, str]:
    """A model's JSON field names -> their types, as the client declares them."""
    model = getattr(models, name)
    return {model.attribute_map[attribute]: kind for attribute, kind in model.openapi_types.items()}


def _prune(kind: str, value: Any, path: str, found: list[str]) -> None:
    if kind in _OPAQUE or value is None:
        return
    listed = _LIST.match(kind)
    if listed:
        if isinstance(value, list):
            for index, item in enumerate(value):
                _prune(listed.group(1), item, f"{path}[{index}]", found)
        return
    mapped = _MAP.match(kind)
    if mapped:
        if isinstance(value, dict):
            for key, item in value.items():
                _prune(mapped.group(1), item, f"{path}.{key}", found)
        return
    if not isinstance(value, dict):
        return  # a type mismatch is the validation's to report, not pruning's
    fields = _fields(kind)
    for key in list(value):
        where = f"{path}.{key}" if path else key
        if key in fields:
            _prune(fields[key], value[key], where, found)
        else:
            del value[key]
            found.append(where)


def prune_unknown(resource: ResourceType, obj: dict[str, Any]) -> list[str]:
    """Drop, in place, every field the kind does not declare; their paths (`spec.foo`,
    `spec.template.spec.containers[0].bar`), in document order."""
    found: list[str] = []
    _prune(model_name(resource), obj, "", found)
    return found


def directive(raw: str | None) -> str:
    """The request's `fieldValidation` (absent: the server's default, Warn)."""
    if raw in (None, ""):
        return DEFAULT_DIRECTIVE
    if raw not in DIRECTIVES:
        raise bad_request(f'fieldValidation must be one of "Ignore", "Warn", or "Strict", not "{raw}"')
    return str(raw)


def strict_error(resource: ResourceType, unknown: list[str]) -> ApiError:
    listed = ", ".join(f'unknown field "{path}"' for path in unknown)
    return bad_request(
        f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
        f"strict decoding error: {listed}"
    )


def warning_header(path: str) -> str:
    """The `Warning` header for one dropped field (RFC 7234 warn-code 299, a quoted-string text)."""
    text = f'unknown field "{path}"'.replace("\\", "\\\\").replace('"', '\\"')
    return f'299 - "{text}"'
