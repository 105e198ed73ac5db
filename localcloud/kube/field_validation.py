"""Server-side field validation of custom resources (the `fieldValidation` query parameter), as
kube-apiserver does it for a CRD with a structural schema: the fields of a create, update or
merge/apply patch body that the schema does not know would be pruned; with `Strict` the request is
refused (400, "strict decoding error: unknown field ..."), with `Warn` (the default) each is named
in a `Warning` header, with `Ignore` they are dropped silently. kubectl sends `Strict` for
`--validate=strict` (its default) and `Warn` for `--validate=warn`.
"""

from __future__ import annotations

from typing import Any

from localcloud.kube.errors import ApiError
from localcloud.kube.resources import ResourceType

Obj = dict[str, Any]
ENVELOPE = ("apiVersion", "kind", "metadata")


def unknown_fields(schema: Obj, obj: Any) -> list[str]:
    """Paths (spec.foo, spec.items[0].bar) of the fields of `obj` that `schema` would prune."""
    found: list[str] = []
    if isinstance(obj, dict):
        known = {k: v for k, v in obj.items() if k not in ENVELOPE}
        _walk(known, schema, "", found)
    return found


def _walk(value: Any, schema: Obj, path: str, found: list[str]) -> None:
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if props is not None and key in props:
                _walk(item, props[key], where, found)
            elif isinstance(extra, dict):
                _walk(item, extra, where, found)
            elif not (schema.get("x-kubernetes-preserve-unknown-fields") or extra is True):
                found.append(where)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            _walk(item, schema["items"], f"{path}[{i}]", found)


def check(resource: ResourceType, body: Any, directive: str | None) -> list[str]:
    """Raise 400 under `Strict`; the Warning header values otherwise (none under `Ignore`)."""
    if resource.builtin or not resource.schema or directive == "Ignore":
        return []
    unknown = unknown_fields(resource.schema, body)
    if not unknown:
        return []
    if directive == "Strict":
        listed = ", ".join(f'unknown field "{path}"' for path in unknown)
        raise ApiError(
            400,
            "BadRequest",
            f'{resource.kind} in version "{resource.version}" cannot be handled as a {resource.kind}: '
            f"strict decoding error: {listed}",
        )
    return [f'299 - "unknown field \\"{path}\\""' for path in unknown]
