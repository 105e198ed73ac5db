"""CleanUpEndedExecution's rounds over an in-memory Kubernetes API (fake_kube) and botocore-stubbed ELBv2 and
EKS: what a stopped, timed-out or failed migration left is deleted only while it is that execution's, only
under a mark that covers the round, named when it cannot go in time; its access entry goes only if it made
it and no other execution holds the lock. The twin's tests (test_ended_execution_cleanup.py) run the same
on a real API server and the controller; these are the fast ones `make mutate-fast` runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import Stubber
from kubernetes.client.exceptions import ApiException

from podcidr.errors import ClusterNotActive, ClusterNotFound, TransientAwsError
from podcidr.steps.cleanup_mark import MARK_SECONDS, iso
from podcidr.steps.ended_execution_cleanup import Cleanup, EndedExecution, clean_up_ended_execution
from tests.fixtures.fake_kube import FakeKube, forbidden
from tests.fixtures.stubbed_aws import all_answered, stubbed

CLUSTER = "shop"
NAMESPACE = "podcidr-verify"
ENDED = "arn:aws:states:us-west-2:111122223333:execution:podcidr-migration:stopped"
OTHER = "arn:aws:states:us-west-2:111122223333:execution:podcidr-migration:newer"
ROLE = "arn:aws:iam::111122223333:role/podcidr-ClusterFunctionsRole-1A2B3C4D5E6F"
ENTRY_ARN = (
    "arn:aws:eks:us-west-2:111122223333:access-entry/shop/role/111122223333/"
    "podcidr-ClusterFunctionsRole-1A2B3C4D5E6F/a2c5d1e3-4b6f-7a8c-9d0e-1f2a3b4c5d6e"
)
LB_NAME = "k8s-podcidrv-podcidrp-0a1b2c3d4e"
LB_ARN = f"arn:aws:elasticloadbalancing:us-west-2:111122223333:loadbalancer/net/{LB_NAME}/50dc6c495c0c9188"
LB_DNS = f"{LB_NAME}-50dc6c495c0c9188.elb.us-west-2.amazonaws.com"
LOAD_BALANCER = f"load balancer {LB_NAME} ({LB_DNS}, {LB_ARN}) of {NAMESPACE}/podcidr-public-nlb"
WHEN = datetime(2026, 11, 30, 16, 0, tzinfo=UTC)


def _namespace(owner: str | None = ENDED, *, version: str = "41", managed: bool = True, terminating: bool = False):
    labels = {"app.kubernetes.io/name": "podcidr-verify"}
    if managed:
        labels["app.kubernetes.io/managed-by"] = "podcidr"
    metadata: dict[str, Any] = {
        "name": NAMESPACE,
        "uid": "0b5e8c1a-7d2f-4e3b-9a6c-5f4d3e2c1b0a",
        "resourceVersion": version,
        "labels": labels,
    }
    if owner is not None:
        metadata["annotations"] = {"podcidr/execution": owner}
    status = {"phase": "Active"}
    if terminating:
        metadata["deletionTimestamp"] = "2026-11-30T15:59:00Z"
        status = {"phase": "Terminating"}
    return {"metadata": metadata, "status": status}


def _with_workloads(kube: FakeKube) -> FakeKube:
    kube.add("Service", {"metadata": {"name": "podcidr-public-nlb", "namespace": NAMESPACE}})
    kube.add("Ingress", {"metadata": {"name": "podcidr-alb", "namespace": NAMESPACE}})
    kube.add("Service", {"metadata": {"name": "web", "namespace": "default"}})
    return kube


def _balancer() -> dict[str, Any]:
    """A DescribeLoadBalancers member as ELBv2 returns it for the controller's NLB."""
    return {
        "LoadBalancerArn": LB_ARN,
        "DNSName": LB_DNS,
        "CanonicalHostedZoneId": "Z18D5FSROUN65G",
        "CreatedTime": WHEN,
        "LoadBalancerName": LB_NAME,
        "Scheme": "internet-facing",
        "VpcId": "vpc-0a1b2c3d4e5f60718",
        "State": {"Code": "active"},
        "Type": "network",
        "AvailabilityZones": [{"ZoneName": "us-west-2a", "SubnetId": "subnet-0a1b2c3d4e5f60718"}],
        "IpAddressType": "ipv4",
    }


