"""Pure ASGI middleware around the API: what every request meets before any route.

- `ErrorBoundary` turns any unexpected exception into a JSON 500 and returns normally:
  an exception that reaches uvicorn makes it close the connection without saying so,
  and the client's next request on that connection fails.
- `RequestGuard` refuses requests that a web page, rather than a Kostyor client, made:
  a `Host` that names another server (DNS rebinding: a page whose name was re-pointed
  at this server) and an `Origin` that is not this server's own (cross-site requests).
- `BasicAuth` requires HTTP Basic credentials when the server has them.
"""

import base64
import binascii
import hmac
import ipaddress
import logging
from collections.abc import Collection
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kostyor_tui.server.errors import ApiError, Forbidden, MisdirectedRequest

logger = logging.getLogger(__name__)

# Always this server: a page cannot make a browser send these for another name.
LOCAL_NAMES = frozenset({"localhost"})
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Paths that need no credentials: they reveal only whether the server is well.
OPEN_PATHS = frozenset({"/healthz"})


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), error.status_code, headers=error.headers())


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


class ErrorBoundary:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except ClientDisconnect:
            return  # no one is left to answer
        except Exception:
            logger.exception("Unexpected error on %s %s", scope["method"], scope["path"])
            if started:
                return  # half an answer went out: uvicorn closes that connection, as it must
            answer = JSONResponse(
                {
                    "message": "Internal Server Error: the server met an unexpected problem;"
                    " its cause is in the server's log."
                },
                500,
            )
            await answer(scope, receive, send)


def _split_host(value: str) -> tuple[str, int | None] | None:
    """`Example.com.:5055` -> ("example.com", 5055), `[::1]` -> ("::1", None); None if invalid."""
    try:
        parts = urlsplit(f"//{value.strip()}")
        return (parts.hostname or "").rstrip("."), parts.port
    except ValueError:
        return None


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class RequestGuard:
    """Refuses a foreign `Host` (421) and a foreign `Origin` (403).

    A Host is this server's when it is an IP address (DNS rebinding needs a name),
    `localhost`, the name the server was bound to, or one of `allowed_hosts` (names a
    reverse proxy passes on). An Origin, when sent, must have the Host's name and port.
    """

    def __init__(self, app: ASGIApp, *, bound_host: str, allowed_hosts: Collection[str]) -> None:
        self.app = app
        self._names = LOCAL_NAMES | {name.lower().rstrip(".") for name in allowed_hosts}
        if not _is_ip_address(bound_host):
            self._names |= {bound_host.lower().rstrip(".")}

    def _refusal(self, scope: Scope) -> ApiError | None:
        host_header = _header(scope, b"host")
        host = _split_host(host_header) if host_header is not None else None
        if host_header is not None and (
            host is None or not (_is_ip_address(host[0]) or host[0] in self._names)
        ):
            return MisdirectedRequest(
                f"This server does not answer to the host name {host_header[:100]!a}"
                " (a protection against DNS rebinding): use its address, or start it with"
                " --allowed-host NAME."
            )
        origin = _header(scope, b"origin")
        if origin is not None and not self._same_origin(origin, host):
            return Forbidden(
                "Cross-site request refused: the Origin header is not this server's own."
            )
        return None

    def _same_origin(self, origin: str, host: tuple[str, int | None] | None) -> bool:
        try:
            parts = urlsplit(origin)
            scheme, name, port = parts.scheme, (parts.hostname or "").rstrip("."), parts.port
        except ValueError:
            return False
        if host is None or scheme not in _DEFAULT_PORTS:
            return False  # `null` (a sandboxed page or a file) or no Host to compare with
        # A Host without a port came by the origin's scheme's default one (a reverse proxy).
        default = _DEFAULT_PORTS[scheme]
        return (name, port or default) == (host[0], host[1] or default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope) if scope["type"] == "http" else None
        if refusal is None:
            await self.app(scope, receive, send)
        else:
            await error_response(refusal)(scope, receive, send)


class BasicAuth:
    """Every request (but OPEN_PATHS) needs HTTP Basic credentials; a 401 JSON answer otherwise."""

    def __init__(self, app: ASGIApp, username: str, password: str) -> None:
        self.app = app
        self._expected = f"{username}:{password}".encode()

    def _authorised(self, scope: Scope) -> bool:
        value = _header(scope, b"authorization")
        if value is None:
            return False
        scheme, _, encoded = value.encode("latin-1").partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(given, self._expected)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._authorised(scope):
            await self.app(scope, receive, send)
            return
        response = JSONResponse(
            {"message": "Authentication required: send valid HTTP Basic credentials."},
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="kostyor"'},
        )
        await response(scope, receive, send)
