"""ConfigureCni: custom networking on in the VPC CNI (add-on UpdateAddon with PRESERVE, or the aws-node
DaemonSet's env), one step per invocation; the state machine loops (WaitForCniUpdate) until
`cni.status` is `Successful`.

Event: the migration document ($.migration). Returns it with `cni` (status, updateId, changed), `polls`, `changes`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.configure_cni import configure_cni
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = Migration.model_validate(event)
    run = runtime()
    with timed(migration, "ConfigureCni"):
        configure_cni(migration, run.aws.eks, lambda: run.connect(migration.cluster_name))
    logger.info("CNI", extra={"cni": migration.cni.to_json()})
    return migration.to_json()