def _entry(owner: str | None) -> dict[str, Any]:
    """DescribeAccessEntry's answer for the cluster functions' role, tagged as EnsureClusterAccess tags it."""
    tags = {"podcidr:cluster": CLUSTER, **({"podcidr:execution": owner} if owner else {})}
    return {
        "accessEntry": {
            "clusterName": CLUSTER,
            "principalArn": ROLE,
            "kubernetesGroups": [],
            "accessEntryArn": ENTRY_ARN,
            "createdAt": WHEN,
            "modifiedAt": WHEN,
            "tags": tags,
            "username": "arn:aws:sts::111122223333:assumed-role/podcidr-ClusterFunctionsRole-1A2B3C4D5E6F/"
            "{{SessionName}}",
            "type": "STANDARD",
        }
    }


ENTRY_KEY = {"clusterName": CLUSTER, "principalArn": ROLE}


@dataclass
class World:
    """The cluster, ELBv2 and EKS one round sees; a stub with nothing queued refuses any call."""

    kube: FakeKube = field(default_factory=FakeKube)
    elbv2: Any = None
    elbv2_stub: Stubber = field(init=False)
    eks: Any = None
    eks_stub: Stubber = field(init=False)
    connected: list[str] = field(default_factory=list)
    connect_error: Exception | None = None
    principals: int = 0

    def __post_init__(self) -> None:
        self.elbv2, self.elbv2_stub = stubbed("elbv2")
        self.eks, self.eks_stub = stubbed("eks")

    def connect(self, cluster: str) -> FakeKube:
        self.connected.append(cluster)
        if self.connect_error is not None:
            raise self.connect_error
        return self.kube

    def principal(self) -> str:
        self.principals += 1
        return ROLE

    def load_balancers(self, *balancers: dict[str, Any], stack: str = f"{NAMESPACE}/podcidr-public-nlb") -> None:
        self.elbv2_stub.add_response("describe_load_balancers", {"LoadBalancers": list(balancers)}, {})
        if balancers:
            tags = [
                {"Key": "elbv2.k8s.aws/cluster", "Value": CLUSTER},
                {"Key": "service.k8s.aws/stack", "Value": stack},
                {"Key": "service.k8s.aws/resource", "Value": "LoadBalancer"},
            ]
            self.elbv2_stub.add_response(
                "describe_tags",
                {"TagDescriptions": [{"ResourceArn": b["LoadBalancerArn"], "Tags": tags} for b in balancers]},
                {"ResourceArns": [b["LoadBalancerArn"] for b in balancers]},
            )

    def entry(self, owner: str | None) -> None:
        self.eks_stub.add_response("describe_access_entry", _entry(owner), ENTRY_KEY)

    def no_entry(self) -> None:
        self.eks_stub.add_client_error(
            "describe_access_entry",
            "ResourceNotFoundException",
            f"The specified access entry resource {ROLE} could not be found.",
            404,
            expected_params=ENTRY_KEY,
        )

    def revoked(self) -> None:
        self.eks_stub.add_response("delete_access_entry", {}, ENTRY_KEY)

    @property
    def writes(self) -> list[str]:
        return self.kube.core.writes

    def namespace(self) -> dict[str, Any] | None:
        return next((n for n in self.kube.objects["Namespace"] if n["metadata"]["name"] == NAMESPACE), None)


@pytest.fixture
def world() -> Iterator[World]:
    made = World()
    with all_answered(made.elbv2_stub), all_answered(made.eks_stub):
        yield made


def _call(
    world: World,
    cleanup: Cleanup,
    now: float | Callable[[], float],
    *,
    status: str = "ABORTED",
    given: dict[str, Any] | None = None,
    default_input: dict[str, Any] | None = None,
    stop_date: float = 995_000,
    holder: Any = None,
    machine_started_at: str | None = None,
    in_flight: bool = False,
) -> Cleanup:
    asked: list[bool] = []
    pending = cleanup.status == "pending"

    def calls_in_flight() -> bool:
        asked.append(in_flight)
        return in_flight

    ended = EndedExecution(
        execution_arn=ENDED,
        status=status,
        input={"clusterName": CLUSTER} if given is None else given,
        stop_date=stop_date,
        lock={"Item": {"clusterName": {"S": CLUSTER}, "executionArn": {"S": holder}}} if holder else {},
        cleanup=cleanup,
        machine_started_at=machine_started_at,
    )
    answer = clean_up_ended_execution(
        ended,
        default_input=default_input or {},
        connect=world.connect,  # type: ignore[arg-type]
        elbv2=world.elbv2,
        eks=world.eks,
        principal=world.principal,
        calls_in_flight=calls_in_flight,
        now=now if callable(now) else lambda: now,
    )
    assert len(asked) == (1 if pending and answer.status == "marking" else 0)
    return answer


