"""ConfigureCni: the managed add-on path against the twin's EKS (add-ons and their updates are not in
moto). The configurationValues merging is in test_cni_configuration.py, the self-managed DaemonSet
path over a small Kubernetes fake in test_configure_cni_daemon_set.py."""

from __future__ import annotations

import json
import time
from typing import cast

import pytest

from podcidr.errors import CniConfigConflict
from podcidr.kube.client import Kube
from podcidr.models.migration import Migration
from podcidr.steps.configure_cni import configure_cni
from tests.fixtures.fake_kube import FakeKube, aws_node, env_entries
from tests.fixtures.twin_aws import CUSTOM_NETWORKING_ENV, TwinAws
from tests.fixtures.vpc_topology import as_state_machine_retries
from tests.localcloud.aws.conftest import FrozenClock

ENV = CUSTOM_NETWORKING_ENV


def _aws_node_as_configured() -> Kube:
    """aws-node as the add-on's configuration leaves it (read once the add-on is configured; the twin's EKS here has
    no cluster to apply it to: the twin cluster's own tests check that it does)."""
    return cast(Kube, FakeKube(DaemonSet=[aws_node(env_entries(ENV))]))


def _until_successful(twin_aws: TwinAws, migration: Migration, limit: float = 15.0) -> Migration:
    deadline = time.monotonic() + limit
    while migration.cni.status != "Successful":
        assert time.monotonic() < deadline, f"still {migration.cni.status}"
        time.sleep(0.2)  # the state machine's Wait
        migration = configure_cni(migration, twin_aws.clients.eks, _aws_node_as_configured)
    return migration


def _update_ids(twin_aws: TwinAws) -> set[str]:
    pages = twin_aws.clients.eks.get_paginator("list_updates").paginate(name=twin_aws.cluster, addonName="vpc-cni")
    return {update_id for page in pages for update_id in page["updateIds"]}


def _reset_addon(twin_aws: TwinAws, values: str = "", version: str = "v1.18.3-eksbuild.1") -> None:
    twin_aws.local.eks.install_addon(twin_aws.cluster, "vpc-cni", version, values)
    twin_aws.local.ledger.clear()


def test_addon_update_with_preserve_then_wait_then_nothing_on_a_rerun(twin_aws: TwinAws) -> None:
    _reset_addon(twin_aws, json.dumps({"env": {"WARM_IP_TARGET": "5"}}))
    migration = configure_cni(twin_aws.migration(), twin_aws.clients.eks, _aws_node_as_configured)

    assert migration.cni.status == "InProgress" and migration.cni.update_id
    assert migration.cni.changed is True and migration.changes == 1
    assert migration.cni.current_configuration_values == json.dumps({"env": {"WARM_IP_TARGET": "5"}})
    migration = _until_successful(twin_aws, migration)
    assert migration.polls["ConfigureCni"] >= 1
    addon = twin_aws.local.eks.addon(twin_aws.cluster)
    assert addon is not None
    assert json.loads(addon.configuration_values) == {"env": {"WARM_IP_TARGET": "5", **ENV}}
    update = twin_aws.clients.eks.describe_update(
        name=twin_aws.cluster, updateId=migration.cni.update_id or "", addonName="vpc-cni"
    )["update"]
    assert {"type": "ResolveConflicts", "value": "PRESERVE"} in update["params"]
    assert twin_aws.mutating() == ["eks:UpdateAddon"]

    twin_aws.local.ledger.clear()
    replanned = twin_aws.migration()
    replanned.cni.status = "CONFIGURED"  # what Plan reports once the add-on holds both env vars
    rerun = configure_cni(replanned, twin_aws.clients.eks, _aws_node_as_configured)
    assert rerun.cni.status == "Successful" and rerun.cni.changed is False and rerun.changes == 0
    assert twin_aws.mutating() == []


