"""The REST APIs of template.yaml as the twin serves them: each AWS::Serverless::Api's OpenAPI
document (its DefinitionBody) resolved with the twin's names and ARNs, and its operations.

An operation is one method on one resource path (`POST /migrations`), with its security, request
validator, request models (the schemas of `requestBody.content`, `$ref`s inlined), parameters and
`x-amazon-apigateway-integration`, as API Gateway imports them from OpenAPI 3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from localcloud.template import Resolver, Template, TemplateError

API_TYPES = ("AWS::Serverless::Api",)
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")
_DEFAULT_VALIDATOR = {"validateRequestBody": False, "validateRequestParameters": False}


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    """path, querystring or header (OpenAPI's `query` is API Gateway's `querystring`)."""
    required: bool


@dataclass(frozen=True)
class Operation:
    method: str
    """GET, POST, ..."""
    resource_path: str
    """/migrations/{id}"""
    pattern: re.Pattern[str]
    authorization: str
    """AWS_IAM or NONE."""
    validate_body: bool
    validate_parameters: bool
    models: dict[str, dict[str, Any]]
    """Content type -> JSON schema of the body (draft 4, `$ref`s inlined)."""
    parameters: list[Parameter]
    integration: dict[str, Any]
    method_responses: frozenset[str]
    """The status codes the method declares (an integration response must map to one of them)."""

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters (decoded) if this operation serves `method path` (as sent), else None."""
        if method.upper() != self.method:
            return None
        matched = self.pattern.fullmatch(path)
        return None if matched is None else {name: unquote(value) for name, value in matched.groupdict().items()}


@dataclass(frozen=True)
class RestApi:
    logical_id: str
    api_id: str
    stage: str
    document: dict[str, Any]
    operations: list[Operation] = field(default_factory=list)

    @property
    def gateway_responses(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("x-amazon-apigateway-gateway-responses") or {})

    def operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for operation in self.operations:
            params = operation.match(method, path)
            if params is not None:
                return operation, params
        return None


def rest_apis(template: Template, resolver: Resolver) -> list[RestApi]:
    """Every API of the template with an inline OpenAPI DefinitionBody."""
    apis = []
    for logical_id, resource in template.of_type(*API_TYPES).items():
        props = resource.get("Properties") or {}
        if "DefinitionBody" not in props:
            raise TemplateError(f"{logical_id}: the twin serves APIs defined inline (DefinitionBody) only")
        document = resolver.resolve(props["DefinitionBody"])
        api = RestApi(
            logical_id=logical_id,
            api_id=resolver.ref(logical_id),
            stage=str(resolver.resolve(props.get("StageName", "Prod"))),
            document=document,
        )
        api.operations.extend(_operations(document))
        apis.append(api)
    return apis


def _operations(document: dict[str, Any]) -> list[Operation]:
    validators = document.get("x-amazon-apigateway-request-validators") or {}
    default_validator = document.get("x-amazon-apigateway-request-validator")
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    operations = []
    for resource_path, item in (document.get("paths") or {}).items():
        shared_parameters = item.get("parameters") or []
        for method in HTTP_METHODS:
            spec = item.get(method)
            if spec is None:
                continue
            validator_name = spec.get("x-amazon-apigateway-request-validator", default_validator)
            validator = validators.get(validator_name, _DEFAULT_VALIDATOR) if validator_name else _DEFAULT_VALIDATOR
            security = spec.get("security", document.get("security")) or []
            operations.append(
                Operation(
                    method=method.upper(),
                    resource_path=resource_path,
                    pattern=_path_pattern(resource_path),
                    authorization=_authorization(security, schemes),
                    validate_body=bool(validator.get("validateRequestBody")),
                    validate_parameters=bool(validator.get("validateRequestParameters")),
                    models={
                        str(content_type).lower(): inline_refs(media.get("schema") or {}, document)
                        for content_type, media in ((spec.get("requestBody") or {}).get("content") or {}).items()
                    },
                    parameters=[_parameter(p) for p in [*shared_parameters, *(spec.get("parameters") or [])]],
                    integration=dict(spec.get("x-amazon-apigateway-integration") or {}),
                    method_responses=frozenset(str(code) for code in spec.get("responses") or {}),
                )
            )
    return operations


def _path_pattern(resource_path: str) -> re.Pattern[str]:
    regex = ""
    for part in re.split(r"(\{[^}]+\})", resource_path):
        if part.startswith("{"):
            name = part[1:-1]
            if name.endswith("+"):
                regex += f"(?P<{name[:-1]}>.+)"
            else:
                regex += f"(?P<{name}>[^/]+)"
        else:
            regex += re.escape(part)
    return re.compile(regex)


def _authorization(security: list[dict[str, Any]], schemes: dict[str, Any]) -> str:
    for requirement in security:
        for name in requirement:
            if (schemes.get(name) or {}).get("x-amazon-apigateway-authtype") == "awsSigv4":
                return "AWS_IAM"
            raise TemplateError(f"the twin's API Gateway knows IAM authorization only, not {name!r}")
    return "NONE"


def _parameter(spec: dict[str, Any]) -> Parameter:
    location = {"query": "querystring"}.get(str(spec.get("in")), str(spec.get("in")))
    return Parameter(name=str(spec["name"]), location=location, required=bool(spec.get("required")))


def inline_refs(schema: Any, document: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`schema` with every local `$ref` ("#/components/schemas/X") replaced by what it names."""
    if isinstance(schema, list):
        return [inline_refs(item, document, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith("#/") or ref in seen:
            raise TemplateError(f"the twin inlines local, non-recursive $refs only: {ref}")
        target: Any = document
        for key in ref[2:].split("/"):
            target = target[key]
        return inline_refs(target, document, (*seen, ref))
    return {key: inline_refs(value, document, seen) for key, value in schema.items()}
