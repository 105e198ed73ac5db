"""The pods' security groups on the twin (issue 11 item 4, AWS-FACTS 8): the ENIConfigs give the
pods the groups of their nodes' primary ENIs (the launch template's, else the cluster security
group), and Plan refuses nodes whose groups do not hold exactly one tagged kubernetes.io/cluster/<name>.
"""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.rehearse import Rehearsal, rehearse
from localcloud.scenario import parse_scenario
from localcloud.twin import Twin

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"
TAGGED = {f"kubernetes.io/cluster/{CLUSTER}": "owned"}


def _run(groups: list[dict[str, Any]], template_groups: list[str], **execution_input: Any) -> tuple[Rehearsal, Any]:
    scenario = parse_scenario(
        {
            "vpc": {"securityGroups": groups},
            "cluster": {"nodegroups": [{"name": "managed-ng", "launchTemplate": {"securityGroups": template_groups}}]},
        }
    )
    with Twin(scenario) as twin:
        rehearsal = rehearse(scenario, {"clusterName": CLUSTER, "pollSeconds": 1, **execution_input}, twin=twin)
        rehearsal.state["instanceGroups"] = _instance_groups(twin)
        return rehearsal, twin.aws.built


def _instance_groups(twin: Twin) -> dict[str, list[str]]:
    """Each running node's nodegroup -> the groups on its primary ENI."""
    ec2 = twin.aws.admin_session().client("ec2")
    found: dict[str, list[str]] = {}
    for reservation in ec2.describe_instances()["Reservations"]:
        for instance in reservation["Instances"]:
            tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
            if instance["State"]["Name"] == "running" and "eks:nodegroup-name" in tags:
                groups = [g["GroupId"] for g in instance["SecurityGroups"]]
                found[tags["eks:nodegroup-name"]] = groups
    return found


def test_pods_get_the_groups_of_their_nodes_launch_template() -> None:
    # failed before: the ENIConfigs carried the cluster security group, which these nodes do not have
    groups = [{"name": "nodes", "tags": TAGGED}, {"name": "nodes-extra", "tags": {"team": "web"}}]
    rehearsal, built = _run(groups, ["nodes", "nodes-extra"], verify={"loadBalancers": []})
    result = rehearsal.results[0]
    assert result.succeeded, (result.error, result.cause)
    wanted = [built.security_group_ids["nodes"], built.security_group_ids["nodes-extra"]]
    assert built.cluster_security_group_id not in wanted
    assert [e["securityGroups"] for e in result.output["eniConfigs"]] == [wanted] * 3
    assert [e["securityGroups"] for e in rehearsal.state["cluster"]["eniConfigs"]] == [wanted] * 3
    # the replacement copies the launch template: its nodes have the groups the pods got
    assert rehearsal.state["instanceGroups"] == {"managed-ng-podcidr": wanted}


@pytest.mark.parametrize(("tagged", "found"), [(0, "none is"), (2, "2 are")])
def test_nodes_without_exactly_one_cluster_tagged_group_are_refused_at_plan(tagged: int, found: str) -> None:
    # failed before: Plan wrote the cluster security group into the ENIConfigs and the migration went on
    groups = [{"name": f"nodes-{i}", "tags": TAGGED if i < tagged else {"team": "web"}} for i in range(2)]
    rehearsal, built = _run(groups, ["nodes-0", "nodes-1"])
    result = rehearsal.results[0]
    assert (result.status, result.error) == ("FAILED", "PodSecurityGroupConflict")
    cause = result.cause or ""
    assert all(built.security_group_ids[g["name"]] in cause for g in groups), cause
    assert f"{found} tagged kubernetes.io/cluster/{CLUSTER}" in cause
    assert "launch template of nodegroup(s) managed-ng" in cause and "Nothing was changed" in cause
    assert [c for c in rehearsal.state["calls"] if c["mutating"]] == []
    assert [v.name for v in result.visits][-5:] == [
        "LockHeld?",
        "ReleaseLockOnFailure",
        "AccessLeftBehind?",  # nothing to name: no access entry was made, no workload deployed
        "WorkloadsLeftBehind?",
        "MigrationFailed",
    ]
