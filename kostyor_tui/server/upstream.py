"""Upstream mode (`serve --behave upstream`): the embedded server answering as the real
Kostyor server (Flask, 2017) does, quirks included (docs/kostyor-api.md#upstream-mode), so
that a client's handling of the real server is tested end to end over real HTTP and an
operator can rehearse against it.

The same store and the same request guards (credentials, Content-Type, Origin, Host, sizes,
connection limits) as the default mode; the routes below answer as the released server:

- quirk 1: bare lists (docs/kostyor-api.md#quirk-wrapped-lists), as the default mode;
- quirk 2: `GET /clusters/{bad}` and `GET /upgrades/{bad}` answer 500 JSON, and
  `GET /upgrade-versions/{bad}` werkzeug's HTML 500 page (#quirk-unknown-ids);
- quirk 3: `GET /upgrades?cluster_id=` lists every upgrade (#quirk-cluster-filter-ignored);
- quirk 4: a new upgrade's status is null, and stays so until an action is sent; upgrades
  carry no `engine` or `driver` (#quirk-null-upgrade-status);
- quirk 5: `PUT /upgrades/{id}` ignores the id and acts on the cluster's oldest upgrade,
  answering `{"id": CLUSTER_ID, "status": NEW_STATUS}`, every other field null
  (#quirk-action-on-oldest);
- quirk 6: no transition is checked; a new upgrade is refused only while the cluster is
  exactly `UPGRADE IN PROGRESS` (#quirk-no-transition-checks);
- quirk 7: an action on a cluster that never had an upgrade answers 500
  (#quirk-action-without-upgrade);
- quirk 8: with `--broker-down`, `POST /upgrades` saves, then answers 500
  (#quirk-500-after-save);
- quirk 9: unknown paths and trailing slashes answer werkzeug's HTML 404 page, a wrong
  method its HTML 405 page (#quirk-html-errors); there is no step log route;
- quirks 10 and 16: every answer closes its connection, as the real server's HTTP/1.0
  development server does (#quirk-single-threaded, #quirk-closed-connection);
- quirk 12: no engine runs: no version ever changes, nothing finishes (#quirk-no-progress);
- quirk 13: the node-by-node engine fails after saving on a service it does not know
  (#quirk-engine-raises-after-save);
- quirk 14: a cluster at `unknown` lists every release (#quirk-versions-for-unknown);
- quirk 15: discovery stores services with a null version; `openstack-ansible` takes no
  parameters and reads the inventory the server was given (`--ansible-inventory`);
  `openstack` answers a bare 500, for no cloud is reachable from here
  (#quirk-discovery-parameters).

Beyond the real server: the `simulated` discovery method (so that a rehearsal has
clusters) and `GET /healthz`. Refusals and messages are the released server's own.
"""

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kostyor_tui.domain.lifecycle import ACTIONS, UNKNOWN_VERSION, Action
from kostyor_tui.domain.order import (
    DEFAULT_DRIVER,
    DEFAULT_ENGINE,
    KNOWN_DRIVERS,
    KNOWN_ENGINES,
    NODE_BY_NODE,
)
from kostyor_tui.server import discovery, releases
from kostyor_tui.server.errors import BadRequest, InternalServerError, NotFound
from kostyor_tui.server.store import Store
from kostyor_tui.server.topology import HostSpec
from kostyor_tui.server.validation import Field, read_json_body, validate

logger = logging.getLogger(__name__)

FIXED = "fixed"
UPSTREAM = "upstream"
BEHAVIOURS: tuple[str, ...] = (FIXED, UPSTREAM)


@dataclass(frozen=True)
class UpstreamOptions:
    """What upstream mode is told beyond the default mode's options."""

    # The task broker is down: POST /upgrades saves, then answers 500 (quirk 8).
    broker_down: bool = False
    # "Ansible's configured inventory", which openstack-ansible discovery reads (quirk 15).
    ansible_inventory: Path | None = None


