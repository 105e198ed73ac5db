"""The VPC steps on a twin whose EC2 is eventually consistent (AWS-FACTS 7): a subnet just created
is not visible to the workflow for `timing.ec2Consistency` seconds. The steps retry instead of
failing for good (TransientAwsError is retried by the state machine)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localcloud.scenario import FaultSpec
from podcidr.errors import TransientAwsError
from podcidr.models.migration import Migration, PodSubnet
from podcidr.steps.create_pod_subnet import PodSubnetItem, create_pod_subnet
from podcidr.steps.route_pod_subnets import route_pod_subnets, route_target
from tests.fixtures.twin_aws import TwinAws

POD_CIDR = "100.64.0.0/16"


class _Clock:
    def __init__(self, start: float) -> None:
        self.time = start

    def now(self) -> float:
        return self.time


@pytest.fixture
def clock(twin_aws: TwinAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Clock]:
    held = _Clock(twin_aws.local.clock.now())
    monkeypatch.setattr(twin_aws.local.clock, "now", held.now)
    yield held


def _pod_cidr_associated(twin_aws: TwinAws, clock: _Clock) -> None:
    ec2 = twin_aws.local.admin_session().client("ec2")
    vpc_id = twin_aws.local.built.vpc_id
    blocks = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"][0]["CidrBlockAssociationSet"]
    if not any(b["CidrBlock"] == POD_CIDR for b in blocks):
        ec2.associate_vpc_cidr_block(VpcId=vpc_id, CidrBlock=POD_CIDR)
    clock.time += twin_aws.local.scenario.timing.cidr_associate


def _item(twin_aws: TwinAws, cidr: str) -> PodSubnetItem:
    scenario = twin_aws.local.scenario
    node = scenario.subnet(scenario.cluster.subnets[0])
    node_subnet = twin_aws.local.built.subnet_ids[node.name]
    tables = (
        twin_aws.local.admin_session()
        .client("ec2")
        .describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [node_subnet]}])["RouteTables"]
    )
    table = tables[0]["RouteTableId"]
    defaults = [r for r in tables[0]["Routes"] if r.get("DestinationCidrBlock") == "0.0.0.0/0"]
    return PodSubnetItem(
        cluster_name=twin_aws.cluster,
        vpc_id=twin_aws.local.built.vpc_id,
        subnet=PodSubnet(
            availability_zone=node.az,
            cidr=cidr,
            route_table_id=table,
            # as Plan records it: RoutePodSubnets checks the route is still what Plan saw
            default_route_target=route_target(defaults[0]) if defaults else None,
        ),
    )


def test_routing_a_pod_subnet_just_created_is_retried_not_failed(twin_aws: TwinAws, clock: _Clock) -> None:
    """Failed before: AssociateRouteTable's InvalidSubnetID.NotFound ended the step as a ClientError,
    which no Retry matches."""
    _pod_cidr_associated(twin_aws, clock)
    item = _item(twin_aws, "100.64.0.0/19")
    subnet = create_pod_subnet(twin_aws.clients, item)
    assert subnet.created and subnet.subnet_id
    migration = twin_aws.migration(pod_subnets=[subnet])
    assert isinstance(migration, Migration)

    with pytest.raises(TransientAwsError, match="not visible to EC2 yet"):
        route_pod_subnets(twin_aws.clients, migration)

    clock.time += twin_aws.local.scenario.timing.ec2_consistency
    routed = route_pod_subnets(twin_aws.clients, migration)
    assert routed.changes == 1 and routed.pod_subnets[0].route_table_association_id


def test_a_lost_create_subnet_answer_is_looked_for_again_not_called_an_overlap(
    twin_aws: TwinAws, clock: _Clock
) -> None:
    """CreateSubnet acts and its answer is lost; the SDK's retry hears InvalidSubnet.Conflict while the
    new subnet is not listed yet. Failed before: CidrOverlap ("overlaps another subnet of the VPC"),
    a contract error that ends the execution, about the step's own subnet."""
    _pod_cidr_associated(twin_aws, clock)
    twin_aws.local.faults.add(FaultSpec(operation="ec2:CreateSubnet", when="after", times=1, error="InternalError"))
    item = _item(twin_aws, "100.64.32.0/19")

    with pytest.raises(TransientAwsError, match="lists no subnet there yet"):
        create_pod_subnet(twin_aws.clients, item)

    clock.time += twin_aws.local.scenario.timing.ec2_consistency
    adopted = create_pod_subnet(twin_aws.clients, item)
    assert adopted.created and adopted.subnet_id and adopted.changes == 1