def _marked(now: float = 1001.0, **update: Any) -> Cleanup:
    """A round's state as the first call planned it, under a mark MarkLock wrote that covers a round at `now`."""
    planned = {
        "status": "marking",
        "message": "nothing removed yet",
        "started_at": 1000.0,
        "not_before": 995.0,
        "mark_until": iso(now + MARK_SECONDS),
    }
    return Cleanup(**{**planned, **update})


# --- the contract ----------------------------------------------------------------------------------


def test_execution_ended_starts_from_a_pending_clean_up_of_twenty_second_rounds_within_the_budget() -> None:
    assert Cleanup().to_json() == {
        "status": "pending",
        "polls": 0,
        "waitSeconds": 20,
        "maxPolls": 7,
        "startedAt": None,
        "notBefore": None,
        "markUntil": None,
        "leftBehind": [],
        "access": "-",
        "message": "-",
    }


@pytest.mark.parametrize(
    ("lock", "holder"),
    [
        ({}, None),
        ({"Item": {"clusterName": {"S": CLUSTER}}}, None),
        ({"Item": {"executionArn": {"NULL": True}}}, None),
        ({"Item": {"executionArn": {"S": OTHER}}}, OTHER),
    ],
)
def test_the_lock_holder_is_the_items_execution_arn_string(lock: dict[str, Any], holder: str | None) -> None:
    assert EndedExecution(execution_arn=ENDED, status="ABORTED", lock=lock).lock_holder() == holder


# --- what is cleaned up after, and the first call -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "given"),
    [
        ("SUCCEEDED", {"clusterName": CLUSTER}),
        ("RUNNING", {"clusterName": CLUSTER}),
        ("ABORTED", {}),
        ("TIMED_OUT", {"clusterName": 42}),
        ("FAILED", {"clusterName": "not a cluster name"}),
    ],
)
def test_another_ending_or_no_valid_cluster_name_has_nothing_to_clean_up(
    world: World, status: str, given: dict[str, Any]
) -> None:
    answer = _call(world, Cleanup(), 1000.0, status=status, given=given)
    assert (answer.status, answer.message) == ("nothing", f"nothing to clean up after a {status} execution")
    assert answer.mark_until is None and answer.started_at is None and world.connected == []


@pytest.mark.parametrize("status", ["removed", "kept", "nothing", "left-behind"])
def test_a_finished_clean_up_is_returned_as_it_is_and_nothing_is_asked(world: World, status: str) -> None:
    done = Cleanup(status=status, polls=3, message="as it was", access="revoked", started_at=1000.0)
    answer = _call(world, done.model_copy(), 1001.0, status="SUCCEEDED")
    assert answer == done and world.connected == [] and world.principals == 0


@pytest.mark.parametrize("status", ["ABORTED", "TIMED_OUT", "FAILED"])
def test_the_first_call_only_plans_the_first_rounds_mark(world: World, status: str) -> None:
    world.kube.add("Namespace", _namespace())
    planned = _call(world, Cleanup(), 1000.0, status=status)
    assert planned.to_json() == {
        "status": "marking",
        "polls": 0,
        "waitSeconds": 20,
        "maxPolls": 7,
        "startedAt": 1000.0,
        "notBefore": 995.0,  # the stop date: nothing in flight
        "markUntil": iso(1000.0 + MARK_SECONDS),
        "leftBehind": [],
        "access": "-",
        "message": "nothing removed yet",
    }
    assert world.connected == [] and world.writes == [] and world.principals == 0


def test_the_first_mark_never_outlives_the_express_execution(world: World) -> None:
    planned = _call(world, Cleanup(), 1000.0, machine_started_at=iso(750.0))
    assert planned.mark_until == iso(750.0 + 300)


