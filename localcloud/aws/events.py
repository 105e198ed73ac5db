"""EventBridge as AWS answers where moto does not: PutTargets parses each target's `Input` as JSON.

AWS (API reference, Target.Input: "Valid JSON text passed to the target") refuses a target whose
Input is not JSON with ValidationException "JSON syntax error in input for target <Id>: <the
parser's message>" (the wording seen from AWS, ansible-collections/community.aws#201; the part after
the colon is the twin's). Its parser is strict JSON: no unquoted names or single quotes (YAML's flow
syntax `{dryRun: true}` is refused), no `True`, no trailing comma, no NaN. Text after a complete
value is ignored, as Jackson does by default (unverified on AWS). CloudFormation fails an
AWS::Events::Rule whose target it refuses, which is how a stack refuses a parameter that is not JSON.
moto stores any Input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from localcloud.aws.protocol import AwsRequest, StartResponse, WsgiApp, WsgiEnviron, read_body, send_error


def _no_constant(name: str) -> Any:
    raise ValueError(f"Non-standard token '{name}'")


def json_error(text: str) -> str | None:
    """Why `text` is not JSON as EventBridge parses a target's Input, or None when it is."""
    decoder = json.JSONDecoder(parse_constant=_no_constant)
    stripped = text.lstrip()
    if not stripped:
        return "No content to map due to end-of-input"
    try:
        decoder.raw_decode(stripped)
    except ValueError as error:
        return str(error)
    return None


class EventsRules:
    def middleware(self, inner: WsgiApp) -> WsgiApp:
        def app(environ: WsgiEnviron, start_response: StartResponse) -> Iterable[bytes]:
            request: AwsRequest | None = environ.get("localcloud.request")
            if request is None or request.service != "events" or request.operation != "PutTargets":
                return inner(environ, start_response)
            try:
                params = json.loads(read_body(environ) or b"{}")
            except ValueError:
                return inner(environ, start_response)  # moto answers a body that is not JSON
            for target in params.get("Targets") or [] if isinstance(params, dict) else []:
                if isinstance(target, dict) and isinstance(target.get("Input"), str):
                    why = json_error(target["Input"])
                    if why is not None:
                        message = f"JSON syntax error in input for target {target.get('Id')}: {why}"
                        return send_error(start_response, "json", "ValidationException", message)
            return inner(environ, start_response)

        return app
