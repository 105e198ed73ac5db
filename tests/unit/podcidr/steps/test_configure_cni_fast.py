"""ConfigureCni's managed add-on path (DESIGN.md step 9) over a botocore-stubbed EKS client: UpdateAddon with
the add-on's configurationValues merged with the env and resolveConflicts PRESERVE, DescribeUpdate until the
update ends, Waiting while another update runs (ResourceInUseException, or the add-on found UPDATING), and
following an update of ours whose UpdateAddon response was lost (ListUpdates) instead of sending another.
The twin's EKS runs the same path in test_configure_cni.py; the DaemonSet path is in
test_configure_cni_daemon_set.py, the configurationValues merging in test_cni_configuration.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from podcidr.errors import CniConfigConflict, TransientAwsError
from podcidr.kube.client import Kube
from podcidr.models.migration import Cni, Migration
from podcidr.steps.configure_cni import configure_cni
from tests.fixtures.fake_kube import FakeKube, aws_node, env_entries
from tests.fixtures.stubbed_aws import all_answered, stubbed
from tests.fixtures.vpc_topology import CLUSTER, Topology, seed_migration

ENV = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}
ARN = f"arn:aws:eks:us-west-2:111122223333:addon/{CLUSTER}/vpc-cni/8ec9f8f4-3f0d-4e6a-a6c8-0d9a3c4b5e6f"
WHEN = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
UPDATE_ID = "3c5b1d2e-7f8a-4b9c-9d0e-1f2a3b4c5d6e"
WARM = '{"env":{"WARM_IP_TARGET":"5"}}'
WARM_MERGED = (
    '{"env":{"WARM_IP_TARGET":"5","AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG":"true",'
    '"ENI_CONFIG_LABEL_DEF":"topology.kubernetes.io/zone"}}'
)
ONLY_ENV = json.dumps({"env": ENV}, separators=(",", ":"))
BEFORE = 3
"""The changes the VPC steps made before ConfigureCni."""
CEILING = 60  # wait_ceiling(30 minutes, pollSeconds 30)
TOO_LONG_HINT = (
    "Look at the VPC CNI add-on's updates (`aws eks list-updates --name eksworkshop --addon-name vpc-cni`) or the "
    "aws-node DaemonSet, then run again."
)


def _migration(status: str | None = None, update_id: str | None = None, **cni: Any) -> Migration:
    ids = ["subnet-1", "subnet-2", "subnet-3"]
    migration = seed_migration(Topology("vpc-1", "rtb-main", "rtb-public", ids, ids, ["nat-1"], ["rtb-1"] * 3))
    migration.cni = Cni(
        via="addon", version="v1.18.3-eksbuild.1", env=dict(ENV), status=status, update_id=update_id, **cni
    )
    migration.poll_seconds = 30
    migration.changes = BEFORE
    return migration


def _addon(status: str = "ACTIVE", values: str | None = None, version: str = "v1.19.0-eksbuild.1") -> dict[str, Any]:
    """DescribeAddon's answer as EKS gives it for an AWS add-on (configurationValues only when set)."""
    addon: dict[str, Any] = {
        "addonName": "vpc-cni",
        "clusterName": CLUSTER,
        "status": status,
        "addonVersion": version,
        "health": {"issues": []},
        "addonArn": ARN,
        "createdAt": WHEN,
        "modifiedAt": WHEN,
        "tags": {},
    }
    if values is not None:
        addon["configurationValues"] = values
    return {"addon": addon}


