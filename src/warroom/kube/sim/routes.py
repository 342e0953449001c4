"""The HTTP surface: Kubernetes API paths, parameters, content negotiation and errors, mapped
onto the simulated cluster."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from warroom.core.rfc3339 import SECOND, parse_ns

from . import discovery, patch, printers, streams
from .discovery import RESOURCES, Resource
from .errors import ApiError, forbidden, no_route, not_allowed, not_found, unauthorized
from .selectors import EVENT_FIELDS, META_FIELDS, POD_FIELDS, Selector, SelectorError
from .state import ClusterState
from .store import Obj

DEFAULT_WATCH_TIMEOUT = 1800.0
"""The API server's --min-request-timeout: how long a watch without timeoutSeconds lasts."""
_ANY = ["GET", "PUT", "PATCH", "DELETE", "POST"]


class ApiResponse(Response):
    """Compact JSON, as the API server writes it."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode()


def _error_response(error: ApiError) -> Response:
    return ApiResponse(error.status(), status_code=error.code)


class BearerAuth:
    """401 for requests without the simulator's bearer token (when it has one)."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.expected is not None:
            given = dict(scope["headers"]).get(b"authorization")
            if given != self.expected:
                await _error_response(unauthorized())(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _flag(request: Request, name: str) -> bool:
    """Go's strconv.ParseBool truthy values."""
    return request.query_params.get(name, "") in ("1", "t", "T", "true", "TRUE", "True")


def _int(request: Request, name: str, minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"invalid value for {name}: {raw!r}") from None
    if value < minimum:
        raise ApiError(422, f"{name}: Invalid value: {value}: must be at least {minimum}")
    return value


def _dry_run(request: Request) -> bool:
    return request.query_params.get("dryRun") == "All"


def _patch_type(request: Request) -> str:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in patch.TYPES:
        raise ApiError(
            415,
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(patch.TYPES),
        )
    return content_type


def _wants_table(request: Request) -> bool:
    return any(
        "as=Table" in part and "g=meta.k8s.io" in part
        for part in request.headers.get("accept", "").split(",")
    )


def _strip_type(obj: Obj) -> Obj:
    """List items carry no kind/apiVersion on the wire."""
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


class KubeApi:
    """Request handlers over one ClusterState."""

    def __init__(self, state: ClusterState, user: str) -> None:
        self.state = state
        self.user = user

    # -- helpers ------------------------------------------------------------------------------

    def _resource(self, request: Request, group: str) -> Resource:
        name = request.path_params.get("resource", "")
        resource = RESOURCES.get(name)
        if resource is None or resource.group != group:
            raise no_route()
        return resource

    def _selector(self, request: Request, resource: Resource) -> Selector:
        try:
            return Selector.parse(
                request.query_params.get("labelSelector", ""),
                request.query_params.get("fieldSelector", ""),
                {"pods": POD_FIELDS, "events": EVENT_FIELDS}.get(resource.name, META_FIELDS),
            )
        except SelectorError as error:
            raise ApiError(400, str(error)) from None

    def _check_write(self, verb: str, resource: str, group: str, name: str, ns: str) -> None:
        if self.state.forbid_writes:
            raise forbidden(self.user, verb, resource, group, name, ns)

    def _render(self, request: Request, resource: Resource) -> Callable[[Obj], Obj]:
        if not _wants_table(request):
            return lambda obj: obj
        include = request.query_params.get("includeObject", "Metadata")

        def as_table(obj: Obj) -> Obj:
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            return printers.table(resource.name, [obj], meta, self.state.now, include)

        return as_table

    async def _json_body(self, request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError as error:
            raise ApiError(400, f"the body of the request could not be parsed: {error}") from None

    # -- endpoints ----------------------------------------------------------------------------

    async def collection(self, request: Request) -> Response:
        """list or watch, in a namespace or across all of them."""
        group = "apps" if request.url.path.startswith("/apis/") else ""
        resource = self._resource(request, group)
        namespace = request.path_params.get("namespace")
        if namespace is not None and not resource.namespaced:
            raise no_route()
        if request.method != "GET":
            raise not_allowed()
        selector = self._selector(request, resource)
        if _flag(request, "watch"):
            timeout = _int(request, "timeoutSeconds")
            watch = streams.WatchRequest(
                resource=resource,
                namespace=namespace,
                selector=selector,
                resource_version=request.query_params.get("resourceVersion", ""),
                timeout=float(timeout) if timeout is not None else DEFAULT_WATCH_TIMEOUT,
                bookmarks=_flag(request, "allowWatchBookmarks"),
                render=self._render(request, resource),
            )
            if not watch.resource_version.isdigit() and watch.resource_version:
                raise ApiError(400, f"invalid resource version: {watch.resource_version!r}")
            return StreamingResponse(
                streams.watch(self.state, watch),
                media_type="application/json",
                headers={"Cache-Control": "no-cache, private"},
            )
        return self._list(request, resource, namespace, selector)

    def _list(
        self, request: Request, resource: Resource, namespace: str | None, selector: Selector
    ) -> Response:
        with self.state.lock:
            items = [
                o for o in self.state.store.list(resource.name, namespace) if selector.matches(o)
            ]
            rv = str(self.state.store.rv)
            now = self.state.now
        start = request.query_params.get("continue")
        if start:
            try:
                after = tuple(json.loads(base64.urlsafe_b64decode(start)))
            except ValueError:
                raise ApiError(400, "continue key is not valid") from None
            items = [o for o in items if _key(o) > after]
        metadata: Obj = {"resourceVersion": rv}
        limit = _int(request, "limit")
        if limit and len(items) > limit:
            metadata["continue"] = base64.urlsafe_b64encode(
                json.dumps(_key(items[limit - 1])).encode()
            ).decode()
            metadata["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        if _wants_table(request):
            include = request.query_params.get("includeObject", "Metadata")
            return ApiResponse(printers.table(resource.name, items, metadata, now, include))
        return ApiResponse(
            {
                "kind": resource.list_kind,
                "apiVersion": resource.api_version,
                "metadata": metadata,
                "items": [_strip_type(o) for o in items],
            }
        )

    async def item(self, request: Request) -> Response:
        group = "apps" if request.url.path.startswith("/apis/") else ""
        resource = self._resource(request, group)
        namespace = request.path_params.get("namespace", "")
        name = request.path_params["name"]
        if bool(namespace) != resource.namespaced:
            raise no_route()
        if request.method == "DELETE" and resource.name == "pods":
            return await self._delete_pod(request, namespace, name)
        if request.method == "PATCH" and resource.name == "deployments":
            return await self._patch_deployment(request, namespace, name)
        if request.method != "GET":
            raise not_allowed()
        with self.state.lock:
            obj = self.state.store.get(resource.name, namespace, name)
        if obj is None:
            raise not_found(resource.name, resource.group, name)
        if _wants_table(request):
            return ApiResponse(self._render(request, resource)(obj))
        return ApiResponse(obj)

    async def _delete_pod(self, request: Request, namespace: str, name: str) -> Response:
        self._check_write("delete", "pods", "", name, namespace)
        options = await self._json_body(request) or {}
        grace = _int(request, "gracePeriodSeconds")
        if grace is None and isinstance(options, dict):
            grace = options.get("gracePeriodSeconds")
        if grace is not None and not isinstance(grace, int):
            raise ApiError(400, f"invalid gracePeriodSeconds: {grace!r}")
        if _dry_run(request):
            with self.state.lock:
                obj = self.state.store.get("pods", namespace, name)
            if obj is None:
                raise not_found("pods", "", name)
            return ApiResponse(obj)
        return ApiResponse(self.state.delete_pod(namespace, name, grace))

    async def _patch_deployment(self, request: Request, namespace: str, name: str) -> Response:
        self._check_write("patch", "deployments", "apps", name, namespace)
        content_type = _patch_type(request)
        body = await self._json_body(request)
        return ApiResponse(
            self.state.patch_deployment(namespace, name, content_type, body, _dry_run(request))
        )

    async def scale(self, request: Request) -> Response:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        if request.method == "GET":
            return ApiResponse(self.state.scale(namespace, name))
        if request.method not in ("PATCH", "PUT"):
            raise not_allowed()
        verb = "patch" if request.method == "PATCH" else "update"
        self._check_write(verb, "deployments/scale", "apps", name, namespace)
        body = await self._json_body(request)
        if request.method == "PATCH":
            content_type = _patch_type(request)
            try:
                body = patch.apply(content_type, self.state.scale(namespace, name), body)
            except patch.PatchError as error:
                raise ApiError(422, str(error)) from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body of the request must be a Scale object")
        return ApiResponse(
            self.state.set_replicas(
                namespace,
                name,
                (body.get("spec") or {}).get("replicas", 0),
                (body.get("metadata") or {}).get("resourceVersion"),
                dry_run=_dry_run(request),
            )
        )

    async def log(self, request: Request) -> Response:
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        params = request.query_params
        since_seconds = _int(request, "sinceSeconds", minimum=1)
        since_time = params.get("sinceTime")
        if since_seconds is not None and since_time:
            raise ApiError(422, "at most one of `sinceTime` or `sinceSeconds` may be specified")
        run = self.state.log_source(
            namespace, name, params.get("container") or None, _flag(request, "previous")
        )
        since = None
        if since_time:
            try:
                # The API server forwards sinceTime to the kubelet with whole-second precision.
                since = parse_ns(since_time) // SECOND * SECOND
            except ValueError:
                raise ApiError(400, f"invalid sinceTime: {since_time!r}") from None
        elif since_seconds is not None:
            since = self.state.now - since_seconds * SECOND
        log = streams.LogRequest(
            follow=_flag(request, "follow"),
            timestamps=_flag(request, "timestamps"),
            since=since,
            tail=_int(request, "tailLines"),
            limit_bytes=_int(request, "limitBytes", minimum=1),
        )
        return StreamingResponse(streams.follow_log(self.state, run, log), media_type="text/plain")


def create_app(state: ClusterState, token: str | None = None) -> ASGIApp:
    """The simulator's ASGI app; requests must carry `token` as a bearer token if one is set."""
    api = KubeApi(state, "warroom" if token else "system:anonymous")

    def static(body: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            return ApiResponse(body(request))

        return endpoint

    async def ok(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def api_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, ApiError)
        return _error_response(error)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _error_response(not_allowed() if error.status_code == 405 else no_route())

    ns = "/namespaces/{namespace}"
    routes = [
        Route("/version", static(lambda r: discovery.VERSION)),
        Route("/api", static(lambda r: discovery.api_versions(r.url.netloc))),
        Route("/api/v1", static(lambda r: discovery.resource_list(""))),
        Route("/apis", static(lambda r: discovery.GROUP_LIST)),
        Route("/apis/apps", static(lambda r: discovery.APPS_GROUP)),
        Route("/apis/apps/v1", static(lambda r: discovery.resource_list("apps"))),
        *(Route(path, ok) for path in ("/healthz", "/livez", "/readyz")),
        Route("/api/v1/{resource}", api.collection, methods=_ANY),
        Route("/api/v1/{resource}/{name}", api.item, methods=_ANY),
        Route(f"/api/v1{ns}/{{resource}}", api.collection, methods=_ANY),
        Route(f"/api/v1{ns}/pods/{{name}}/log", api.log),
        Route(f"/api/v1{ns}/{{resource}}/{{name}}", api.item, methods=_ANY),
        Route("/apis/apps/v1/{resource}", api.collection, methods=_ANY),
        Route(f"/apis/apps/v1{ns}/{{resource}}", api.collection, methods=_ANY),
        Route(f"/apis/apps/v1{ns}/deployments/{{name}}/scale", api.scale, methods=_ANY),
        Route(f"/apis/apps/v1{ns}/{{resource}}/{{name}}", api.item, methods=_ANY),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={ApiError: api_error, 404: http_error, 405: http_error},
    )
    return BearerAuth(app, token)


def _key(obj: Obj) -> tuple[str, str]:
    return obj["metadata"].get("namespace", ""), obj["metadata"]["name"]