@pytest.mark.parametrize(
    ("poll", "wait", "rounds"),
    [
        *[(5, 5, 30), (7, 7, 21), (20, 20, 7), (60, 20, 7), (1, 1, 150), (0, 1, 150), (-3, 1, 150)],
        *[(True, 20, 7), ("5", 20, 7), (5.0, 20, 7), (None, 20, 7)],  # not an integer: the default
    ],
)
def test_rounds_wait_poll_seconds_between_one_and_twenty_within_the_budget(
    world: World, poll: Any, wait: int, rounds: int
) -> None:
    given = {"clusterName": CLUSTER, **({"pollSeconds": poll} if poll is not None else {})}
    planned = _call(world, Cleanup(), 1000.0, given=given)
    assert (planned.wait_seconds, planned.max_polls) == (wait, rounds)


def test_the_input_is_read_over_the_stacks_default_input(world: World) -> None:
    defaults = {"clusterName": CLUSTER, "pollSeconds": 5}
    assert _call(world, Cleanup(), 1000.0, given={}, default_input=defaults).wait_seconds == 5
    overridden = _call(world, Cleanup(), 1000.0, given={"pollSeconds": 10}, default_input=defaults)
    assert (overridden.status, overridden.wait_seconds) == ("marking", 10)
    assert _call(world, Cleanup(), 1000.0, given={"clusterName": "not valid!"}, default_input=defaults).status == (
        "nothing"
    )
    assert _call(world, Cleanup(), 1000.0, default_input={"clusterName": "not valid!"}).status == "marking"


def test_calls_still_in_flight_hold_the_end_until_the_longest_step_has_ended(world: World) -> None:
    assert _call(world, Cleanup(), 1000.0, in_flight=True).not_before == 995.0 + 120 + 25
    assert _call(world, Cleanup(), 1000.0, in_flight=True, stop_date=0).not_before == 1000.0 + 120 + 25
    assert _call(world, Cleanup(), 1000.0, stop_date=0).not_before == 1000.0
    assert _call(world, Cleanup(), 1000.0, stop_date=-5).not_before == 1000.0


# --- a round: the test namespace and the load balancers ---------------------------------------------------


def test_a_round_deletes_the_executions_namespace_as_read_and_names_what_remains(world: World) -> None:
    _with_workloads(world.kube).add("Namespace", _namespace())
    world.load_balancers(_balancer())
    answer = _call(world, _marked(), 1001.0)
    assert world.writes == [f"delete Namespace {NAMESPACE}"]
    assert world.namespace()["metadata"]["deletionTimestamp"]  # type: ignore[index]
    remaining = [
        f"namespace {NAMESPACE} (terminating)",
        f"Ingress {NAMESPACE}/podcidr-alb",
        f"Service {NAMESPACE}/podcidr-public-nlb",
        LOAD_BALANCER,
    ]
    assert (answer.status, answer.polls, answer.left_behind) == ("removing", 1, [])
    assert answer.message == f"removing: {'; '.join(remaining)}"
    assert answer.mark_until == iso(1001.0 + 20 + MARK_SECONDS) and answer.access == "-"
    assert world.principals == 0


def test_the_next_mark_is_planned_from_the_rounds_end_and_its_own_wait(world: World) -> None:
    """A round that took 25 s: the next one starts 25 s + its wait later, under a mark that covers it."""
    world.kube.add("Namespace", _namespace())
    world.load_balancers()
    readings = iter([1001.0, 1026.0, 1026.0, 1026.0])
    answer = _call(world, _marked(wait_seconds=5), lambda: next(readings))
    assert answer.mark_until == iso(1026.0 + 5 + MARK_SECONDS)
    world.load_balancers()
    capped = _call(world, _marked(), 1001.0, machine_started_at=iso(750.0))
    assert capped.mark_until == iso(750.0 + 300)


def test_a_terminating_namespace_is_not_deleted_again(world: World) -> None:
    world.kube.add("Namespace", _namespace(terminating=True))
    world.load_balancers()
    answer = _call(world, _marked(), 1001.0)
    assert world.writes == []
    assert (answer.status, answer.message) == ("removing", f"removing: namespace {NAMESPACE} (terminating)")


