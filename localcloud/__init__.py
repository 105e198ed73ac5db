"""The local twin: an AWS account with an EKS cluster in one process, for rehearsals and tests."""
