"""template.yaml's policies, as the twin deploys and evaluates them (no twin needed): what the
product's roles may and may not do on a real account."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from localcloud.iam.evaluator import Request, Resource, evaluate
from localcloud.iam.policies import role_policies
from localcloud.iam.requests import nodegroup_slr_arn
from localcloud.template import Account, Template

ACCOUNT = "123456789012"
REGION = "ap-southeast-1"
CLUSTER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/ClusterFunctionsRole"
CALLER = f"arn:aws:sts::{ACCOUNT}:assumed-role/ClusterFunctionsRole/ReplaceNodegroupFunction"


@functools.cache
def _template() -> Template:
    return Template.load()


def _policies(role: str = CLUSTER_ROLE, **parameters: str) -> list[dict[str, Any]]:
    return role_policies(_template(), Account(REGION, ACCOUNT), parameters)[role]


def _allowed(policies: list[dict[str, Any]], action: str, arn: str, type_: str, **context: str) -> bool:
    request = Request(CALLER, action, (Resource(arn, type_),), {k.replace("__", ":"): [v] for k, v in context.items()})
    return evaluate(policies, request).allowed


def test_the_nodegroup_service_linked_role_can_be_read_and_created_for_eks_nodegroups_only() -> None:
    policies = _policies()
    slr = nodegroup_slr_arn("aws", ACCOUNT)
    assert _allowed(policies, "iam:GetRole", slr, "role")
    assert _allowed(
        policies, "iam:CreateServiceLinkedRole", slr, "role", iam__AWSServiceName="eks-nodegroup.amazonaws.com"
    )
    assert not _allowed(policies, "iam:CreateServiceLinkedRole", slr, "role", iam__AWSServiceName="eks.amazonaws.com")
    other = f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/eks.amazonaws.com/AWSServiceRoleForAmazonEKS"
    assert not _allowed(policies, "iam:GetRole", other, "role")


@pytest.mark.parametrize(
    "name",
    [
        "eksctl-eksworkshop-nodegroup-ng-1-NodeInstanceRole-1AB2C3D4E5F6",  # eksctl
        "AmazonEKSNodeRole",  # the EKS user guide
        "managed-ng-eks-node-group-20240101000000000000000001",  # terraform-aws-modules/eks
        "EksStack-ClusterNodegroupDefaultCapacityNodeGroupRole-ABC",  # CDK
        "eksworkshop-node-role",  # the twin's
        "teams/web/web-node-role",  # with a path
    ],
)
def test_node_roles_may_be_passed_to_eks(name: str) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
    assert _allowed(_policies(), "iam:PassRole", arn, "role", iam__PassedToService="eks.amazonaws.com")


def test_other_roles_and_other_services_are_refused_pass_role() -> None:
    policies = _policies()
    admin = f"arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole"
    assert not _allowed(policies, "iam:PassRole", admin, "role", iam__PassedToService="eks.amazonaws.com")
    node = f"arn:aws:iam::{ACCOUNT}:role/AmazonEKSNodeRole"
    assert not _allowed(policies, "iam:PassRole", node, "role", iam__PassedToService="ec2.amazonaws.com")
    assert not _allowed(policies, "iam:PassRole", node, "role")


def _cluster(name: str) -> str:
    return f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{name}"


def test_cluster_name_pattern_limits_cluster_scoped_eks_actions() -> None:
    everything = _policies()
    assert _allowed(everything, "eks:DescribeCluster", _cluster("anything"), "cluster")
    prod = _policies(ClusterNamePattern="prod-*")
    assert _allowed(prod, "eks:DescribeCluster", _cluster("prod-eu"), "cluster")
    assert not _allowed(prod, "eks:DescribeCluster", _cluster("dev-eu"), "cluster")
    assert not _allowed(prod, "eks:CreateNodegroup", _cluster("dev-eu"), "cluster")
    nodegroup = f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/dev-eu/ng/0000"
    assert not _allowed(prod, "eks:DeleteNodegroup", nodegroup, "nodegroup")
    entry = f"arn:aws:eks:{REGION}:{ACCOUNT}:access-entry/dev-eu/role/{ACCOUNT}/ClusterFunctionsRole/0000"
    assert not _allowed(prod, "eks:AssociateAccessPolicy", entry, "access-entry")
    plan = _policies(f"arn:aws:iam::{ACCOUNT}:role/PlanFunctionRole", ClusterNamePattern="prod-*")
    assert _allowed(plan, "eks:ListNodegroups", _cluster("prod-eu"), "cluster")
    assert not _allowed(plan, "eks:ListNodegroups", _cluster("dev-eu"), "cluster")
