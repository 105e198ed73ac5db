"""The local twin: an AWS account with an EKS cluster, run locally (never deployed)."""
