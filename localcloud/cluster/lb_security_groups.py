"""The frontend security groups of a load balancer, as the AWS Load Balancer Controller resolves
them from `alb.ingress.kubernetes.io/security-groups` / `service.beta.kubernetes.io/aws-load-balancer-security-groups`
(its networking/security_group_resolver.go): `sg-` entries by ID, the others by their Name tag in
the cluster's VPC; any entry not found fails the model. ELBv2 then refuses a group of another VPC.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


class SecurityGroupsNotFound(Exception):
    """The controller cannot build the model: `couldn't find all security groups: ...`."""


class SecurityGroupsUnusable(Exception):
    """ELBv2 refuses the groups (CreateLoadBalancer)."""


def resolve_security_groups(ec2: Any, vpc_id: str, entries: list[str]) -> list[str]:
    ids = [entry for entry in entries if entry.startswith("sg-")]
    names = list(dict.fromkeys(entry for entry in entries if not entry.startswith("sg-")))
    problems: list[str] = []
    found: list[dict[str, Any]] = []
    if ids:
        try:
            groups = ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"]
        except ClientError as error:
            problems.append(f"api error {error.response['Error']['Code']}: {error.response['Error']['Message']}")
        else:
            if len(groups) != len(ids):
                got = ", ".join(g["GroupId"] for g in groups)
                problems.append(f"requested ids [{', '.join(ids)}] but found [{got}]")
            found += groups
    if names:
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "tag:Name", "Values": names}, {"Name": "vpc-id", "Values": [vpc_id]}]
        )["SecurityGroups"]
        seen = list(dict.fromkeys(t["Value"] for g in groups for t in g.get("Tags", []) if t["Key"] == "Name"))
        if len(seen) != len(names):
            problems.append(f"requested names [{', '.join(names)}] but found [{', '.join(seen)}]")
        found += groups
    if problems:
        raise SecurityGroupsNotFound(f"couldn't find all security groups: {', '.join(problems)}")
    elsewhere = [g["GroupId"] for g in found if g.get("VpcId") != vpc_id]
    if elsewhere:
        raise SecurityGroupsUnusable(
            f"InvalidConfigurationRequest: One or more security groups are invalid: {', '.join(elsewhere)} "
            f"not in VPC {vpc_id}"
        )  # (unverified wording)
    return [g["GroupId"] for g in found]
