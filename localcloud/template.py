"""What the twin needs from template.yaml: the functions and the state machine, resolved.

The template is CloudFormation YAML with short-form intrinsics (!Ref, !GetAtt, !Sub, ...); the
loader turns them into their long form ({"Ref": ...}, {"Fn::GetAtt": [...]}) and a small resolver
evaluates what the twin can know: parameters (their defaults, or values given), pseudo parameters,
and the names and ARNs of the template's resources. Each resource type the twin knows has a
"namer" in RESOURCE_NAMERS giving its Ref value and attributes; a new kind of resource (a table,
a topic) gets a namer there, and the resolver picks it up everywhere (DefinitionSubstitutions,
function environments, roles).

Physical names: the twin names a resource by its name property when the template sets one
(FunctionName, TableName, ...), else by its logical ID (CloudFormation would add the stack name
and a random suffix; locally the logical ID is the readable choice).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TEMPLATE = PROJECT_ROOT / "template.yaml"


class TemplateError(Exception):
    """template.yaml cannot be read or holds something the twin cannot resolve."""


# --- loading -----------------------------------------------------------------------------------


class CfnLoader(yaml.SafeLoader):
    """A YAML loader that understands CloudFormation's short-form intrinsic functions."""


_SHORT_FORMS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt",
            "Sub",
            "Join",
            "Select",
            "Split",
            "If",
            "Equals",
            "Not",
            "And",
            "Or",
            "FindInMap",
            "Base64",
            "ImportValue",
            "GetAZs",
            "Cidr",
            "Length",
            "ToJsonString",
        )
    },
}


def _intrinsic(long_name: str) -> Callable[[CfnLoader, yaml.Node], dict[str, Any]]:
    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value: Any
        if isinstance(node, yaml.ScalarNode):
            value = loader.construct_scalar(node)
            if long_name == "Fn::GetAtt":
                resource, _, attribute = str(value).partition(".")
                value = [resource, attribute]
        elif isinstance(node, yaml.SequenceNode):
            value = loader.construct_sequence(node, deep=True)
        else:
            value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
        return {long_name: value}

    return construct


for _short, _long in _SHORT_FORMS.items():
    CfnLoader.add_constructor(f"!{_short}", _intrinsic(_long))


