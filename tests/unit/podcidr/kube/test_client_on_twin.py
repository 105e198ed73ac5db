"""The official client, configured from DescribeCluster and an EKS token, against the cluster twin."""

from __future__ import annotations

import pytest

from podcidr.errors import ClusterAccessDenied
from podcidr.kube.client import kube_faults
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
