"""The twin's API Gateway: serves template.yaml's REST APIs for real (a twin component).

Once LocalAws runs it reads each AWS::Serverless::Api's OpenAPI document, resolved with the twin's
names and ARNs (the state machine's, the integration role's), creates the IAM roles its
integrations assume as the stack would (trust and inline policies), and answers method requests
on the twin's endpoint (localcloud.apigateway.gateway). The stack output holding the API's URL
points there (localcloud.apigateway.urls.on_twin, applied where the stack is registered).

Its `--state` part: the method requests it answered (method, path, status).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.credentials import Credentials

from localcloud.apigateway.definition import API_TYPES, RestApi, rest_apis
from localcloud.apigateway.gateway import Account, InvokeEndpoint
from localcloud.apigateway.integration import RoleCredentials, service_action
from localcloud.apigateway.sigv4 import RootCredentials
from localcloud.aws.server import ADMIN_ACCESS_KEY, ADMIN_SECRET_KEY
from localcloud.template import Account as TemplateAccount
from localcloud.template import Resolver, Template, TemplateError

if TYPE_CHECKING:
    from localcloud.twin import Middleware, Twin

SESSION_NAME = "BackplaneAssumeRoleSession"
"""The session name API Gateway gives the integration role's credentials."""


class ApiGateway:
    """Twin component: the template's REST APIs on the twin's endpoint."""

    name = "apigateway"

    def __init__(self, template: Template) -> None:
        self.template = template
        self.endpoint = InvokeEndpoint()
        self.apis: list[RestApi] = []

    def middlewares(self) -> list[Middleware]:
        return [self.endpoint.middleware]

    def start(self, twin: Twin) -> None:
        account_id = str(twin.aws.account_id)
        resolver = self.template.resolver(TemplateAccount(twin.region, account_id), twin.parameters)
        self.apis = rest_apis(self.template, resolver)
        for api in self.apis:
            for operation in api.operations:
                service_action(str(operation.integration.get("uri", "")))  # refuse what the twin cannot call
        self._create_integration_roles(twin, resolver)
        sts = twin.aws.admin_session().client("sts")

        def assume(role_arn: str) -> Credentials:
            issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=SESSION_NAME)["Credentials"]
            return Credentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])

        self.endpoint.bind(
            self.apis,
            Account(
                region=twin.region,
                account_id=account_id,
                endpoint_url=twin.endpoint_url,
                root=RootCredentials(account_id=account_id, access_key=ADMIN_ACCESS_KEY, secret_key=ADMIN_SECRET_KEY),
                role_credentials=RoleCredentials(assume),
            ),
        )

    def stop(self) -> None:
        self.endpoint.unbind()

    def state(self) -> dict[str, Any]:
        return {"requests": list(self.endpoint.served)}

    def _create_integration_roles(self, twin: Twin, resolver: Resolver) -> None:
        """Each AWS::IAM::Role an integration uses, with its trust policy and inline policies."""
        used = {
            str(operation.integration.get("credentials"))
            for api in self.apis
            for operation in api.operations
            if operation.integration.get("credentials")
        }
        iam = twin.aws.admin_session().client("iam")
        for logical_id, resource in self.template.of_type("AWS::IAM::Role").items():
            names = resolver.names(logical_id)
            if names.attributes.get("Arn") not in used:
                continue
            props = resolver.resolve(resource.get("Properties") or {})
            iam.create_role(
                RoleName=names.ref,
                AssumeRolePolicyDocument=json.dumps(props["AssumeRolePolicyDocument"]),
                Description=str(props.get("Description", "")),
            )
            for policy in props.get("Policies") or []:
                iam.put_role_policy(
                    RoleName=names.ref,
                    PolicyName=str(policy["PolicyName"]),
                    PolicyDocument=json.dumps(policy["PolicyDocument"]),
                )
            used.discard(names.attributes["Arn"])
        if used:
            raise TemplateError(f"integration roles that are not roles of the template: {', '.join(sorted(used))}")


def component(scenario: Any, template: Template) -> ApiGateway | None:
    """Factory for localcloud.twin.COMPONENTS: only for a template with an API."""
    if not template.of_type(*API_TYPES):
        return None
    return ApiGateway(template)
