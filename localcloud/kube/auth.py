"""EKS authentication and authorization for the emulated API server.

Authentication (aws-iam-authenticator's `pkg/token` Verify, then STS): the bearer token is
`k8s-aws-v1.` + base64url (no padding) of a presigned STS GetCallerIdentity URL. It must be https
on an STS host, path `/`, only the whitelisted query parameters, each once, Action
GetCallerIdentity (Version 2011-06-15), `x-k8s-aws-id` among X-Amz-SignedHeaders,
0 <= X-Amz-Expires <= 900, and X-Amz-Date less than 15 minutes old. Where EKS then sends the URL
to STS, the emulator does what STS would: it resolves the access key (an injected
`CredentialResolver`; by default moto's STS and IAM backends), checks the session token and the
credentials' expiry, and recomputes the SigV4 signature (botocore's signer) with `x-k8s-aws-id`
set to *this* cluster's name, so a token made for another cluster fails as it does on EKS. The
caller is its canonical IAM ARN (an assumed role -> `arn:aws:iam::<acct>:role/<name>`).

Authorization, by the cluster's authenticationMode (`auth_mode_getter`):
- API / API_AND_CONFIG_MAP: the injected `AccessResolver(cluster, principal_arn)` returns the
  principal's access policies (None: no access entry);
- CONFIG_MAP / API_AND_CONFIG_MAP: the kube-system/aws-auth ConfigMap's mapRoles/mapUsers
  (group system:masters = cluster admin; other groups would need RBAC, which is not emulated);
- CONFIG_MAP: the cluster creator (`cluster_creator_arn`), whose admin mapping EKS keeps hidden.
A principal none of these map is not authenticated: 401, as EKS answers ("You must be logged in
to the server (Unauthorized)"). A mapped principal whose policies do not allow the request: 403
with the API server's message `User "..." cannot <verb> resource "..." ...`.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import fnmatch
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import yaml
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TOKEN_PREFIX = "k8s-aws-v1."
CLUSTER_ID_HEADER = "x-k8s-aws-id"
MAX_TOKEN_BYTES = 4096
PRESIGNED_URL_LIFETIME = datetime.timedelta(minutes=15)
CLOCK_SKEW = datetime.timedelta(minutes=5)
ALLOWED_PARAMETERS = frozenset(
    {
        "action",
        "version",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-expires",
        "x-amz-security-token",
        "x-amz-signature",
        "x-amz-signedheaders",
    }
)
_STS_HOST = re.compile(
    r"^sts(\.[a-z0-9-]+)?(\.amazonaws\.com|\.api\.aws)(\.cn)?$|^sts\.[a-z0-9-]+\.amazonaws\.com\.cn$"
)

POLICY_PREFIX = "arn:aws:eks::aws:cluster-access-policy/"


class AuthenticationError(Exception):
    """The token is not valid (the API server answers 401 Unauthorized)."""


@dataclass(frozen=True)
class Credential:
    """What STS knows about an access key."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None
    arn: str
    """As GetCallerIdentity returns it: `arn:aws:sts::<acct>:assumed-role/<role>/<session>` or a user ARN."""
    account_id: str
    user_id: str
    expiration: datetime.datetime | None = None
    """UTC; None for long-term keys."""


CredentialResolver = Callable[[str], Credential | None]


@dataclass(frozen=True)
class Identity:
    arn: str
    canonical_arn: str
    """The IAM principal: an assumed role's role ARN (`arn:aws:iam::<acct>:role/<name>`)."""
    account_id: str
    user_id: str
    session_name: str | None
    access_key_id: str


def token_access_key(token: str) -> str | None:
    """The access key ID an EKS token was presigned with (read, not verified), or None."""
    encoded = token.strip()[len(TOKEN_PREFIX) :] if token.strip().startswith(TOKEN_PREFIX) else ""
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    for pair in urlsplit(url).query.split("&"):
        key, _, value = pair.partition("=")
        if unquote(key).lower() == "x-amz-credential":
            return unquote(value).split("/", 1)[0] or None
    return None


def is_sts_host(host: str) -> bool:
    """sts.amazonaws.com and the regional STS endpoints (as aws-iam-authenticator accepts them)."""
    return bool(_STS_HOST.match(host))


