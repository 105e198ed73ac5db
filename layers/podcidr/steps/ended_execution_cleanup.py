"""CleanUpEndedExecution (DESIGN.md steps 11 and 13, where the migration could not): the ExecutionEnded
machine calls it for a migration that was stopped (ABORTED) or timed out (TIMED_OUT), whose own
clean-up states never ran, while that execution still holds the cluster's lock; and for one that
failed and released the lock itself (its failure path deleted the namespace without waiting, or
could not).

The first call only plans (`marking`: the cluster's lock is to be marked until `markUntil`, see
cleanup_mark); then one call per round of ExecutionEnded's wait loop, each right after MarkLock marked
the lock for it (a newer execution holding the lock fails the mark: that round never runs), each
planning the next round's mark:
- each call deletes the test namespace podcidr-verify while it is that execution's (labelled
  managed-by podcidr and annotated `podcidr/execution` with its ARN: never one an earlier run kept or
  another execution made or adopted), and with it the Ingress and Services whose load balancers the
  AWS Load Balancer Controller then deletes; on every round, not only the first, since a call of the
  ended execution still in flight (late_calls) may create it again. The delete is conditional on the
  namespace's resourceVersion, so a newer execution that adopts it meanwhile keeps it;
- each call reports `removing` while the namespace or a load balancer the controller made for it
  (tagged `elbv2.k8s.aws/cluster` = the cluster and `service.k8s.aws/stack` / `ingress.k8s.aws/stack`
  = podcidr-verify/...) remains, or while a call of the ended execution may still be running (until
  LONGEST_STEP_SECONDS after it stopped), then `removed`; after `maxPolls` calls or
  WAIT_BUDGET_SECONDS, `left-behind`, naming what remains (the Express machine lasts at most 5
  minutes: the loop is bounded within it);
- `verify.keepWorkloads` keeps them (`kept`);
- once done, the access entry goes if it is still the ended execution's (tagged `podcidr:execution`
  with its ARN by EnsureClusterAccess, which re-tags an entry it adopts) and no other execution holds
  the cluster's lock (read by ExecutionEnded right before the round), and `keepClusterAccess` is not
  set; an entry found before, or another execution's, stays. A kept entry is marked kept (see
  RevokeClusterAccess).
The execution's input is read as ExecutionEnded has it (the event's), under the stack's DefaultInput.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException
from pydantic import Field

from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import ClusterAccessDenied, ClusterNotActive, ClusterNotFound
from podcidr.kube.client import MANAGED_BY, MANAGED_BY_LABEL, Kube, api_status, kube_faults
from podcidr.models.base import Contract
from podcidr.models.input import CLUSTER_NAME
from podcidr.models.migration import Verification
from podcidr.steps.cleanup_mark import covers, next_mark
from podcidr.steps.ensure_cluster_access import EXECUTION_TAG
from podcidr.steps.late_calls import CLOCK_MARGIN_SECONDS, LONGEST_STEP_SECONDS
from podcidr.steps.revoke_cluster_access import mark_kept
from podcidr.steps.support import plain
from podcidr.steps.verification_leftovers import controller_load_balancers, namespace_objects
from podcidr.steps.verify_load_balancers import EXECUTION_ANNOTATION

if TYPE_CHECKING:
    from mypy_boto3_eks import EKSClient
    from mypy_boto3_elbv2 import ElasticLoadBalancingv2Client

NAMESPACE: str = Verification.model_fields["namespace"].default
CLEANED_AFTER = ("ABORTED", "TIMED_OUT", "FAILED")
WAIT_BUDGET_SECONDS = 150
"""The wait loop's total, well inside the Express machine's 5 minutes with the calls themselves; longer
than LONGEST_STEP_SECONDS + CLOCK_MARGIN_SECONDS, so late calls end within it."""
MAX_WAIT_SECONDS = 20


class Cleanup(Contract):
    """Where the clean-up stands; ExecutionEnded passes it back on each round and notifies `message`."""

    status: str = "pending"
    """pending, marking (planned: mark the lock, then the first round), removing, then removed, kept,
    nothing or left-behind (superseded is set by ExecutionEnded: a newer execution took the lock)."""
    polls: int = 0
    wait_seconds: int = MAX_WAIT_SECONDS
    max_polls: int = WAIT_BUDGET_SECONDS // MAX_WAIT_SECONDS
    started_at: float | None = None
    """When the first round ran (epoch seconds): the loop ends WAIT_BUDGET_SECONDS later whatever its
    rounds cost, so the Express execution keeps time to release the lock and notify."""
    not_before: float | None = None
    """Until when calls of the ended execution may still run and create something (epoch seconds)."""
    mark_until: str | None = None
    """The lock's mark for the next round (`cleaningUntil`, written by ExecutionEnded's MarkLock)."""
    left_behind: list[str] = Field(default_factory=list)
    access: str = "-"
    """The ended execution's access entry: revoked, kept, not-its-own, none, or why it could not go."""
    message: str = "-"