def _update(
    update_id: str = UPDATE_ID,
    status: str = "InProgress",
    values: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An add-on update as UpdateAddon and DescribeUpdate give it (errors: [] unless it failed)."""
    params = [{"type": "ResolveConflicts", "value": "PRESERVE"}]
    if values is not None:
        params.append({"type": "ConfigurationValues", "value": values})
    return {
        "update": {
            "id": update_id,
            "status": status,
            "type": "AddonUpdate",
            "params": params,
            "createdAt": WHEN,
            "errors": errors or [],
        }
    }


def _describe_addon(stub: Stubber, **addon: Any) -> None:
    stub.add_response("describe_addon", _addon(**addon), {"clusterName": CLUSTER, "addonName": "vpc-cni"})


def _describe_update(stub: Stubber, update_id: str = UPDATE_ID, **update: Any) -> None:
    params = {"name": CLUSTER, "updateId": update_id, "addonName": "vpc-cni"}
    stub.add_response("describe_update", _update(update_id, **update), params)


def _update_addon(stub: Stubber, values: str, update_id: str = UPDATE_ID) -> None:
    params = {
        "clusterName": CLUSTER,
        "addonName": "vpc-cni",
        "configurationValues": values,
        "resolveConflicts": "PRESERVE",
    }
    stub.add_response("update_addon", _update(update_id, values=values), params)


def _refused_update(stub: Stubber, values: str, code: str, message: str, status: int = 400) -> None:
    params = {
        "clusterName": CLUSTER,
        "addonName": "vpc-cni",
        "configurationValues": values,
        "resolveConflicts": "PRESERVE",
    }
    stub.add_client_error("update_addon", code, message, status, expected_params=params)


def _list_updates(stub: Stubber, *pages: list[str]) -> None:
    """ListUpdates of the add-on, page by page (nextToken between them)."""
    for index, ids in enumerate(pages):
        params: dict[str, Any] = {"name": CLUSTER, "addonName": "vpc-cni"}
        if index:
            params["nextToken"] = f"token-{index}"
        answer: dict[str, Any] = {"updateIds": ids}
        if index + 1 < len(pages):
            answer["nextToken"] = f"token-{index + 1}"
        stub.add_response("list_updates", answer, params)


def _configure(eks: Any, migration: Migration, aws_node_env: list[dict[str, Any]] | None = None) -> Migration:
    """ConfigureCni; once the add-on is configured it reads aws-node, here running `aws_node_env` (by default
    the env asked for, beside a value set before)."""
    env = env_entries({"WARM_IP_TARGET": "5", **ENV}) if aws_node_env is None else aws_node_env
    return configure_cni(migration, eks, lambda: cast(Kube, FakeKube(DaemonSet=[aws_node(env)])))


# --- the update ------------------------------------------------------------------------------------


def test_the_add_ons_values_are_merged_with_the_env_and_sent_with_preserve() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _update_addon(stub, WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration())

    cni = migration.cni
    assert (cni.status, cni.update_id, cni.changed, migration.changes) == ("InProgress", UPDATE_ID, True, BEFORE + 1)
    assert cni.current_configuration_values == WARM  # what the add-on held before, for the report
    assert cni.version == "v1.19.0-eksbuild.1"  # the add-on's version as found, not Plan's
    assert migration.polls == {}  # an update started is not a check of a wait loop


def test_an_add_on_without_configuration_values_gets_the_env_alone() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub)
    _update_addon(stub, ONLY_ENV)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("InProgress", True, BEFORE + 1)
    assert migration.cni.current_configuration_values is None


def test_the_values_before_are_those_of_the_first_attempt_only() -> None:
    # after a Waiting round the add-on holds someone else's update: that is not what it held before podcidr
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _update_addon(stub, WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration(status="Waiting"))
    assert migration.cni.current_configuration_values is None
    assert (migration.cni.status, migration.changes) == ("InProgress", BEFORE + 1)

    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _update_addon(stub, WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration(current_configuration_values='{"env":{}}'))
    assert migration.cni.current_configuration_values == '{"env":{}}'


def test_a_yaml_configuration_stays_yaml() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values="env:\n  WARM_IP_TARGET: '5'\n")
    merged = (
        "env:\n  WARM_IP_TARGET: '5'\n  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true'\n"
        "  ENI_CONFIG_LABEL_DEF: topology.kubernetes.io/zone\n"
    )
    _update_addon(stub, merged)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert migration.cni.status == "InProgress"


def test_an_add_on_without_a_version_keeps_the_planned_one() -> None:
    eks, stub = stubbed("eks")
    answer = _addon()
    del answer["addon"]["addonVersion"]
    stub.add_response("describe_addon", answer, {"clusterName": CLUSTER, "addonName": "vpc-cni"})
    _update_addon(stub, ONLY_ENV)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert migration.cni.version == "v1.18.3-eksbuild.1"


# --- already configured ----------------------------------------------------------------------------


def test_configured_before_the_execution_is_successful_with_no_change() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=ONLY_ENV)
    with all_answered(stub):
        migration = _configure(eks, _migration(status="CONFIGURED"))
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Successful", False, BEFORE)
    assert migration.cni.update_id is None and migration.polls == {}


@pytest.mark.parametrize("status", [None, "Waiting"], ids=["first-attempt", "after-waiting"])
def test_found_configured_though_plan_found_it_not_is_this_executions_change(status: str | None) -> None:
    """An earlier attempt's UpdateAddon acted and lost its response, and that update has finished since."""
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration(status=status))
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Successful", True, BEFORE + 1)