def test_a_namespace_changed_since_it_was_read_is_left_to_the_next_round(world: World) -> None:
    """A newer execution adopted it between the read and the delete: the delete's precondition fails (409)."""
    world.kube.add("Namespace", _namespace(version="41"))
    read = world.kube.core.read_namespace

    def read_then_changed(name: str) -> Any:
        found = read(name)
        world.namespace()["metadata"]["resourceVersion"] = "42"  # type: ignore[index]
        return found

    world.kube.core.read_namespace = read_then_changed  # type: ignore[method-assign]
    world.load_balancers(_balancer())
    answer = _call(world, _marked(), 1001.0)
    assert world.writes == [] and not world.namespace()["metadata"].get("deletionTimestamp")  # type: ignore[index]
    assert answer.status == "removing" and answer.polls == 1
    assert answer.message == (
        f"removing: namespace {NAMESPACE} (changed meanwhile: looked at again on the next round); {LOAD_BALANCER}"
    )


def test_a_namespace_gone_before_its_delete_is_removed(world: World) -> None:
    world.kube.add("Namespace", _namespace())
    delete = world.kube.core.delete_namespace

    def gone_first(name: str, body: Any = None) -> Any:
        world.kube.core.finish_namespace_deletion(name)
        return delete(name, body=body)

    world.kube.core.delete_namespace = gone_first  # type: ignore[method-assign]
    world.load_balancers()
    world.no_entry()
    answer = _call(world, _marked(), 1001.0)
    assert answer.status == "removed"
    assert answer.message == (
        f"the test namespace {NAMESPACE} and its load balancers are removed; cluster access entry: none"
    )


@pytest.mark.parametrize(
    ("owner", "managed", "named"),
    [(OTHER, True, OTHER), (None, True, "no execution named"), (ENDED, False, "not podcidr's")],
)
def test_a_namespace_that_is_not_the_executions_is_never_touched(
    world: World, owner: str | None, managed: bool, named: str
) -> None:
    _with_workloads(world.kube).add("Namespace", _namespace(owner, managed=managed))
    world.no_entry()
    answer = _call(world, _marked(), 1001.0)
    assert world.writes == [] and not world.namespace()["metadata"].get("deletionTimestamp")  # type: ignore[index]
    assert answer.status == "nothing" and answer.polls == 0
    assert answer.message == (
        f"the test namespace {NAMESPACE} is not this execution's (kept by an earlier run or made by another one: "
        f"{named}); it and its load balancers are left as they are; cluster access entry: none"
    )


def test_nothing_left_ends_the_clean_up_and_revokes_the_executions_access_entry(world: World) -> None:
    world.load_balancers()
    world.entry(ENDED)
    world.revoked()
    answer = _call(world, _marked(), 1001.0, holder=ENDED)
    assert (answer.status, answer.access, answer.polls) == ("removed", "revoked", 0)
    assert answer.message == (
        f"the test namespace {NAMESPACE} and its load balancers are removed; cluster access entry: revoked"
    )
    assert world.connected == [CLUSTER] and world.principals == 1


@pytest.mark.parametrize("error", [ClusterNotFound("no cluster shop here"), ClusterNotActive("shop is DELETING")])
def test_a_cluster_that_cannot_be_reached_has_nothing_left_to_wait_for(world: World, error: Exception) -> None:
    world.connect_error = error
    world.no_entry()
    answer = _call(world, _marked(not_before=1140.0), 1001.0)
    assert (answer.status, answer.not_before) == ("nothing", None)
    assert answer.message == f"cluster {CLUSTER} cannot be reached: {error}; cluster access entry: none"


def test_an_unreadable_namespace_without_test_load_balancers_is_nothing_to_remove(world: World) -> None:
    """No access: the execution never reached EnsureClusterAccess, or its entry is gone already."""
    world.kube.add("Namespace", _namespace())
    world.kube.core.read_namespace = _refused(forbidden("namespaces is forbidden"))  # type: ignore[method-assign]
    world.load_balancers()
    world.no_entry()
    answer = _call(world, _marked(), 1001.0)
    assert answer.status == "nothing"
    assert answer.message.startswith(
        f"no test load balancer of {NAMESPACE} found; the namespace could not be read (The Kubernetes API of "
        f"cluster {CLUSTER} refused get Namespace {NAMESPACE} with 403 Forbidden: namespaces is forbidden."
    )
    assert answer.message.endswith("); cluster access entry: none")


def test_an_unreadable_namespace_with_test_load_balancers_is_still_being_removed(world: World) -> None:
    world.kube.add("Namespace", _namespace())
    world.kube.core.delete_namespace = _refused(forbidden("cannot delete"))  # type: ignore[method-assign]
    world.load_balancers(_balancer())
    answer = _call(world, _marked(), 1001.0)
    assert (answer.status, answer.polls, answer.message) == ("removing", 1, f"removing: {LOAD_BALANCER}")


