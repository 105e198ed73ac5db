"""What a clean-up names as left behind: the controller's load balancers of the test namespace, found by
their tags on the twin's ELBv2 (which fails a whole DescribeTags when one ARN is gone, as AWS does)."""

from __future__ import annotations

from typing import Any

from podcidr.steps.verification_leftovers import controller_load_balancers
from tests.fixtures.twin_aws import TwinAws

NAMESPACE = "podcidr-verify"


def _controller_load_balancer(twin_aws: TwinAws, name: str, stack: str) -> str:
    """A load balancer tagged as the AWS Load Balancer Controller tags the ones it makes."""
    elbv2 = twin_aws.local.admin_session().client("elbv2")
    subnets = [twin_aws.local.built.subnet_ids["node-a"], twin_aws.local.built.subnet_ids["node-b"]]
    arn: str = elbv2.create_load_balancer(
        Name=name,
        Subnets=subnets,
        Scheme="internal",
        Type="network",
        Tags=[
            {"Key": "elbv2.k8s.aws/cluster", "Value": twin_aws.cluster},
            {"Key": "service.k8s.aws/stack", "Value": stack},
        ],
    )["LoadBalancers"][0]["LoadBalancerArn"]
    return arn


class _DeletedBeforeTagsAreRead:
    """The workflow's ELBv2 client, with one load balancer deleted between the listing and the tags."""

    def __init__(self, elbv2: Any, admin: Any, doomed: str) -> None:
        self._elbv2, self._admin, self._doomed = elbv2, admin, doomed

    def __getattr__(self, name: str) -> Any:
        return getattr(self._elbv2, name)

    def describe_tags(self, **kwargs: Any) -> Any:
        if self._doomed:
            self._admin.delete_load_balancer(LoadBalancerArn=self._doomed)
            self._doomed = ""
        return self._elbv2.describe_tags(**kwargs)


def test_a_load_balancer_deleted_meanwhile_does_not_hide_the_others(twin_aws: TwinAws) -> None:
    first = _controller_load_balancer(twin_aws, "k8s-podcidrv-first", f"{NAMESPACE}/first")
    doomed = _controller_load_balancer(twin_aws, "k8s-podcidrv-doomed", f"{NAMESPACE}/doomed")
    other = _controller_load_balancer(twin_aws, "k8s-default-other", "default/other")
    admin = twin_aws.local.admin_session().client("elbv2")
    elbv2 = _DeletedBeforeTagsAreRead(twin_aws.clients.elbv2, admin, doomed)

    found = controller_load_balancers(elbv2, twin_aws.cluster, NAMESPACE)  # type: ignore[arg-type]

    assert len(found) == 1 and "k8s-podcidrv-first" in found[0] and first in found[0]
    assert f"of {NAMESPACE}/first" in found[0]
    for arn in (first, other):
        admin.delete_load_balancer(LoadBalancerArn=arn)