def test_a_change_already_counted_is_not_counted_twice() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=ONLY_ENV)
    migration = _migration(status="Waiting", changed=True)
    migration.changes = BEFORE + 1
    with all_answered(stub):
        migration = _configure(eks, migration)
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Successful", True, BEFORE + 1)


# --- aws-node's env once the add-on is configured ----------------------------------------------------


MANAGED_FIELDS = "`kubectl get daemonset aws-node -n kube-system -o yaml --show-managed-fields` shows who owns what"
SET_ENV = (
    "kubectl -n kube-system set env daemonset/aws-node -c aws-node AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true "
    "ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone"
)
WANTED = "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true, ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone"


def _managed(manager: str, operation: str, *keys: str) -> dict[str, Any]:
    """A managedFields entry as the API server keeps it: `manager` owns the value of each env entry `keys`."""
    env = {f'k:{{"name":"{key}"}}': {".": {}, "f:name": {}, "f:value": {}} for key in keys}
    containers = {'k:{"name":"aws-node"}': {".": {}, "f:env": env, "f:image": {}, "f:name": {}}}
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "time": "2026-11-30T12:00:00Z",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": containers}}}},
    }


def _aws_node_kube(env: dict[str, str], *managed: dict[str, Any]) -> FakeKube:
    daemon_set = aws_node(env_entries(env))
    daemon_set["metadata"]["managedFields"] = list(managed)
    return FakeKube(DaemonSet=[daemon_set])


KEPT_BY_KUBECTL = (
    {
        "WARM_IP_TARGET": "5",
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false",
        "ENI_CONFIG_LABEL_DEF": ENV["ENI_CONFIG_LABEL_DEF"],
    },
    _managed("eks", "Apply", "WARM_IP_TARGET", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "ENI_CONFIG_LABEL_DEF"),
    _managed("kubectl-set", "Update", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"),
)
"""aws-node after `kubectl set env ... AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false`: EKS and kubectl-set own that
value, and a PRESERVE update keeps it."""


def test_a_value_another_field_manager_owns_is_refused_before_the_add_on_is_changed() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)  # no UpdateAddon queued: asking for one fails the test
    env, *managed = KEPT_BY_KUBECTL
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(_migration(), eks, lambda: cast(Kube, _aws_node_kube(env, *managed)))
    assert raised.value.cause == (
        "aws-node runs with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false (set by kubectl-set, shared with EKS): another "
        "field manager than EKS owns these values, so the vpc-cni add-on update podcidr makes (resolveConflicts "
        f"PRESERVE) would keep them. Set them on aws-node to what the add-on's configuration will hold (`{SET_ENV}`), "
        f"or let the add-on own them ({MANAGED_FIELDS}), then run again. The vpc-cni add-on was not changed."
    )


def test_values_eks_owns_or_nobody_set_are_updated_as_planned() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _update_addon(stub, WARM_MERGED)
    kube = _aws_node_kube({"WARM_IP_TARGET": "5"}, _managed("eks", "Apply", "WARM_IP_TARGET"))
    with all_answered(stub):
        migration = configure_cni(_migration(), eks, lambda: cast(Kube, kube))
    assert migration.cni.status == "InProgress"


