"""A statement's Condition block against a request context, as the IAM User Guide describes it
("Condition operators", "Set operators for multivalued context keys").

Written by hand: moto's policy engine knows StringEquals only, and denies (rather than skips) a
statement whose condition fails. Rules kept here:
- operators in a block, keys under an operator: all must hold; values of one key: any may match;
- a key absent from the context: false, except negated operators (true), `...IfExists` (true)
  and `Null`;
- `ForAllValues:` holds when every value of the context matches some policy value (vacuously
  for an absent key); `ForAnyValue:` when one does (never for an absent key);
- context keys are case-insensitive, string values are not (except `...IgnoreCase`); `*` and `?`
  are wildcards in `StringLike`/`ArnLike` values.
Numeric, date, IP and binary operators are refused: the template uses none of them.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

Context = Mapping[str, Sequence[str]]
"""Condition keys (lower-cased) -> their values in the request."""


class UnsupportedCondition(ValueError):
    """An operator this evaluator does not know (so the twin cannot say what AWS would do)."""


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def _arn_like(pattern: str, value: str) -> bool:
    # ARNs are compared part by part (six parts, the last may hold colons).
    p_parts, v_parts = pattern.split(":", 5), value.split(":", 5)
    if len(p_parts) != len(v_parts):
        return False
    return all(_like(p, v) for p, v in zip(p_parts, v_parts, strict=True))


def _bool(pattern: str, value: str) -> bool:
    return pattern.lower() == value.lower()


_POSITIVE: dict[str, Callable[[str, str], bool]] = {
    "stringequals": lambda p, v: p == v,
    "stringequalsignorecase": lambda p, v: p.lower() == v.lower(),
    "stringlike": _like,
    "arnequals": lambda p, v: p == v,
    "arnlike": _arn_like,
    "bool": _bool,
}
_NEGATED = {
    "stringnotequals": "stringequals",
    "stringnotequalsignorecase": "stringequalsignorecase",
    "stringnotlike": "stringlike",
    "arnnotequals": "arnequals",
    "arnnotlike": "arnlike",
}


def _values(raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    return ["true" if item is True else "false" if item is False else str(item) for item in items]


def condition_holds(block: Mapping[str, Mapping[str, Any]], context: Context) -> bool:
    """Whether every operator of a statement's Condition block holds for the request context."""
    lowered = {key.lower(): list(values) for key, values in context.items()}
    for raw_operator, keys in block.items():
        for key, policy_values in keys.items():
            if not _holds(raw_operator, lowered.get(key.lower()), _values(policy_values)):
                return False
    return True


def _holds(raw_operator: str, present: list[str] | None, policy: list[str]) -> bool:
    operator = raw_operator.lower()
    qualifier = ""
    if ":" in operator:
        qualifier, _, operator = operator.partition(":")
        if qualifier not in ("forallvalues", "foranyvalue"):
            raise UnsupportedCondition(raw_operator)
    if operator == "null":
        absent = present is None or present == []
        return any((v.lower() == "true") == absent for v in policy)
    if_exists = operator.endswith("ifexists")
    if if_exists:
        operator = operator[: -len("ifexists")]
    negated = operator in _NEGATED
    base = _NEGATED.get(operator, operator)
    match = _POSITIVE.get(base)
    if match is None:
        raise UnsupportedCondition(raw_operator)

    def one(value: str) -> bool:
        hit = any(match(p, value) for p in policy)
        return not hit if negated else hit

    if qualifier == "forallvalues":
        return all(one(v) for v in present or [])
    if qualifier == "foranyvalue":
        return any(one(v) for v in present or [])
    if present is None:
        return negated or if_exists
    # A single-valued key holds one value; several (a multivalued key without a set operator) must each match.
    return all(one(v) for v in present)


def action_matches(pattern: str, action: str) -> bool:
    """Action element matching: case-insensitive, `*` and `?` wildcards."""
    return fnmatch.fnmatchcase(action.lower(), pattern.lower())


def resource_matches(pattern: str, arn: str) -> bool:
    """Resource element matching: case-sensitive, `*` and `?` wildcards, across colons."""
    return _like(pattern, arn)
