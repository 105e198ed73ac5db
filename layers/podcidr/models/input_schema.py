"""The API's request model (template.yaml `ExecutionInput`), generated from the input model.

API Gateway validates request bodies with JSON Schema draft 4, inside an OpenAPI 3.0 document.
pydantic describes the model in JSON Schema 2020-12 with `$defs` and `null` branches for optional
keys; this turns it into the draft 4 subset both accept: references inlined, `null` branches
dropped (the model refuses `null`: omit a key instead), titles and defaults left out, and the
cross-key rule of the model (podSubnetPrefixLength no larger than podCidr) as an `anyOf`.

`python -m podcidr.models.input_schema [--write template.yaml]` prints the model as YAML, or
rewrites the template's copy between its `generated:` marks; a test keeps the two equal.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from podcidr.models.input import MAX_PREFIX, MIN_PREFIX, ExecutionInput

BEGIN = "# generated: ExecutionInput from podcidr.models.input (python -m podcidr.models.input_schema --write)"
END = "# end generated: ExecutionInput"
_DROPPED = ("title", "default", "description")


def _draft4(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_draft4(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        return _draft4({**target, **{k: v for k, v in node.items() if k != "$ref"}}, defs)
    if "anyOf" in node:
        branches = [b for b in node["anyOf"] if b != {"type": "null"}]
        if len(branches) == 1:
            rest = {k: v for k, v in node.items() if k != "anyOf"}
            return _draft4({**branches[0], **rest}, defs)
    return {key: _draft4(value, defs) for key, value in node.items() if key not in (*_DROPPED, "$defs")}


def _subnets_fit_block() -> dict[str, Any]:
    """Draft 4 for the model's `_subnets_fit_block`: with both keys, the subnets are no larger than the block."""
    return {
        "anyOf": [
            {"not": {"required": ["podCidr", "podSubnetPrefixLength"]}},
            *(
                {
                    "properties": {
                        "podCidr": {"pattern": f"/{prefix}$"},
                        "podSubnetPrefixLength": {"minimum": prefix},
                    }
                }
                for prefix in range(MIN_PREFIX, MAX_PREFIX + 1)
            ),
        ]
    }


def request_model() -> dict[str, Any]:
    """The execution input as a draft 4 JSON Schema (OpenAPI 3.0 schema object)."""
    schema = ExecutionInput.model_json_schema(by_alias=True)
    model: dict[str, Any] = _draft4(schema, schema.get("$defs", {}))
    return {**model, **_subnets_fit_block()}


def template_text() -> str:
    """The model as the template holds it (indented under `components.schemas`)."""
    import yaml  # a development tool's need: the layer does not ship PyYAML

    body = yaml.safe_dump({"ExecutionInput": request_model()}, sort_keys=False, width=10_000)
    indent = " " * 12
    return "".join(indent + line + "\n" for line in [BEGIN, *body.splitlines(), END])


def write_template(path: Path) -> bool:
    """Rewrite the template's generated block; True if it changed."""
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.strip() == BEGIN)
    end = next(i for i, line in enumerate(lines) if line.strip() == END)
    updated = "".join(lines[:start]) + template_text() + "".join(lines[end + 1 :])
    if updated == text:
        return False
    path.write_text(updated)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", type=Path, metavar="TEMPLATE", help="rewrite the template's generated block")
    args = parser.parse_args(argv)
    if args.write:
        changed = write_template(args.write)
        print(f"{args.write}: {'updated' if changed else 'already up to date'}")
    else:
        sys.stdout.write(template_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
