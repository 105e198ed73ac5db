"""Kubernetes calls of outside clients (kubectl with the account's root keys, as `localcloud up`
hands them out) are neither faulted nor in the ledger; the workflow's (an assumed role's) are both."""

from __future__ import annotations

from collections.abc import Callable

import boto3
import pytest
from kubernetes import client as k8s

from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from tests.localcloud.cluster.conftest import ClusterFixture

FAULTS = [
    {"operation": "kubernetes:list ServiceAccount", "when": "before", "times": 1, "error": "TooManyRequests"},
]


@pytest.fixture(scope="module")
def twin(twin_factory: Callable[..., ClusterFixture]) -> ClusterFixture:
    return twin_factory({"faults": FAULTS})


def _root(twin: ClusterFixture) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=ADMIN_ACCESS_KEY, aws_secret_access_key=ADMIN_SECRET_KEY, region_name=twin.scenario.region
    )


def _recorded(twin: ClusterFixture, operation: str) -> list[str]:
    return [e.result for e in twin.aws.ledger.entries() if e.operation == operation]


def test_the_root_is_cluster_admin_through_the_creators_access_entry(twin: ClusterFixture) -> None:
    with twin.kube(_root(twin)) as api:
        nodes = k8s.CoreV1Api(api).list_node().items
    assert len(nodes) == 3


def test_the_roots_calls_are_neither_faulted_nor_recorded_the_workflows_are(twin: ClusterFixture) -> None:
    with twin.kube(_root(twin)) as api:
        k8s.CoreV1Api(api).list_service_account_for_all_namespaces()  # not faulted: the fault is left
    assert _recorded(twin, "kubernetes:list ServiceAccount") == []
    with twin.kube(twin.role("workflow-role")) as api:
        k8s.CoreV1Api(api).list_service_account_for_all_namespaces()  # the client retries the 429 itself
    assert _recorded(twin, "kubernetes:list ServiceAccount") == ["TooManyRequests", "ok"]