def test_a_successful_update_whose_value_another_field_manager_kept_is_refused_with_the_way_back() -> None:
    """PRESERVE keeps a value another field manager set meanwhile, and the update still ends Successful."""
    eks, stub = stubbed("eks")
    _describe_update(stub, status="Successful", values=WARM_MERGED)
    env, *managed = KEPT_BY_KUBECTL
    migration = _migration(status="InProgress", update_id=UPDATE_ID, changed=True)
    migration.cni.current_configuration_values = WARM
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(migration, eks, lambda: cast(Kube, _aws_node_kube(env, *managed)))
    assert raised.value.cause == (
        f"The vpc-cni add-on's configuration sets {WANTED}, but aws-node keeps "
        "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false (set by kubectl-set, shared with EKS): another field manager than "
        "EKS owns these values and add-on updates with "
        f"resolveConflicts PRESERVE keep them. Set them on aws-node (`{SET_ENV}`) and run again. To take podcidr's "
        f"settings back out of the add-on instead: `aws eks update-addon --cluster-name {CLUSTER} --addon-name vpc-cni "
        f"--resolve-conflicts PRESERVE --configuration-values '{WARM}'`. No node was replaced."
    )


def test_a_configuration_found_in_place_with_a_value_another_manager_keeps_is_refused_without_a_way_back() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=ONLY_ENV)
    env = [{"name": "ENI_CONFIG_LABEL_DEF", "valueFrom": {"configMapKeyRef": {"name": "cni", "key": "label"}}}]
    daemon_set = aws_node(env)
    owned = _managed("helm", "Update", "ENI_CONFIG_LABEL_DEF")
    entry = owned["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"aws-node"}']["f:env"]
    entry['k:{"name":"ENI_CONFIG_LABEL_DEF"}'] = {".": {}, "f:name": {}, "f:valueFrom": {}}
    daemon_set["metadata"]["managedFields"] = [owned]
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(_migration(status="CONFIGURED"), eks, lambda: cast(Kube, FakeKube(DaemonSet=[daemon_set])))
    assert raised.value.cause == (
        f"The vpc-cni add-on's configuration sets {WANTED}, but aws-node keeps ENI_CONFIG_LABEL_DEF from valueFrom "
        "(set by helm): another field manager than EKS owns these values and add-on updates with resolveConflicts "
        f"PRESERVE keep them. Set them on aws-node (`{SET_ENV}`) and run again. No node was replaced."
    )


def test_every_value_another_manager_holds_is_named_with_each_of_its_managers() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    held = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false", "ENI_CONFIG_LABEL_DEF": "k8s.amazonaws.com/eniConfig"}
    kube = _aws_node_kube(
        held,
        _managed("kubectl-set", "Update", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"),
        _managed("helm", "Update", *held),
    )
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(_migration(), eks, lambda: cast(Kube, kube))
    assert raised.value.cause.startswith(
        "aws-node runs with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false (set by helm, kubectl-set), "
        "ENI_CONFIG_LABEL_DEF=k8s.amazonaws.com/eniConfig (set by helm): another field manager"
    )


def test_the_way_back_for_an_add_on_that_had_no_configuration_gives_it_an_empty_one() -> None:
    eks, stub = stubbed("eks")
    env, *managed = KEPT_BY_KUBECTL
    migration = _migration(status="Applying", update_id=UPDATE_ID, changed=True)
    migration.cni.current_configuration_values = None
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(migration, eks, lambda: cast(Kube, _aws_node_kube(env, *managed)))
    assert "--resolve-conflicts PRESERVE --configuration-values '{}'`. No node was replaced." in raised.value.cause


def test_settings_eks_has_not_written_onto_aws_node_yet_are_waited_for_then_successful() -> None:
    """EKS may report the update Successful before aws-node shows it: the step checks again (Applying), asking EKS
    nothing more, until aws-node runs every setting."""
    eks, stub = stubbed("eks")
    _describe_update(stub, status="Successful", values=WARM_MERGED)
    old = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false"}
    kube = _aws_node_kube(old, _managed("eks", "Apply", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"))
    migration = _migration(status="InProgress", update_id=UPDATE_ID, changed=True)
    migration.polls = {"ConfigureCni": 4}
    with all_answered(stub):
        migration = configure_cni(migration, eks, lambda: cast(Kube, kube))
    assert (migration.cni.status, migration.polls) == ("Applying", {"ConfigureCni": 6, "ConfigureCniApplying": 1})

    applied = _aws_node_kube({"WARM_IP_TARGET": "5", **ENV}, _managed("eks", "Apply", "WARM_IP_TARGET", *ENV))
    with all_answered(stub):
        migration = configure_cni(migration, eks, lambda: cast(Kube, applied))
    assert (migration.cni.status, migration.polls, migration.changes) == (
        "Successful",
        {"ConfigureCni": 6, "ConfigureCniApplying": 1},
        BEFORE,
    )


def test_each_setting_is_checked_a_matching_first_one_does_not_end_the_check() -> None:
    eks, stub = stubbed("eks")
    half = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "k8s.amazonaws.com/eniConfig"}
    kube = _aws_node_kube(half, _managed("eks", "Apply", *half))
    migration = _migration(status="Applying", update_id=UPDATE_ID, changed=True)
    with all_answered(stub):
        migration = configure_cni(migration, eks, lambda: cast(Kube, kube))
    assert (migration.cni.status, migration.polls) == ("Applying", {"ConfigureCni": 1, "ConfigureCniApplying": 1})


def test_an_aws_node_container_served_without_env_runs_none_of_the_settings() -> None:
    """The API server leaves an empty list out: a container without `env`."""
    eks, stub = stubbed("eks")
    daemon_set = aws_node([])
    del daemon_set["spec"]["template"]["spec"]["containers"][1]["env"]
    migration = _migration(status="Applying", update_id=UPDATE_ID, changed=True)
    with all_answered(stub):
        migration = configure_cni(migration, eks, lambda: cast(Kube, FakeKube(DaemonSet=[daemon_set])))
    assert (migration.cni.status, migration.polls) == ("Applying", {"ConfigureCni": 1, "ConfigureCniApplying": 1})


def test_settings_aws_node_never_shows_fail_after_three_checks_naming_what_it_runs() -> None:
    """EKS applies the configuration before it reports the update Successful: a few re-reads, not the whole wait."""
    eks, stub = stubbed("eks")
    migration = _migration(status="Applying", update_id=UPDATE_ID, changed=True)
    migration.polls = {"ConfigureCni": 4, "ConfigureCniApplying": 2}
    migration = configure_cni(migration, eks, lambda: cast(Kube, _aws_node_kube({})))
    assert migration.polls == {"ConfigureCni": 5, "ConfigureCniApplying": 3}
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(migration, eks, lambda: cast(Kube, _aws_node_kube({})))
    assert raised.value.cause == (
        f"The vpc-cni add-on update {UPDATE_ID} is Successful and its configuration sets {WANTED}, but 3 checks later "
        "aws-node still runs with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG unset, ENI_CONFIG_LABEL_DEF unset. Look at the "
        f"DaemonSet ({MANAGED_FIELDS}), then run again. No node was replaced."
    )


@pytest.mark.parametrize("status", ["CONFIGURED", None], ids=["configured-before", "configured-by-a-lost-answer"])
def test_settings_changed_or_removed_outside_an_add_on_found_configured_are_refused_at_once(status: str | None) -> None:
    """No update of ours will write them again: EKS writes the configuration only on an add-on update."""
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=ONLY_ENV)
    env = [{"name": "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG"}]  # left with a name and no value (amazon-vpc-cni-k8s #2268)
    daemon_set = aws_node(env)
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(_migration(status=status), eks, lambda: cast(Kube, FakeKube(DaemonSet=[daemon_set])))
    assert raised.value.cause == (
        f"The vpc-cni add-on's configuration sets {WANTED}, but aws-node runs with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG "
        "without a value, ENI_CONFIG_LABEL_DEF unset: changed or removed outside the add-on, and EKS writes the "
        f"configuration again only on an add-on update. Set them on aws-node (`{SET_ENV}`) and run again. No node was "
        "replaced."
    )


def test_the_way_back_quotes_a_configuration_for_the_shell() -> None:
    eks, stub = stubbed("eks")
    env, *managed = KEPT_BY_KUBECTL
    migration = _migration(status="Applying", update_id=UPDATE_ID, changed=True)
    migration.cni.current_configuration_values = "env:\n  WARM_IP_TARGET: '5'\n"
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(migration, eks, lambda: cast(Kube, _aws_node_kube(env, *managed)))
    assert "--configuration-values 'env:\n  WARM_IP_TARGET: '\"'\"'5'\"'\"'\n'`." in raised.value.cause


@pytest.mark.parametrize("values", [ONLY_ENV, WARM], ids=["configured", "before-the-update"])
def test_an_aws_node_without_its_container_is_refused(values: str) -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=values)
    daemon_set = aws_node([])
    daemon_set["spec"]["template"]["spec"]["containers"] = [{"name": "aws-eks-nodeagent", "image": "agent:v1"}]
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(_migration(status="CONFIGURED"), eks, lambda: cast(Kube, FakeKube(DaemonSet=[daemon_set])))
    assert raised.value.cause == f"The aws-node DaemonSet of cluster {CLUSTER} has no aws-node container."


def test_aws_node_is_not_read_before_the_add_on_is_configured() -> None:
    eks, stub = stubbed("eks")
    _describe_update(stub, values=WARM_MERGED)

    def no_kube() -> Kube:
        raise AssertionError("aws-node is read once the add-on is configured, not before")

    with all_answered(stub):
        migration = configure_cni(_migration(status="InProgress", update_id=UPDATE_ID, changed=True), eks, no_kube)
    assert migration.cni.status == "InProgress"


# --- following our update --------------------------------------------------------------------------


def test_an_update_in_progress_is_checked_and_counted_as_a_poll() -> None:
    eks, stub = stubbed("eks")
    _describe_update(stub, values=WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration(status="InProgress", update_id=UPDATE_ID, changed=True))
    assert (migration.cni.status, migration.cni.update_id) == ("InProgress", UPDATE_ID)
    assert migration.polls == {"ConfigureCni": 1} and migration.changes == BEFORE


def test_a_successful_update_ends_the_wait() -> None:
    eks, stub = stubbed("eks")
    _describe_update(stub, status="Successful", values=WARM_MERGED)
    migration = _migration(status="InProgress", update_id=UPDATE_ID, changed=True)
    migration.polls = {"ConfigureCni": 4}
    with all_answered(stub):
        migration = _configure(eks, migration)
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Successful", True, BEFORE)
    assert migration.polls == {"ConfigureCni": 5}


def test_a_failed_update_names_each_error_and_what_to_do() -> None:
    errors = [
        {
            "errorCode": "ConfigurationConflict",
            "errorMessage": "Conflicts found when trying to apply. Will not continue due to resolve conflicts mode.",
            "resourceIds": ["aws-node"],
        },
        {"errorCode": "AdmissionRequestDenied", "errorMessage": "denied by policy", "resourceIds": ["aws-node"]},
    ]
    eks, stub = stubbed("eks")
    _describe_update(stub, status="Failed", values=WARM_MERGED, errors=errors)
    migration = _migration(status="InProgress", update_id=UPDATE_ID, changed=True)
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        _configure(eks, migration)
    assert raised.value.cause == (
        f"The vpc-cni add-on update {UPDATE_ID} ended Failed: ConfigurationConflict: Conflicts found when trying "
        "to apply. Will not continue due to resolve conflicts mode.; AdmissionRequestDenied: denied by policy. "
        "EKS does not say how much of it was applied: look at `aws eks describe-addon --cluster-name eksworkshop "
        "--addon-name vpc-cni` (configurationValues) and the aws-node DaemonSet's env, resolve the conflict (fields "
        "of aws-node changed outside the add-on?) and run again."
    )


def test_a_cancelled_update_without_errors_says_so() -> None:
    eks, stub = stubbed("eks")
    _describe_update(stub, status="Cancelled", values=WARM_MERGED)
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        _configure(eks, _migration(status="InProgress", update_id=UPDATE_ID, changed=True))
    assert raised.value.cause.startswith(
        f"The vpc-cni add-on update {UPDATE_ID} ended Cancelled: no error detail. EKS does not say how much of it "
        "was applied"
    )


def test_an_update_unfinished_past_the_ceiling_fails_without_asking_again() -> None:
    eks, stub = stubbed("eks")
    migration = _migration(status="InProgress", update_id=UPDATE_ID, changed=True)
    migration.polls = {"ConfigureCni": CEILING}
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        _configure(eks, migration)
    assert raised.value.cause == (
        f"The vpc-cni add-on update {UPDATE_ID} did not finish after {CEILING} checks (at most 30 minutes). "
        + TOO_LONG_HINT
    )


def test_the_last_check_below_the_ceiling_is_still_made() -> None:
    eks, stub = stubbed("eks")
    _describe_update(stub, values=WARM_MERGED)
    migration = _migration(status="InProgress", update_id=UPDATE_ID, changed=True)
    migration.polls = {"ConfigureCni": CEILING - 1}
    with all_answered(stub):
        migration = _configure(eks, migration)
    assert migration.polls == {"ConfigureCni": CEILING} and migration.cni.status == "InProgress"


def test_in_progress_without_an_update_id_reads_the_add_on() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _update_addon(stub, WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration(status="InProgress"))
    assert (migration.cni.status, migration.cni.update_id) == ("InProgress", UPDATE_ID)


# --- another update running ------------------------------------------------------------------------


def test_update_addon_refused_while_another_update_runs_waits() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _refused_update(
        stub,
        WARM_MERGED,
        "ResourceInUseException",
        "Addon vpc-cni cannot be updated as it is currently in UPDATING state",
        409,
    )
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Waiting", False, BEFORE)
    assert migration.cni.update_id is None
    assert migration.polls == {"ConfigureCni": 1}


def test_waiting_on_another_update_has_the_same_ceiling() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _refused_update(stub, WARM_MERGED, "ResourceInUseException", "Addon vpc-cni cannot be updated", 409)
    migration = _migration(status="Waiting")
    migration.polls = {"ConfigureCni": CEILING}
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        _configure(eks, migration)
    assert raised.value.cause == (
        f"The vpc-cni add-on's current update did not finish after {CEILING} checks (at most 30 minutes). "
        + TOO_LONG_HINT
    )


@pytest.mark.parametrize("status", ["CREATING", "UPDATING", "DELETING"])
def test_an_add_on_busy_with_someone_elses_update_is_waited_for(status: str) -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, status=status, values=WARM)
    _list_updates(stub, ["old-1", "other"])
    _describe_update(stub, "other", values='{"env":{"WARM_IP_TARGET":"2"}}')
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.cni.changed, migration.changes) == ("Waiting", False, BEFORE)
    assert migration.cni.update_id is None and migration.cni.current_configuration_values is None
    assert migration.polls == {"ConfigureCni": 1}


