"""ConfigureCni's self-managed path (the aws-node DaemonSet) over a small in-memory Kubernetes API
(tests/fixtures/fake_kube.py): a strategic-merge patch of the missing env, then the rollout. The
twin's tests run it against a real API server with the DaemonSet controller."""

from __future__ import annotations

from typing import Any, cast

import pytest

from podcidr.errors import CniConfigConflict
from podcidr.models.migration import Cni, Migration
from podcidr.steps.configure_cni import configure_cni, rolled_out
from tests.fixtures.fake_kube import FakeKube, aws_node
from tests.fixtures.vpc_topology import Topology, seed_migration

ENV = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}
ON_DELETE_WARNING = (
    "aws-node's update strategy is OnDelete: its running pods keep the old settings until they are deleted; the "
    "replacement nodes start with the new ones."
)


def _migration(poll_seconds: int = 30) -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.cni = Cni(via="daemonset", env=dict(ENV))
    migration.poll_seconds = poll_seconds
    return migration


def _configure(kube: FakeKube, migration: Migration) -> Migration:
    def no_eks() -> None:
        raise AssertionError("the self-managed path must not call EKS")

    return configure_cni(migration, cast(Any, no_eks), lambda: cast(Any, kube))


def test_the_missing_env_is_patched_then_the_rollout_waited_for() -> None:
    kube = FakeKube(
        DaemonSet=[aws_node([{"name": "WARM_IP_TARGET", "value": "5"}, {"name": "ENI_CONFIG_LABEL_DEF", "value": "x"}])]
    )
    migration = _configure(kube, _migration())

    assert kube.apps.patches == [
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": "aws-node",
                                "env": [
                                    {"name": "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "value": "true"},
                                    {"name": "ENI_CONFIG_LABEL_DEF", "value": "topology.kubernetes.io/zone"},
                                ],
                            }
                        ]
                    }
                }
            }
        }
    ]
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("RollingOut", True, 1)
    [daemon_set] = kube.objects["DaemonSet"]
    env = {e["name"]: e["value"] for e in daemon_set["spec"]["template"]["spec"]["containers"][1]["env"]}
    assert env == {"WARM_IP_TARGET": "5", **ENV}

    # the controller has not seen the new generation yet: still rolling out, one check counted
    migration = _configure(kube, migration)
    assert (migration.cni.status, migration.polls["ConfigureCni"], migration.changes) == ("RollingOut", 1, 1)

    daemon_set["status"]["observedGeneration"] = 2
    migration = _configure(kube, migration)
    assert (migration.cni.status, migration.changes, len(kube.apps.patches)) == ("Successful", 1, 1)


def test_set_already_and_rolled_out_is_successful_with_no_patch() -> None:
    kube = FakeKube(DaemonSet=[aws_node([{"name": k, "value": v} for k, v in ENV.items()])])
    migration = _configure(kube, _migration())
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Successful", False, 0)
    assert kube.apps.patches == [] and migration.warnings == []


def test_on_delete_is_successful_at_once_with_one_warning() -> None:
    kube = FakeKube(
        DaemonSet=[aws_node([{"name": k, "value": v} for k, v in ENV.items()], "OnDelete", numberAvailable=0)]
    )
    migration = _configure(kube, _migration())
    _configure(kube, migration)
    assert migration.cni.status == "Successful"
    assert migration.warnings == [ON_DELETE_WARNING]


