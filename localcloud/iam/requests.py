"""What IAM authorizes for one API call of the twin: the action(s), the resource ARN(s) the request
addresses, built from its parameters with the reference's ARN formats, and the condition keys.

One builder per operation that addresses resources (the reference lists a required resource type
for it); an operation whose action has no required resource type is authorized on `*`. An
operation the workflow uses that needs a builder and has none is a twin error, never an allow.

Implicit authorizations are part of the call: EC2's tag-on-create (`ec2:CreateTags` with
`ec2:CreateAction`), EKS's (`eks:TagResource` on the new access entry or nodegroup) and what EKS
checks on the caller for CreateNodegroup (iam:PassRole on the node role, `iam:GetRole` /
`iam:CreateServiceLinkedRole` on the nodegroup service-linked role) are separate requests here; the
enforcer answers each as its service does.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from localcloud.iam import catalog
from localcloud.iam.evaluator import Request, Resource

NODEGROUP_SLR_NAME = "AWSServiceRoleForAmazonEKSNodegroup"
NODEGROUP_SLR_SERVICE = "eks-nodegroup.amazonaws.com"
_PLACEHOLDER_UUID = "00000000-0000-0000-0000-000000000000"


class NoBuilder(LookupError):
    """An operation that addresses resources and that the twin cannot yet name the ARNs of."""


@dataclass(frozen=True)
class Call:
    """One API call as the enforcer sees it."""

    service: str
    operation: str
    principal: str
    partition: str
    region: str
    account: str
    params: Mapping[str, Any]
    """Query/form parameters (first values) for query protocols, the JSON body for JSON ones,
    plus the path's labels and the query string for REST ones."""
    lookup: Lookup


@dataclass
class Lookup:
    """What the twin knows about existing resources (their tags, their full ARNs)."""

    ec2_tags: Callable[[str], Mapping[str, str]] = lambda _id: {}
    nodegroup_arn: Callable[[str, str], str | None] = lambda _c, _n: None
    addon_arn: Callable[[str, str], str | None] = lambda _c, _n: None
    access_entry_arn: Callable[[str, str], str | None] = lambda _c, _p: None
    access_entry_tags: Callable[[str, str], Mapping[str, str]] = lambda _c, _p: {}
    eks_tags: Callable[[str], Mapping[str, str]] = lambda _arn: {}
    """An EKS resource's tags by its ARN (TagResource, UntagResource: aws:ResourceTag/*)."""


@dataclass(frozen=True)
class Authorization:
    """One request to authorize, and how a refusal is answered (None: as the service answers any)."""

    request: Request
    refusal: str | None = None
    """`nodegroup-slr-get`, `nodegroup-slr-create`: EKS's own wording (InvalidRequestException)."""
    needed_if_missing: Callable[[], bool] | None = field(default=None, compare=False)


def parse_params(protocol: str, body: bytes, query: str, path_params: Mapping[str, str]) -> dict[str, Any]:
    if protocol in ("query", "ec2"):
        raw = parse_qs(body.decode("utf-8", "replace")) if body else parse_qs(query)
        return {key: values[0] for key, values in raw.items()}
    params: dict[str, Any] = {}
    if body.strip():
        try:
            document = json.loads(body)
        except ValueError:
            document = {}
        if isinstance(document, dict):
            params.update(document)
    for key, values in parse_qs(query).items():
        params.setdefault(key, values[0])
    params.update(path_params)
    return params


def _indexed(params: Mapping[str, Any], prefix: str) -> list[str]:
    """`ResourceId.1`, `ResourceId.2`, ... in order."""
    found = []
    index = 1
    while f"{prefix}.{index}" in params:
        found.append(str(params[f"{prefix}.{index}"]))
        index += 1
    return found


