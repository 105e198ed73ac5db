"""podcidr: move the pods of an existing EKS cluster onto their own secondary VPC CIDR."""

OWNER_TAG_KEY = "podcidr:cluster"
"""AWS tag that marks what podcidr created for a cluster; its value is the cluster name."""

MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "podcidr")
"""Kubernetes label that marks what podcidr created."""

POD_CIDR_TAG_PREFIX = "podcidr:pod-cidr:"
"""VPC block associations carry no tags, so the block podcidr associated for a cluster is recorded
as a tag on the VPC: key `podcidr:pod-cidr:<cluster name>`, value the block (e.g. 100.64.0.0/16)."""


def pod_cidr_tag_key(cluster_name: str) -> str:
    """The VPC tag key that records the pod block podcidr associated for `cluster_name`."""
    return POD_CIDR_TAG_PREFIX + cluster_name
