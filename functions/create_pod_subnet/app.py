"""CreatePodSubnets, one Map iteration: create (or adopt) one AZ's pod subnet.

Event (the Map's ItemSelector): {"clusterName", "vpcId", "subnet": <a PodSubnet of the document>}.
Returns the PodSubnet with `subnetId`, `created` and its own `changes` (Report folds them in).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.aws.clients import container_clients
from podcidr.steps.create_pod_subnet import PodSubnetItem, create_pod_subnet
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    subnet = create_pod_subnet(container_clients(), PodSubnetItem.model_validate(event))
    logger.info(
        "pod subnet",
        extra={
            "availabilityZone": subnet.availability_zone,
            "cidr": subnet.cidr,
            "subnetId": subnet.subnet_id,
            "subnetCreated": subnet.created,
            "changes": subnet.changes,
        },
    )
    return subnet.to_json()
