"""`podcidr snapshot` against the twin: the scenario it writes rebuilds a twin that plans the same
migration and rehearses it; it reads with Describe/List/Get calls only; `--anonymize` leaves no
name or ID of the account in the file."""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from kubernetes.client import rest

from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from localcloud.scenario import Scenario, load_scenario
from localcloud.twin import Twin
from podcidr_cli import main as cli

pytestmark = pytest.mark.rehearsal
READ_ONLY = ("Describe", "List", "Get")


@pytest.fixture(scope="module")
def twin() -> Iterator[Twin]:
    with Twin(load_scenario()) as running:
        yield running


class Recorded:
    def __init__(self) -> None:
        self.aws: list[str] = []
        self.kube: list[str] = []


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, twin: Twin) -> Recorded:
    """The admin's keys for the command, and every AWS operation and Kubernetes request it makes."""
    calls = Recorded()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ADMIN_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ADMIN_SECRET_KEY)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)

    def recording_session(**options: Any) -> boto3.Session:
        session = boto3.Session(**options)

        def record(model: Any, **_: Any) -> None:
            calls.aws.append(f"{model.service_model.service_name}:{model.name}")

        session.events.register("before-call", record)
        return session

    monkeypatch.setattr(cli, "boto3", types.SimpleNamespace(Session=recording_session))
    request = rest.RESTClientObject.request

    def recording_request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        calls.kube.append(f"{method} {url.split('?')[0]}")
        return request(self, method, url, *args, **kwargs)

    monkeypatch.setattr(rest.RESTClientObject, "request", recording_request)
    return calls


def _snapshot(twin: Twin, output: Path, *options: str) -> str:
    code = cli.main(
        [
            "snapshot",
            "--cluster",
            twin.scenario.cluster.name,
            "--output",
            str(output),
            "--endpoint-url",
            twin.endpoint_url,
            "--region",
            twin.region,
            *options,
        ]
    )
    assert code == cli.EXIT_OK
    return output.read_text(encoding="utf-8")


def _plan(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "block": report["podCidr"]["cidr"],
        "subnets": sorted((s["availabilityZone"], s["cidr"]) for s in report["podSubnets"]),
        "eniConfigs": sorted(e["name"] for e in report["eniConfigs"]),
        "nodegroups": sorted((g["replaced"], g["by"], g.get("maxPods")) for g in report["nodegroups"]),
    }


def _dry_run(twin: Twin) -> dict[str, Any]:
    result = twin.execute({"clusterName": twin.scenario.cluster.name, "dryRun": True})
    assert result.succeeded, (result.error, result.cause)
    return _plan(result.output)


def _rehearse(scenario: Scenario) -> dict[str, Any]:
    with Twin(scenario) as rebuilt:
        dry = _dry_run(rebuilt)
        result = rebuilt.execute({"clusterName": scenario.cluster.name})
        assert result.succeeded, (result.error, result.cause)
        assert result.output["dryRun"] is False and result.output["changes"] > 0
        return dry


def test_round_trip_plans_and_rehearses_the_same_migration(twin: Twin, recorded: Recorded, tmp_path: Path) -> None:
    text = _snapshot(twin, tmp_path / "snapshot.yaml")

    assert recorded.aws and recorded.kube, "the command's calls were observed"
    assert [c for c in recorded.aws if not c.split(":")[1].startswith(READ_ONLY)] == []
    assert [c for c in recorded.kube if not c.startswith("GET ")] == []
    assert any(c.endswith("/apis/apps/v1/deployments") for c in recorded.kube)

    rebuilt = load_scenario(tmp_path / "snapshot.yaml")
    original = twin.scenario
    assert rebuilt.vpc.cidr == original.vpc.cidr
    assert [(s.name, s.az, s.cidr, s.public) for s in rebuilt.vpc.subnets] == [
        (s.name, s.az, s.cidr, s.public) for s in original.vpc.subnets
    ]
    assert [n.subnet for n in rebuilt.vpc.nat_gateways] == [n.subnet for n in original.vpc.nat_gateways]
    assert sorted((t.name, t.default_route, t.nat_subnet, tuple(t.subnets)) for t in rebuilt.route_tables()) == sorted(
        (t.name, t.default_route, t.nat_subnet, tuple(t.subnets)) for t in original.route_tables()
    )
    assert rebuilt.cluster.model_dump() == original.cluster.model_dump()
    assert "eksworkshop" in text

    assert _rehearse(rebuilt) == _dry_run(twin)


def test_anonymized_snapshot_names_nothing_of_the_account_and_still_rehearses(
    twin: Twin, recorded: Recorded, tmp_path: Path
) -> None:
    text = _snapshot(twin, tmp_path / "anonymous.yaml", "--anonymize")
    assert _snapshot(twin, tmp_path / "again.yaml", "--anonymize") == text, "same account, same pseudonyms"

    ec2 = twin.aws.admin_session().client("ec2")
    names = {g.name for g in twin.scenario.cluster.nodegroups} | {s.name for s in twin.scenario.vpc.subnets}
    names |= {t.name for t in twin.scenario.route_tables()} | {w.name for w in twin.scenario.cluster.workloads}
    ids = {twin.scenario.cluster.name, str(twin.aws.account_id)}
    ids |= {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
    ids |= {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
    ids |= {t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]}
    ids |= {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]}
    keys, values = _strings(yaml.safe_load(text))
    assert sorted(names & set(values)) == []
    assert [i for i in sorted(ids) if any(i in string for string in keys + values)] == []

    scenario = load_scenario(tmp_path / "anonymous.yaml")
    assert scenario.cluster.name == "cluster-1"
    assert [g.name for g in scenario.cluster.nodegroups] == ["nodegroup-1"]
    original = _dry_run(twin)
    [(_, _, max_pods)] = original["nodegroups"]
    assert _rehearse(scenario) == {**original, "nodegroups": [("nodegroup-1", "nodegroup-1-podcidr", max_pods)]}


def _strings(document: Any) -> tuple[list[str], list[str]]:
    """The document's mapping keys and its scalar values, as strings."""
    if isinstance(document, dict):
        keys, values = [str(k) for k in document], []
        for value in document.values():
            more_keys, more_values = _strings(value)
            keys, values = keys + more_keys, values + more_values
        return keys, values
    if isinstance(document, list):
        keys, values = [], []
        for item in document:
            more_keys, more_values = _strings(item)
            keys, values = keys + more_keys, values + more_values
        return keys, values
    return [], [str(document)]
