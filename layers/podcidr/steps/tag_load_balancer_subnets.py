"""TagLoadBalancerSubnets: the AWS Load Balancer Controller's subnet role tags.

`kubernetes.io/role/elb=1` on public subnets, `kubernetes.io/role/internal-elb=1` on node subnets,
as Plan listed them in `loadBalancerTags` (empty when `tagLoadBalancerSubnets` is false: then the
step makes no call at all). A subnet that already carries the key, whatever its value, is left
alone and reported `created: false`. Missing tags are added with one CreateTags call per
(key, value), each counted once. Pod subnets never get a role tag (AWS-FACTS section 3): a planned
tag on a pod subnet is refused before anything is tagged.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from podcidr.aws.clients import transient_faults_retried
from podcidr.models.migration import LoadBalancerTag, Migration
from podcidr.steps._ec2 import describe_subnets, tag_dict

if TYPE_CHECKING:
    from podcidr.aws.clients import AwsClients


def _refuse_pod_subnets(migration: Migration, cidrs: dict[str, str]) -> None:
    pod_block = ipaddress.IPv4Network(migration.pod_cidr.cidr)
    pod_ids = {s.subnet_id for s in migration.pod_subnets if s.subnet_id}
    for tag in migration.load_balancer_tags:
        cidr = cidrs.get(tag.subnet_id)
        if tag.subnet_id in pod_ids or (cidr and ipaddress.IPv4Network(cidr).subnet_of(pod_block)):
            raise RuntimeError(
                f"refusing to tag {tag.subnet_id} with {tag.key}: it is a pod subnet, and load balancers must "
                "never be placed in pod subnets (the plan is wrong)"
            )


def tag_load_balancer_subnets(clients: AwsClients, migration: Migration) -> Migration:
    """Add the planned role tags that are missing."""
    result = migration.model_copy(deep=True)
    if not result.load_balancer_tags:
        return result
    subnet_ids = sorted({t.subnet_id for t in result.load_balancer_tags})
    subnets = describe_subnets(clients.ec2, subnet_ids=subnet_ids)
    tags = {s["SubnetId"]: tag_dict(s.get("Tags")) for s in subnets}
    _refuse_pod_subnets(result, {s["SubnetId"]: s.get("CidrBlock", "") for s in subnets})

    missing: dict[tuple[str, str], list[LoadBalancerTag]] = {}
    for tag in result.load_balancer_tags:
        if tag.key in tags.get(tag.subnet_id, {}):
            continue  # present (any value): left alone; `created` stays what an earlier attempt recorded
        missing.setdefault((tag.key, tag.value), []).append(tag)

    for (key, value), batch in sorted(missing.items()):
        with transient_faults_retried("ec2:CreateTags"):
            clients.ec2.create_tags(Resources=sorted({t.subnet_id for t in batch}), Tags=[{"Key": key, "Value": value}])
        result.changes += 1
        for tag in batch:
            tag.created = True
    return result
