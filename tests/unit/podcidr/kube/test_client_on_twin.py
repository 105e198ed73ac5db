"""The official client, configured from DescribeCluster and an EKS token, against the cluster twin."""

from __future__ import annotations

import socket
import time

import pytest

from podcidr.errors import ClusterAccessDenied, TransientAwsError
from podcidr.kube.client import TimedApiClient, kube_faults
from tests.fixtures.twin_aws import TwinCluster, twin_cluster  # noqa: F401


def test_refused_without_access_entry_then_admitted_with_one(twin_cluster: TwinCluster) -> None:  # noqa: F811
    twin_cluster.local.eks.extra(twin_cluster.cluster).access_entries.pop(twin_cluster.role_arn, None)
    kube = twin_cluster.kube()
    with pytest.raises(ClusterAccessDenied) as raised, kube_faults("list Namespaces", twin_cluster.cluster):
        kube.core.list_namespace()
    assert "401" in raised.value.cause

    twin_cluster.grant_access()
    names = {ns.metadata.name for ns in kube.core.list_namespace().items if ns.metadata}
    assert {"default", "kube-system"} <= names


def test_an_endpoint_that_never_answers_times_out_as_a_transient_fault(
    twin_cluster: TwinCluster,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A cluster endpoint the function reaches but that never answers (as a private endpoint seen
    through a firewall that drops packets) fails within the client's timeouts as TransientAwsError,
    which the state machine retries, instead of hanging until the Lambda timeout (#11.3)."""
    monkeypatch.setattr(TimedApiClient, "timeouts", (0.5, 0.5))
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections in the backlog, never reads or answers
    extra = twin_cluster.local.eks.extra(twin_cluster.cluster)
    endpoint, ca = extra.endpoint, extra.certificate_authority
    assert endpoint is not None and ca is not None
    try:
        twin_cluster.local.eks.set_cluster_endpoint(
            twin_cluster.cluster, f"https://127.0.0.1:{silent.getsockname()[1]}", ca
        )
        kube = twin_cluster.kube()
        started = time.monotonic()
        with pytest.raises(TransientAwsError, match="could not reach"), kube_faults("list Nodes", twin_cluster.cluster):
            kube.core.list_node()
        assert time.monotonic() - started < 15
    finally:
        twin_cluster.local.eks.set_cluster_endpoint(twin_cluster.cluster, endpoint, ca)
        silent.close()
