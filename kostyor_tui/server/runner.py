"""Run the embedded server: in a background thread (tests, `--demo`) or in the foreground (CLI).

Both bind the listening socket first, so that port 0 means "any free port"
and `.url` is known before the first request.
"""

import logging
import math
import os
import signal
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from kostyor_tui.domain.text import printable
from kostyor_tui.server import connections, discovery, upstream
from kostyor_tui.server.engine import Engine, Failures
from kostyor_tui.server.routes import DEFAULT_MAX_CLUSTERS, create_app
from kostyor_tui.server.seed import apply_seed
from kostyor_tui.server.store import SCHEMA_VERSION, Opened, Store

_STARTUP_TIMEOUT_SECONDS = 30.0
_SHUTDOWN_TIMEOUT_SECONDS = 10.0


@dataclass
class ServerOptions:
    db_path: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    seed: str = "demo"  # "demo" or "empty"; only ever fills an empty database
    step_seconds: float = 1.0
    fail_rate: float = 0.0
    fail_host: str | None = None
    auth: tuple[str, str] | None = None  # (username, password) for HTTP Basic
    random_seed: int | None = None  # makes fail_rate reproducible
    inventory_dirs: tuple[Path, ...] = ()  # where openstack-ansible discovery may read
    max_instances: int = discovery.DEFAULT_MAX_INSTANCES  # per discovered cluster
    max_clusters: int = DEFAULT_MAX_CLUSTERS
    allowed_hosts: tuple[str, ...] = ()  # Host names beyond the bound address and localhost
    keep_alive_seconds: float = connections.DEFAULT_KEEP_ALIVE_SECONDS
    request_seconds: float = connections.DEFAULT_REQUEST_SECONDS
    max_connections: int = connections.DEFAULT_MAX_CONNECTIONS
    # "fixed" (the default) or "upstream": answer as the real server does, quirks included
    # (docs/kostyor-api.md#upstream-mode); no engine runs then.
    behave: str = upstream.FIXED
    # Upstream mode only: POST /upgrades saves, then answers 500 (the task broker is down).
    broker_down: bool = False
    # Upstream mode only: the inventory openstack-ansible discovery reads (inside one of
    # `inventory_dirs`).
    ansible_inventory: Path | None = None

    def __post_init__(self) -> None:
        if self.behave not in upstream.BEHAVIOURS:
            known = ", ".join(upstream.BEHAVIOURS)
            raise ValueError(f"unknown behaviour {self.behave!r} (known: {known})")
        if self.behave != upstream.UPSTREAM and (
            self.broker_down or self.ansible_inventory is not None
        ):
            raise ValueError("broker_down and ansible_inventory apply to upstream mode only")


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that
    # say so, and with Nagle on every keep-alive answer waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class BackgroundServer:
    """A running server: uvicorn in a thread plus the engine thread, over one store."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        failures = Failures(
            rate=options.fail_rate, host=options.fail_host, random_seed=options.random_seed
        )
        self._socket = _bind(options.host, options.port)
        self.url = _url(self._socket)
        self.store = Store(Path(options.db_path))
        try:
            self.opened: Opened = self.store.initialize(
                fill=lambda: apply_seed(self.store, options.seed)
            )
            if options.behave == upstream.FIXED:
                # An upgrade started in upstream mode on this file carries on here.
                self.store.adopt_null_statuses()
        except BaseException:
            self._socket.close()
            raise
        # Upstream mode has none: nothing moves there (docs/kostyor-api.md#quirk-no-progress).
        self.engine: Engine | None = None
        if options.behave == upstream.FIXED:
            self.engine = Engine(self.store, options.step_seconds, failures)
        app = create_app(
            self.store,
            on_change=self.engine.wake if self.engine is not None else lambda: None,
            auth=options.auth,
            limits=discovery.Limits(
                inventory_dirs=tuple(Path(os.path.abspath(d)) for d in options.inventory_dirs),
                max_instances=options.max_instances,
            ),
            max_clusters=options.max_clusters,
            bound_host=options.host,
            allowed_hosts=options.allowed_hosts,
            engine_problem=self.engine.problem if self.engine is not None else lambda: None,
            behave=options.behave,
            upstream_options=upstream.UpstreamOptions(
                broker_down=options.broker_down,
                ansible_inventory=options.ansible_inventory,
            ),
        )
        limits = connections.ConnectionLimits(
            keep_alive_seconds=options.keep_alive_seconds,
            request_seconds=options.request_seconds,
            max_connections=options.max_connections,
        )
        config = uvicorn.Config(
            app,
            http=connections.protocol_with(limits),
            # uvicorn counts whole seconds; a fraction still closes an idle connection.
            timeout_keep_alive=max(1, math.ceil(options.keep_alive_seconds)),
            h11_max_incomplete_event_size=connections.MAX_HEAD_BYTES,
            log_config=None,
            log_level="warning",
            access_log=False,
            lifespan="off",
        )
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._uvicorn.run,
            kwargs={"sockets": [self._socket]},
            name="kostyor-http",
            daemon=True,
        )

    def _start(self) -> None:
        if self.engine is not None:
            self.engine.start()
        self._thread.start()
        # uvicorn offers no event for "listening"; its flag is set once startup is done.
        deadline = time.monotonic() + _STARTUP_TIMEOUT_SECONDS
        while not self._uvicorn.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self._uvicorn.started:
            self.stop()
            raise RuntimeError(f"the Kostyor server on {self.url} did not start")

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        """Stop serving (in-flight requests finish), then the engine, then close the store."""
        self._uvicorn.should_exit = True
        if self._thread.is_alive():
            self._thread.join(_SHUTDOWN_TIMEOUT_SECONDS)
        if self._thread.is_alive():
            self._uvicorn.force_exit = True
            self._thread.join(_SHUTDOWN_TIMEOUT_SECONDS)
        if self.engine is not None:
            self.engine.stop()
        self._socket.close()
        self.store.close()

    def __enter__(self) -> "BackgroundServer":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def start_in_background(options: ServerOptions) -> BackgroundServer:
    """Start a server; return once it accepts connections."""
    server = BackgroundServer(options)
    server._start()
    return server


def _described(opened: Opened, options: ServerOptions) -> str:
    if opened.created:
        # Said out loud: a database deleted by mistake is seen to be new, not taken for it.
        return (
            "new, empty" if options.seed == "empty" else f"new, filled by the {options.seed} seed"
        )
    if opened.version_found < SCHEMA_VERSION:
        return f"migrated from schema version {opened.version_found}"
    return f"schema version {opened.version_found}"


class PrintableFormatter(logging.Formatter):
    """Log lines that text from a request (a path, a name) cannot act on: control
    characters in a message are escaped, so none reaches the terminal showing the log and
    none starts a forged line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return printable(super().formatMessage(record))

    def formatException(self, ei: Any) -> str:
        # A traceback's header, separators and frames (the server's own source) keep their
        # line breaks; anything else (a message, nested ones of an exception group) may
        # quote a request, breaks included.
        return "".join(
            chunk
            if chunk.startswith(("Traceback", "\n", '  File "'))
            else printable(chunk.removesuffix("\n")) + "\n"
            for chunk in traceback.format_exception(*ei)
        ).removesuffix("\n")


def serve(options: ServerOptions) -> int:
    """Serve in the foreground until SIGINT or SIGTERM; print the URL once serving."""
    # Server errors (never request headers, so never credentials) go to stderr.
    log = logging.StreamHandler()
    log.setFormatter(PrintableFormatter("%(asctime)s %(levelname)s %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[log])
    stop_requested = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop_requested.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server = start_in_background(options)
        try:
            print(f"Kostyor API serving on {server.url}", flush=True)
            print(f"Database: {options.db_path} ({_described(server.opened, options)})", flush=True)
            if options.behave == upstream.UPSTREAM:
                print(
                    "Behaviour: upstream, as the real Kostyor server answers, quirks included;"
                    " no upgrade engine runs",
                    flush=True,
                )
            while not stop_requested.wait(0.2):
                if not server.running:
                    print("error: the HTTP server stopped unexpectedly", file=sys.stderr)
                    return 1
        finally:
            server.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
