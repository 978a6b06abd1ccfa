"""The HTTP API (docs/kostyor-api.md#resources, with the fixes of #embedded-server) as a
Starlette app; or, in upstream mode, as the real server answers it (`upstream`)."""

import re
from collections.abc import Callable, Collection
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from kostyor_tui.domain.lifecycle import ACTIONS, Action
from kostyor_tui.domain.order import DEFAULT_DRIVER, DEFAULT_ENGINE, KNOWN_DRIVERS, KNOWN_ENGINES
from kostyor_tui.server import discovery, releases, upstream
from kostyor_tui.server.errors import (
    ApiError,
    BadRequest,
    NotFound,
    ServiceUnavailable,
)
from kostyor_tui.server.guards import BasicAuth, ErrorBoundary, RequestGuard, error_response
from kostyor_tui.server.store import Store
from kostyor_tui.server.validation import Field, read_json_body, validate

DEFAULT_MAX_CLUSTERS = 1_000
_STEP_COUNT = re.compile("[0-9]{1,18}")

DISCOVER_SCHEMA = {
    "name": Field(required=True),
    "method": Field(required=True, allowed=tuple(discovery.METHODS)),
    "parameters": Field(kind="mapping"),
}
UPGRADE_SCHEMA = {
    "cluster_id": Field(required=True),
    "to_version": Field(required=True),
    "engine": Field(allowed=KNOWN_ENGINES),
    # As strict as the real server: a rehearsal's typo fails here, not on the day.
    "driver": Field(allowed=KNOWN_DRIVERS),
    "parameters": Field(kind="mapping"),
}
ACTION_SCHEMA = {
    "cluster_id": Field(),
    "action": Field(required=True, allowed=ACTIONS),
}


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def _encoded(body: bytes) -> Response:
    return Response(body, media_type=JSONResponse.media_type)