def test_a_value_from_a_config_map_is_not_replaced() -> None:
    source = {"configMapKeyRef": {"name": "cni", "key": "label"}}
    env: list[dict[str, Any]] = [
        {"name": "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "value": "true"},
        {"name": "ENI_CONFIG_LABEL_DEF", "valueFrom": source},
    ]
    kube = FakeKube(DaemonSet=[aws_node(env)])
    with pytest.raises(CniConfigConflict) as raised:
        _configure(kube, _migration())
    assert raised.value.cause == (
        "aws-node takes ENI_CONFIG_LABEL_DEF from valueFrom; podcidr will not replace it. Set "
        "ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone yourself, then run again."
    )
    assert kube.apps.patches == []


def test_both_settings_from_value_from_are_named_together() -> None:
    kube = FakeKube(
        DaemonSet=[aws_node([{"name": k, "valueFrom": {"configMapKeyRef": {"name": "cni", "key": k}}} for k in ENV])]
    )
    with pytest.raises(CniConfigConflict) as raised:
        _configure(kube, _migration())
    assert raised.value.cause == (
        "aws-node takes AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG, ENI_CONFIG_LABEL_DEF from valueFrom; podcidr will not "
        "replace it. Set AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true, ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone "
        "yourself, then run again."
    )


def test_the_patch_adds_to_the_changes_made_before() -> None:
    kube = FakeKube(DaemonSet=[aws_node([])])
    migration = _migration()
    migration.changes = 4  # the VPC steps' changes
    assert _configure(kube, migration).changes == 5


def test_a_daemon_set_without_the_aws_node_container_is_a_conflict() -> None:
    daemon_set = aws_node([])
    daemon_set["spec"]["template"]["spec"]["containers"].pop()
    with pytest.raises(CniConfigConflict) as raised:
        _configure(FakeKube(DaemonSet=[daemon_set]), _migration())
    assert raised.value.cause == "The aws-node DaemonSet of cluster eksworkshop has no aws-node container."


def test_a_rollout_that_never_ends_gives_up_past_the_ceiling() -> None:
    """30 minutes of checks at 300 s apart would be 6: the floor of 10 checks applies."""
    kube = FakeKube(DaemonSet=[aws_node([{"name": k, "value": v} for k, v in ENV.items()], numberAvailable=2)])
    migration = _migration(poll_seconds=300)
    for _ in range(10):
        migration = _configure(kube, migration)
    assert (migration.cni.status, migration.polls["ConfigureCni"]) == ("RollingOut", 10)
    with pytest.raises(CniConfigConflict) as raised:
        _configure(kube, migration)
    assert raised.value.cause == (
        "The aws-node DaemonSet rollout did not finish after 10 checks (at most 30 minutes). Look at the VPC CNI "
        "add-on's updates (`aws eks list-updates --name eksworkshop --addon-name vpc-cni`) or the aws-node DaemonSet, "
        "then run again."
    )


@pytest.mark.parametrize(
    ("status", "generation", "done"),
    [
        (
            {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3},
            2,
            True,
        ),
        (
            {"observedGeneration": 1, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3},
            2,
            False,
        ),
        (
            {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 2, "numberAvailable": 3},
            2,
            False,
        ),
        (
            {"observedGeneration": 2, "desiredNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 2},
            2,
            False,
        ),
        ({}, 0, True),  # nothing scheduled, nothing to wait for
        ({"desiredNumberScheduled": 1}, 0, False),
        # the API server omits these counts while they are 0 (omitempty): absent is none yet
        ({"desiredNumberScheduled": 1, "updatedNumberScheduled": 1, "numberAvailable": 1}, 1, False),
        ({"observedGeneration": 1, "desiredNumberScheduled": 1, "numberAvailable": 1}, 1, False),
        ({"observedGeneration": 1, "desiredNumberScheduled": 1, "updatedNumberScheduled": 1}, 1, False),
    ],
)
def test_rolled_out_is_kubectl_rollout_status(status: dict[str, int], generation: int, done: bool) -> None:
    assert rolled_out({"metadata": {"generation": generation}, "status": status}) is done


def test_an_aws_node_container_served_without_env_gets_every_setting() -> None:
    """The API server leaves an empty list out: a container without `env`."""
    daemon_set = aws_node([])
    del daemon_set["spec"]["template"]["spec"]["containers"][1]["env"]
    kube = FakeKube(DaemonSet=[daemon_set])
    migration = _configure(kube, _migration())
    [patch] = kube.apps.patches
    assert patch["spec"]["template"]["spec"]["containers"][0]["env"] == [
        {"name": k, "value": v} for k, v in ENV.items()
    ]
    assert migration.cni.status == "RollingOut"
