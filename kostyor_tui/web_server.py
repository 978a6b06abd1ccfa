"""textual-serve's server with kostyor-tui's guard: the token, the cookie, the origin
(see `kostyor_tui.web`). Imported only by `kostyor-tui web`, with the web extra."""

from __future__ import annotations

import asyncio
import hmac
import logging
import signal
import socket

import aiohttp_jinja2
from aiohttp import web
from aiohttp.typedefs import Handler
from textual_serve.server import Server

TOKEN_PARAMETER = "token"
COOKIE = "kostyor_web_token"
_STATIC = "/static/"
_REFUSED = "403: open the URL kostyor-tui web printed (with its token) in this browser first"


def token_matches(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


class GuardedServer(Server):
    """Serves `command` on an already bound socket; every request but the static assets
    needs the token (see `kostyor_tui.web`)."""

    def __init__(self, command: str, *, sock: socket.socket, token: str, title: str) -> None:
        host, port = sock.getsockname()[:2]
        super().__init__(command, host=host, port=port, title=title)
        self._socket = sock
        self._token = token

    @property
    def url(self) -> str:
        """Where to open the console: the server's address, with the token."""
        host, port = self._socket.getsockname()[:2]
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/?{TOKEN_PARAMETER}={self._token}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        app.middlewares.append(self._guard)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(_STATIC):
            return await handler(request)
        given = request.query.get(TOKEN_PARAMETER)
        if given is not None:
            if not token_matches(given, self._token):
                raise web.HTTPForbidden(text=_REFUSED)
            # Into a cookie, and off the address bar: `/` without the token.
            response = web.HTTPSeeOther("/")
            response.set_cookie(COOKIE, self._token, httponly=True, samesite="Strict", path="/")
            raise response
        if not token_matches(request.cookies.get(COOKIE), self._token):
            raise web.HTTPForbidden(text=_REFUSED)
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            # A page of another site driving this console through the browser's cookie.
            raise web.HTTPForbidden(text="403: a page of another origin")
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.Response:
        """textual-serve's page, its URLs made from the address the browser used."""
        base = f"{request.scheme}://{request.host}"
        scheme = "wss" if request.scheme == "https" else "ws"
        context = {
            "font_size": 16,
            "app_websocket_url": f"{scheme}://{request.host}/ws",
            "config": {"static": {"url": f"{base}{_STATIC}"}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: the CLI has printed the URL (textual-serve's banner would not have the
        token, and would print the command)."""

    def serve(self, debug: bool = False) -> None:
        # Warnings only, and no access log: a request's URL may hold the token.
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(message)s")
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.request_exit)
        web.run_app(
            self._make_app(),
            sock=self._socket,
            handle_signals=False,
            loop=loop,
            print=None,
            access_log=None,
        )
