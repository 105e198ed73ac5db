"""Plan over botocore-stubbed EC2 and EKS clients, in milliseconds (`make mutate-fast`). The same step against
moto: test_plan.py, test_plan_seed.py; on twins of real accounts: test_plan_real_accounts.py."""

from __future__ import annotations

import pytest

from podcidr.errors import InvalidInput
from podcidr.steps.plan import plan
from tests.fixtures.stubbed_aws import all_answered, stubbed

REGION = "us-west-2"


def test_a_validate_only_event_is_answered_valid_without_a_call() -> None:
    ec2, ec2_stub = stubbed("ec2")
    eks, eks_stub = stubbed("eks")
    event = {"input": {"clusterName": "eksworkshop", "pollSeconds": 7}, "polls": 4, "validateOnly": True}
    with all_answered(ec2_stub), all_answered(eks_stub):
        outcome = plan(event, ec2, eks, REGION)
    assert outcome.model_dump(by_alias=True, exclude_none=True) == {"status": "VALID", "polls": 4, "pollSeconds": 7}


@pytest.mark.parametrize("event", [None, [], "eksworkshop"])
def test_an_event_that_is_not_an_object_is_refused_naming_its_type(event: object) -> None:
    with pytest.raises(InvalidInput) as refused:
        plan(event, stubbed("ec2")[0], stubbed("eks")[0], REGION)
    assert str(refused.value) == (f"Plan expects {{'input': ..., 'polls': n}}, found {type(event).__name__}")