def test_a_busy_add_on_past_the_ceiling_fails_without_listing_updates() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING", values=WARM)
    migration = _migration(status="Waiting")
    migration.polls = {"ConfigureCni": CEILING}
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        _configure(eks, migration)
    assert raised.value.cause == (
        f"The vpc-cni add-on's current update did not finish after {CEILING} checks (at most 30 minutes). "
        + TOO_LONG_HINT
    )


def test_our_update_whose_response_was_lost_is_followed_not_repeated() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING", values=WARM_MERGED)
    _list_updates(stub, ["old-1", "old-2"], ["ours"])
    _describe_update(stub, "ours", values=WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration(status="Waiting"))
    cni = migration.cni
    assert (cni.status, cni.update_id, cni.changed, migration.changes) == ("InProgress", "ours", True, BEFORE + 1)
    assert migration.polls == {"ConfigureCni": 1}


def test_finished_updates_are_passed_over_to_the_one_in_progress() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING")
    _list_updates(stub, ["ours", "done-1", "done-2"])
    _describe_update(stub, "done-2", status="Successful", values='{"env":{"WARM_IP_TARGET":"2"}}')
    _describe_update(stub, "done-1", status="Failed", values=ONLY_ENV, errors=[{"errorCode": "Unknown"}])
    _describe_update(
        stub,
        "ours",
        values="env:\n  AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true'\n"
        "  ENI_CONFIG_LABEL_DEF: topology.kubernetes.io/zone\n",
    )
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.cni.update_id, migration.changes) == ("InProgress", "ours", BEFORE + 1)