# The service names the released node-by-node engine knows (its built-in upgrade scenario,
# in Kostyor's kostyor/upgrades/engines/nodebynode.py): it sorts a cluster's hosts by them
# after the upgrade is saved, and fails on any other name (quirk 13). `keystone`, `horizon`
# (the simulated topology's) and the `keystone-api` style names of the real `openstack`
# discovery are not among them; the OpenStack-Ansible inventory's names all are.
def _named(project: str, *daemons: str) -> tuple[str, ...]:
    return tuple(f"{project}-{daemon}" for daemon in daemons)


NODE_BY_NODE_SERVICES: frozenset[str] = frozenset(
    (
        *_named("keystone", "wsgi-admin", "wsgi-public"),
        *_named("glance", "api", "registry"),
        *_named("nova", "conductor", "scheduler", "cells", "cert", "console", "consoleauth"),
        *_named("nova", "network", "novncproxy", "serialproxy", "spicehtml5proxy"),
        *_named("nova", "xvpvncproxy", "api", "api-metadata", "api-os-compute", "compute"),
        *_named("neutron", "server", "openvswitch-agent", "linuxbridge-agent"),
        *_named("neutron", "sriov-nic-agent", "l3-agent", "dhcp-agent", "metering-agent"),
        *_named("neutron", "metadata-agent", "ns-metadata-proxy"),
        *_named("cinder", "api", "scheduler", "volume"),
        *_named("horizon", "wsgi"),
        *_named("heat", "api", "engine", "api-cfn", "api-cloudwatch"),
        *_named("ceilometer", "collector", "agent-notification", "polling", "api"),
        *_named("aodh", "evaluator", "notifier", "listener", "api"),
        *_named("gnocchi", "statsd", "metricd", "api"),
        *_named("swift", "proxy-server"),
        *_named("swift-account", "auditor", "reaper", "replicator", "server"),
        *_named("swift-container", "auditor", "reconciler", "replicator", "server", "sync"),
        *_named("swift-container", "updater"),
        *_named("swift-object", "auditor", "expirer", "reconstructor", "replicator", "server"),
        *_named("swift-object", "updater"),
        *_named("ironic", "inspector", "conductor", "api"),
    )
)

DISCOVERY_METHODS: tuple[str, ...] = ("openstack", "openstack-ansible", "simulated")

# Upgrade fields as the real server answers them: no `engine`, no `driver`.
UPGRADE_FIELDS: tuple[str, ...] = (
    "id",
    "cluster_id",
    "from_version",
    "to_version",
    "status",
    "upgrade_start_time",
    "upgrade_end_time",
)

_INVALID = 'Cannot {what}, passed data are incorrect. See "errors" attribute for details.'
DISCOVER_SCHEMA = {
    "name": Field(required=True),
    "method": Field(required=True, allowed=DISCOVERY_METHODS),
    "parameters": Field(kind="mapping"),
}
UPGRADE_SCHEMA = {
    "cluster_id": Field(required=True),
    # The real server's release list includes `unknown`, refused later as not later.
    "to_version": Field(required=True, allowed=(UNKNOWN_VERSION, *releases.RELEASES)),
    "engine": Field(allowed=KNOWN_ENGINES),
    "driver": Field(allowed=KNOWN_DRIVERS),
    "parameters": Field(kind="mapping"),
}
ACTION_SCHEMA = {
    "cluster_id": Field(required=True),
    "action": Field(required=True, allowed=ACTIONS),
}

# werkzeug's error pages, as the real server's framework sends them.
_PAGES: dict[int, tuple[str, str]] = {
    404: (
        "Not Found",
        "The requested URL was not found on the server.  If you entered the URL manually"
        " please check your spelling and try again.",
    ),
    405: ("Method Not Allowed", "The method is not allowed for the requested URL."),
    500: (
        "Internal Server Error",
        "The server encountered an internal error and was unable to complete your request."
        "  Either the server is overloaded or there is an error in the application.",
    ),
}


def html_page(status: int, headers: Mapping[str, str] | None = None) -> Response:
    """werkzeug's HTML page for `status` (404, 405 or 500)."""
    name, description = _PAGES[status]
    body = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
        f"<title>{status} {name}</title>\n<h1>{name}</h1>\n<p>{description}</p>\n"
    )
    return Response(body, status, headers={**(headers or {}), "Content-Type": "text/html"})


