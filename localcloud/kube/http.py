"""The REST surface of the emulated API server, as a WSGI application over the store.

Paths as kube-apiserver serves them: discovery (/api, /api/v1, /apis, /apis/<g>, /apis/<g>/<v>),
/version, /healthz, /livez, /readyz, and resources
`/api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]` and
`/apis/<g>/<v>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]`.

Each request: authenticate (EKS token) -> authorize (access policies) -> fault hook (before) ->
act on the store -> fault hook (after) -> ledger hook. Errors are `Status` bodies with the API
server's codes and reasons.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import json
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import yaml
from werkzeug.wrappers import Request, Response

from localcloud.kube import fields, openapi, reviews, tables
from localcloud.kube.auth import (
    AuthenticationError,
    Authorizer,
    Principal,
    RequestAttributes,
    TokenVerifier,
    token_access_key,
)
from localcloud.kube.errors import ApiError, bad_request, from_fault, method_not_allowed, unauthorized
from localcloud.kube.resources import MUTATING_VERBS, ResourceType
from localcloud.kube.selectors import parse_field_selector, parse_label_selector
from localcloud.kube.store import ObjectStore, PatchType

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class FaultLike(Protocol):
    """A fault to inject (localcloud.aws.faults.Fault has this shape)."""

    @property
    def when(self) -> str:
        """`before` (fail without acting) or `after` (act, then fail)."""
        ...

    @property
    def error(self) -> str:
        """A Status reason (TooManyRequests, InternalError, ServiceUnavailable, Conflict, ...) or an HTTP code."""
        ...

    @property
    def message(self) -> str: ...


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)
"""Who makes the request being served (hooks may ask: outside clients are neither faulted nor recorded)."""

LedgerHook = Callable[[str, bool, str], None]
"""(operation, mutating, result): `kubernetes:patch DaemonSet`, True, `ok` or the error's reason."""
FaultHook = Callable[[str], FaultLike | None]

PATCH_TYPES: dict[str, PatchType] = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}
# Kinds whose DELETE returns the object rather than a Status (as their REST storage does).
RETURNS_DELETED_OBJECT = frozenset(
    {"v1/pods", "v1/services", "v1/namespaces", "apiextensions.k8s.io/v1/customresourcedefinitions"}
)
PUBLIC_PATHS = frozenset({"/healthz", "/livez", "/readyz", "/version"})


@dataclass(frozen=True)
class Route:
    group: str
    version: str
    plural: str
    namespace: str | None
    name: str | None
    subresource: str | None


def parse_resource_path(path: str, resolve: Callable[[str, str, str], ResourceType | None]) -> Route | None:
    """A resource path's parts, or None if the path is not a resource path."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return None
    if rest and rest[0] == "watch":
        rest = rest[1:]  # the deprecated /watch/ prefix
    if not rest:
        return None
    if rest[0] == "namespaces" and len(rest) >= 3:
        candidate = resolve(group, version, rest[2])
        if (candidate is not None and candidate.namespaced) or rest[2] not in ("status", "finalize"):
            return Route(group, version, rest[2], rest[1], _at(rest, 3), _at(rest, 4)) if len(rest) <= 5 else None
    if len(rest) > 3:
        return None
    return Route(group, version, rest[0], None, _at(rest, 1), _at(rest, 2))


def _at(items: list[str], index: int) -> str | None:
    return items[index] if len(items) > index else None


EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. You can start a new "
    "list without the continue parameter, or use the continue token in this response to retrieve the "
    "remainder of the results. Continuing with the provided token results in an inconsistent list - objects "
    "that were created, modified, or deleted between the time the first chunk was returned and now may show "
    "up in the list."
)


def _continue_token(after: tuple[str, str], resource_version: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([after[0], after[1], resource_version]).encode()).decode()


def _continue_key(token: str | None) -> tuple[tuple[str, str], int] | None:
    """The (namespace, name) after which a continued list starts, and the first page's resourceVersion."""
    if not token:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error) as err:
        raise bad_request("continue key is not valid") from err
    if not (
        isinstance(key, list)
        and len(key) == 3
        and all(isinstance(part, str) for part in key[:2])
        and isinstance(key[2], int)
        and not isinstance(key[2], bool)
    ):
        raise bad_request("continue key is not valid")
    return (key[0], key[1]), key[2]