def test_only_the_ten_updates_at_each_end_of_the_listing_are_described() -> None:
    ids = [f"u{index:02d}" for index in range(25)]
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING")
    _list_updates(stub, ids[:12], ids[12:])
    for update_id in ids[-10:][::-1] + ids[:10]:
        _describe_update(stub, update_id, status="Successful", values=ONLY_ENV)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.changes) == ("Waiting", BEFORE)


def test_a_short_listing_is_described_once_each_newest_first() -> None:
    ids = [f"u{index:02d}" for index in range(11)]
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING")
    _list_updates(stub, ids)
    for update_id in ids[::-1]:
        _describe_update(stub, update_id, status="Successful", values=ONLY_ENV)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert migration.cni.status == "Waiting"


@pytest.mark.parametrize(
    "values",
    [
        None,  # a version update: no configurationValues
        '{"env":{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG":"true"}}',  # one of our two settings only
        '{"env":{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG":"true","ENI_CONFIG_LABEL_DEF":"kubernetes.io/hostname"}}',
        '{"init":{"env":{"DISABLE_TCP_EARLY_DEMUX":"true"}}}',  # no env
    ],
    ids=["no-values", "partial-env", "other-label", "no-env"],
)
def test_the_one_update_in_progress_is_not_ours_unless_it_sets_our_env(values: str | None) -> None:
    """EKS runs one update of an add-on at a time: the first in progress found ends the search."""
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING")
    _list_updates(stub, ["ours-finished", "running"])
    _describe_update(stub, "running", values=values)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.cni.update_id, migration.changes) == ("Waiting", None, BEFORE)


