"""The template reader: short-form tags, the resolver, functions and the state machine's substitutions."""

from __future__ import annotations

from pathlib import Path

import pytest

from localcloud.stepfunctions import load_definition
from localcloud.template import DEFAULT_TEMPLATE, Account, Template, TemplateError

HARNESS = Path(__file__).parent / "fixtures" / "harness"

ACCOUNT = Account(region="ap-southeast-1", account_id="123456789012")


def test_functions_merge_globals_resolve_refs_and_find_layers(harness_template: Template) -> None:
    functions = harness_template.functions(ACCOUNT)
    assert set(functions) == {"EchoFunction", "FlakyFunction", "CheckFunction"}
    echo = functions["EchoFunction"]
    assert echo.arn == "arn:aws:lambda:ap-southeast-1:123456789012:function:EchoFunction"
    assert echo.environment == {
        "SHARED": "from-globals",
        "OVERRIDDEN": "from-echo",
        "GREETING": "hello",  # !Ref of a parameter: its default
        "TABLE": "harness-locks",  # !Ref of a table: its name
    }
    assert echo.code_uri == HARNESS / "functions" / "echo"
    assert echo.layer_paths == [Path(__file__).resolve().parents[2] / "layers"]
    assert (echo.memory_size, echo.timeout, echo.handler) == (1024, 30, "app.handler")


def test_roles_generated_by_sam_or_given(harness_template: Template) -> None:
    functions = harness_template.functions(ACCOUNT)
    check, flaky = functions["CheckFunction"], functions["FlakyFunction"]
    assert (check.role_name, check.role_generated) == ("CheckFunctionRole", True)
    assert check.role_arn == "arn:aws:iam::123456789012:role/CheckFunctionRole"
    assert (flaky.role_name, flaky.role_generated) == ("flaky-role", False)
    assert flaky.role_arn == "arn:aws:iam::123456789012:role/flaky-role"


def test_state_machine_substitutions(harness_template: Template) -> None:
    spec = harness_template.state_machine(ACCOUNT)
    assert spec.substitutions == {
        "FlakyFunctionArn": "arn:aws:lambda:ap-southeast-1:123456789012:function:FlakyFunction",
        "CheckFunctionArn": "arn:aws:lambda:ap-southeast-1:123456789012:function:CheckFunction",
        "EchoFunctionName": "EchoFunction",
        "TableName": "harness-locks",
    }
    definition = load_definition(spec.definition_path, spec.substitutions)
    assert definition["States"]["Flaky"]["Resource"] == spec.substitutions["FlakyFunctionArn"]
    assert definition["States"]["Items"]["ItemSelector"]["table"] == "harness-locks"


def test_a_missing_substitution_is_an_error(tmp_path: Path) -> None:
    asl = tmp_path / "m.asl.yaml"
    asl.write_text("StartAt: A\nStates:\n  A: {Type: Task, Resource: '${NoSuchArn}', End: true}\n")
    with pytest.raises(TemplateError, match="NoSuchArn"):
        load_definition(asl, {"Other": "x"})


def test_the_project_template_resolves() -> None:
    template = Template.load(DEFAULT_TEMPLATE)
    functions = template.functions(ACCOUNT)
    assert "PlanFunction" in functions
    assert functions["PlanFunction"].environment["POWERTOOLS_SERVICE_NAME"] == "podcidr"
    spec = template.state_machine(ACCOUNT)
    assert spec.substitutions["PlanFunctionArn"] == functions["PlanFunction"].arn


def test_unknown_references_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text(
        "Resources:\n"
        "  F:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: f/, Handler: app.handler, Environment: {Variables: {X: !GetAtt Nope.Arn}}}\n"
    )
    with pytest.raises(TemplateError, match="Nope"):
        Template.load(path).functions(ACCOUNT)


def test_sub_resolves_pseudo_parameters_and_attributes(harness_template: Template) -> None:
    resolver = harness_template.resolver(ACCOUNT)
    value = resolver.resolve({"Fn::Sub": "${AWS::Region}/${EchoFunction}/${FlakyRole.Arn}/${!Literal}"})
    assert value == "ap-southeast-1/EchoFunction/arn:aws:iam::123456789012:role/flaky-role/${Literal}"


def test_cluster_functions_subnets_reach_plan_as_a_list_parameter() -> None:
    """ClusterFunctionsSubnetIds (a CommaDelimitedList) reaches every function's environment, which is
    how Plan knows whether the cluster functions are in the cluster's VPC (#11.3)."""
    template = Template.load(DEFAULT_TEMPLATE)
    default = template.functions(ACCOUNT)["PlanFunction"].environment
    assert default["CLUSTER_FUNCTIONS_SUBNET_IDS"] == ""
    given = template.functions(
        ACCOUNT,
        {"ClusterFunctionsSubnetIds": "subnet-0aaa, subnet-0bbb", "ClusterFunctionsSecurityGroupId": "sg-1234abcd"},
    )
    assert given["PlanFunction"].environment["CLUSTER_FUNCTIONS_SUBNET_IDS"] == "subnet-0aaa,subnet-0bbb"
    cluster_functions = [
        logical_id
        for logical_id, resource in template.resources.items()
        if resource.get("Properties", {}).get("Role") == {"Fn::GetAtt": ["ClusterFunctionsRole", "Arn"]}
    ]
    assert len(cluster_functions) == 11  # with RevokeClusterAccess and CleanUpEndedExecution
    for logical_id in cluster_functions:
        vpc = template.resources[logical_id]["Properties"]["VpcConfig"]
        assert vpc["Fn::If"][0] == "ClusterFunctionsInVpc", logical_id