def load_yaml(path: Path) -> Any:
    """A CloudFormation (or ASL) YAML document, short-form tags included."""
    try:
        with path.open(encoding="utf-8") as stream:
            return yaml.load(stream, Loader=CfnLoader)  # CfnLoader is a SafeLoader
    except OSError as error:
        raise TemplateError(f"cannot read {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise TemplateError(f"{path} is not valid YAML: {error}") from None


# --- resolving ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Names:
    """What a resource answers to: its Ref value and its attributes (Fn::GetAtt)."""

    ref: str
    attributes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Account:
    region: str
    account_id: str
    stack_name: str = "podcidr"
    partition: str = "aws"


Namer = Callable[[str, Mapping[str, Any], Account], Names]


def _arn(account: Account, service: str, resource: str, *, region: bool = True) -> str:
    return f"arn:{account.partition}:{service}:{account.region if region else ''}:{account.account_id}:{resource}"


def _function(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(props.get("FunctionName") or logical_id)
    arn = _arn(account, "lambda", f"function:{name}")
    return Names(ref=name, attributes={"Arn": arn})


def _pseudo_sub(value: Any, account: Account) -> Any:
    """A name given as !Sub over pseudo parameters only (`${AWS::StackName}-migration`), resolved."""
    if isinstance(value, dict) and set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
        pseudo = {
            "AWS::StackName": account.stack_name,
            "AWS::Region": account.region,
            "AWS::AccountId": account.account_id,
        }
        return re.sub(r"\$\{(AWS::\w+)\}", lambda m: pseudo.get(m.group(1), m.group(0)), value["Fn::Sub"])
    return value


def _state_machine(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(_pseudo_sub(props.get("Name") or props.get("StateMachineName"), account) or logical_id)
    arn = _arn(account, "states", f"stateMachine:{name}")
    return Names(ref=arn, attributes={"Arn": arn, "Name": name})


def _layer(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(props.get("LayerName") or logical_id)
    return Names(ref=_arn(account, "lambda", f"layer:{name}:1"))


def _role(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(props.get("RoleName") or logical_id)
    arn = _arn(account, "iam", f"role/{name}", region=False)
    return Names(ref=name, attributes={"Arn": arn, "RoleId": f"AROA{logical_id.upper()[:17]}"})


def _managed_policy(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    """Ref is the ARN; CloudFormation names an unnamed policy <stack>-<logical id>-<suffix> (the twin: no suffix)."""
    name = str(props.get("ManagedPolicyName") or f"{account.stack_name}-{logical_id}")
    path = str(props.get("Path") or "/")
    return Names(ref=_arn(account, "iam", f"policy{path}{name}", region=False))


def _log_group(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    raw = props.get("LogGroupName")
    name = raw if isinstance(raw, str) else f"/podcidr/{logical_id}"
    return Names(ref=name, attributes={"Arn": _arn(account, "logs", f"log-group:{name}:*")})


def _table(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(props.get("TableName") or logical_id)
    arn = _arn(account, "dynamodb", f"table/{name}")
    return Names(ref=name, attributes={"Arn": arn, "StreamArn": f"{arn}/stream/1970-01-01T00:00:00.000"})


def _topic(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(props.get("TopicName") or logical_id)
    arn = _arn(account, "sns", name)
    return Names(ref=arn, attributes={"TopicArn": arn, "TopicName": name})


def _queue(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(props.get("QueueName") or logical_id)
    url = f"https://sqs.{account.region}.amazonaws.com/{account.account_id}/{name}"
    return Names(ref=url, attributes={"Arn": _arn(account, "sqs", name), "QueueName": name, "QueueUrl": url})


def _event_bus(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    name = str(_pseudo_sub(props.get("Name"), account) or logical_id)
    arn = _arn(account, "events", f"event-bus/{name}")
    return Names(ref=name, attributes={"Arn": arn, "Name": name})


def _rest_api(logical_id: str, props: Mapping[str, Any], account: Account) -> Names:
    """API Gateway ids are 10 lowercase letters and digits; the twin's are stable for a logical ID."""
    digest = hashlib.sha256(f"{account.account_id}/{account.region}/{account.stack_name}/{logical_id}".encode())
    number = int.from_bytes(digest.digest()[:8], "big")
    characters = []
    for _ in range(10):
        number, digit = divmod(number, 36)
        characters.append("0123456789abcdefghijklmnopqrstuvwxyz"[digit])
    api_id = "".join(characters)
    return Names(ref=api_id, attributes={"RootResourceId": api_id[::-1]})


RESOURCE_NAMERS: dict[str, Namer] = {
    "AWS::Serverless::Function": _function,
    "AWS::Lambda::Function": _function,
    "AWS::Serverless::StateMachine": _state_machine,
    "AWS::StepFunctions::StateMachine": _state_machine,
    "AWS::Serverless::LayerVersion": _layer,
    "AWS::Lambda::LayerVersion": _layer,
    "AWS::IAM::Role": _role,
    "AWS::IAM::ManagedPolicy": _managed_policy,
    "AWS::Logs::LogGroup": _log_group,
    "AWS::DynamoDB::Table": _table,
    "AWS::Serverless::SimpleTable": _table,
    "AWS::SNS::Topic": _topic,
    "AWS::SQS::Queue": _queue,
    "AWS::Events::EventBus": _event_bus,
    "AWS::Serverless::Api": _rest_api,
    "AWS::ApiGateway::RestApi": _rest_api,
}
"""Resource type -> how the twin names it. Extend here for a resource the workflow references."""

_NO_VALUE = object()
"""What `Ref: AWS::NoValue` resolves to until the list or mapping holding it drops it."""

_SUB_VARIABLE = re.compile(r"\$\{([^}!][^}]*)\}")
_SUB_LITERAL = re.compile(r"\$\{!([^}]*)\}")


class Resolver:
    """Evaluates the intrinsic functions the twin can know the value of."""

    def __init__(self, template: Template, account: Account, parameters: Mapping[str, str] | None = None) -> None:
        self.template = template
        self.account = account
        self.parameters = {**template.parameter_defaults, **(parameters or {})}
        self._generated: dict[str, Names] = {}

    def add(self, logical_id: str, names: Names) -> None:
        """Names of a resource SAM generates (a function's role, ...)."""
        self._generated[logical_id] = names

    def names(self, logical_id: str) -> Names:
        if logical_id in self._generated:
            return self._generated[logical_id]
        resource = self.template.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"template.yaml references {logical_id!r}, which is not one of its resources")
        kind = str(resource.get("Type"))
        namer = RESOURCE_NAMERS.get(kind)
        if namer is None:
            raise TemplateError(
                f"the twin does not know how to name {logical_id} ({kind}); add a namer to "
                "localcloud.template.RESOURCE_NAMERS"
            )
        return namer(logical_id, resource.get("Properties") or {}, self.account)

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Region": self.account.region,
            "AWS::AccountId": self.account.account_id,
            "AWS::StackName": self.account.stack_name,
            "AWS::Partition": self.account.partition,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": _arn(self.account, "cloudformation", f"stack/{self.account.stack_name}/local"),
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.template.parameters:
            raise TemplateError(f"template parameter {name} has no default; give it a value")
        return self.names(name).ref

    def get_att(self, logical_id: str, attribute: str) -> str:
        names = self.names(logical_id)
        if attribute not in names.attributes:
            raise TemplateError(f"the twin does not know attribute {attribute} of {logical_id}")
        return names.attributes[attribute]

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                resource, _, attribute = name.partition(".")
                return self.get_att(resource, attribute)
            return self.ref(name)

        substituted = _SUB_VARIABLE.sub(replace, text)
        return _SUB_LITERAL.sub(lambda match: "${" + match.group(1) + "}", substituted)

    def condition(self, name: str) -> bool:
        """A condition of the template's Conditions (Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition)."""
        conditions = self.template.document.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"template.yaml has no condition {name}")
        return self._holds(conditions[name])

    def _holds(self, value: Any) -> bool:
        ((key, arg),) = value.items()
        if key == "Condition":
            return self.condition(str(arg))
        if key == "Fn::Equals":
            return bool(self.resolve(arg[0]) == self.resolve(arg[1]))
        if key == "Fn::Not":
            return not self._holds(arg[0])
        if key == "Fn::And":
            return all(self._holds(item) for item in arg)
        if key == "Fn::Or":
            return any(self._holds(item) for item in arg)
        raise TemplateError(f"the twin does not evaluate the condition {value!r}")

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated (TemplateError for what cannot be); a
        `Ref: AWS::NoValue` removes the list item or property it stands for, as CloudFormation does."""
        resolved = self._resolve(value)
        return None if resolved is _NO_VALUE else resolved

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self._resolve(item) for item in value) if item is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and arg == "AWS::NoValue":
                return _NO_VALUE
            if key == "Ref":
                kind = str(self.template.parameters.get(str(arg), {}).get("Type", ""))
                if kind == "CommaDelimitedList" or kind.startswith("List<"):
                    text = self.ref(str(arg))  # a list parameter: Ref gives its items
                    return [item.strip() for item in text.split(",")] if text.strip() else []
                return self.ref(str(arg))
            if key == "Fn::GetAtt":
                parts = arg if isinstance(arg, list) else str(arg).split(".", 1)
                return self.get_att(str(parts[0]), str(self.resolve(parts[1])))
            if key == "Fn::Sub":
                if isinstance(arg, list):
                    return self._sub(str(arg[0]), arg[1] if len(arg) > 1 else {})
                return self._sub(str(arg), {})
            if key == "Fn::Join":
                delimiter, items = arg
                return str(delimiter).join(str(item) for item in self.resolve(items))
            if key == "Fn::Select":
                index, items = arg
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                delimiter, text = arg
                return str(self.resolve(text)).split(str(delimiter))
            if key == "Fn::If":
                condition, if_true, if_false = arg
                return self._resolve(if_true if self.condition(str(condition)) else if_false)
            if key.startswith("Fn::") or key == "Condition":
                raise TemplateError(f"the twin does not evaluate {key} (in {value!r})")
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}


# --- the model the twin uses -------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    layer_paths: list[Path]
    role_name: str
    role_arn: str
    role_generated: bool
    """SAM generates the role (no Role property): the twin creates it with the function's Policies."""
    policy_statements: list[dict[str, Any]]
    timeout: int
    memory_size: int
    runtime: str


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    name: str
    arn: str
    definition_path: Path
    substitutions: dict[str, str]
    role_name: str
    role_arn: str
    role_generated: bool
    type: str


_LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
_STATES_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
TRUST_POLICIES = {"lambda": _LAMBDA_TRUST, "states": _STATES_TRUST}


@dataclass
class Template:
    path: Path
    document: dict[str, Any]

    @classmethod
    def load(cls, path: Path | None = None) -> Template:
        path = (path or DEFAULT_TEMPLATE).resolve()
        document = load_yaml(path)
        if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
            raise TemplateError(f"{path} has no Resources")
        return cls(path=path, document=document)

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.document["Resources"])

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        return dict(self.document.get("Parameters") or {})

    @property
    def parameter_defaults(self) -> dict[str, str]:
        return {name: str(spec["Default"]) for name, spec in self.parameters.items() if "Default" in spec}

    @property
    def function_globals(self) -> dict[str, Any]:
        return dict((self.document.get("Globals") or {}).get("Function") or {})

    def of_type(self, *kinds: str) -> dict[str, dict[str, Any]]:
        return {logical_id: res for logical_id, res in self.resources.items() if res.get("Type") in kinds}

    def resolver(self, account: Account, parameters: Mapping[str, str] | None = None) -> Resolver:
        resolver = Resolver(self, account, parameters)
        # SAM generates <LogicalId>Role for a function or state machine without a Role property.
        kinds = ("AWS::Serverless::Function", "AWS::Serverless::StateMachine")
        for logical_id, res in self.of_type(*kinds).items():
            if "Role" not in (res.get("Properties") or {}):
                resolver.add(f"{logical_id}Role", _role(f"{logical_id}Role", {}, account))
        return resolver

    def functions(self, account: Account, parameters: Mapping[str, str] | None = None) -> dict[str, FunctionSpec]:
        """Every AWS::Serverless::Function, keyed by function name."""
        resolver = self.resolver(account, parameters)
        glob = self.function_globals
        specs: dict[str, FunctionSpec] = {}
        for logical_id, res in self.of_type("AWS::Serverless::Function").items():
            props = res.get("Properties") or {}
            names = resolver.names(logical_id)
            code_uri = props.get("CodeUri", glob.get("CodeUri"))
            handler = props.get("Handler", glob.get("Handler"))
            if not isinstance(code_uri, str) or not isinstance(handler, str):
                raise TemplateError(f"{logical_id} needs a local CodeUri and a Handler")
            variables = {
                **((glob.get("Environment") or {}).get("Variables") or {}),
                **((props.get("Environment") or {}).get("Variables") or {}),
            }
            environment = {key: _env_value(resolver.resolve(value)) for key, value in variables.items()}
            role_generated = "Role" not in props
            if role_generated:
                role_name = f"{logical_id}Role"
                role_arn = resolver.get_att(role_name, "Arn")
            else:
                role_arn = str(resolver.resolve(props["Role"]))
                role_name = role_arn.rsplit("/", 1)[-1]
            specs[names.ref] = FunctionSpec(
                logical_id=logical_id,
                name=names.ref,
                arn=names.attributes["Arn"],
                code_uri=(self.root / code_uri).resolve(),
                handler=handler,
                environment=environment,
                layer_paths=self._layer_paths(logical_id, props.get("Layers", glob.get("Layers")) or []),
                role_name=role_name,
                role_arn=role_arn,
                role_generated=role_generated,
                policy_statements=_statements(resolver, props.get("Policies")),
                timeout=int(props.get("Timeout", glob.get("Timeout", 3))),
                memory_size=int(props.get("MemorySize", glob.get("MemorySize", 128))),
                runtime=str(props.get("Runtime", glob.get("Runtime", "python3.13"))),
            )
        return specs

    def _layer_paths(self, logical_id: str, layers: list[Any]) -> list[Path]:
        paths = []
        for layer in layers:
            ref = layer.get("Ref") if isinstance(layer, dict) else None
            resource = self.resources.get(str(ref)) if ref else None
            if resource is None or resource.get("Type") != "AWS::Serverless::LayerVersion":
                raise TemplateError(f"{logical_id}: the twin runs only this template's layers (!Ref to a LayerVersion)")
            content = (resource.get("Properties") or {}).get("ContentUri")
            if not isinstance(content, str):
                raise TemplateError(f"layer {ref} needs a local ContentUri")
            paths.append((self.root / content).resolve())
        return paths

    def state_machines(
        self, account: Account, parameters: Mapping[str, str] | None = None
    ) -> dict[str, StateMachineSpec]:
        """Every AWS::Serverless::StateMachine with a DefinitionUri, keyed by logical ID."""
        resolver = self.resolver(account, parameters)
        specs: dict[str, StateMachineSpec] = {}
        for logical_id, res in self.of_type("AWS::Serverless::StateMachine").items():
            props = res.get("Properties") or {}
            uri = props.get("DefinitionUri")
            if not isinstance(uri, str):
                raise TemplateError(f"{logical_id} needs a local DefinitionUri")
            names = resolver.names(logical_id)
            raw = props.get("DefinitionSubstitutions") or {}
            substitutions = {str(key): str(resolver.resolve(value)) for key, value in raw.items()}
            role_generated = "Role" not in props
            if role_generated:
                role_name = f"{logical_id}Role"
                role_arn = resolver.get_att(role_name, "Arn")
            else:
                role_arn = str(resolver.resolve(props["Role"]))
                role_name = role_arn.rsplit("/", 1)[-1]
            specs[logical_id] = StateMachineSpec(
                logical_id=logical_id,
                name=names.attributes["Name"],
                arn=names.attributes["Arn"],
                definition_path=(self.root / uri).resolve(),
                substitutions=substitutions,
                role_name=role_name,
                role_arn=role_arn,
                role_generated=role_generated,
                type=str(props.get("Type", "STANDARD")),
            )
        return specs

    def state_machine(
        self, account: Account, logical_id: str | None = None, parameters: Mapping[str, str] | None = None
    ) -> StateMachineSpec:
        machines = self.state_machines(account, parameters)
        if logical_id is None and "MigrationStateMachine" in machines:
            logical_id = "MigrationStateMachine"  # the workflow; the others serve it (ExecutionEnded, ...)
        if logical_id is None:
            if len(machines) != 1:
                raise TemplateError(f"{self.path} has {len(machines)} state machines; name one")
            return next(iter(machines.values()))
        if logical_id not in machines:
            raise TemplateError(f"{self.path} has no state machine {logical_id}")
        return machines[logical_id]


def _env_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        raise TemplateError(f"an environment value the twin cannot resolve: {value!r}")
    return str(value)


def _statements(resolver: Resolver, policies: Any) -> list[dict[str, Any]]:
    """The IAM statements of a function's inline policy documents (SAM policy templates are skipped:
    the twin does not enforce IAM, the role only tells callers apart)."""
    statements: list[dict[str, Any]] = []
    for policy in policies if isinstance(policies, list) else [policies] if policies else []:
        if isinstance(policy, dict) and "Statement" in policy:
            try:
                statements.extend(resolver.resolve(policy["Statement"]))
            except TemplateError:
                continue
    return statements
