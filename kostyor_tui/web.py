"""`kostyor-tui web`: the console in a browser, served by textual-serve (the `web` extra).

Each browser tab gets its own console process, started with the same profile and
config options as `web` was given. The server listens on loopback unless told
otherwise, and every request needs the one token generated when it starts (printed
in the URL): the token in the URL's query is exchanged for a cookie (HttpOnly,
SameSite=Strict) and the browser sent on to `/` without it, so that it stays out of the
address bar and history; the websocket that drives the console needs the cookie too,
from a page of the same origin. A non-loopback address is refused unless
`--allow-remote` says so: the token still guards it, but over plain HTTP anyone on
the path can read it, so an SSH tunnel to loopback is the way (README: In a browser).

The page's links are made from the address the browser used, so that it works through
a tunnel whose local port differs from the server's.
"""

from __future__ import annotations

import os
import secrets
import shlex
import socket
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kostyor_tui.domain.network import is_loopback
from kostyor_tui.errors import KostyorTuiError, UsageError

TITLE = "kostyor-tui"
ENV_API_URL = "KOSTYOR_API_URL"
_INSTALL_HINT = "install the web extra: pip install 'kostyor-tui[web]'"


@dataclass(frozen=True)
class ConsoleOptions:
    """The options each browser's console is started with (the CLI's global options)."""

    config: Path | None = None
    profile: str | None = None
    api_url: str | None = None
    insecure: bool = False
    read_only: bool = False
    refresh: float | None = None

    def command(self) -> str:
        """The shell command textual-serve runs for each browser: this kostyor-tui's
        console, with these options (each quoted); the API URL goes by `environment`."""
        words = [sys.executable, "-m", "kostyor_tui"]
        if self.config is not None:
            words += ["--config", str(self.config.resolve())]
        if self.profile is not None:
            words += ["--profile", self.profile]
        if self.insecure:
            words.append("--insecure")
        if self.read_only:
            words.append("--read-only")
        if self.refresh is not None:
            words += ["--refresh", repr(self.refresh)]
        return shlex.join(words)

    def environment(self) -> dict[str, str]:
        """What each console's environment adds: the API URL, which may hold a password,
        goes there rather than on a command line every local user can read (`ps`);
        the variable overrides the profile as --api-url does."""
        return {} if self.api_url is None else {ENV_API_URL: self.api_url}


def check_host(host: str, *, allow_remote: bool) -> None:
    if not is_loopback(host) and not allow_remote:
        raise UsageError(
            f"kostyor-tui web listens on loopback only; {host!r} is not a loopback address",
            hint="reach it through an SSH tunnel (ssh -L), or give --allow-remote to serve "
            "it on the network (plain HTTP: the token in the URL guards it)",
        )


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as error:
        sock.close()
        raise KostyorTuiError(
            f"cannot listen on {host}:{port}: {error.strerror or error}"
        ) from None
    return sock


def serve_console(
    options: ConsoleOptions,
    *,
    host: str,
    port: int,
    allow_remote: bool,
    stdout: TextIO,
) -> int:
    """Serve the console until SIGINT or SIGTERM; print the URL (with its token) first."""
    check_host(host, allow_remote=allow_remote)
    try:
        from kostyor_tui.web_server import GuardedServer
    except ImportError as error:
        raise KostyorTuiError(
            f"kostyor-tui web needs textual-serve ({error.name} is missing)", hint=_INSTALL_HINT
        ) from None
    # textual-serve starts each console with this process's environment.
    os.environ.update(options.environment())
    token = secrets.token_urlsafe(32)
    sock = bind(host, port)
    server = GuardedServer(options.command(), sock=sock, token=token, title=TITLE)
    print(f"Serving the console on {server.url}", file=stdout, flush=True)
    print(
        "Open that URL (its token is needed, once per browser); Ctrl+C stops serving.",
        file=stdout,
        flush=True,
    )
    server.serve()
    return 0
