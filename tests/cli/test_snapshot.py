"""`podcidr snapshot` against the twin: the scenario it writes rebuilds a twin that plans the same
migration and rehearses it; it reads with Describe/List/Get calls only; `--anonymize` leaves no
name or ID of the account in the file."""

from __future__ import annotations

import types
from dataclasses import dataclass
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


class Recorded:
    def __init__(self) -> None:
        self.aws: list[str] = []
        self.kube: list[str] = []


def _record(monkeypatch: pytest.MonkeyPatch) -> Recorded:
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


@dataclass
class Original:
    """What the tests need of the default scenario's twin (one LocalAws per process: it is stopped
    before the snapshots' twins are built)."""

    scenario: Scenario
    plan: dict[str, Any]
    snapshot: str
    anonymized: list[str]
    calls: Recorded
    ids: set[str]


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Original:
    directory = tmp_path_factory.mktemp("snapshots")
    with pytest.MonkeyPatch.context() as monkeypatch, Twin(load_scenario()) as twin:
        calls = _record(monkeypatch)
        snapshot = _snapshot(twin, directory / "snapshot.yaml")
        anonymized = [_snapshot(twin, directory / f"anonymous-{i}.yaml", "--anonymize") for i in (1, 2)]
        plan = _dry_run(twin)
        ec2 = twin.aws.admin_session().client("ec2")
        ids = {str(twin.aws.account_id)}
        ids |= {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        ids |= {s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]}
        ids |= {t["RouteTableId"] for t in ec2.describe_route_tables()["RouteTables"]}
        ids |= {n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"]}
        return Original(twin.scenario, plan, snapshot, anonymized, calls, ids)


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


def test_the_snapshot_reads_only(original: Original) -> None:
    calls = original.calls
    assert calls.aws and calls.kube, "the command's calls were observed"
    assert [c for c in calls.aws if not c.split(":")[1].startswith(READ_ONLY)] == []
    assert [c for c in calls.kube if not c.startswith("GET ")] == []
    assert any(c.endswith("/apis/apps/v1/deployments") for c in calls.kube)


def test_round_trip_plans_and_rehearses_the_same_migration(original: Original, tmp_path: Path) -> None:
    (tmp_path / "snapshot.yaml").write_text(original.snapshot, encoding="utf-8")
    rebuilt = load_scenario(tmp_path / "snapshot.yaml")
    seed = original.scenario
    assert rebuilt.vpc.cidr == seed.vpc.cidr
    assert [(s.name, s.az, s.cidr, s.public) for s in rebuilt.vpc.subnets] == [
        (s.name, s.az, s.cidr, s.public) for s in seed.vpc.subnets
    ]
    assert [n.subnet for n in rebuilt.vpc.nat_gateways] == [n.subnet for n in seed.vpc.nat_gateways]
    assert sorted((t.name, t.default_route, t.nat_subnet, tuple(t.subnets)) for t in rebuilt.route_tables()) == sorted(
        (t.name, t.default_route, t.nat_subnet, tuple(t.subnets)) for t in seed.route_tables()
    )
    assert rebuilt.cluster.model_dump() == seed.cluster.model_dump()

    assert _rehearse(rebuilt) == original.plan


def test_anonymized_snapshot_names_nothing_of_the_account_and_still_rehearses(
    original: Original, tmp_path: Path
) -> None:
    text, again = original.anonymized
    assert again == text, "same account, same pseudonyms"
    seed = original.scenario
    names = {g.name for g in seed.cluster.nodegroups} | {s.name for s in seed.vpc.subnets}
    names |= {t.name for t in seed.route_tables()} | {w.name for w in seed.cluster.workloads}
    keys, values = _strings(yaml.safe_load(text))
    assert sorted(names & set(values)) == []
    ids = original.ids | {seed.cluster.name}
    assert [i for i in sorted(ids) if any(i in string for string in keys + values)] == []

    (tmp_path / "anonymous.yaml").write_text(text, encoding="utf-8")
    scenario = load_scenario(tmp_path / "anonymous.yaml")
    assert scenario.cluster.name == "cluster-1"
    assert [g.name for g in scenario.cluster.nodegroups] == ["nodegroup-1"]
    [(_, _, max_pods)] = original.plan["nodegroups"]
    expected = {**original.plan, "nodegroups": [("nodegroup-1", "nodegroup-1-podcidr", max_pods)]}
    assert _rehearse(scenario) == expected


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
