import pytest

from localcloud.cluster.loadbalancers import LoadBalancerController
from tests.fixtures.twin_aws import TwinCluster, twin_aws
from tests.fixtures.vpc_topology import _moto, aws, fake_aws_environment, seed

__all__ = ["_moto", "aws", "fake_aws_environment", "seed", "twin_aws"]


@pytest.fixture
def controller(twin: TwinCluster) -> LoadBalancerController:
    """The twin cluster's load balancer controller (each module's `twin` fixture gives the cluster)."""
    return twin.load_balancer_controller()