def test_an_add_on_without_updates_is_waited_for() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="CREATING")
    _list_updates(stub, [])
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert migration.cni.status == "Waiting"


def test_an_update_setting_more_than_our_env_is_still_ours() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, status="UPDATING")
    _list_updates(stub, ["ours"])
    _describe_update(stub, "ours", values=WARM_MERGED)
    with all_answered(stub):
        migration = _configure(eks, _migration())
    assert (migration.cni.status, migration.cni.update_id) == ("InProgress", "ours")


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["InvalidParameterException", "InvalidRequestException"])
def test_a_configuration_eks_refuses_names_the_version_and_the_upgrade(code: str) -> None:
    message = (
        "ConfigurationValue provided in request is not supported: Json schema validation failed with error: "
        "[$.env.ENI_CONFIG_LABEL_DEF: is not defined in the schema and the schema does not allow additional properties]"
    )
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM, version="v1.12.6-eksbuild.2")
    _refused_update(stub, WARM_MERGED, code, message)
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        _configure(eks, _migration())
    assert raised.value.cause == (
        f"EKS refused the vpc-cni add-on configuration {WARM_MERGED!r} ({code}: {message}). The add-on version "
        "v1.12.6-eksbuild.2 may not accept these settings (ENI_CONFIG_LABEL_DEF needs v1.15+ in the add-on schema, "
        "see `aws eks describe-addon-configuration`); upgrade the add-on and run again."
    )


