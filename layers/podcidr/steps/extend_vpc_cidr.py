"""ExtendVpcCidr: associate the planned pod CIDR with the cluster's VPC, or adopt it.

The step is re-invoked by the state machine (Choice + Wait) until the block is `associated`:
each invocation looks first, acts only if the block is absent, and reports the state it saw.

Ownership. A VPC CIDR association cannot be tagged, and the VPC is not podcidr's (several
clusters may share it), so podcidr does not put its `podcidr:cluster` ownership tag on the VPC.
Instead it marks the VPC with one tag per cluster, `podcidr:pod-cidr:<cluster>=<block>`
(`podcidr.pod_cidr_tag_key`), written
*before* the association is requested. The mark says "this block is <cluster>'s pod CIDR": a
later Plan (a re-run without `podCidr`) finds the block it should keep through it, and a person
reading the VPC's tags sees who added the block and why. Whether the block is adopted is decided
by the plan: the planned block is the one Plan chose or was given and checked against every rule,
so if the VPC already has it (associated, or still associating after a lost response), the step
adopts it instead of asking AWS for a duplicate (which AWS would refuse as an overlap).

Counting. Plan records a block it found (`associationId`, `state`). So a block found here that
the document does not know yet was associated by this execution, by an attempt whose response was
lost (the mark, written first, rules out anyone else's podcidr run): it is reported `created: true`
and its call counted. A block the plan already knew is `created: false`, nothing counted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from podcidr import pod_cidr_tag_key
from podcidr.aws.clients import error_code, transient_faults_retried
from podcidr.errors import CidrNotAllowed, CidrOverlap, CidrQuotaExceeded
from podcidr.models.migration import Migration
from podcidr.steps._ec2 import tag_dict
from podcidr.steps.polling import wait_ceiling

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import VpcCidrBlockAssociationTypeDef, VpcTypeDef

    from podcidr.aws.clients import AwsClients

STEP = "ExtendVpcCidr"
ACTIVE_STATES = frozenset({"associating", "associated"})
FAILED_STATES = frozenset({"failing", "failed"})
WAIT_CEILING_SECONDS = 900
"""How long the state machine waits for `associated` (AWS takes seconds; 15 minutes is generous)."""


def max_polls(poll_seconds: int) -> int:
    """How many checks the wait loop makes before giving up (at most POLLS_PER_WAIT)."""
    return wait_ceiling(WAIT_CEILING_SECONDS, poll_seconds, minimum=3)


def _describe_vpc(ec2: EC2Client, vpc_id: str) -> VpcTypeDef:
    with transient_faults_retried("ec2:DescribeVpcs"):
        vpcs = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    return vpcs[0]


def _find_association(vpc: VpcTypeDef, cidr: str) -> VpcCidrBlockAssociationTypeDef | None:
    """The block's association: an active one first, else the latest failed one, else None."""
    matching = [a for a in vpc.get("CidrBlockAssociationSet", []) if a.get("CidrBlock") == cidr]
    for association in matching:
        if association.get("CidrBlockState", {}).get("State") in ACTIVE_STATES:
            return association
    for association in reversed(matching):
        if association.get("CidrBlockState", {}).get("State") in FAILED_STATES:
            return association
    return None


def _refused(migration: Migration, error: ClientError) -> Exception:
    """AssociateVpcCidrBlock's synchronous refusals as contract errors; anything else as is."""
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", "")
    cidr, vpc = migration.pod_cidr.cidr, migration.vpc_id
    if "LimitExceeded" in code:
        return CidrQuotaExceeded(
            f"AWS refused to add {cidr} to {vpc}: {code}: {message}. The VPC holds as many IPv4 blocks as "
            "its quota allows; free one or raise the quota (Service Quotas, 'IPv4 CIDR blocks per VPC'), "
            "then run podcidr again."
        )
    if "Conflict" in code or "Overlap" in code or "conflicts" in message or "overlap" in message:
        return CidrOverlap(
            f"AWS refused to add {cidr} to {vpc}: {code}: {message}. Choose a podCidr that overlaps no "
            "block, route or peering of the VPC (or omit podCidr to let podcidr choose)."
        )
    if code.startswith("InvalidVpc.Range") or code in {"InvalidParameterValue", "InvalidCidrBlock"}:
        return CidrNotAllowed(
            f"AWS refused to add {cidr} to {vpc}: {code}: {message}. The block breaks a rule for secondary "
            "VPC blocks (see the CIDR rules in README.md); choose another podCidr."
        )
    return error