async def http_error(request: Request, error: Exception) -> Response:
    """No route for the path (or a trailing slash): HTML 404; not for the method: HTML 405."""
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        # Every method the path has, as werkzeug says (Starlette names one route's only).
        allowed: set[str] = set()
        for route in request.app.router.routes:
            match, _ = route.matches(request.scope)
            if match is Match.PARTIAL and isinstance(route, Route) and route.methods:
                allowed |= route.methods
        return html_page(405, {"Allow": ", ".join(sorted(allowed))})
    if error.status_code in _PAGES:
        return html_page(error.status_code, error.headers)
    return JSONResponse({"message": error.detail}, error.status_code, headers=error.headers)


class CloseConnections:
    """Every answer closes its connection, as with the real server's HTTP/1.0 development
    server (docs/kostyor-api.md#quirk-single-threaded, #quirk-closed-connection): a client
    opens a new connection for its next request, its re-read after a failed POST or PUT
    included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing_send)


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code)


def as_released(upgrade: Mapping[str, Any]) -> dict[str, Any]:
    """An upgrade with the real server's fields only."""
    return {field: upgrade.get(field) for field in UPGRADE_FIELDS}


def _cluster_not_found(cluster_id: str) -> NotFound:
    return NotFound(f'Cluster (ID="{cluster_id}") not found.')