def _refused(error: ApiException) -> Callable[..., Any]:
    def refuse(*_: Any, **__: Any) -> Any:
        raise error

    return refuse


def _server_error() -> ApiException:
    return ApiException(status=500, reason="Internal Server Error")


def test_kubernetes_faults_other_than_the_expected_ones_fail_the_round(world: World) -> None:
    world.kube.add("Namespace", _namespace())
    world.kube.core.read_namespace = _refused(_server_error())  # type: ignore[method-assign]
    with pytest.raises(TransientAwsError, match=f"^get Namespace {NAMESPACE} on cluster {CLUSTER} failed with 500$"):
        _call(world, _marked(), 1001.0)
    world.kube.core.read_namespace = _refused(ApiException(status=400, reason="Bad Request"))  # type: ignore[method-assign]
    with pytest.raises(ApiException, match="Bad Request"):
        _call(world, _marked(), 1001.0)


@pytest.mark.parametrize(("status", "raised"), [(500, TransientAwsError), (422, ApiException)])
def test_a_failed_namespace_delete_fails_the_round(world: World, status: int, raised: type[Exception]) -> None:
    world.kube.add("Namespace", _namespace())
    world.kube.core.delete_namespace = _refused(ApiException(status=status, reason="no"))  # type: ignore[method-assign]
    with pytest.raises(raised) as failed:
        _call(world, _marked(), 1001.0)
    if raised is TransientAwsError:
        assert str(failed.value) == f"delete Namespace {NAMESPACE} on cluster {CLUSTER} failed with 500"


def test_what_remains_after_the_last_round_is_left_behind_and_named(world: World) -> None:
    _with_workloads(world.kube).add("Namespace", _namespace(terminating=True))
    world.load_balancers(_balancer())
    still = _call(world, _marked(polls=5), 1001.0)
    assert (still.status, still.polls) == ("removing", 6)
    world.load_balancers(_balancer())
    world.entry(ENDED)
    world.revoked()
    last = _call(world, _marked(polls=6), 1001.0)
    remaining = [
        f"namespace {NAMESPACE} (terminating)",
        f"Ingress {NAMESPACE}/podcidr-alb",
        f"Service {NAMESPACE}/podcidr-public-nlb",
        LOAD_BALANCER,
    ]
    assert (last.status, last.polls, last.left_behind) == ("left-behind", 7, remaining)
    assert last.message == (
        f"the clean-up could not finish; left behind in cluster {CLUSTER}: {'; '.join(remaining)}. Delete the "
        f"namespace with `kubectl delete namespace {NAMESPACE}` (the AWS Load Balancer Controller then deletes its "
        "load balancers), or delete the load balancers named here; cluster access entry: revoked"
    )


def test_the_loop_ends_when_its_budget_is_spent_whatever_its_rounds_cost(world: World) -> None:
    world.kube.add("Namespace", _namespace(terminating=True))
    world.load_balancers()
    assert _call(world, _marked(1149.9), 1149.9).status == "removing"
    world.load_balancers()
    world.no_entry()
    late = _call(world, _marked(1150.0), 1150.0)
    assert (late.status, late.polls, late.left_behind) == ("left-behind", 1, [f"namespace {NAMESPACE} (terminating)"])


def test_removal_waits_for_the_calls_that_may_still_run_then_ends(world: World) -> None:
    world.load_balancers()
    waiting = _call(world, _marked(1100.4, not_before=1140.0), 1100.4)
    assert (waiting.status, waiting.polls) == ("removing", 0)
    assert waiting.message == (
        f"the test namespace {NAMESPACE} and its load balancers are removed; waiting 40 s more for calls of the "
        "ended execution that may still be running, to remove what they create"
    )
    assert waiting.mark_until == iso(1100.4 + 20 + MARK_SECONDS) and world.principals == 0
    world.load_balancers()
    assert "waiting 39 s more" in _call(world, _marked(1100.6, not_before=1140.0), 1100.6).message
    world.load_balancers()
    world.entry(ENDED)
    world.revoked()
    assert _call(world, _marked(1140.0, not_before=1140.0), 1140.0).status == "removed"


