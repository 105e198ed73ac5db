"""Plan's account checks (plan_checks/: account, capacity, cni_settings, endpoint, nodegroups, ownership) over
models and botocore-stubbed clients, in milliseconds (`make mutate-fast`). Routing, the launch template and the
verification zones have their own: test_plan_routing.py, test_plan_launch_template.py,
test_plan_verification_zones.py."""

from __future__ import annotations

import pytest

from podcidr.errors import ClusterNotActive
from podcidr.steps.plan_checks.nodegroups import check_creating_bound


def test_nodegroups_creating_for_just_under_half_an_hour_are_waited_for_and_refused_at_it() -> None:
    check_creating_bound("eksworkshop", ["ng-a"], polls=60, poll_seconds=30)  # 59 checks: 29.5 minutes
    with pytest.raises(ClusterNotActive) as refused:
        check_creating_bound("eksworkshop", ["ng-a", "ng-b"], polls=61, poll_seconds=30)
    assert str(refused.value) == (
        "Nodegroup(s) ng-a, ng-b of cluster 'eksworkshop' are still CREATING after 60 checks 30 s apart (about 30 "
        "minutes). Look at them in the EKS console (a nodegroup whose nodes cannot join fails after a while); start "
        "the migration again once they are ACTIVE or deleted. Nothing was changed."
    )