def create_app(
    store: Store,
    *,
    on_change: Callable[[], None] = lambda: None,
    auth: tuple[str, str] | None = None,
    limits: discovery.Limits | None = None,
    max_clusters: int = DEFAULT_MAX_CLUSTERS,
    bound_host: str = "127.0.0.1",
    allowed_hosts: Collection[str] = (),
    engine_problem: Callable[[], str | None] = lambda: None,
    behave: str = upstream.FIXED,
    upstream_options: upstream.UpstreamOptions | None = None,
) -> Starlette:
    """The API over `store`; `on_change` is called after an upgrade is started or acted on.

    `behave` is `fixed` (the default: docs/kostyor-api.md#embedded-server) or `upstream`
    (as the real server answers: docs/kostyor-api.md#upstream-mode, with `upstream_options`).

    `bound_host` and `allowed_hosts` say which Host headers name this server;
    `engine_problem` says what is wrong with the upgrade engine, if anything (for /healthz).
    """
    if behave not in upstream.BEHAVIOURS:
        raise ValueError(f"unknown behaviour {behave!r} (known: {', '.join(upstream.BEHAVIOURS)})")
    as_released = behave == upstream.UPSTREAM
    discovery_limits = limits if limits is not None else discovery.Limits()

    async def list_clusters(request: Request) -> Response:
        return _json(await run_in_threadpool(store.list_clusters))

    async def get_cluster(request: Request) -> Response:
        return _json(await run_in_threadpool(store.get_cluster, request.path_params["cluster_id"]))

    # The big lists come encoded from the store (SQLite encodes them much faster).
    async def list_hosts(request: Request) -> Response:
        cluster_id = request.path_params["cluster_id"]
        return _encoded(await run_in_threadpool(store.list_hosts_json, cluster_id))

    async def list_services(request: Request) -> Response:
        cluster_id = request.path_params["cluster_id"]
        return _encoded(await run_in_threadpool(store.list_services_json, cluster_id))

    async def discovery_methods(request: Request) -> Response:
        return _json(list(discovery.METHODS))

    async def discover(request: Request) -> Response:
        fields = validate(await read_json_body(request), DISCOVER_SCHEMA)
        method = discovery.METHODS[fields["method"]]
        found = await run_in_threadpool(method, fields.get("parameters", {}), discovery_limits)
        cluster = await run_in_threadpool(
            lambda: store.add_cluster(
                fields["name"].strip(), found.version, found.hosts, max_clusters=max_clusters
            )
        )
        return _json(cluster, 201)

    async def upgrade_versions(request: Request) -> Response:
        cluster = await run_in_threadpool(store.get_cluster, request.path_params["cluster_id"])
        return _json(releases.later_releases(cluster["version"]))

    async def all_versions(request: Request) -> Response:
        return _json(list(releases.RELEASES))

    async def list_upgrades(request: Request) -> Response:
        cluster_id = request.query_params.get("cluster_id") or None
        return _json(await run_in_threadpool(store.list_upgrades, cluster_id))

    async def start_upgrade(request: Request) -> Response:
        fields = validate(await read_json_body(request), UPGRADE_SCHEMA)
        upgrade = await run_in_threadpool(
            lambda: store.create_upgrade(
                fields["cluster_id"],
                fields["to_version"],
                engine=fields.get("engine", DEFAULT_ENGINE),
                driver=fields.get("driver", DEFAULT_DRIVER),
                parameters=fields.get("parameters", {}),
            )
        )
        on_change()
        return _json(upgrade, 201)

    async def get_upgrade(request: Request) -> Response:
        return _json(await run_in_threadpool(store.get_upgrade, request.path_params["upgrade_id"]))

    async def act_on_upgrade(request: Request) -> Response:
        path_id = request.path_params["upgrade_id"]
        fields = validate(await read_json_body(request), ACTION_SCHEMA)
        cluster_id = fields.get("cluster_id")
        if cluster_id is None:
            cluster_id = (await run_in_threadpool(store.get_upgrade, path_id))["cluster_id"]
        upgrade = await run_in_threadpool(
            store.apply_action, cluster_id, Action(fields["action"]), path_id
        )
        on_change()
        return _json(upgrade)

    async def upgrade_steps(request: Request) -> Response:
        upgrade_id = request.path_params["upgrade_id"]
        since = request.query_params.get("since", "0")
        # ASCII digits (str.isdigit takes "²" too), few enough to be an SQLite integer.
        if not _STEP_COUNT.fullmatch(since):
            raise BadRequest("since must be a number of steps already seen")
        await run_in_threadpool(store.get_upgrade, upgrade_id)
        return _json(await run_in_threadpool(store.step_log, upgrade_id, int(since)))

    async def health(request: Request) -> Response:
        """For supervisors, without credentials: whether the server is well, and nothing else."""
        try:
            await run_in_threadpool(store.check)
        except ServiceUnavailable as error:
            body = {"status": "unavailable", "database": "unavailable", "message": error.message}
            return _json(body, 503)
        problem = engine_problem()
        if problem is not None:
            body = {"status": "unavailable", "database": "ok", "engine": "failing"}
            return _json({**body, "message": problem}, 503)
        # Upstream mode has no engine: nothing moves (docs/kostyor-api.md#quirk-no-progress).
        engine = "off" if as_released else "running"
        return _json({"status": "ok", "database": "ok", "engine": engine})

    fixed_routes = [
        Route("/clusters", list_clusters, methods=["GET"]),
        Route("/clusters/discover", discovery_methods, methods=["GET"]),
        Route("/clusters/discover", discover, methods=["POST"]),
        Route("/clusters/{cluster_id}", get_cluster, methods=["GET"]),
        Route("/clusters/{cluster_id}/hosts", list_hosts, methods=["GET"]),
        Route("/clusters/{cluster_id}/services", list_services, methods=["GET"]),
        Route("/upgrade-versions/{cluster_id}", upgrade_versions, methods=["GET"]),
        Route("/list-upgrade-versions", all_versions, methods=["GET"]),
        Route("/upgrades", list_upgrades, methods=["GET"]),
        Route("/upgrades", start_upgrade, methods=["POST"]),
        Route("/upgrades/{upgrade_id}", get_upgrade, methods=["GET"]),
        Route("/upgrades/{upgrade_id}", act_on_upgrade, methods=["PUT"]),
        # Beyond the contract: every step the engine committed, for watching and testing.
        Route("/upgrades/{upgrade_id}/steps", upgrade_steps, methods=["GET"]),
    ]
    middleware = []
    if as_released:
        routes = upstream.routes(
            store,
            limits=discovery_limits,
            max_clusters=max_clusters,
            options=upstream_options or upstream.UpstreamOptions(),
        )
        # Around the error boundary: its 500 closes the connection too.
        middleware.append(Middleware(upstream.CloseConnections))
        http_error = upstream.http_error
    else:
        routes, http_error = fixed_routes, _http_error
    # Outermost but for the closing (which raises nothing): nothing reaches uvicorn.
    middleware.append(Middleware(ErrorBoundary))
    # The guards stay on in both modes.
    middleware.append(Middleware(RequestGuard, bound_host=bound_host, allowed_hosts=allowed_hosts))
    if auth is not None:
        middleware.append(Middleware(BasicAuth, username=auth[0], password=auth[1]))
    app = Starlette(
        routes=[Route("/healthz", health, methods=["GET"]), *routes],
        middleware=middleware,
        exception_handlers={ApiError: _api_error, HTTPException: http_error},
    )
    # Like the real server: `/clusters/` is not `/clusters`.
    app.router.redirect_slashes = False
    return app


async def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return _json(NotFound(f"No such resource: {request.url.path}").body(), 404)
    return JSONResponse({"message": error.detail}, error.status_code, headers=error.headers)
