"""The vpc-cni add-on's configurationValues (JSON or YAML, kept in its format): read by Plan and by
ConfigureCni. Apart from the step so that Plan, which never talks to the cluster, does not import the
Kubernetes client."""

from __future__ import annotations

import json
from typing import Any

from podcidr.errors import CniConfigConflict


def parse_configuration_values(text: str | None) -> tuple[dict[str, Any], str]:
    """The add-on's configurationValues as a dict, and its format ("json" or "yaml")."""
    if not text or not text.strip():
        return {}, "json"
    try:
        value = json.loads(text)
        fmt = "json"
    except ValueError:
        import yaml  # JSON is the usual form (and none at all): PyYAML only for configurationValues in YAML

        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as error:
            raise CniConfigConflict(
                f"The vpc-cni add-on's configurationValues are neither JSON nor YAML ({error}); fix them first."
            ) from error
        fmt = "yaml"
    if value is None:
        return {}, fmt
    if not isinstance(value, dict):
        raise CniConfigConflict(f"The vpc-cni add-on's configurationValues are not an object: {text!r}.")
    return value, fmt


def merged_configuration_values(text: str | None, env: dict[str, str]) -> str | None:
    """The configurationValues with `env` merged in, in the original format; None if nothing changes."""
    values, fmt = parse_configuration_values(text)
    current_env = values.get("env") or {}
    if not isinstance(current_env, dict):
        raise CniConfigConflict(
            f"The vpc-cni add-on's configurationValues have an env that is not a map: {current_env!r}."
        )
    if all(str(current_env.get(key)) == value and key in current_env for key, value in env.items()):
        return None
    merged = {**values, "env": {**{k: str(v) for k, v in current_env.items()}, **env}}
    if fmt == "yaml":
        import yaml

        return yaml.safe_dump(merged, sort_keys=False, default_flow_style=False)
    return json.dumps(merged, separators=(",", ":"))
