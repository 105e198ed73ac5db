"""The twin's API Gateway: template.yaml's REST APIs served on the twin's endpoint.

- `component.ApiGateway`: the twin component (roles, binding, `--state`).
- `definition`: the APIs' OpenAPI documents, resolved, and their operations.
- `gateway`: the invoke endpoint, a method request through API Gateway's pipeline.
- `sigv4`: IAM authorization (SigV4 signature, identity, execute-api:Invoke).
- `validation`: request validators (parameters, body models, draft 4).
- `vtl`: mapping templates (Velocity) with `$input`, `$util`, `$context`.
- `integration`: `type: aws` integrations, called with their role.
- `responses`: gateway responses.
- `urls`: where the twin serves an API.
"""
