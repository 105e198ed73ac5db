"""A nodegroup replacement's child execution (`states:startExecution.sync:2`) that fails, on the twin:
the migration ends in its named Fail state with the child's own error name and cause (not
States.TaskFailed with the child's description as an opaque cause), its lock released and its
temporary access entry revoked."""

from __future__ import annotations

import pytest

from localcloud.rehearse import rehearse
from localcloud.scenario import parse_scenario

pytestmark = pytest.mark.rehearsal

CLUSTER = "eksworkshop"
CLUSTER_ROLE = "arn:aws:iam::123456789012:role/ClusterFunctionsRole"


def test_a_failed_nodegroup_child_fails_the_migration_with_its_error_lock_released_access_revoked() -> None:
    refused = {
        "operation": "eks:CreateNodegroup",
        "times": 10,
        "error": "InvalidParameterException",
        "message": "Subnets are not in the cluster's VPC.",
    }
    rehearsal = rehearse(parse_scenario({"faults": [refused]}), {"clusterName": CLUSTER, "pollSeconds": 1})
    result = rehearsal.results[0]
    assert (result.status, result.error) == ("FAILED", "NodegroupReplacementFailed"), result.cause
    assert result.cause == (
        "EKS refused to create nodegroup managed-ng-podcidr to replace managed-ng (InvalidParameterException: "
        "Subnets are not in the cluster's VPC.). managed-ng is untouched."
    )
    outcomes = {visit.name: visit.outcome for visit in result.visits if not visit.path}
    # the Map's Catch took the child's States.TaskFailed and read the child's own Error and Cause
    assert outcomes["ReplaceNodegroups"] == "caught"
    assert {"ReadNodegroupFailure", "ExplainNodegroupFailure"} <= set(outcomes)
    assert "NodegroupReplacementStopped" not in outcomes
    # released by the execution itself (not left to ExecutionEnded), the access entry revoked first
    assert outcomes["RevokeClusterAccessOnFailure"] == outcomes["ReleaseLockOnFailure"] == "succeeded"
    assert [visit.name for visit in result.visits][-1] == "MigrationFailed"
    state = rehearsal.state
    assert state["triggers"]["locks"] == []
    assert CLUSTER_ROLE not in [entry["principalArn"] for entry in state["clusters"][0]["accessEntries"]]
    assert [ng["name"] for ng in state["clusters"][0]["nodegroups"]] == ["managed-ng"]  # the old one untouched