def test_a_namespace_of_another_execution_still_waits_for_the_ended_executions_late_calls(world: World) -> None:
    """A late call of the ended execution may still create its own namespace once the other one is gone."""
    world.kube.add("Namespace", _namespace(OTHER))
    answer = _call(world, _marked(not_before=1140.0), 1001.0)
    assert answer.status == "removing" and "waiting 139 s more" in answer.message


def test_out_of_time_the_clean_up_stops_waiting_for_late_calls(world: World) -> None:
    world.load_balancers()
    world.no_entry()
    assert _call(world, _marked(1150.0, not_before=1200.0), 1150.0).status == "removed"


# --- a round its mark does not cover ------------------------------------------------------------------


@pytest.mark.parametrize("mark", [None, iso(1001.0 + 40 - 0.001)])
def test_a_round_its_mark_does_not_cover_touches_nothing_and_asks_for_a_new_mark(
    world: World, mark: str | None
) -> None:
    world.kube.add("Namespace", _namespace())
    again = _call(world, _marked(polls=2, mark_until=mark), 1001.0, machine_started_at=iso(990.0))
    assert (again.status, again.polls, again.message) == ("removing", 2, "nothing removed yet")
    assert again.mark_until == iso(1001.0 + 20 + MARK_SECONDS)
    assert world.connected == [] and world.principals == 0
    capped = _call(world, _marked(polls=2, mark_until=mark), 1001.0, machine_started_at=iso(750.0))
    assert capped.mark_until == iso(750.0 + 300)


def test_a_round_exactly_covered_by_its_mark_runs(world: World) -> None:
    world.load_balancers()
    world.no_entry()
    assert _call(world, _marked(mark_until=iso(1001.0 + 40)), 1001.0).status == "removed"


def test_a_round_too_late_for_its_mark_once_the_budget_is_spent_gives_up_naming_what_to_check(world: World) -> None:
    world.kube.add("Namespace", _namespace())
    spent = _call(world, _marked(mark_until=iso(1100.0), message="removing: x"), 1150.0)
    assert (spent.status, spent.access) == ("left-behind", "not checked (out of time)")
    assert spent.message == (
        f"removing: x; the clean-up ran out of time before it could finish: check the test namespace {NAMESPACE}, "
        "its load balancers and the access entry of the cluster functions role by hand"
    )
    assert world.connected == [] and world.principals == 0
    not_yet = _call(world, _marked(mark_until=iso(1100.0)), 1149.9)
    assert not_yet.status == "removing"
    unstarted = _call(world, _marked(mark_until=iso(1100.0), started_at=None), 1500.0)
    assert unstarted.status == "removing"


# --- kept workloads and the access entry -----------------------------------------------------------


def test_kept_workloads_stay_and_a_kept_access_entry_is_tagged_kept(world: World) -> None:
    world.kube.add("Namespace", _namespace())
    world.entry(ENDED)
    world.eks_stub.add_response(
        "tag_resource",
        {},
        {"resourceArn": ENTRY_ARN, "tags": {"podcidr:cluster": CLUSTER, "podcidr:execution": "kept"}},
    )
    given = {"clusterName": CLUSTER, "verify": {"keepWorkloads": True}, "keepClusterAccess": True}
    kept = _call(world, _marked(), 1001.0, given=given)
    assert (kept.status, kept.access) == ("kept", "kept (keepClusterAccess)")
    assert kept.message == (
        f"verify.keepWorkloads is set: the test namespace {NAMESPACE} and its load balancers are kept; "
        "cluster access entry: kept (keepClusterAccess)"
    )
    assert world.connected == [] and world.writes == []


def test_a_kept_access_entry_that_cannot_be_tagged_is_named(world: World) -> None:
    world.load_balancers()
    world.entry(ENDED)
    world.eks_stub.add_client_error("tag_resource", "AccessDeniedException", "not authorized", 403)
    kept = _call(world, _marked(), 1001.0, given={"clusterName": CLUSTER, "keepClusterAccess": True})
    assert kept.access == (
        "kept (keepClusterAccess; not tagged kept: AccessDeniedException, a later execution may revoke it)"
    )


