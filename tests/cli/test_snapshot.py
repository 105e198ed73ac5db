"""`podcidr snapshot` against the twin: the scenario it writes rebuilds a twin that plans the same
migration and rehearses it; it reads with Describe/List/Get calls only; `--anonymize` leaves no
name or ID of the account in the file. Two accounts: the seed's with a StatefulSet whose volumes
are bound to AZs, and a richer one (security groups,
launch templates, taints, update configs, unmanaged capacity, the CNI's configuration, PDBs and
load balancers) whose every such key the snapshot must give back."""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from kubernetes.client import rest

from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from localcloud.scenario import Scenario, load_scenario, parse_scenario
from localcloud.twin import Twin
from podcidr_cli import main as cli
from tests.fixtures.workloads import data_db, shop_web

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
    volume_zones: list[str]
    """The AZ of each of the StatefulSet's volumes (ordinal 0, 1, ...), where its pods first landed."""


SEED_WITH_STATEFULSET = {"cluster": {"workloads": [data_db(), {"name": "web"}]}}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Original:
    directory = tmp_path_factory.mktemp("snapshots")
    with pytest.MonkeyPatch.context() as monkeypatch, Twin(parse_scenario(SEED_WITH_STATEFULSET)) as twin:
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
        volumes = {
            next(t["Value"] for t in v["Tags"] if t["Key"] == "kubernetes.io/created-for/pvc/name"): v[
                "AvailabilityZone"
            ]
            for v in ec2.describe_volumes(
                Filters=[{"Name": "tag-key", "Values": ["kubernetes.io/created-for/pvc/name"]}]
            )["Volumes"]
        }
        zones = [volumes[f"data-db-{i}"] for i in range(data_db()["replicas"])]
        return Original(twin.scenario, plan, snapshot, anonymized, calls, ids, zones)


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
        "unmanaged": sorted((c["kind"], c["name"], c["nodes"]) for c in report.get("unmanagedCapacity") or []),
    }


def _dry_run(twin: Twin) -> dict[str, Any]:
    result = twin.execute({"clusterName": twin.scenario.cluster.name, "dryRun": True, "ignoreUnmanagedCapacity": True})
    assert result.succeeded, (result.error, result.cause)
    return _plan(result.output)


def _rehearse(scenario: Scenario, after: Callable[[Twin], None] | None = None) -> dict[str, Any]:
    with Twin(scenario) as rebuilt:
        dry = _dry_run(rebuilt)
        result = rebuilt.execute({"clusterName": scenario.cluster.name})
        assert result.succeeded, (result.error, result.cause)
        assert result.output["dryRun"] is False and result.output["changes"] > 0
        if after is not None:
            after(rebuilt)
        return dry


def _statefulset_pods_back_in_their_zones(zones: list[str]) -> Callable[[Twin], None]:
    """After the node replacement: each StatefulSet pod runs on a new node in its volume's AZ."""

    def check(twin: Twin) -> None:
        cluster = twin.state()["cluster"]
        nodes = {n["name"]: n for n in cluster["nodes"]}
        pods = {p["name"]: p for p in cluster["pods"] if p["namespace"] == "data"}
        placed = [
            (name, pods[name]["ready"], nodes[pods[name]["node"]]["nodegroup"], nodes[pods[name]["node"]]["zone"])
            for name in sorted(pods)
        ]
        assert placed == [(f"db-{i}", True, "managed-ng-podcidr", zone) for i, zone in enumerate(zones)]

    return check


def test_the_snapshot_reads_only(original: Original) -> None:
    calls = original.calls
    assert calls.aws and calls.kube, "the command's calls were observed"
    assert [c for c in calls.aws if not c.split(":")[1].startswith(READ_ONLY)] == []
    assert [c for c in calls.kube if not c.startswith("GET ")] == []
    assert any(c.endswith("/apis/apps/v1/deployments") for c in calls.kube)
    assert any(c.endswith("/apis/apps/v1/statefulsets") for c in calls.kube)
    assert "ec2:DescribeVolumes" in calls.aws


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
    [db] = [w for w in rebuilt.cluster.workloads if w.kind == "StatefulSet"]
    assert db.volume_claim is not None and db.volume_claim.zones == original.volume_zones
    assert len(set(original.volume_zones)) > 1, "the pods landed in several AZs"
    db.volume_claim.zones = []  # S' has the volumes S made where its pods first landed
    assert rebuilt.cluster.model_dump() == seed.cluster.model_dump()
    db.volume_claim.zones = original.volume_zones

    assert _rehearse(rebuilt, _statefulset_pods_back_in_their_zones(original.volume_zones)) == original.plan


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


# -- a richer account --------------------------------------------------------------------------------

RICH = {
    "vpc": {
        "securityGroups": [
            {"name": "nodes-extra", "tags": {"team": "web", "kubernetes.io/cluster/eksworkshop": "owned"}},
            {"name": "db-access", "tags": {"team": "data"}},
        ]
    },
    "cluster": {
        "vpcCni": {"addon": True, "version": "v1.18.3-eksbuild.1", "prefixDelegation": True},
        "nodegroups": [
            {
                "name": "managed-ng",
                "minSize": 2,
                "desiredSize": 2,
                "maxSize": 4,
                "taints": [{"key": "dedicated", "value": "web", "effect": "NO_SCHEDULE"}],
                "labels": {"role": "web"},
                "tags": {"team": "web", "aws:cloudformation:stack-name": "eksctl-eksworkshop-nodegroup-managed-ng"},
                "updateConfig": {"maxUnavailablePercentage": 50},
                "launchTemplate": {"securityGroups": ["nodes-extra"]},
            },
            {
                "name": "custom-ng",
                "version": "1.29",
                "minSize": 1,
                "desiredSize": 1,
                "maxSize": 2,
                "instanceTypes": ["m5.large"],
                "updateConfig": {"maxUnavailable": 2, "updateStrategy": "MINIMAL"},
                "launchTemplate": {"securityGroups": ["nodes-extra"], "customAmi": True, "maxPods": 29},
            },
        ],
        "selfManagedNodes": [{"name": "legacy", "subnets": ["node-a"], "instanceType": "m5.large", "count": 2}],
        "karpenterNodes": [{"nodePool": "spot", "subnets": ["node-b"], "instanceType": "c5.large", "count": 1}],
        "fargateProfiles": [{"name": "serverless", "namespaces": ["batch"]}],
        "workloads": [
            shop_web(),
            {"name": "api", "replicas": 2, "pdb": {"maxUnavailable": 1}},
        ],
    },
}