def routes(
    store: Store,
    *,
    limits: discovery.Limits,
    max_clusters: int,
    options: UpstreamOptions,
) -> list[Route]:
    """The API's routes as the real server answers them (see the module's docstring)."""

    async def list_clusters(request: Request) -> Response:
        return _json(await run_in_threadpool(store.list_clusters))

    async def get_cluster(request: Request) -> Response:
        try:
            cluster = await run_in_threadpool(store.get_cluster, request.path_params["cluster_id"])
        except NotFound:
            # Quirk 2: its lookup raises, and its framework answers a bare 500.
            raise InternalServerError() from None
        return _json(cluster)

    async def list_hosts(request: Request) -> Response:
        cluster_id = request.path_params["cluster_id"]
        try:
            return _json(await run_in_threadpool(store.list_hosts, cluster_id))
        except NotFound:
            raise _cluster_not_found(cluster_id) from None

    async def list_services(request: Request) -> Response:
        cluster_id = request.path_params["cluster_id"]
        try:
            return _json(await run_in_threadpool(store.list_services, cluster_id))
        except NotFound:
            raise _cluster_not_found(cluster_id) from None

    async def discovery_methods(request: Request) -> Response:
        return _json(list(DISCOVERY_METHODS))

    def configured_inventory() -> list[HostSpec]:
        """The hosts of "Ansible's configured inventory": the file of --ansible-inventory."""
        path = options.ansible_inventory
        if path is None:
            logger.error(
                "openstack-ansible discovery: Ansible has no inventory here (serve"
                " --ansible-inventory PATH); answered 500, as the real server does"
            )
            raise InternalServerError()
        try:
            return discovery.inventory_hosts(
                discovery.allowed_inventory_path(str(path), limits), limits
            )
        except BadRequest as error:
            logger.error(
                "openstack-ansible discovery: the Ansible inventory %s cannot be used: %s",
                path,
                error.errors or error.message,
            )
            raise InternalServerError() from None

    async def discover(request: Request) -> Response:
        fields = validate(
            await read_json_body(request),
            DISCOVER_SCHEMA,
            _INVALID.format(what="discover a cluster"),
        )
        method, name = fields["method"], fields["name"].strip()
        parameters: dict[str, str] = fields.get("parameters", {})
        if method == "openstack":
            # It would call the cloud's APIs at `auth_url`; this server calls nothing on a
            # client's say-so, and the cloud cannot be reached: a bare 500. Nothing of the
            # parameters is logged (a password is one of them).
            logger.error(
                "openstack discovery of %r: the cloud cannot be reached from here (upstream"
                " mode calls no cloud); answered 500, as the real server does",
                name,
            )
            raise InternalServerError()
        if method == "openstack-ansible":
            if parameters:
                # Its driver class takes no arguments, and is called with the parameters.
                raise InternalServerError("Driver() takes no arguments")
            version, hosts = UNKNOWN_VERSION, await run_in_threadpool(configured_inventory)
        else:
            found = await run_in_threadpool(discovery.discover_simulated, parameters, limits)
            version, hosts = found.version, found.hosts
        cluster = await run_in_threadpool(
            lambda: store.add_cluster(
                name, version, hosts, max_clusters=max_clusters, service_versions=False
            )
        )
        return _json(cluster, 201)

    async def upgrade_versions(request: Request) -> Response:
        try:
            cluster = await run_in_threadpool(store.get_cluster, request.path_params["cluster_id"])
        except NotFound:
            # Quirk 2: a plain Flask route, so werkzeug's HTML page.
            return html_page(500)
        version = cluster["version"]
        if version == UNKNOWN_VERSION:
            # Quirk 14: `unknown` comes first in its release list.
            return _json(list(releases.RELEASES))
        return _json(releases.later_releases(version))

    async def all_versions(request: Request) -> Response:
        return _json(list(releases.RELEASES))

    async def list_upgrades(request: Request) -> Response:
        # Quirk 3: ?cluster_id= is not looked at.
        upgrades = await run_in_threadpool(store.list_upgrades, None)
        return _json([as_released(upgrade) for upgrade in upgrades])

    async def start_upgrade(request: Request) -> Response:
        fields = validate(
            await read_json_body(request),
            UPGRADE_SCHEMA,
            _INVALID.format(what="create an upgrade task"),
        )
        cluster_id, engine = fields["cluster_id"], fields.get("engine", DEFAULT_ENGINE)
        upgrade = await run_in_threadpool(
            lambda: store.create_upgrade_as_released(
                cluster_id,
                fields["to_version"],
                engine=engine,
                driver=fields.get("driver", DEFAULT_DRIVER),
                parameters=fields.get("parameters", {}),
            )
        )
        # Saved and committed, the cluster in progress. What the real server does next
        # may still fail, and then its answer is a 500 all the same.
        if engine == NODE_BY_NODE:
            unknown = await run_in_threadpool(store.service_names, cluster_id)
            unknown -= NODE_BY_NODE_SERVICES
            if unknown:
                logger.error(
                    "Upgrade %s saved; then the node-by-node engine failed, as the real one"
                    " does, on services it does not know: %s (quirk 13)",
                    upgrade["id"],
                    ", ".join(sorted(unknown)[:10]),
                )
                raise InternalServerError()
        if options.broker_down:
            logger.error(
                "Upgrade %s saved; then its tasks could not be sent: the task broker is down"
                " (serve --broker-down, quirk 8)",
                upgrade["id"],
            )
            raise InternalServerError()
        return _json(as_released(upgrade), 201)

    async def get_upgrade(request: Request) -> Response:
        try:
            upgrade = await run_in_threadpool(store.get_upgrade, request.path_params["upgrade_id"])
        except NotFound:
            raise InternalServerError() from None  # quirk 2
        return _json(as_released(upgrade))

    async def act_on_upgrade(request: Request) -> Response:
        fields = validate(
            await read_json_body(request),
            ACTION_SCHEMA,
            _INVALID.format(what="update an upgrade task"),
        )
        # Quirk 5: the id in the path is not looked at.
        cluster_id = fields["cluster_id"]
        status = await run_in_threadpool(store.act_on_oldest, cluster_id, Action(fields["action"]))
        if status is None:
            logger.error(
                "%s on cluster %s, which never had an upgrade: answered 500, as the real"
                " server does (quirk 7)",
                fields["action"],
                cluster_id,
            )
            raise InternalServerError()
        return _json({**dict.fromkeys(UPGRADE_FIELDS), "id": cluster_id, "status": status})

    return [
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
    ]
