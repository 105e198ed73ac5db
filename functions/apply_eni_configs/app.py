"""ApplyEniConfigs: one ENIConfig per AZ (name = AZ, the pod subnet, the security groups), labelled ours;
created, merge-patched when different, adopted when identical.

Event: the migration document ($.migration). Returns it with `eniConfigs[].subnet/created` and `changes`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from podcidr.models.migration import Migration
from podcidr.steps.apply_eni_configs import apply_eni_configs
from podcidr.steps.runtime import runtime
from podcidr.steps.support import timed
from podcidr.tracing import TRACED_MODULES

logger = Logger()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    migration = Migration.model_validate(event)
    with timed(migration, "ApplyEniConfigs"):
        apply_eni_configs(migration, runtime().connect(migration.cluster_name))
    logger.info("ENIConfigs", extra={"eniConfigs": [c.to_json() for c in migration.eni_configs]})
    return migration.to_json()
