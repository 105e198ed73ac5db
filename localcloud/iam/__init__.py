"""IAM on the twin: the policies template.yaml deploys, enforced on the calls of the stack's roles."""
