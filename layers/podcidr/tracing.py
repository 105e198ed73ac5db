"""What the functions' X-Ray traces record (Powertools Tracer, `Tracing: Active`).

Powertools patches every library the X-Ray SDK supports unless told which (`patch_modules`); that
imports and patches requests and sqlite3 at each cold start, which podcidr never calls. Its AWS
calls all go through botocore, so botocore alone is patched: the traces keep every AWS call as a
subsegment, as before, for less import time (README "Cold starts and the layer").
"""

TRACED_MODULES = ("botocore",)