def _tag_context(tags: Mapping[str, str]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {f"aws:RequestTag/{key}": [value] for key, value in tags.items()}
    context["aws:TagKeys"] = list(tags)
    return context


def _resource_tags(tags: Mapping[str, str]) -> dict[str, list[str]]:
    return {f"aws:ResourceTag/{key}": [value] for key, value in tags.items()}


# --- EC2 ---------------------------------------------------------------------------------------

_EC2_ID_TYPES = {
    "vpc": "vpc",
    "subnet": "subnet",
    "rtb": "route-table",
    "sg": "security-group",
    "igw": "internet-gateway",
    "nat": "natgateway",
    "eni": "network-interface",
    "i": "instance",
    "lt": "launch-template",
    "tgw": "transit-gateway",
    "pcx": "vpc-peering-connection",
}
_EC2_ID_VARIABLES = {
    "vpc": "VpcId",
    "subnet": "SubnetId",
    "route-table": "RouteTableId",
    "security-group": "SecurityGroupId",
    "internet-gateway": "InternetGatewayId",
    "natgateway": "NatGatewayId",
    "network-interface": "NetworkInterfaceId",
    "instance": "InstanceId",
    "launch-template": "LaunchTemplateId",
    "transit-gateway": "TransitGatewayId",
    "vpc-peering-connection": "VpcPeeringConnectionId",
}


def _ec2_resource(call: Call, resource_id: str, *, kind: str | None = None) -> Resource:
    kind = kind or _EC2_ID_TYPES.get(resource_id.split("-", 1)[0])
    if kind is None:
        raise NoBuilder(f"EC2 resource id {resource_id}")
    arn = catalog.build_arn(
        "ec2",
        kind,
        Partition=call.partition,
        Region=call.region,
        Account=call.account,
        **{_EC2_ID_VARIABLES[kind]: resource_id},
    )
    tags = call.lookup.ec2_tags(resource_id) if resource_id != "*" else {}
    return Resource(arn=arn, type=kind, context=_resource_tags(tags))


def _ec2_tag_specifications(params: Mapping[str, Any], resource_type: str) -> dict[str, str]:
    tags: dict[str, str] = {}
    index = 1
    while f"TagSpecification.{index}.ResourceType" in params:
        if params[f"TagSpecification.{index}.ResourceType"] == resource_type:
            tag = 1
            while f"TagSpecification.{index}.Tag.{tag}.Key" in params:
                tags[str(params[f"TagSpecification.{index}.Tag.{tag}.Key"])] = str(
                    params.get(f"TagSpecification.{index}.Tag.{tag}.Value", "")
                )
                tag += 1
        index += 1
    return tags


def _request(
    call: Call, action: str, resources: list[Resource], context: Mapping[str, list[str]] | None = None
) -> Request:
    return Request(principal=call.principal, action=action, resources=tuple(resources), context=dict(context or {}))


def _ec2_create_tags(call: Call) -> list[Authorization]:
    tags: dict[str, str] = {}
    index = 1
    while f"Tag.{index}.Key" in call.params:
        tags[str(call.params[f"Tag.{index}.Key"])] = str(call.params.get(f"Tag.{index}.Value", ""))
        index += 1
    resources = [_ec2_resource(call, rid) for rid in _indexed(call.params, "ResourceId")]
    return [Authorization(_request(call, "ec2:CreateTags", resources, _tag_context(tags)))]


def _ec2_create_subnet(call: Call) -> list[Authorization]:
    tags = _ec2_tag_specifications(call.params, "subnet")
    new_subnet = _ec2_resource(call, "*", kind="subnet")
    vpc = _ec2_resource(call, str(call.params.get("VpcId", "")), kind="vpc")
    subnet_with_tags = Resource(new_subnet.arn, "subnet", {})
    found = [
        Authorization(_request(call, "ec2:CreateSubnet", [subnet_with_tags, vpc], _tag_context(tags) if tags else {}))
    ]
    if tags:  # tag-on-create: CreateTags on the new resource, with ec2:CreateAction (EC2 User Guide)
        context = {**_tag_context(tags), "ec2:CreateAction": ["CreateSubnet"]}
        found.append(Authorization(_request(call, "ec2:CreateTags", [subnet_with_tags], context)))
    return found


def _ec2_one(kind: str, parameter: str) -> Callable[[Call], list[Authorization]]:
    def build(call: Call) -> list[Authorization]:
        resource = _ec2_resource(call, str(call.params.get(parameter, "")), kind=kind)
        return [Authorization(_request(call, f"ec2:{call.operation}", [resource]))]

    return build


def _ec2_associate_route_table(call: Call) -> list[Authorization]:
    resources = [_ec2_resource(call, str(call.params.get("RouteTableId", "")), kind="route-table")]
    if "SubnetId" in call.params:
        resources.append(_ec2_resource(call, str(call.params["SubnetId"]), kind="subnet"))
    if "GatewayId" in call.params:
        resources.append(_ec2_resource(call, str(call.params["GatewayId"])))
    return [Authorization(_request(call, "ec2:AssociateRouteTable", resources))]


# --- EKS ---------------------------------------------------------------------------------------


def _eks_arn(call: Call, kind: str, **values: str) -> str:
    return catalog.build_arn("eks", kind, Partition=call.partition, Region=call.region, Account=call.account, **values)


def _cluster(call: Call) -> Resource:
    name = str(call.params.get("name") or call.params.get("clusterName") or "")
    return Resource(_eks_arn(call, "cluster", ClusterName=name), "cluster")


def _nodegroup(call: Call, cluster: str, nodegroup: str) -> Resource:
    arn = call.lookup.nodegroup_arn(cluster, nodegroup) or _eks_arn(
        call, "nodegroup", ClusterName=cluster, NodegroupName=nodegroup, UUID=_PLACEHOLDER_UUID
    )
    return Resource(arn, "nodegroup")


def _addon(call: Call, cluster: str, addon: str) -> Resource:
    arn = call.lookup.addon_arn(cluster, addon) or _eks_arn(
        call, "addon", ClusterName=cluster, AddonName=addon, UUID=_PLACEHOLDER_UUID
    )
    return Resource(arn, "addon")


def _access_entry(call: Call, cluster: str, principal: str) -> Resource:
    arn = call.lookup.access_entry_arn(cluster, principal)
    if arn is None:
        parts = principal.split(":", 5)
        account = parts[4] if len(parts) == 6 else call.account
        kind, _, name = (parts[5] if len(parts) == 6 else "role/unknown").partition("/")
        arn = _eks_arn(
            call,
            "access-entry",
            ClusterName=cluster,
            IamIdentityType=kind,
            IamIdentityAccountID=account,
            IamIdentityName=name.rsplit("/", 1)[-1],
            UUID=_PLACEHOLDER_UUID,
        )
    context = {
        **_resource_tags(call.lookup.access_entry_tags(cluster, principal)),
        "eks:clusterName": [cluster],
        "eks:principalArn": [principal],
    }
    return Resource(arn, "access-entry", context)


def _eks_cluster_scoped(call: Call) -> list[Authorization]:
    context = _tag_context(dict(call.params.get("tags") or {})) if call.params.get("tags") else {}
    return [Authorization(_request(call, f"eks:{call.operation}", [_cluster(call)], context))]


def _eks_tag_on_create(call: Call, created: Resource) -> list[Authorization]:
    """EKS authorizes the tags of a create as eks:TagResource on the new resource, with the request's
    tags (and none of its own yet)."""
    tags = dict(call.params.get("tags") or {})
    if not tags:
        return []
    return [Authorization(_request(call, "eks:TagResource", [created], _tag_context(tags)))]


def _eks_create_access_entry(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name") or call.params.get("clusterName") or "")
    created = _access_entry(call, cluster, str(call.params.get("principalArn", "")))
    return _eks_cluster_scoped(call) + _eks_tag_on_create(call, created)


def _eks_nodegroup(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name", ""))
    resource = _nodegroup(call, cluster, str(call.params.get("nodegroupName", "")))
    return [Authorization(_request(call, f"eks:{call.operation}", [resource]))]


def _eks_addon(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name") or call.params.get("clusterName") or "")
    resource = _addon(call, cluster, str(call.params.get("addonName", "")))
    return [Authorization(_request(call, f"eks:{call.operation}", [resource]))]


def _eks_access_entry(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name") or call.params.get("clusterName") or "")
    resource = _access_entry(call, cluster, str(call.params.get("principalArn", "")))
    return [Authorization(_request(call, f"eks:{call.operation}", [resource]))]


def _eks_tags(call: Call) -> list[Authorization]:
    """TagResource / UntagResource / ListTagsForResource: the resource named by its ARN, with the
    request's tags (aws:RequestTag/*, aws:TagKeys) and the resource's own."""
    arn = str(call.params.get("resourceArn", ""))
    kind = arn.split(":", 5)[5].split("/", 1)[0] if arn.count(":") >= 5 else None
    context: dict[str, list[str]] = {}
    if call.operation == "TagResource":
        context = _tag_context({str(k): str(v) for k, v in (call.params.get("tags") or {}).items()})
    elif call.operation == "UntagResource":
        context = {"aws:TagKeys": [str(key) for key in call.params.get("tagKeys") or []]}
    resource = Resource(arn, kind, _resource_tags(call.lookup.eks_tags(arn)))
    return [Authorization(_request(call, f"eks:{call.operation}", [resource], context))]


def _eks_fargate_profile(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name") or call.params.get("clusterName") or "")
    arn = _eks_arn(
        call,
        "fargateprofile",
        ClusterName=cluster,
        FargateProfileName=str(call.params.get("fargateProfileName", "")),
        UUID=_PLACEHOLDER_UUID,
    )
    return [Authorization(_request(call, f"eks:{call.operation}", [Resource(arn, "fargateprofile")]))]


def _ec2_launch_template(call: Call) -> list[Authorization]:
    template_id = str(call.params.get("LaunchTemplateId", ""))
    if not template_id:
        raise NoBuilder(f"ec2:{call.operation} of a launch template given by name (give LaunchTemplateId)")
    resource = _ec2_resource(call, template_id, kind="launch-template")
    return [Authorization(_request(call, f"ec2:{call.operation}", [resource]))]


def _eks_updates(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name", ""))
    resources = [_cluster(call)]
    if call.params.get("nodegroupName"):
        resources.append(_nodegroup(call, cluster, str(call.params["nodegroupName"])))
    if call.params.get("addonName"):
        resources.append(_addon(call, cluster, str(call.params["addonName"])))
    return [Authorization(_request(call, f"eks:{call.operation}", resources))]


def nodegroup_slr_arn(partition: str, account: str) -> str:
    return f"arn:{partition}:iam::{account}:role/aws-service-role/{NODEGROUP_SLR_SERVICE}/{NODEGROUP_SLR_NAME}"


def _eks_create_nodegroup(call: Call) -> list[Authorization]:
    cluster = str(call.params.get("name", ""))
    created = _nodegroup(call, cluster, str(call.params.get("nodegroupName", "")))
    found = _eks_cluster_scoped(call) + _eks_tag_on_create(call, created)
    node_role = str(call.params.get("nodeRole", ""))
    found.append(
        Authorization(
            _request(
                call, "iam:PassRole", [Resource(node_role, "role")], {"iam:PassedToService": ["eks.amazonaws.com"]}
            )
        )
    )
    slr = Resource(nodegroup_slr_arn(call.partition, call.account), "role")
    found.append(Authorization(_request(call, "iam:GetRole", [slr]), refusal="nodegroup-slr-get"))
    found.append(
        Authorization(
            _request(call, "iam:CreateServiceLinkedRole", [slr], {"iam:AWSServiceName": [NODEGROUP_SLR_SERVICE]}),
            refusal="nodegroup-slr-create",
        )
    )
    return found


# --- Step Functions (the API's role) -----------------------------------------------------------


def _states(parameter: str, kind: str) -> Callable[[Call], list[Authorization]]:
    def build(call: Call) -> list[Authorization]:
        arn = str(call.params.get(parameter, ""))
        return [Authorization(_request(call, f"states:{call.operation}", [Resource(arn, kind)]))]

    return build


BUILDERS: dict[str, Callable[[Call], list[Authorization]]] = {
    "states:StartExecution": _states("stateMachineArn", "statemachine"),
    "states:StartSyncExecution": _states("stateMachineArn", "statemachine"),
    "states:DescribeStateMachine": _states("stateMachineArn", "statemachine"),
    "states:DescribeExecution": _states("executionArn", "execution"),
    "states:GetExecutionHistory": _states("executionArn", "execution"),
    "states:StopExecution": _states("executionArn", "execution"),
    "ec2:CreateTags": _ec2_create_tags,
    "ec2:CreateSubnet": _ec2_create_subnet,
    "ec2:AssociateVpcCidrBlock": _ec2_one("vpc", "VpcId"),
    "ec2:ModifySubnetAttribute": _ec2_one("subnet", "SubnetId"),
    "ec2:ReplaceRouteTableAssociation": _ec2_one("route-table", "RouteTableId"),
    "ec2:AssociateRouteTable": _ec2_associate_route_table,
    "eks:DescribeCluster": _eks_cluster_scoped,
    "eks:ListNodegroups": _eks_cluster_scoped,
    "eks:ListAddons": _eks_cluster_scoped,
    "eks:ListAccessEntries": _eks_cluster_scoped,
    "eks:ListFargateProfiles": _eks_cluster_scoped,
    "eks:DescribeFargateProfile": _eks_fargate_profile,
    "ec2:CreateLaunchTemplateVersion": _ec2_launch_template,
    "eks:CreateAccessEntry": _eks_create_access_entry,
    "eks:CreateNodegroup": _eks_create_nodegroup,
    "eks:DescribeNodegroup": _eks_nodegroup,
    "eks:DeleteNodegroup": _eks_nodegroup,
    "eks:DescribeAddon": _eks_addon,
    "eks:UpdateAddon": _eks_addon,
    "eks:DescribeAccessEntry": _eks_access_entry,
    "eks:DeleteAccessEntry": _eks_access_entry,
    "eks:ListAssociatedAccessPolicies": _eks_access_entry,
    "eks:AssociateAccessPolicy": _eks_access_entry,
    "eks:DisassociateAccessPolicy": _eks_access_entry,
    "eks:TagResource": _eks_tags,
    "eks:UntagResource": _eks_tags,
    "eks:ListTagsForResource": _eks_tags,
    "eks:ListUpdates": _eks_updates,
    "eks:DescribeUpdate": _eks_updates,
}

# Calls IAM never refuses (STS GetCallerIdentity needs no permission).
UNAUTHORIZED_OPERATIONS = {"sts:GetCallerIdentity"}


def authorizations(call: Call) -> list[Authorization]:
    """What IAM checks for this call (NoBuilder when the twin cannot say)."""
    name = f"{call.service}:{call.operation}"
    if name in UNAUTHORIZED_OPERATIONS:
        return []
    builder = BUILDERS.get(name)
    if builder is not None:
        return builder(call)
    try:
        described = catalog.action(name)
    except catalog.UnknownAction:
        raise NoBuilder(f"{name} is not in the Service Authorization Reference") from None
    if any(rt.required for rt in described.resource_types):
        raise NoBuilder(f"{name} addresses resources ({[rt.name for rt in described.resource_types]})")
    return [Authorization(_request(call, name, [Resource("*")]))]
