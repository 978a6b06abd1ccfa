"""The HTTP API (contract section 1, with the fixes of section 4) as a Starlette app."""

import base64
import binascii
import hmac
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from kostyor_tui.domain.lifecycle import ACTIONS, Action
from kostyor_tui.domain.order import DEFAULT_DRIVER, DEFAULT_ENGINE, KNOWN_ENGINES
from kostyor_tui.server import discovery, releases
from kostyor_tui.server.errors import ApiError, NotFound, PayloadTooLarge
from kostyor_tui.server.store import Store
from kostyor_tui.server.validation import Field, parse_json_object, validate

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024

DISCOVER_SCHEMA = {
    "name": Field(required=True),
    "method": Field(required=True, allowed=tuple(discovery.METHODS)),
    "parameters": Field(kind="mapping"),
}
UPGRADE_SCHEMA = {
    "cluster_id": Field(required=True),
    "to_version": Field(required=True),
    "engine": Field(allowed=KNOWN_ENGINES),
    "driver": Field(),
    "parameters": Field(kind="mapping"),
}
ACTION_SCHEMA = {
    "cluster_id": Field(),
    "action": Field(required=True, allowed=ACTIONS),
}


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


async def _body(request: Request) -> dict[str, Any]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        chunks.append(chunk)
    return parse_json_object(b"".join(chunks))


def create_app(
    store: Store,
    *,
    on_change: Callable[[], None] = lambda: None,
    auth: tuple[str, str] | None = None,
) -> Starlette:
    """The API over `store`; `on_change` is called after an upgrade is started or acted on."""

    async def list_clusters(request: Request) -> Response:
        return _json(await run_in_threadpool(store.list_clusters))

    async def get_cluster(request: Request) -> Response:
        return _json(await run_in_threadpool(store.get_cluster, request.path_params["cluster_id"]))

    async def list_hosts(request: Request) -> Response:
        return _json(await run_in_threadpool(store.list_hosts, request.path_params["cluster_id"]))

    async def list_services(request: Request) -> Response:
        cluster_id = request.path_params["cluster_id"]
        return _json(await run_in_threadpool(store.list_services, cluster_id))

    async def discovery_methods(request: Request) -> Response:
        return _json(list(discovery.METHODS))

    async def discover(request: Request) -> Response:
        fields = validate(await _body(request), DISCOVER_SCHEMA)
        method = discovery.METHODS[fields["method"]]
        found = await run_in_threadpool(method, fields.get("parameters", {}))
        cluster = await run_in_threadpool(
            store.add_cluster, fields["name"].strip(), found.version, found.hosts
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
        fields = validate(await _body(request), UPGRADE_SCHEMA)
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
        fields = validate(await _body(request), ACTION_SCHEMA)
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
        await run_in_threadpool(store.get_upgrade, upgrade_id)
        return _json(await run_in_threadpool(store.step_log, upgrade_id))

    routes = [
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
    app = Starlette(
        routes=routes,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    # Like the real server: `/clusters/` is not `/clusters`.
    app.router.redirect_slashes = False
    if auth is not None:
        app.add_middleware(BasicAuth, username=auth[0], password=auth[1])
    return app


async def _api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return _json(error.body(), error.status_code)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return _json(NotFound(f"No such resource: {request.url.path}").body(), 404)
    return JSONResponse({"message": error.detail}, error.status_code, headers=error.headers)


async def _server_error(request: Request, error: Exception) -> Response:
    logger.exception("Unexpected error on %s %s", request.method, request.url.path)
    return _json({"message": "Internal Server Error"}, 500)


class BasicAuth:
    """Every request needs HTTP Basic credentials; a 401 JSON answer otherwise."""

    def __init__(self, app: ASGIApp, username: str, password: str) -> None:
        self.app = app
        self._expected = f"{username}:{password}".encode()

    def _authorised(self, scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                scheme, _, encoded = value.partition(b" ")
                if scheme.lower() != b"basic":
                    return False
                try:
                    given = base64.b64decode(encoded.strip(), validate=True)
                except (binascii.Error, ValueError):
                    return False
                return hmac.compare_digest(given, self._expected)
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"message": "Authentication required: send valid HTTP Basic credentials."},
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="kostyor"'},
        )
        await response(scope, receive, send)