class EndedExecution(Contract):
    execution_arn: str
    status: str
    input: dict[str, Any] = Field(default_factory=dict)
    stop_date: float = 0
    """When it ended (the event's stopDate, epoch milliseconds; 0: not given)."""
    lock: dict[str, Any] = Field(default_factory=dict)
    """The cluster's lock item as ExecutionEnded read it right before this round (DynamoDB GetItem)."""
    cleanup: Cleanup = Field(default_factory=Cleanup)
    machine_started_at: str | None = None
    """When the ExecutionEnded execution started (ISO 8601): no mark outlives its 5 minutes."""

    def lock_holder(self) -> str | None:
        holder = self.lock.get("Item", {}).get("executionArn", {}).get("S")
        return holder if isinstance(holder, str) else None


FINAL = ("removed", "kept", "nothing", "left-behind")


def clean_up_ended_execution(
    ended: EndedExecution,
    *,
    default_input: dict[str, Any],
    connect: Callable[[str], Kube],
    elbv2: ElasticLoadBalancingv2Client,
    eks: EKSClient,
    principal: Callable[[], str],
    calls_in_flight: Callable[[], bool],
    now: Callable[[], float] = time.time,
) -> Cleanup:
    state = ended.cleanup
    if state.status in FINAL:
        return state
    given = {**default_input, **ended.input}
    cluster = given.get("clusterName")
    if ended.status not in CLEANED_AFTER or not isinstance(cluster, str) or not CLUSTER_NAME.fullmatch(cluster):
        state.status, state.message = "nothing", f"nothing to clean up after a {ended.status} execution"
        return state
    if state.status == "pending":
        poll = min(MAX_WAIT_SECONDS, max(1, _integer(given.get("pollSeconds"), MAX_WAIT_SECONDS)))
        state.wait_seconds, state.max_polls = poll, max(1, WAIT_BUDGET_SECONDS // poll)
        state.started_at = now()
        stopped = ended.stop_date / 1000 if ended.stop_date > 0 else state.started_at
        late = LONGEST_STEP_SECONDS + CLOCK_MARGIN_SECONDS if calls_in_flight() else 0
        state.not_before = stopped + late
        state.status, state.message = "marking", "nothing removed yet"
        state.mark_until = next_mark(now(), 0, ended.machine_started_at)
        return state
    moment = now()
    if not covers(state.mark_until, moment):
        _too_late_for_the_mark(state, ended, moment)
        return state
    verify = given.get("verify")
    if isinstance(verify, dict) and verify.get("keepWorkloads") is True:
        state.status = "kept"
        state.message = f"verify.keepWorkloads is set: the test namespace {NAMESPACE} and its load balancers are kept"
    else:
        out_of_time = _out_of_time(state, now())
        _remove(state, cluster, ended.execution_arn, connect, elbv2, out_of_time=out_of_time)
        _wait_for_late_calls(state, now(), out_of_time=out_of_time)
    if state.status in FINAL:
        state.access = _revoke_access(cluster, ended, given.get("keepClusterAccess") is True, eks, principal)
        state.message += f"; cluster access entry: {state.access}"
    else:
        state.mark_until = next_mark(now(), state.wait_seconds, ended.machine_started_at)
    return state


def _out_of_time(state: Cleanup, moment: float) -> bool:
    return moment - (state.started_at or moment) >= WAIT_BUDGET_SECONDS


def _too_late_for_the_mark(state: Cleanup, ended: EndedExecution, moment: float) -> None:
    """The round started too late for its mark (MarkLock retried long, or a Lambda retry): it touches
    nothing, and asks for a new mark unless the loop's time is spent."""
    if _out_of_time(state, moment):
        state.status = "left-behind"
        state.message = (
            f"{state.message}; the clean-up ran out of time before it could finish: check the test namespace "
            f"{NAMESPACE}, its load balancers and the access entry of the cluster functions role by hand"
        )
        state.access = "not checked (out of time)"
        return
    state.status = "removing"
    state.mark_until = next_mark(moment, state.wait_seconds, ended.machine_started_at)


def _wait_for_late_calls(state: Cleanup, moment: float, *, out_of_time: bool) -> None:
    """Not done while a call of the ended execution may still create something: look again later."""
    if state.status not in ("removed", "nothing") or out_of_time or moment >= (state.not_before or 0):
        return
    state.status = "removing"
    state.message = (
        f"{state.message}; waiting {round((state.not_before or moment) - moment)} s more for calls of the ended "
        "execution that may still be running, to remove what they create"
    )


def _integer(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


# --- the test workloads ---------------------------------------------------------------------------


def _remove(
    state: Cleanup,
    cluster: str,
    execution_arn: str,
    connect: Callable[[str], Kube],
    elbv2: ElasticLoadBalancingv2Client,
    *,
    out_of_time: bool,
) -> None:
    remaining: list[str] = []
    owner: str | None = None
    unreadable: str | None = None
    try:
        kube = connect(cluster)
        remaining, owner = _namespace_remaining(kube, cluster, execution_arn)
    except (ClusterNotFound, ClusterNotActive) as error:
        state.status, state.message = "nothing", f"cluster {cluster} cannot be reached: {error.cause}"
        state.not_before = None  # nothing can be created in it
        return
    except ClusterAccessDenied as error:
        unreadable = error.cause
    if owner is not None and owner != execution_arn:
        state.status = "nothing"
        state.message = (
            f"the test namespace {NAMESPACE} is not this execution's (kept by an earlier run or made by another "
            f"one: {owner}); it and its load balancers are left as they are"
        )
        return
    load_balancers = controller_load_balancers(elbv2, cluster, NAMESPACE)
    remaining += load_balancers
    if unreadable is not None and not load_balancers:
        # no access: the execution never reached EnsureClusterAccess, or its entry is gone already
        state.status = "nothing"
        state.message = f"no test load balancer of {NAMESPACE} found; the namespace could not be read ({unreadable})"
        return
    if not remaining:
        state.status = "removed"
        state.message = f"the test namespace {NAMESPACE} and its load balancers are removed"
        return
    state.polls += 1
    if state.polls >= state.max_polls or out_of_time:
        state.status, state.left_behind = "left-behind", remaining
        state.message = (
            f"the clean-up could not finish; left behind in cluster {cluster}: {'; '.join(remaining)}. "
            f"Delete the namespace with `kubectl delete namespace {NAMESPACE}` (the AWS Load Balancer Controller "
            "then deletes its load balancers), or delete the load balancers named here"
        )
        return
    state.status = "removing"
    state.message = f"removing: {'; '.join(remaining)}"


def _namespace_remaining(kube: Kube, cluster: str, execution_arn: str) -> tuple[list[str], str | None]:
    """The namespace and the Ingress and Services in it while they remain, if the namespace is the
    execution's (deleted first unless terminating already); and whose it is (None: there is none)."""
    try:
        with kube_faults(f"get Namespace {NAMESPACE}", cluster):
            found = plain(kube.core.read_namespace(NAMESPACE))
    except ApiException as error:
        if api_status(error) == 404:
            return [], None
        raise
    metadata = found.get("metadata", {})
    if metadata.get("labels", {}).get(MANAGED_BY_LABEL) != MANAGED_BY:
        return [], "not podcidr's"  # never touched
    owner = str(metadata.get("annotations", {}).get(EXECUTION_ANNOTATION, "no execution named"))
    if owner != execution_arn:
        return [], owner
    if not metadata.get("deletionTimestamp"):
        try:
            with kube_faults(f"delete Namespace {NAMESPACE}", cluster):
                # only the version read here: one that a newer execution adopted meanwhile stays
                kube.core.delete_namespace(
                    NAMESPACE,
                    body=k8s.V1DeleteOptions(
                        preconditions=k8s.V1Preconditions(resource_version=metadata.get("resourceVersion"))
                    ),
                )
        except ApiException as error:
            if api_status(error) == 409:
                return [f"namespace {NAMESPACE} (changed meanwhile: looked at again on the next round)"], owner
            if api_status(error) != 404:
                raise
            return [], None
    objects = namespace_objects(kube, cluster, NAMESPACE)
    return [f"namespace {NAMESPACE} (terminating)", *objects], owner


# --- the access entry -----------------------------------------------------------------------------


def _revoke_access(
    cluster: str, ended: EndedExecution, keep: bool, eks: EKSClient, principal: Callable[[], str]
) -> str:
    execution_arn = ended.execution_arn
    holder = ended.lock_holder()
    if holder is not None and holder != execution_arn:
        return f"kept (execution {holder} holds the cluster's lock and may use it)"
    role = principal()
    try:
        with transient_faults_retried("eks:DescribeAccessEntry"):
            entry = eks.describe_access_entry(clusterName=cluster, principalArn=role)["accessEntry"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return "none"
        return f"not checked ({error_code(error)})"
    owner = entry.get("tags", {}).get(EXECUTION_TAG)
    if owner != execution_arn:
        return "kept (not created by this execution)" if owner is None else f"kept (execution {owner}'s)"
    if keep:
        try:
            mark_kept(eks, cluster, entry)
        except ClientError as error:
            return f"kept (keepClusterAccess; not tagged kept: {error_code(error)}, a later execution may revoke it)"
        return "kept (keepClusterAccess)"
    try:
        with transient_faults_retried("eks:DeleteAccessEntry"):
            eks.delete_access_entry(clusterName=cluster, principalArn=role)
    except ClientError as error:
        if error_code(error) != "ResourceNotFoundException":
            return f"left behind ({error_code(error)}: remove the access entry of {role} by hand)"
    return "revoked"
