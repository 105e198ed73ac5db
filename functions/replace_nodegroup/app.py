"""ReplaceNodegroups, one Map iteration: moves one nodegroup replacement along (create or adopt the
replacement, wait ACTIVE and its nodes Ready, check max pods, delete the old one, wait until it is gone).

Event (the Map's ItemSelector): {"clusterName", "pollSeconds", "nodegroup": <a NodegroupReplacement>}.
Returns the same with the nodegroup's `status` (pending|creating|draining|deleting-old|done), `polls`,
`changes`, `warnings`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.steps.replace_nodegroups import NodegroupTask, replace_nodegroup
from podcidr.steps.runtime import runtime
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = NodegroupTask.model_validate(event)
    run = runtime()
    replace_nodegroup(task, run.aws.eks, lambda: run.connect(task.cluster_name), run.aws.ec2, run.aws.elbv2)
    logger.info("nodegroup", extra={"nodegroup": task.nodegroup.to_json()})
    return task.to_json()