def canonicalize_arn(arn: str) -> str:
    """aws-iam-authenticator's arn.Canonicalize: assumed-role ARNs become their role's IAM ARN."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise AuthenticationError(f"arn '{arn}' is invalid")
    partition, service, account, resource = parts[1], parts[2], parts[4], parts[5]
    if service == "sts" and resource.startswith("assumed-role/"):
        pieces = resource.split("/")
        if len(pieces) < 3:
            raise AuthenticationError(f"assumed-role arn '{arn}' does not have a role")
        return f"arn:{partition}:iam::{account}:role/{pieces[1]}"
    if service == "iam" and resource.startswith(("user/", "role/", "root")):
        if resource.startswith("role/"):
            return f"arn:{partition}:iam::{account}:role/{resource.rsplit('/', 1)[-1]}"
        return arn
    if service == "sts" and resource.startswith("federated-user/"):
        return arn
    raise AuthenticationError(f"service or resource of arn '{arn}' is not supported")


def moto_credential_resolver(access_key_id: str) -> Credential | None:
    """STS's view of an access key, from moto's backends (in this process): keys of AssumeRole
    sessions, then IAM users' access keys. None for a key moto never issued."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    for sts_account in list(dict.values(sts_backends)):
        for sts in list(dict.values(sts_account)):
            role = sts.get_assumed_role_from_access_key(access_key_id)
            if role is not None:
                return Credential(
                    access_key_id=access_key_id,
                    secret_access_key=role.secret_access_key,
                    session_token=role.session_token,
                    arn=role.arn,
                    account_id=role.account_id,
                    user_id=role.user_id,
                    expiration=role.expiration.replace(tzinfo=datetime.UTC),
                )
    for iam_account in list(dict.values(iam_backends)):
        for iam in list(dict.values(iam_account)):
            user = iam.get_user_from_access_key_id(access_key_id)
            if user is not None:
                key = next(k for k in iam.list_access_keys(user.name) if k.access_key_id == access_key_id)
                if key.status != "Active":
                    return None
                return Credential(
                    access_key_id=access_key_id,
                    secret_access_key=key.secret_access_key,
                    session_token=None,
                    arn=user.arn,
                    account_id=user.account_id,
                    user_id=user.id,
                )
    return None


