"""The real AWS CLI on the sandbox, with the lines `up` wrote: the reads a user makes (EKS, EC2,
ELBv2, CloudFormation outputs), and `podcidr start --watch` then the execution's history."""

from __future__ import annotations

from tests.localcloud.sandbox.conftest import Up


def test_eks_reads(up: Up) -> None:
    cluster = up.aws("eks", "describe-cluster", "--name", "eksworkshop")["cluster"]
    assert cluster["status"] == "ACTIVE" and cluster["endpoint"].startswith("https://127.0.0.1:")
    assert up.aws("eks", "list-nodegroups", "--cluster-name", "eksworkshop")["nodegroups"] == ["managed-ng"]
    addon = up.aws("eks", "describe-addon", "--cluster-name", "eksworkshop", "--addon-name", "vpc-cni")["addon"]
    assert addon["status"] == "ACTIVE"


def test_ec2_reads(up: Up) -> None:
    vpcs = [
        v for v in up.aws("ec2", "describe-vpcs")["Vpcs"] if v["CidrBlock"] == "172.31.0.0/16" and not v["IsDefault"]
    ]
    assert len(vpcs) == 1
    subnets = up.aws("ec2", "describe-subnets", "--filters", f"Name=vpc-id,Values={vpcs[0]['VpcId']}")["Subnets"]
    assert {s["AvailabilityZone"] for s in subnets} == {"ap-southeast-1a", "ap-southeast-1b", "ap-southeast-1c"}
    assert up.aws("ec2", "describe-route-tables")["RouteTables"]


def test_elbv2_reads(up: Up) -> None:
    assert isinstance(up.aws("elbv2", "describe-load-balancers")["LoadBalancers"], list)
    assert isinstance(up.aws("elbv2", "describe-target-groups")["TargetGroups"], list)


def test_cloudformation_outputs_name_the_state_machine_podcidr_starts(up: Up) -> None:
    stack = up.aws("cloudformation", "describe-stacks", "--stack-name", "podcidr")["Stacks"][0]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}
    arn = outputs["MigrationStateMachineArn"]
    assert arn.startswith("arn:aws:states:ap-southeast-1:123456789012:stateMachine:")
    started = up.run("podcidr", "start", "--cluster", "eksworkshop", "--dry-run", "--watch", "--plain", timeout=300)
    assert started.returncode == 0, started.stdout + started.stderr
    execution = up.aws("stepfunctions", "list-executions", "--state-machine-arn", arn)["executions"][0]
    assert execution["status"] == "SUCCEEDED"
    events = up.aws("stepfunctions", "get-execution-history", "--execution-arn", execution["executionArn"])["events"]
    # As AWS numbers them: ids from 1, each event linked to the one before it (ExecutionStarted to 0).
    assert [e["id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["type"] == "ExecutionStarted" and events[0]["previousEventId"] == 0
    assert all(0 < e["previousEventId"] < e["id"] for e in events[1:])
    assert events[-1]["type"] == "ExecutionSucceeded"