class KubeApi:
    """The WSGI application."""

    def __init__(
        self,
        store: ObjectStore,
        *,
        verifier: TokenVerifier | None,
        authorizer: Authorizer | None,
        ledger_hook: LedgerHook | None = None,
        fault_hook: FaultHook | None = None,
        counted: Callable[[str | None], bool] | None = None,
        version: Obj | None = None,
        server_address: str = "127.0.0.1:443",
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.verifier = verifier
        self.authorizer = authorizer
        self.ledger_hook = ledger_hook
        self.fault_hook = fault_hook
        self.counted = counted
        """Given the access key the caller's token was signed with (None without one), whether its
        calls are recorded and faulted (the workflow's); None: every call is."""
        self._caller = threading.local()
        self.version = version or default_version("1.30")
        self.server_address = server_address
        self.stop = stop or threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        request = Request(environ)
        try:
            response = self.handle(request)
        except ApiError as err:
            response = status_response(err)
        except Exception as err:  # never let a bug look like a dropped connection
            log.exception("kube API emulator failed on %s %s", request.method, request.path)
            response = status_response(ApiError(500, "InternalError", f"Internal error occurred: {err}"))
        return response(environ, start_response)

    # dispatch ------------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        header = request.headers.get("Authorization", "")
        self._caller.access_key = token_access_key(header.partition(" ")[2]) if header else None
        path = request.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            return Response("ok", mimetype="text/plain")
        principal = self._authenticate(request, public=path in PUBLIC_PATHS)
        current_principal.set(principal)
        if path == "/version":
            return json_response(self.version)
        if request.method == "GET" and path == "/openapi/v2":
            if not openapi.wants_v2_json(request.headers.get("Accept", "")):
                raise ApiError(
                    406,
                    "NotAcceptable",
                    "only the following media types are accepted: application/json (the twin serves no protobuf)",
                )
            return json_response(openapi.swagger(self.store.registry))
        if request.method == "GET" and path.startswith("/openapi/v3"):
            served = openapi.serve(self.store.registry, path)
            if served is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})
            return json_response(served)
        if request.method == "POST" and path in reviews.PATHS:
            body = reviews.request_body(request.get_data(), request.content_type or "")
            review = reviews.answer(path, body, principal, self.authorizer, self.store.registry)
            return json_response(review, status=201)
        if request.method == "GET" and self._is_discovery(path):
            return self._discovery(path, principal)
        route = parse_resource_path(path, self.store.registry.get)
        if route is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})
        return self._resource(request, route, principal)

    def _authenticate(self, request: Request, *, public: bool) -> Principal | None:
        header = request.headers.get("Authorization", "")
        if not header and public:
            return None
        scheme, _, token = header.partition(" ")
        if self.verifier is None or self.authorizer is None:
            return Principal("system:admin", (), ("system:masters",))
        if scheme.lower() != "bearer" or not token.strip():
            self._record("kubernetes:authenticate", False, "Unauthorized")
            raise unauthorized()
        try:
            identity = self.verifier.verify(token.strip())
        except AuthenticationError as err:
            log.info("token refused: %s", err)
            self._record("kubernetes:authenticate", False, "Unauthorized")
            raise unauthorized() from err
        principal = self.authorizer.principal(identity)
        if principal is None:
            log.info("no access entry or mapping for %s", identity.canonical_arn)
            self._record("kubernetes:authenticate", False, "Unauthorized")
            raise unauthorized()
        return principal

    def _counts(self) -> bool:
        return self.counted is None or self.counted(getattr(self._caller, "access_key", None))

    def _record(self, operation: str, mutating: bool, result: str) -> None:
        if self.ledger_hook is not None and self._counts():
            self.ledger_hook(operation, mutating, result)

    # discovery -----------------------------------------------------------------------------------
    def _is_discovery(self, path: str) -> bool:
        parts = [p for p in path.split("/") if p]
        return (parts[:1] == ["api"] and len(parts) <= 2) or (parts[:1] == ["apis"] and len(parts) <= 3)

    def _discovery(self, path: str, principal: Principal | None) -> Response:
        parts = [p for p in path.split("/") if p]
        registry = self.store.registry
        operation = "kubernetes:discovery"
        fault = self._take_fault(operation)
        if fault is not None:
            self._record(operation, False, fault.error)
            raise from_fault(fault.error, fault.message)
        if parts == ["api"]:
            body: Obj = {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}],
            }
        elif parts == ["api", "v1"]:
            body = _resource_list("v1", registry.in_group_version("", "v1"), core=True)
        elif parts == ["apis"]:
            body = {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group(g, v) for g, v in registry.groups()]}
        else:
            group = parts[1]
            versions = dict(registry.groups()).get(group)
            if not versions or (len(parts) == 3 and parts[2] not in versions):
                self._record(operation, False, "NotFound")
                raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})
            if len(parts) == 2:
                body = {"kind": "APIGroup", "apiVersion": "v1", **_group(group, versions)}
            else:
                body = _resource_list(f"{group}/{parts[2]}", registry.in_group_version(group, parts[2]), core=False)
        self._record(operation, False, "ok")
        return json_response(body)

    # resources -----------------------------------------------------------------------------------
    def _resource(self, request: Request, route: Route, principal: Principal | None) -> Response:
        resource = self.store.registry.get(route.group, route.version, route.plural)
        args = request.args
        verb = _verb(request.method, route, args.get("watch", "") in ("true", "1"))
        kind = resource.kind if resource else route.plural
        sub_kind = f"/{route.subresource}" if route.subresource else ""
        operation = f"kubernetes:{verb} {kind}{sub_kind}"
        dry_run = "All" in args.getlist("dryRun")
        mutating = verb in MUTATING_VERBS and not dry_run
        attrs = RequestAttributes(
            verb=verb,
            group=route.group,
            resource=route.plural,
            subresource=route.subresource,
            namespace=route.namespace,
            name=route.name,
        )
        try:
            if principal is not None and self.authorizer is not None:
                cluster_scoped = resource is not None and not resource.namespaced
                if not self.authorizer.allowed(principal, attrs, cluster_scoped_resource=cluster_scoped):
                    raise ApiError(
                        403,
                        "Forbidden",
                        attrs.forbidden_message(principal.username),
                        details={
                            k: v for k, v in (("name", route.name), ("group", route.group), ("kind", route.plural)) if v
                        }
                        or {},
                    )
            if resource is None:
                raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})
            if route.subresource and route.subresource not in resource.subresources:
                raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})
            if (route.namespace is not None) != resource.namespaced and not (
                resource.namespaced and route.namespace is None and route.name is None and verb in ("list", "watch")
            ):
                raise ApiError(404, "NotFound", "the server could not find the requested resource", details={})
            fault = self._take_fault(operation)
            if fault is not None and (fault.when == "before" or verb == "watch"):
                raise from_fault(fault.error, fault.message)
            if verb == "watch":
                response = self._watch(request, resource, route)
                self._record(operation, False, "ok")
                return response
            response = self._act(request, resource, route, verb, dry_run)
            if fault is not None:  # `after`: the call acted, its response is lost
                raise from_fault(fault.error, fault.message)
        except ApiError as err:
            self._record(operation, mutating, err.reason)
            raise
        self._record(operation, mutating, "ok")
        return response

    def _take_fault(self, operation: str) -> FaultLike | None:
        """The fault to inject into this call, if any (taken once per call)."""
        return self.fault_hook(operation) if self.fault_hook is not None and self._counts() else None

    def _act(self, request: Request, resource: ResourceType, route: Route, verb: str, dry_run: bool) -> Response:
        store, args, ns, name = self.store, request.args, route.namespace, route.name
        if route.subresource == "scale":
            return self._scale(request, resource, route, verb, dry_run)
        if route.subresource == "eviction":
            if verb != "create":
                raise method_not_allowed(verb, route.plural, route.group)
            body = _json_body(request)
            if (body.get("metadata") or {}).get("name") not in (None, name):
                raise bad_request("name in URL does not match name in Eviction object")
            store.evict(ns or "", name or "", dry_run=dry_run)
            return json_response(
                {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}, status=201
            )
        warnings: list[str] = []
        validation: dict[str, Any] = {}
        if verb in ("create", "update", "patch"):
            validation = {"field_validation": fields.directive(args.get("fieldValidation")), "warnings": warnings}
        if verb == "get":
            found = store.get(resource, name or "", namespace=ns)
            if tables.wants_table(request.headers.get("Accept", "")):
                return json_response(self._table(request, resource, [found], {}))
            return json_response(found)
        if verb == "list":
            return self._list(request, resource, route)
        if verb == "create":
            if route.subresource is not None or name is not None:
                raise method_not_allowed(verb, route.plural, route.group)
            created = store.create(resource, _json_body(request), namespace=ns, dry_run=dry_run, **validation)
            return _warned(json_response(created, status=201), warnings)
        if verb == "update":
            body = _json_body(request)
            body_name = (body.get("metadata") or {}).get("name") if isinstance(body, dict) else None
            if body_name != name:
                raise bad_request(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
            updated = store.update(
                resource, body, namespace=ns, subresource=route.subresource, dry_run=dry_run, **validation
            )
            return _warned(json_response(updated), warnings)
        if verb == "patch":
            patch_type = _patch_type(request, resource)
            body = _patch_body(request, patch_type)
            patched = store.patch(
                resource,
                name or "",
                body,
                patch_type=patch_type,
                namespace=ns,
                subresource=route.subresource,
                dry_run=dry_run,
                field_manager=args.get("fieldManager"),
                force=args.get("force") in ("true", "1"),
                **validation,
            )
            return _warned(json_response(patched), warnings)
        if verb == "delete":
            options = _delete_options(request)
            obj, gone = store.delete(
                resource,
                name or "",
                namespace=ns,
                propagation_policy=options.get("propagationPolicy"),
                preconditions=options.get("preconditions"),
                dry_run=dry_run,
            )
            if not gone and resource.key != "v1/namespaces":
                return json_response(obj, status=202)
            if resource.key in RETURNS_DELETED_OBJECT:
                return json_response(obj)
            return json_response(
                {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {
                        k: v
                        for k, v in (
                            ("name", name),
                            ("group", resource.group),
                            ("kind", resource.plural),
                            ("uid", obj["metadata"].get("uid")),
                        )
                        if v
                    },
                }
            )
        if verb == "deletecollection":
            options = _delete_options(request)
            store.delete_collection(
                resource,
                namespace=ns,
                label_selector=args.get("labelSelector"),
                field_selector=args.get("fieldSelector"),
                propagation_policy=options.get("propagationPolicy"),
                dry_run=dry_run,
            )
            return json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        raise method_not_allowed(verb, route.plural, route.group)

    def _list(self, request: Request, resource: ResourceType, route: Route) -> Response:
        args = request.args
        continued = _continue_key(args.get("continue"))
        if continued is not None and args.get("resourceVersion"):
            raise bad_request("specifying resource version is not allowed when using continue")
        selected = bool(args.get("labelSelector") or args.get("fieldSelector"))
        page = self.store.list_page(
            resource,
            namespace=route.namespace,
            label_selector=args.get("labelSelector"),
            field_selector=args.get("fieldSelector"),
            after=continued[0] if continued else None,
            limit=args.get("limit", type=int),
        )
        # Every page of a list carries its first page's resourceVersion, as on the API server; a
        # version the server no longer keeps (compacted) cannot continue: 410 Expired, with a token
        # that continues anyway, inconsistently.
        list_version = continued[1] if continued else int(page.resource_version)
        if continued is not None and self.store.compacted(list_version):
            inconsistent = {"continue": _continue_token(continued[0], int(page.resource_version))}
            raise ApiError(410, "Expired", EXPIRED_CONTINUE, metadata=inconsistent)
        items = page.items
        metadata: Obj = {"resourceVersion": str(list_version)}
        if page.remaining and page.last_key is not None:
            metadata["continue"] = _continue_token(page.last_key, list_version)
            if not selected:  # the API server cannot count what a selector would leave
                metadata["remainingItemCount"] = page.remaining
        if tables.wants_table(request.headers.get("Accept", "")):
            return json_response(self._table(request, resource, items, metadata))
        if resource.builtin:
            for item in items:  # typed lists carry no kind/apiVersion per item
                item.pop("kind", None)
                item.pop("apiVersion", None)
        return json_response(
            {"kind": resource.list_kind, "apiVersion": resource.api_version, "metadata": metadata, "items": items}
        )

    def _watch(self, request: Request, resource: ResourceType, route: Route) -> Response:
        args = request.args
        timeout = args.get("timeoutSeconds", type=int) or 1800
        events = self.store.watch(
            resource,
            namespace=route.namespace,
            label_selector=parse_label_selector(args.get("labelSelector")),
            field_selector=parse_field_selector(args.get("fieldSelector"), resource.key if resource.builtin else ""),
            resource_version=args.get("resourceVersion"),
            timeout_seconds=timeout,
            stop=self.stop,
            bookmarks=args.get("allowWatchBookmarks") == "true",
        )

        def stream() -> Iterator[bytes]:
            yield b""  # the headers now, as the API server sends them, not at the first event
            try:
                for event in events:
                    yield (json.dumps({"type": event.type, "object": event.object}) + "\n").encode()
            except ApiError as err:  # a too old resourceVersion: 200, then an ERROR event (410)
                yield (json.dumps({"type": "ERROR", "object": err.status()}) + "\n").encode()

        return Response(stream(), mimetype="application/json", direct_passthrough=True)

    def _table(self, request: Request, resource: ResourceType, objects: list[Obj], metadata: Obj) -> Obj:
        columns = None
        if not resource.builtin:
            crd = self.store.find("apiextensions.k8s.io/v1/customresourcedefinitions", resource.qualified) or {}
            versions = (crd.get("spec") or {}).get("versions") or []
            served: Obj = next((v for v in versions if v.get("name") == resource.version), {})
            columns = served.get("additionalPrinterColumns")
        include = request.args.get("includeObject") or "Metadata"
        return tables.table(resource, objects, include_object=include, metadata=metadata, printer_columns=columns)

    def _scale(self, request: Request, resource: ResourceType, route: Route, verb: str, dry_run: bool) -> Response:
        ns, name = route.namespace, route.name or ""
        if verb == "get":
            return json_response(self.store.get_scale(resource, name, namespace=ns))
        if verb == "update":
            return json_response(
                self.store.update_scale(resource, name, _json_body(request), namespace=ns, dry_run=dry_run)
            )
        if verb == "patch":
            from localcloud.kube import patch as patches

            patch_type = _patch_type(request, resource)
            body = _patch_body(request, patch_type)
            current = self.store.get_scale(resource, name, namespace=ns)
            if patch_type == "json":
                scaled = patches.json_patch(current, body)
            else:
                scaled = patches.json_merge_patch(current, body)
            return json_response(self.store.update_scale(resource, name, scaled, namespace=ns, dry_run=dry_run))
        raise method_not_allowed(verb, route.plural, route.group)


def _verb(method: str, route: Route, watch: bool) -> str:
    if method in ("GET", "HEAD"):
        if route.name is not None:
            return "get"
        return "watch" if watch else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if route.name is not None else "deletecollection"
    raise ApiError(
        405, "MethodNotAllowed", f"the server does not allow this method on the requested resource ({method})"
    )


def _json_body(request: Request) -> Any:
    raw = request.get_data(cache=True)
    content_type = (request.mimetype or "application/json").lower()
    if not raw:
        return {}
    try:
        if content_type in ("application/yaml", "application/apply-patch+yaml"):
            return yaml.safe_load(raw)
        if content_type not in ("application/json", ""):
            raise ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml, application/vnd.kubernetes.protobuf",
            )
        return json.loads(raw)
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"the body of the request could not be decoded: {err}") from err


