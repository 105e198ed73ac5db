"""podcidr: move the pods of an existing EKS cluster onto their own secondary VPC CIDR."""

OWNER_TAG_KEY = "podcidr:cluster"
"""AWS tag that marks what podcidr created for a cluster; its value is the cluster name."""

MANAGED_BY_LABEL = ("app.kubernetes.io/managed-by", "podcidr")
"""Kubernetes label that marks what podcidr created."""
