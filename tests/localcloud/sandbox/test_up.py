"""`python -m localcloud up`: the lines and files it writes, the root's identity, the cluster's
access entries, outside clients neither faulted nor counted, --execute, SIGINT/SIGTERM."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import yaml

from tests.localcloud.sandbox.conftest import Up, start_up

ACCOUNT = "123456789012"


def test_it_prints_and_writes_the_lines_that_point_clients_at_the_twin(up: Up) -> None:
    written = up.env_file.read_text(encoding="utf-8").splitlines()
    printed = [line.rstrip("\n") for line in up.output]
    assert all(line in printed for line in written)
    env = up.environment()
    assert env["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
    assert env["AWS_DEFAULT_REGION"] == "ap-southeast-1"
    assert env["KUBECONFIG"] == str(up.kubeconfig.resolve())
    assert "AWS_SESSION_TOKEN" not in env and "AWS_PROFILE" not in env


def test_the_keys_are_the_account_roots(up: Up) -> None:
    identity = up.aws("sts", "get-caller-identity")
    assert identity == {"UserId": ACCOUNT, "Account": ACCOUNT, "Arn": f"arn:aws:iam::{ACCOUNT}:root"}


def test_the_kubeconfig_is_what_aws_eks_update_kubeconfig_writes(up: Up) -> None:
    config = yaml.safe_load(up.kubeconfig.read_text(encoding="utf-8"))
    cluster = up.aws("eks", "describe-cluster", "--name", "eksworkshop")["cluster"]
    assert config["current-context"] == cluster["arn"]
    assert config["clusters"][0]["cluster"] == {
        "server": cluster["endpoint"],
        "certificate-authority-data": cluster["certificateAuthority"]["data"],
    }
    user = config["users"][0]["user"]["exec"]
    assert user["command"] == "aws"
    assert user["args"][2:] == ["eks", "get-token", "--cluster-name", "eksworkshop", "--output", "json"]
    assert oct(up.kubeconfig.stat().st_mode & 0o777) == "0o600"


def test_the_cluster_has_the_creators_and_the_node_roles_access_entries_as_eks_makes_them(up: Up) -> None:
    cluster = up.aws("eks", "describe-cluster", "--name", "eksworkshop")["cluster"]
    assert cluster["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True
    root = f"arn:aws:iam::{ACCOUNT}:root"
    node_role = f"arn:aws:iam::{ACCOUNT}:role/eksworkshop-node-role"
    entries = up.aws("eks", "list-access-entries", "--cluster-name", "eksworkshop")["accessEntries"]
    assert set(entries) >= {root, node_role}
    creator = up.aws("eks", "describe-access-entry", "--cluster-name", "eksworkshop", "--principal-arn", root)
    assert creator["accessEntry"]["type"] == "STANDARD"
    policies = up.aws(
        "eks", "list-associated-access-policies", "--cluster-name", "eksworkshop", "--principal-arn", root
    )["associatedAccessPolicies"]
    assert [(p["policyArn"], p["accessScope"]["type"]) for p in policies] == [
        ("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "cluster")
    ]
    node = up.aws("eks", "describe-access-entry", "--cluster-name", "eksworkshop", "--principal-arn", node_role)
    assert node["accessEntry"]["type"] == "EC2_LINUX"
    assert node["accessEntry"]["username"] == "system:node:{{EC2PrivateDNSName}}"
    assert node["accessEntry"]["kubernetesGroups"] == ["system:nodes"]


def test_outside_clients_are_never_faulted(up: Up) -> None:
    # The scenario faults the first ec2:DescribeSubnets, kubernetes:list Pod and list Node: the workflow's.
    subnets = up.aws("ec2", "describe-subnets")["Subnets"]
    assert subnets
    pods = json.loads(up.kubectl("get", "pods", "-A", "-o", "json").stdout)["items"]
    assert {pod["status"]["phase"] for pod in pods} == {"Running"}
    nodes = json.loads(up.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert len(nodes) == 3


def test_execute_runs_a_migration_once_up_and_sigint_writes_the_state_without_the_outside_calls(
    tmp_path: Path,
) -> None:
    (tmp_path / "input.json").write_text(json.dumps({"clusterName": "eksworkshop", "dryRun": True}))
    running = start_up(tmp_path, "--execute", "input.json")
    try:
        running.read_until("execution 1 ended:", 240)
        assert "execution 1 ended: SUCCEEDED" in running.output[-1]
        running.kubectl("get", "serviceaccounts", "-A")
        running.aws("ec2", "describe-key-pairs")
    finally:
        code = running.stop(signal.SIGINT)
    assert code == 0
    state = json.loads(running.state_file.read_text(encoding="utf-8"))
    operations = {call["operation"] for call in state["calls"]}
    assert "states:StartExecution" not in operations  # the twin's own call
    assert {"kubernetes:list ServiceAccount", "ec2:DescribeKeyPairs"}.isdisjoint(operations)
    assert "ec2:DescribeSubnets" in operations  # the dry run's (Plan)
    assert {call["execution"] for call in state["calls"]} == {1}


def test_sigterm_writes_the_state_and_exits_0(tmp_path: Path) -> None:
    running = start_up(tmp_path)
    assert running.stop(signal.SIGTERM) == 0
    state = json.loads(running.state_file.read_text(encoding="utf-8"))
    assert state["calls"] == []
    assert state["cluster"]["nodes"]