class TokenVerifier:
    """Verifies EKS bearer tokens for one cluster (see the module docstring)."""

    def __init__(
        self,
        cluster_name: str,
        credential_resolver: CredentialResolver = moto_credential_resolver,
        *,
        now: Callable[[], datetime.datetime] = lambda: datetime.datetime.now(datetime.UTC),
        sts_host_allowed: Callable[[str], bool] = is_sts_host,
    ) -> None:
        self.cluster_name = cluster_name
        self._resolve = credential_resolver
        self._now = now
        self._host_allowed = sts_host_allowed

    def verify(self, token: str) -> Identity:
        if len(token) > MAX_TOKEN_BYTES:
            raise AuthenticationError("token is too large")
        if not token.startswith(TOKEN_PREFIX):
            raise AuthenticationError(f'token is missing expected "{TOKEN_PREFIX}" prefix')
        encoded = token[len(TOKEN_PREFIX) :]
        if "=" in encoded or not re.fullmatch(r"[A-Za-z0-9_-]*", encoded):
            raise AuthenticationError("illegal base64 data")
        try:
            url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise AuthenticationError(f"illegal base64 data: {err}") from err
        parts = urlsplit(url)
        if parts.scheme != "https":
            raise AuthenticationError(f'unexpected scheme "{parts.scheme}" in pre-signed URL')
        if not self._host_allowed(parts.netloc):
            raise AuthenticationError(f'unexpected hostname "{parts.netloc}" in pre-signed URL')
        if parts.path != "/":
            raise AuthenticationError("unexpected path in pre-signed URL")
        raw_pairs = [pair.partition("=") for pair in parts.query.split("&") if pair]
        params: dict[str, str] = {}
        for key, _, value in raw_pairs:
            lower = unquote(key).lower()
            if lower in params:
                raise AuthenticationError(f'duplicate query parameter found: "{key}"')
            if lower not in ALLOWED_PARAMETERS:
                raise AuthenticationError(f'non-whitelisted query parameter "{key}"')
            params[lower] = unquote(value.replace("+", " "))
        if params.get("action") != "GetCallerIdentity":
            raise AuthenticationError("unexpected action parameter in pre-signed URL")
        signed_headers = params.get("x-amz-signedheaders", "").lower().split(";")
        if CLUSTER_ID_HEADER not in signed_headers:
            raise AuthenticationError(f"client did not sign the {CLUSTER_ID_HEADER} header in the pre-signed URL")
        try:
            expires = int(params.get("x-amz-expires", ""))
        except ValueError:
            expires = -1
        if not 0 <= expires <= 900:
            raise AuthenticationError(f"invalid X-Amz-Expires parameter in pre-signed URL: {expires}")
        amz_date = params.get("x-amz-date", "")
        try:
            signed_at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        except ValueError as err:
            raise AuthenticationError(f"error parsing X-Amz-Date parameter {amz_date!r}") from err
        now = self._now()
        if now > signed_at + PRESIGNED_URL_LIFETIME:
            raise AuthenticationError(f"X-Amz-Date parameter is expired (15 minute expiration) {signed_at}")
        # What STS checks when the authenticator calls it with the URL:
        if signed_at > now + CLOCK_SKEW:
            raise AuthenticationError("sts: Signature not yet current")
        if params.get("version") != "2011-06-15":
            raise AuthenticationError("sts: unsupported Version")
        if params.get("x-amz-algorithm") != "AWS4-HMAC-SHA256":
            raise AuthenticationError("sts: unsupported X-Amz-Algorithm")
        scope = params.get("x-amz-credential", "").split("/")
        if len(scope) != 5 or scope[3] != "sts" or scope[4] != "aws4_request" or scope[1] != amz_date[:8]:
            raise AuthenticationError("sts: malformed X-Amz-Credential")
        access_key_id, region = scope[0], scope[2]
        credential = self._resolve(access_key_id)
        if credential is None:
            raise AuthenticationError(
                "sts: InvalidClientTokenId: The security token included in the request is invalid"
            )
        if credential.session_token != params.get("x-amz-security-token"):
            raise AuthenticationError(
                "sts: InvalidClientTokenId: The security token included in the request is invalid"
            )
        if credential.expiration is not None and now >= credential.expiration:
            raise AuthenticationError("sts: ExpiredToken: The security token included in the request is expired")
        expected = self._signature(parts.netloc, raw_pairs, signed_headers, amz_date, region, credential)
        if not hmac.compare_digest(expected, params.get("x-amz-signature", "")):
            raise AuthenticationError(
                "sts: SignatureDoesNotMatch: The request signature we calculated does not match the signature "
                "you provided"
            )
        canonical = canonicalize_arn(credential.arn)
        session = credential.user_id.split(":", 1)[1] if ":" in credential.user_id else None
        return Identity(
            arn=credential.arn,
            canonical_arn=canonical,
            account_id=credential.account_id,
            user_id=credential.user_id.split(":", 1)[0],
            session_name=session,
            access_key_id=access_key_id,
        )

    def _signature(
        self,
        host: str,
        raw_pairs: list[tuple[str, str, str]],
        signed_headers: list[str],
        amz_date: str,
        region: str,
        credential: Credential,
    ) -> str:
        """SigV4 of the presigned GET as STS recomputes it, with x-k8s-aws-id = this cluster's name."""
        headers: dict[str, str] = {}
        for name in signed_headers:
            if name == "host":
                headers["host"] = host
            elif name == CLUSTER_ID_HEADER:
                headers[CLUSTER_ID_HEADER] = self.cluster_name
            else:
                raise AuthenticationError(f"sts: cannot verify signed header {name!r}")
        query = "&".join(f"{k}={v}" for k, _, v in raw_pairs if unquote(k).lower() != "x-amz-signature")
        request = AWSRequest(method="GET", url=f"https://{host}/?{query}", headers=headers)
        request.context["timestamp"] = amz_date
        signer = SigV4Auth(
            Credentials(credential.access_key_id, credential.secret_access_key, credential.session_token), "sts", region
        )
        canonical_request = signer.canonical_request(request)
        return str(signer.signature(signer.string_to_sign(request, canonical_request), request))


# Authorization -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessPolicy:
    """One access policy associated with an access entry (AssociateAccessPolicy)."""

    policy_arn: str
    """`arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy` (or just the name)."""
    scope: str = "cluster"
    """`cluster` or `namespace`."""
    namespaces: tuple[str, ...] = ()
    """For a namespace scope; a trailing `*` matches a prefix, as EKS allows."""

    @property
    def name(self) -> str:
        return self.policy_arn.rsplit("/", 1)[-1]

    @classmethod
    def of(cls, value: AccessPolicy | Mapping[str, Any]) -> AccessPolicy:
        """From an AccessPolicy or a ListAssociatedAccessPolicies item
        ({"policyArn": ..., "accessScope": {"type": "cluster"|"namespace", "namespaces": [...]}})."""
        if isinstance(value, AccessPolicy):
            return value
        scope = value.get("accessScope") or {}
        return cls(
            policy_arn=str(value.get("policyArn") or value.get("policy_arn")),
            scope=str(scope.get("type", "cluster")),
            namespaces=tuple(scope.get("namespaces") or ()),
        )


AccessResolver = Callable[[str, str], Sequence[AccessPolicy | Mapping[str, Any]] | None]
"""(cluster name, principal ARN) -> the access entry's associated policies; None: no access entry."""
AuthModeGetter = Callable[[], str]
"""The cluster's accessConfig.authenticationMode: API, API_AND_CONFIG_MAP or CONFIG_MAP."""


