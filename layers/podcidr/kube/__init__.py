"""Kubernetes access: the EKS token, the official client configured for a cluster, helpers."""