def _ensure_mark(ec2: EC2Client, migration: Migration, vpc: VpcTypeDef) -> int:
    key = pod_cidr_tag_key(migration.cluster_name)
    if tag_dict(vpc.get("Tags")).get(key) == migration.pod_cidr.cidr:
        return 0
    with transient_faults_retried("ec2:CreateTags"):
        ec2.create_tags(Resources=[migration.vpc_id], Tags=[{"Key": key, "Value": migration.pod_cidr.cidr}])
    return 1


def extend_vpc_cidr(clients: AwsClients, migration: Migration) -> Migration:
    """Associate (or adopt) the pod CIDR and report its association state."""
    result = migration.model_copy(deep=True)
    pod_cidr = result.pod_cidr
    vpc = _describe_vpc(clients.ec2, result.vpc_id)
    association = _find_association(vpc, pod_cidr.cidr)
    state = association.get("CidrBlockState", {}).get("State") if association else None

    if (
        association is not None
        and state in FAILED_STATES
        and association.get("AssociationId") == (pod_cidr.association_id)
    ):
        status = association.get("CidrBlockState", {}).get("StatusMessage") or "no status message"
        raise CidrNotAllowed(
            f"AWS did not associate {pod_cidr.cidr} with {result.vpc_id}: the association "
            f"{pod_cidr.association_id} is {state} ({status}). Choose another podCidr, or fix what the "
            "message names, and run podcidr again."
        )

    # The mark goes on before the association is asked for, so it is there whatever happens next.
    result.changes += _ensure_mark(clients.ec2, result, vpc)
    if association is not None and state in ACTIVE_STATES:
        if pod_cidr.association_id is None:
            # Plan did not see it and no answered attempt recorded it: a lost response's association.
            pod_cidr.created = True
            result.changes += 1
        pod_cidr.association_id = association.get("AssociationId")
        pod_cidr.state = state
    else:
        # Absent, or a failure left by an earlier execution: ask (again).
        try:
            with transient_faults_retried("ec2:AssociateVpcCidrBlock"):
                response = clients.ec2.associate_vpc_cidr_block(VpcId=result.vpc_id, CidrBlock=pod_cidr.cidr)
        except ClientError as error:
            # botocore retries a throttled call by itself: if the first try acted and its answer was lost,
            # the retry is refused as an overlap with the very block it added. Look before blaming the CIDR.
            again = _find_association(_describe_vpc(clients.ec2, result.vpc_id), pod_cidr.cidr)
            if again is None or again.get("CidrBlockState", {}).get("State") not in ACTIVE_STATES:
                raise _refused(result, error) from error
            made = again
        else:
            made = response.get("CidrBlockAssociation", {})
        result.changes += 1
        pod_cidr.association_id = made.get("AssociationId")
        pod_cidr.state = made.get("CidrBlockState", {}).get("State", "associating")
        pod_cidr.created = True

    if pod_cidr.state != "associated":
        checks = result.polls.get(STEP, 0) + 1
        result.polls[STEP] = checks
        if checks > max_polls(result.poll_seconds):
            raise CidrNotAllowed(
                f"{pod_cidr.cidr} is still {pod_cidr.state} on {result.vpc_id} (association "
                f"{pod_cidr.association_id}) after {checks} checks {result.poll_seconds}s apart: AWS has not "
                "made the block usable. Look at the VPC's CIDRs in the console; run podcidr again once it "
                "shows associated (the block will be adopted)."
            )
    return result
