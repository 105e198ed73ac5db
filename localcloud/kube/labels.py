"""Label syntax as the API server checks it (k8s.io/apimachinery validation: ValidateLabels,
IsQualifiedName, IsValidLabelValue; Kubernetes docs "Labels and Selectors", "Syntax and character
set"): a key is an optional DNS-1123 subdomain prefix (at most 253 characters) and `/`, then a name of
at most 63 alphanumerics, `-`, `_`, `.`, starting and ending alphanumeric; a value is empty or such a
name. The messages are the API server's."""

from __future__ import annotations

import re

_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_NAME_RULE = (
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_VALUE_RULE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used "
    "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _key_problems(key: str) -> list[str]:
    prefix, slash, name = key.rpartition("/")
    problems = []
    if slash and (not prefix or len(prefix) > 253 or not _PREFIX.match(prefix)):
        problems.append(
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
            "'.', and must start and end with an alphanumeric character"
        )
    if not name:
        problems.append("name part must be non-empty")
    elif len(name) > 63:
        problems.append("name part must be no more than 63 characters")
    elif not _NAME.match(name):
        problems.append(f"name part {_NAME_RULE}")
    return problems


def label_causes(labels: dict[str, str], field: str = "metadata.labels") -> list[tuple[str, str]]:
    """(field, message) for each invalid key or value, as field.ErrorList words them."""
    causes: list[tuple[str, str]] = []
    for key, value in labels.items():
        causes.extend((field, f'Invalid value: "{key}": {problem}') for problem in _key_problems(key))
        if len(value) > 63:
            causes.append((field, f'Invalid value: "{value}": must be no more than 63 characters'))
        elif value and not _NAME.match(value):
            causes.append((field, f'Invalid value: "{value}": {_VALUE_RULE}'))
    return causes