def test_another_refusal_is_raised_as_it_came() -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _refused_update(stub, WARM_MERGED, "ResourceNotFoundException", "No addon: vpc-cni found in cluster", 404)
    migration = _migration()
    with all_answered(stub), pytest.raises(ClientError) as raised:
        _configure(eks, migration)
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert (migration.cni.status, migration.changes, migration.polls) == (None, BEFORE, {})


@pytest.mark.parametrize("code,status", [("ServerException", 500), ("ThrottlingException", 400)])
def test_a_server_fault_on_update_addon_is_retried_by_the_state_machine(code: str, status: int) -> None:
    eks, stub = stubbed("eks")
    _describe_addon(stub, values=WARM)
    _refused_update(stub, WARM_MERGED, code, "try later", status)
    migration = _migration()
    with all_answered(stub), pytest.raises(TransientAwsError):
        _configure(eks, migration)
    assert (migration.cni.status, migration.changes) == (None, BEFORE)


def test_re_reads_of_aws_node_count_in_the_steps_own_ceiling_too() -> None:
    eks, stub = stubbed("eks")
    migration = _migration(status="Applying", update_id=UPDATE_ID, changed=True)
    migration.polls = {"ConfigureCni": CEILING, "ConfigureCniApplying": 1}
    with all_answered(stub), pytest.raises(CniConfigConflict) as raised:
        configure_cni(migration, eks, lambda: cast(Kube, _aws_node_kube({})))
    assert raised.value.cause == (
        f"aws-node taking the update {UPDATE_ID} did not finish after {CEILING} checks (at most 30 minutes). "
        f"{TOO_LONG_HINT}"
    )
