from tests.fixtures.twin_aws import twin_aws
from tests.fixtures.vpc_topology import _moto, aws, fake_aws_environment, seed

__all__ = ["_moto", "aws", "fake_aws_environment", "seed", "twin_aws"]
