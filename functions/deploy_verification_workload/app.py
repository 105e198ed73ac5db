"""DeployVerificationWorkload: the namespace podcidr-verify (labelled ours), a Deployment of
verify.image with 3 replicas (the load balancers' backend, on the replacement nodegroups' nodes), and
each check's Service or Ingress; created or adopted, before ReplaceNodegroups.

Event: the migration document ($.migration). Returns it with `verification.workloads` = deployed and `changes`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.steps.verify_load_balancers import deploy_verification_workload, start_load_balancers
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = Migration.model_validate(event)
    with timed(migration, "VerifyLoadBalancers"):
        found = runtime()
        kube = found.connect(migration.cluster_name)
        deploy_verification_workload(migration, kube)
        start_load_balancers(migration, kube, found.aws.ec2)
    return migration.to_json()