@dataclass(frozen=True)
class RequestAttributes:
    verb: str
    """get, list, watch, create, update, patch, delete, deletecollection."""
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    name: str | None

    def forbidden_message(self, username: str) -> str:
        what = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        target = f"{self.resource}.{self.group}" if self.group else self.resource
        subject = f'{target} "{self.name}"' if self.name else target
        where = f'in the namespace "{self.namespace}"' if self.namespace else "at the cluster scope"
        return (
            f'{subject} is forbidden: User "{username}" cannot {self.verb} resource "{what}" '
            f'in API group "{self.group}" {where}'
        )


@dataclass(frozen=True)
class Principal:
    username: str
    policies: tuple[AccessPolicy, ...] = ()
    groups: tuple[str, ...] = ()
    identity: Identity | None = None

    @property
    def admin(self) -> bool:
        return "system:masters" in self.groups


_READ = frozenset({"get", "list", "watch"})


def _policy_allows(policy: AccessPolicy, attrs: RequestAttributes, cluster_scoped_resource: bool) -> bool:
    if policy.scope == "namespace" and (
        attrs.namespace is None or not any(fnmatch.fnmatchcase(attrs.namespace, p) for p in policy.namespaces)
    ):
        return False
    name = policy.name
    if name == "AmazonEKSClusterAdminPolicy":
        return True
    if name == "AmazonEKSAdminViewPolicy":
        return attrs.verb in _READ
    if cluster_scoped_resource:
        # admin/edit/view are namespace roles; they may only read namespaces at the cluster level
        return attrs.resource == "namespaces" and attrs.verb in _READ and policy.scope == "cluster"
    if attrs.subresource == "status" and attrs.verb not in _READ:
        return False
    if name == "AmazonEKSAdminPolicy":
        return True
    if name == "AmazonEKSEditPolicy":
        return True
    if name == "AmazonEKSViewPolicy":
        return attrs.verb in _READ and attrs.resource != "secrets"
    return False


class Authorizer:
    """Maps an authenticated IAM identity to a Kubernetes principal and decides requests."""

    def __init__(
        self,
        cluster_name: str,
        access_resolver: AccessResolver,
        auth_mode_getter: AuthModeGetter,
        *,
        aws_auth: Callable[[], Mapping[str, Any] | None] = lambda: None,
        cluster_creator_arn: str | None = None,
    ) -> None:
        self.cluster_name = cluster_name
        self._access = access_resolver
        self._mode = auth_mode_getter
        self._aws_auth = aws_auth
        self._creator = cluster_creator_arn

    def principal(self, identity: Identity) -> Principal | None:
        """None: the identity maps to no Kubernetes user (401)."""
        mode = self._mode()
        username = (
            identity.arn
            if identity.session_name is None
            else (
                f"arn:aws:sts::{identity.account_id}:assumed-role/"
                f"{identity.canonical_arn.rsplit('/', 1)[-1]}/{identity.session_name}"
            )
        )
        if mode in ("API", "API_AND_CONFIG_MAP"):
            policies = self._access(self.cluster_name, identity.canonical_arn)
            if policies is not None:
                return Principal(username, tuple(AccessPolicy.of(p) for p in policies), (), identity)
        if mode in ("CONFIG_MAP", "API_AND_CONFIG_MAP"):
            mapped = self._from_aws_auth(identity)
            if mapped is not None:
                return mapped
        if mode == "CONFIG_MAP" and self._creator and canonicalize_arn(self._creator) == identity.canonical_arn:
            return Principal("kubernetes-admin", (), ("system:masters",), identity)
        return None

    def _from_aws_auth(self, identity: Identity) -> Principal | None:
        configmap = self._aws_auth()
        if not configmap:
            return None
        data = configmap.get("data") or {}
        for field, key, target in (
            ("mapRoles", "rolearn", identity.canonical_arn),
            ("mapUsers", "userarn", identity.arn),
        ):
            try:
                entries = yaml.safe_load(data.get(field) or "[]") or []
            except yaml.YAMLError:
                continue
            for entry in entries if isinstance(entries, list) else []:
                if isinstance(entry, dict) and entry.get(key) == target:
                    username = str(entry.get("username") or identity.arn)
                    username = username.replace("{{SessionName}}", identity.session_name or "").replace(
                        "{{AccountID}}", identity.account_id
                    )
                    return Principal(username, (), tuple(entry.get("groups") or ()), identity)
        return None

    def allowed(self, principal: Principal, attrs: RequestAttributes, *, cluster_scoped_resource: bool) -> bool:
        if principal.admin:
            return True
        return any(_policy_allows(p, attrs, cluster_scoped_resource) for p in principal.policies)