def test_an_update_in_progress_is_waited_for(twin_aws: TwinAws) -> None:
    _reset_addon(twin_aws)
    twin_aws.clients.eks.update_addon(  # someone else's update, running
        clusterName=twin_aws.cluster, addonName="vpc-cni", configurationValues='{"env":{"WARM_IP_TARGET":"2"}}'
    )
    twin_aws.local.ledger.clear()
    migration = configure_cni(twin_aws.migration(), twin_aws.clients.eks, _aws_node_as_configured)
    assert migration.cni.status == "Waiting" and migration.changes == 0
    migration = _until_successful(twin_aws, migration)
    assert migration.cni.changed is True and migration.changes == 1
    addon = twin_aws.local.eks.addon(twin_aws.cluster)
    assert addon is not None and json.loads(addon.configuration_values)["env"] == {"WARM_IP_TARGET": "2", **ENV}


@pytest.mark.parametrize("past_updates", [0, 120], ids=["first-update", "after-a-page-of-updates"])
def test_a_lost_update_response_is_followed_not_repeated(
    twin_aws: TwinAws, monkeypatch: pytest.MonkeyPatch, past_updates: int
) -> None:
    """With a page (100) of the add-on's past updates before it, the lost one is on the second page of
    ListUpdates (failed before: only the first page was read)."""
    _reset_addon(twin_aws)
    for _ in range(past_updates):
        twin_aws.local.eks._new_update(twin_aws.cluster, "AddonUpdate", [], addon="vpc-cni").status = "Successful"
    before = _update_ids(twin_aws)
    clock = FrozenClock(twin_aws.local.clock.now())  # the update stays InProgress until the test moves on
    monkeypatch.setattr(twin_aws.local.clock, "now", clock.now)
    twin_aws.fault("eks:UpdateAddon", when="after", error="InternalFailure", times=1)
    migration = as_state_machine_retries(
        configure_cni, twin_aws.migration(), twin_aws.clients.eks, _aws_node_as_configured
    )

    def updates() -> list[str]:
        return [e.result for e in twin_aws.calls() if e.operation == "eks:UpdateAddon"]

    # the update acted, its answer was lost; botocore's own retry finds the add-on UPDATING
    assert updates() == ["InternalFailure", "ResourceInUseException"]
    assert migration.cni.status == "Waiting"
    migration = configure_cni(migration, twin_aws.clients.eks, _aws_node_as_configured)  # the next check finds it ours
    (ours,) = _update_ids(twin_aws) - before
    assert (migration.cni.status, migration.cni.update_id) == ("InProgress", ours)
    clock.advance(60)
    migration = _until_successful(twin_aws, migration)
    assert updates() == ["InternalFailure", "ResourceInUseException"]  # followed, never sent again
    after = _update_ids(twin_aws)
    assert len(after - before) == 1
    addon = twin_aws.local.eks.addon(twin_aws.cluster)
    assert addon is not None and json.loads(addon.configuration_values) == {"env": ENV}
    assert migration.cni.changed is True and migration.changes == 1


def test_an_addon_schema_without_the_label_setting_is_a_conflict(twin_aws: TwinAws) -> None:
    _reset_addon(twin_aws, version="v1.12.6-eksbuild.2")
    try:
        with pytest.raises(CniConfigConflict) as raised:
            configure_cni(twin_aws.migration(), twin_aws.clients.eks, _aws_node_as_configured)
    finally:
        _reset_addon(twin_aws)
    assert "ENI_CONFIG_LABEL_DEF" in raised.value.cause
    assert "v1.12.6-eksbuild.2" in raised.value.cause


def test_found_configured_after_waiting_on_our_own_update_counts_it(twin_aws: TwinAws) -> None:
    # botocore's retry of an UpdateAddon whose response was lost met our own update in progress
    # (Waiting); by the next check that update has finished: the change is this execution's.
    _reset_addon(twin_aws, json.dumps({"env": ENV}))
    twin_aws.local.ledger.clear()
    migration = twin_aws.migration()
    migration.cni.status = "Waiting"
    migration = configure_cni(migration, twin_aws.clients.eks, _aws_node_as_configured)
    assert migration.cni.status == "Successful" and migration.cni.changed is True and migration.changes == 1
    assert twin_aws.mutating() == []
