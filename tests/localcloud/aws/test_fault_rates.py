"""Faults that fail a fraction of calls (`rate`, seeded: reproducible) and wildcards (`*`, `ec2:*`)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localcloud.aws.faults import Faults
from localcloud.aws.server import LocalAws, TwinSession
from localcloud.scenario import FaultSpec, ScenarioError, parse_scenario

NO_RETRY = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _faults(**spec: Any) -> Faults:
    return Faults([FaultSpec.model_validate(spec)])


def _draws(faults: Faults, calls: int, operation: str = "ec2:DescribeSubnets") -> list[bool]:
    return [faults.take(operation) is not None for _ in range(calls)]


def test_a_rate_fails_about_that_fraction_and_the_same_seed_the_same_calls() -> None:
    first = _draws(_faults(operation="ec2:DescribeSubnets", rate=0.1, seed=7), 2000)
    again = _draws(_faults(operation="ec2:DescribeSubnets", rate=0.1, seed=7), 2000)
    other = _draws(_faults(operation="ec2:DescribeSubnets", rate=0.1, seed=8), 2000)
    assert first == again
    assert first != other
    assert 150 <= sum(first) <= 250  # 10% of 2000, well within binomial spread (sd ~13)


def test_a_rate_without_times_has_no_limit_and_with_times_stops_there() -> None:
    unlimited = _faults(operation="ec2:DescribeSubnets", rate=1.0)
    assert all(_draws(unlimited, 50))
    capped = _faults(operation="ec2:DescribeSubnets", rate=1.0, times=3)
    assert _draws(capped, 5) == [True, True, True, False, False]
    assert capped.remaining() == {"ec2:DescribeSubnets": 0}
    assert _draws(_faults(operation="ec2:DescribeSubnets"), 3) == [True, False, False]  # times defaults to 1


def test_wildcards_match_the_workflows_aws_calls_only() -> None:
    every = _faults(operation="*", rate=1.0)
    assert every.take("ec2:CreateSubnet") is not None
    fault = every.take("eks:DescribeCluster")
    assert fault is not None and fault.operation == "eks:DescribeCluster" and "eks:DescribeCluster" in fault.message
    assert every.take("kubernetes:get Node") is None
    assert every.take("lambda:Invoke", workflow=False) is None  # Step Functions' own calls
    ec2_only = _faults(operation="ec2:*", rate=1.0)
    assert ec2_only.take("ec2:DescribeVpcs") is not None
    assert ec2_only.take("eks:DescribeCluster") is None
    assert ec2_only.take("ec2:DescribeVpcs", workflow=False) is None


def test_a_throttled_fraction_through_the_endpoint(aws: LocalAws, workflow: TwinSession) -> None:
    aws.faults.add(FaultSpec.model_validate({"operation": "ec2:*", "rate": 0.5, "seed": 3}))
    ec2 = workflow.client("ec2", config=NO_RETRY)
    codes = []
    for _ in range(40):
        try:
            ec2.describe_vpcs()
            codes.append("ok")
        except ClientError as error:
            codes.append(error.response["Error"]["Code"])
    assert set(codes) == {"ok", "ThrottlingException"}
    assert 8 <= codes.count("ThrottlingException") <= 32
    aws.admin_session().client("ec2").describe_vpcs()  # the twin's own calls are never faulted


def test_a_fault_given_a_cluster_matches_only_calls_about_it() -> None:
    faults = _faults(operation="kubernetes:get Node", cluster="b", times=5)
    assert faults.take("kubernetes:get Node", cluster="a") is None
    assert faults.take("kubernetes:get Node") is None
    assert faults.take("kubernetes:get Node", cluster="b") is not None


def test_an_eks_fault_given_a_cluster_through_the_endpoint(aws: LocalAws, workflow: TwinSession) -> None:
    name = aws.scenario.cluster.name
    aws.faults.add(FaultSpec.model_validate({"operation": "eks:DescribeCluster", "cluster": "other", "times": 3}))
    eks = workflow.client("eks", config=NO_RETRY)
    eks.describe_cluster(name=name)  # about another cluster: not faulted
    aws.faults.add(FaultSpec.model_validate({"operation": "eks:DescribeCluster", "cluster": name}))
    with pytest.raises(ClientError) as caught:
        eks.describe_cluster(name=name)
    assert caught.value.response["Error"]["Code"] == "ThrottlingException"


@pytest.mark.parametrize(
    ("document", "key"),
    [
        ({"faults": [{"operation": "eks:DescribeCluster", "cluster": "nope"}]}, "faults[0].cluster"),
        ({"faults": [{"operation": "ec2:CreateSubnet", "cluster": "eksworkshop"}]}, "faults[0].cluster"),
        (
            {"clusters": [{"name": "a"}, {"name": "b"}], "faults": [{"operation": "eks:*", "cluster": "c"}]},
            "faults[0].cluster",
        ),
    ],
)
def test_a_faults_cluster_is_one_of_the_scenario(document: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(document)
    assert caught.value.key == key
    assert parse_scenario(
        {"clusters": [{"name": "a"}, {"name": "b"}], "faults": [{"operation": "eks:*", "cluster": "b"}]}
    )


@pytest.mark.parametrize(
    ("fault", "key"),
    [
        ({"operation": "*", "rate": 0}, "faults[0].rate"),
        ({"operation": "*", "rate": 1.5}, "faults[0].rate"),
        ({"operation": "*", "times": 0}, "faults[0].times"),
        ({"operation": "ec2*"}, "faults[0].operation"),
        ({"operation": "*:CreateSubnet"}, "faults[0].operation"),
        ({"operation": "*", "rate": 0.1, "seed": "x"}, "faults[0].seed"),
        ({"operation": "*", "ratio": 0.1}, "faults[0].ratio"),
    ],
)
def test_fault_rates_are_validated_strictly(fault: dict[str, Any], key: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario({"faults": [fault]})
    assert caught.value.key == key