@pytest.mark.parametrize(
    "given",
    [
        {"verify": {"keepWorkloads": "true"}, "keepClusterAccess": "true"},
        {"verify": ["keepWorkloads"], "keepClusterAccess": 1},
        {"verify": {"keepWorkloads": False}, "keepClusterAccess": False},
    ],
)
def test_only_true_keeps_workloads_or_the_access_entry(world: World, given: dict[str, Any]) -> None:
    world.kube.add("Namespace", _namespace())
    world.load_balancers()
    removing = _call(world, _marked(), 1001.0, given={"clusterName": CLUSTER, **given})
    assert removing.status == "removing" and world.writes == [f"delete Namespace {NAMESPACE}"]
    world.kube.core.finish_namespace_deletion(NAMESPACE)
    world.load_balancers()
    world.entry(ENDED)
    world.revoked()
    assert _call(world, _marked(), 1001.0, given={"clusterName": CLUSTER, **given}).access == "revoked"


def test_the_entry_stays_while_another_execution_holds_the_lock(world: World) -> None:
    world.load_balancers()
    answer = _call(world, _marked(), 1001.0, holder=OTHER)
    assert answer.access == f"kept (execution {OTHER} holds the cluster's lock and may use it)"
    assert world.principals == 0


@pytest.mark.parametrize(
    ("owner", "access"),
    [
        (None, "kept (not created by this execution)"),
        (OTHER, f"kept (execution {OTHER}'s)"),
        ("kept", "kept (execution kept's)"),
    ],
)
def test_an_entry_the_execution_did_not_create_stays(world: World, owner: str | None, access: str) -> None:
    world.load_balancers()
    world.entry(owner)
    assert _call(world, _marked(), 1001.0).access == access


def test_an_entry_that_cannot_be_read_is_named_not_checked(world: World) -> None:
    world.load_balancers()
    world.eks_stub.add_client_error("describe_access_entry", "AccessDeniedException", "not authorized", 403)
    assert _call(world, _marked(), 1001.0).access == "not checked (AccessDeniedException)"


def test_an_entry_gone_before_its_delete_is_revoked_and_one_that_cannot_go_is_named(world: World) -> None:
    world.load_balancers()
    world.entry(ENDED)
    world.eks_stub.add_client_error("delete_access_entry", "ResourceNotFoundException", "not found", 404)
    assert _call(world, _marked(), 1001.0).access == "revoked"
    world.load_balancers()
    world.entry(ENDED)
    world.eks_stub.add_client_error("delete_access_entry", "AccessDeniedException", "not authorized", 403)
    assert _call(world, _marked(), 1001.0).access == (
        f"left behind (AccessDeniedException: remove the access entry of {ROLE} by hand)"
    )


@pytest.mark.parametrize("operation", ["describe_access_entry", "delete_access_entry"])
def test_a_throttled_access_entry_call_fails_the_round_to_be_retried(world: World, operation: str) -> None:
    world.load_balancers()
    if operation == "delete_access_entry":
        world.entry(ENDED)
    world.eks_stub.add_client_error(operation, "ThrottlingException", "Rate exceeded", 429)
    name = "DescribeAccessEntry" if operation == "describe_access_entry" else "DeleteAccessEntry"
    with pytest.raises(TransientAwsError, match=f"^eks:{name} failed with ThrottlingException"):
        _call(world, _marked(), 1001.0)


def test_a_rerun_after_the_removal_finds_its_own_work_done(world: World) -> None:
    """A Lambda retry of the last round: the namespace and the entry are gone, nothing is changed twice."""
    world.load_balancers()
    world.no_entry()
    again = _call(world, _marked(), 1001.0)
    assert (again.status, again.access) == ("removed", "none") and world.writes == []


def test_a_namespace_without_any_label_is_not_podcidrs_and_never_touched(world: World) -> None:
    unlabelled = _namespace()
    del unlabelled["metadata"]["labels"]
    world.kube.add("Namespace", unlabelled)
    world.no_entry()
    answer = _call(world, _marked(), 1001.0)
    assert answer.status == "nothing" and "another one: not podcidr's)" in answer.message and world.writes == []


def test_an_entry_answered_without_tags_was_not_created_by_the_execution(world: World) -> None:
    """An entry made by hand with no tags (DescribeAccessEntry's `tags` is optional in its output)."""
    world.load_balancers()
    untagged = _entry(None)
    del untagged["accessEntry"]["tags"]
    world.eks_stub.add_response("describe_access_entry", untagged, ENTRY_KEY)
    assert _call(world, _marked(), 1001.0).access == "kept (not created by this execution)"
