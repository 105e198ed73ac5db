"""The VPC steps' handlers: event in, JSON by alias out, typed errors by name, metrics from Report."""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from podcidr.aws.clients import AwsClients
from podcidr.errors import NodeRouteTableMissing
from tests.fixtures.vpc_topology import CLUSTER, Topology, seed_migration

FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"
ASL = FUNCTIONS.parent / "statemachine" / "migration.asl.yaml"


@dataclass
class Context:
    function_name: str = "podcidr-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:ap-southeast-1:123456789012:function:podcidr-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


def load(step: str, clients: AwsClients | None = None) -> ModuleType:
    """functions/<step>/app.py as its own module (every handler is called app), with the test's clients."""
    spec = importlib.util.spec_from_file_location(f"handler_{step}", FUNCTIONS / step / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if clients is not None:
        vars(module)["container_clients"] = lambda: clients  # the container's clients, made once
    return module


def _json_roundtrip(document: dict[str, Any]) -> dict[str, Any]:
    """What Step Functions passes on: JSON."""
    parsed: dict[str, Any] = json.loads(json.dumps(document))
    return parsed


def test_the_vpc_steps_in_order_fill_the_document(aws: AwsClients, seed: Topology) -> None:
    context = Context()
    document = _json_roundtrip(seed_migration(seed).to_json())

    extend = load("extend_vpc_cidr", aws)
    document = _json_roundtrip(extend.handler(document, context))
    # moto associates at once; the wait loop's second look sees it (the step polls while `associating`)
    for _ in range(2):
        if document["podCidr"]["state"] == "associated":
            break
        document = _json_roundtrip(extend.handler(document, context))
    assert document["podCidr"]["state"] == "associated" and document["podCidr"]["created"] is True

    create = load("create_pod_subnet", aws)
    document["podSubnets"] = [
        _json_roundtrip(create.handler({"clusterName": CLUSTER, "vpcId": seed.vpc_id, "subnet": s}, context))
        for s in document["podSubnets"]
    ]
    assert all(s["subnetId"].startswith("subnet-") and s["changes"] == 1 for s in document["podSubnets"])

    document = _json_roundtrip(load("route_pod_subnets", aws).handler(document, context))
    assert all(s["routeTableAssociationId"] for s in document["podSubnets"])

    document = _json_roundtrip(load("tag_load_balancer_subnets", aws).handler(document, context))
    assert all(t["created"] for t in document["loadBalancerTags"])

    report = load("report").handler(document, context)
    # mark + association, 3 subnets, 3 associations, 2 tag batches
    assert report["changes"] == 2 + 3 + 3 + 2
    assert all("changes" not in s for s in report["podSubnets"])
    assert report["podCidr"]["cidr"] == "100.64.0.0/16"


def test_a_typed_error_keeps_its_name(aws: AwsClients, seed: Topology) -> None:
    document = seed_migration(seed).to_json()
    for subnet in document["podSubnets"]:
        subnet["subnetId"] = "subnet-0123456789abcdef0"
        subnet["defaultRouteTarget"] = "nat-0000000000000000a"
    with pytest.raises(NodeRouteTableMissing) as raised:
        load("route_pod_subnets", aws).handler(document, Context())
    # Lambda's errorType is the class's own name: not a subclass or a wrapper, and a name the state's Catch routes
    assert type(raised.value) is NodeRouteTableMissing
    state = yaml.safe_load(ASL.read_text())["States"]["RoutePodSubnets"]
    (named,) = [c for c in state["Catch"] if "States.ALL" not in c["ErrorEquals"]]
    assert type(raised.value).__name__ in named["ErrorEquals"]


def test_the_map_item_refuses_unknown_keys(aws: AwsClients) -> None:
    item = {"clusterName": CLUSTER, "vpcId": "vpc-1", "subnet": {}, "extra": 1}
    with pytest.raises(ValueError, match="extra"):
        load("create_pod_subnet", aws).handler(item, Context())


def test_report_emits_its_metrics(capsys: pytest.CaptureFixture[str], fake_aws_environment: None) -> None:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    document = seed_migration(Topology("vpc-1", "rtb-m", "rtb-p", ids, ids, ["nat-1"], ["rtb-1"] * 3)).to_json()
    document["changes"] = 4
    for subnet in document["podSubnets"]:
        subnet["changes"], subnet["created"] = 1, True

    report = load("report").handler(document, Context())

    assert report["changes"] == 7
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    [metrics] = emitted
    assert metrics["Changes"] in (7.0, [7.0]) and metrics["PodSubnetsCreated"] in (3.0, [3.0])
    assert metrics["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Podcidr"