@dataclass
class Rich:
    scenario: Scenario
    plan: dict[str, Any]
    snapshot: str
    anonymized: str
    calls: Recorded
    names: set[str]
    """IDs and names of the account's security groups, launch templates, instances, Fargate profile."""


@pytest.fixture(scope="module")
def rich(tmp_path_factory: pytest.TempPathFactory) -> Rich:
    directory = tmp_path_factory.mktemp("rich")
    with pytest.MonkeyPatch.context() as monkeypatch, Twin(parse_scenario(RICH)) as twin:
        calls = _record(monkeypatch)
        snapshot = _snapshot(twin, directory / "snapshot.yaml")
        anonymized = _snapshot(twin, directory / "anonymous.yaml", "--anonymize")
        plan = _dry_run(twin)
        ec2 = twin.aws.admin_session().client("ec2")
        names = {str(twin.aws.account_id), "legacy", "spot", "serverless", "batch", "shop"}
        for group in ec2.describe_security_groups()["SecurityGroups"]:
            names |= {group["GroupId"], group["GroupName"]}
        for template in ec2.describe_launch_templates()["LaunchTemplates"]:
            names |= {template["LaunchTemplateId"], template["LaunchTemplateName"]}
        for reservation in ec2.describe_instances()["Reservations"]:
            names |= {i["InstanceId"] for i in reservation["Instances"]}
        names -= {"default"}
        return Rich(twin.scenario, plan, snapshot, anonymized, calls, names)


def _load(text: str, directory: Path) -> Scenario:
    (directory / "snapshot.yaml").write_text(text, encoding="utf-8")
    return load_scenario(directory / "snapshot.yaml")


def test_a_richer_account_comes_back_key_for_key_and_plans_the_same(rich: Rich, tmp_path: Path) -> None:
    rebuilt, original = _load(rich.snapshot, tmp_path), rich.scenario
    assert sorted(rebuilt.vpc.security_groups, key=lambda g: g.name) == sorted(
        original.vpc.security_groups, key=lambda g: g.name
    )
    assert rebuilt.cluster.vpc_cni == original.cluster.vpc_cni
    by_name = {g.name: g for g in rebuilt.cluster.nodegroups}
    for group in original.cluster.nodegroups:
        again = by_name[group.name]
        assert (again.taints, again.labels, again.update_config, again.launch_template, again.version) == (
            group.taints,
            group.labels,
            group.update_config,
            group.launch_template,
            group.version,
        )
        assert again.tags == group.tags
        assert (again.min_size, again.desired_size, again.max_size) == (
            group.min_size,
            group.desired_size,
            group.max_size,
        )
    assert rebuilt.cluster.self_managed_nodes == original.cluster.self_managed_nodes
    assert rebuilt.cluster.karpenter_nodes == original.cluster.karpenter_nodes
    assert rebuilt.cluster.fargate_profiles == original.cluster.fargate_profiles
    assert sorted(rebuilt.cluster.workloads, key=lambda w: w.name) == sorted(
        original.cluster.workloads, key=lambda w: w.name
    )

    with Twin(rebuilt) as twin:
        assert _dry_run(twin) == rich.plan
    assert rich.plan["unmanaged"], "the plan saw the unmanaged capacity"


def test_a_richer_account_is_read_with_reads_only(rich: Rich) -> None:
    calls = rich.calls
    assert [c for c in calls.aws if not c.split(":")[1].startswith(READ_ONLY)] == []
    assert [c for c in calls.kube if not c.startswith("GET ")] == []
    for read in ("ec2:DescribeSecurityGroups", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeInstances"):
        assert read in calls.aws
    assert any(c.endswith("/poddisruptionbudgets") for c in calls.kube)
    assert any(c.endswith("/ingresses") for c in calls.kube)


def test_a_richer_account_anonymized_names_none_of_its_groups_templates_or_instances(
    rich: Rich, tmp_path: Path
) -> None:
    keys, values = _strings(yaml.safe_load(rich.anonymized))
    assert [n for n in sorted(rich.names) if any(n in string for string in keys + values)] == []
    scenario = _load(rich.anonymized, tmp_path)
    assert [g.name for g in scenario.vpc.security_groups] == ["security-group-1", "security-group-2"]
    groups = {g.name: g for g in scenario.cluster.nodegroups}
    extra = groups["nodegroup-2"].launch_template
    assert extra is not None and extra.security_groups == groups["nodegroup-1"].launch_template.security_groups
    assert [n.name for n in scenario.cluster.self_managed_nodes] == ["self-managed-1"]
    [profile] = scenario.cluster.fargate_profiles
    assert profile.name == "fargate-profile-1" and profile.namespaces == ["namespace-1"]
    assert [(w.namespace, w.name) for w in scenario.cluster.workloads] == [
        ("default", "workload-1"),
        ("namespace-2", "workload-2"),
    ]
