"""Plan's checks of what the input and the cluster refer to (plan_references.py) over models and a
botocore-stubbed EC2 client, in milliseconds (`make mutate-fast`). The same checks against moto:
test_plan_references.py."""

from __future__ import annotations

from podcidr.steps.plan_references import cluster_tag


def test_the_cluster_tag_is_the_controllers_key_for_the_cluster() -> None:
    assert cluster_tag("eksworkshop") == "kubernetes.io/cluster/eksworkshop"
