"""The Plan handler end to end against moto.

moto has no EKS add-ons: where the plan reaches DescribeAddon, the handler's EKS client is a
FakeEks (tests.fixtures.topology) that answers that one call and passes everything else to moto.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from podcidr.aws.clients import AwsClients
from podcidr.errors import ClusterNotFound, InvalidInput
from tests.fixtures.topology import FakeEks, addon, build, client, mocked_aws, seed_spec


@dataclass
class Context:
    function_name: str = "podcidr-PlanFunction"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:123456789012:function:podcidr-PlanFunction"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    log_group_name: str = "/aws/lambda/podcidr-PlanFunction"
    log_stream_name: str = "stream"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "1")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "podcidr")
    with mocked_aws():
        yield importlib.import_module("functions.plan.app")


def use_fake_eks(app: ModuleType, monkeypatch: pytest.MonkeyPatch, **fake: Any) -> None:
    clients = AwsClients(
        ec2=client("ec2"), eks=FakeEks(client("eks"), **fake), elbv2=client("elbv2"), sts=client("sts")
    )
    monkeypatch.setattr(app, "container_clients", lambda: clients)


def test_dry_run_of_the_seed(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    topology = build(seed_spec())
    use_fake_eks(app, monkeypatch, addon=addon())
    result = app.handler({"input": {"clusterName": "eksworkshop", "dryRun": True}, "polls": 0}, Context())
    assert json.loads(json.dumps(result)) == result  # plain JSON
    assert set(result) == {"status", "polls", "pollSeconds", "migration"}
    assert (result["status"], result["polls"], result["pollSeconds"]) == ("PLANNED", 0, 30)
    migration = result["migration"]
    assert migration["vpcId"] == topology.vpc_id
    assert migration["region"] == "ap-southeast-1"
    assert migration["podCidr"]["cidr"] == "100.64.0.0/16"
    assert [s["cidr"] for s in migration["podSubnets"]] == ["100.64.0.0/18", "100.64.64.0/18", "100.64.128.0/18"]
    assert [n["maxPods"] for n in migration["nodegroups"]] == [44]
    assert migration["dryRun"] is True and migration["changes"] == 0


def test_cluster_creating(app: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    build(seed_spec())
    use_fake_eks(app, monkeypatch, status="CREATING")
    result = app.handler({"input": {"clusterName": "eksworkshop", "pollSeconds": 5}, "polls": 2}, Context())
    assert result == {"status": "CLUSTER_CREATING", "polls": 3, "pollSeconds": 5, "migration": None}


def test_errors_keep_their_names(app: ModuleType) -> None:
    # the handler's own clients (AwsClients.create, region from the boto3 session)
    with pytest.raises(ClusterNotFound, match="ap-southeast-1"):
        app.handler({"input": {"clusterName": "nope"}, "polls": 0}, Context())
    with pytest.raises(InvalidInput, match="unknown key 'podCIDR'"):
        app.handler({"input": {"clusterName": "c", "podCIDR": "100.64.0.0/16"}, "polls": 0}, Context())
    with pytest.raises(InvalidInput):
        app.handler({"polls": 0}, Context())