def _patch_type(request: Request, resource: ResourceType) -> PatchType:
    content_type = (request.mimetype or "").lower()
    patch_type = PATCH_TYPES.get(content_type)
    if patch_type is None or (patch_type == "strategic" and not resource.builtin):
        accepted = ["application/json-patch+json", "application/merge-patch+json"]
        if resource.builtin:
            accepted.append("application/strategic-merge-patch+json")
        accepted += ["application/apply-patch+yaml", "application/apply-patch+cbor"]
        raise ApiError(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - accepted media types include: {', '.join(accepted)}",
        )
    return patch_type


def _patch_body(request: Request, patch_type: PatchType) -> Any:
    raw = request.get_data(cache=True)
    try:
        return yaml.safe_load(raw) if patch_type == "apply" else json.loads(raw or b"null")
    except (ValueError, yaml.YAMLError) as err:
        raise bad_request(f"the body of the request could not be decoded: {err}") from err


def _delete_options(request: Request) -> Obj:
    options: Obj = {}
    raw = request.get_data(cache=True)
    if raw:
        try:
            body = json.loads(raw)
        except ValueError as err:
            raise bad_request(f"the body of the request could not be decoded: {err}") from err
        if isinstance(body, dict):
            options.update(body)
    args = request.args
    if args.get("propagationPolicy"):
        options["propagationPolicy"] = args["propagationPolicy"]
    if args.get("orphanDependents") in ("true", "false") and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan" if args["orphanDependents"] == "true" else "Background"
    if options.get("orphanDependents") is not None and "propagationPolicy" not in options:
        options["propagationPolicy"] = "Orphan" if options["orphanDependents"] else "Background"
    return options


def _resource_list(group_version: str, resources: list[ResourceType], *, core: bool) -> Obj:
    body: Obj = {"kind": "APIResourceList", "groupVersion": group_version, "resources": []}
    if not core:
        body["apiVersion"] = "v1"
    for resource in sorted(resources, key=lambda r: r.plural):
        body["resources"].extend(resource.discovery())
    return body


def _group(group: str, versions: list[str]) -> Obj:
    entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": entries, "preferredVersion": entries[0]}


def _warned(response: Response, unknown_fields: list[str]) -> Response:
    """One `Warning` header per unknown field dropped (fieldValidation=Warn)."""
    for path in unknown_fields:
        response.headers.add("Warning", fields.warning_header(path))
    return response


def json_response(body: Any, *, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def status_response(err: ApiError) -> Response:
    response = json_response(err.status(), status=err.code)
    for key, value in err.headers.items():
        response.headers[key] = value
    return response


def default_version(kubernetes_version: str) -> Obj:
    major, _, minor = kubernetes_version.partition(".")
    return {
        "major": major,
        "minor": f"{minor}+",
        "emulationMajor": major,
        "emulationMinor": minor,
        "gitVersion": f"v{kubernetes_version}.0-eks-localcloud",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
