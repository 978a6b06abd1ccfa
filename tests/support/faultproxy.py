"""A loopback HTTP proxy that injects faults in front of a real server.

The proxy runs its own asyncio loop in a background thread, so sync tests
(the headless CLI, subprocesses) and async tests (the Textual app) can both
use it. Without a fault it forwards every request to the upstream server and
relays the answer. A fault replaces the answer (or the connection) for the
requests it matches, by method and path pattern, every time or a given number
of times. Every request received is recorded, so a test can assert that no
POST or PUT was sent twice.

    with FaultProxy(server.url) as proxy:
        proxy.inject(Fault.status_500_html(method="GET", path=r"^/clusters$"))
        ...
        proxy.clear()
        assert proxy.count("POST", r"^/upgrades$") == 1
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

FaultKind = Literal[
    "refused",
    "reset",
    "slow",
    "status",
    "truncated",
    "close",
]

_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}

HTML_500 = (
    b"<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 3.2 Final//EN'>\n"
    b"<title>500 Internal Server Error</title>\n<h1>Internal Server Error</h1>\n"
    b"<p>The server encountered an internal error and was unable to complete your request.</p>\n"
)
HTML_404 = (
    b"<!DOCTYPE HTML PUBLIC '-//W3C//DTD HTML 3.2 Final//EN'>\n"
    b"<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    b"<p>The requested URL was not found on the server.</p>\n"
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the proxy received it, and the fault (if any) it met."""

    method: str
    path: str  # the query string included
    fault: str | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return _header(list(self.headers), name.lower())

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Fault:
    """What to do instead of a plain relay, for the requests it matches.

    `method` and `path` (a regex searched in the path, query included) scope the
    fault; `times` limits how many requests it hits (None: all of them).
    `forward` sends the request upstream first and throws the real answer away,
    so the server acts on it although the client sees the fault (like the real
    server's 500 after saving an upgrade).
    """

    kind: FaultKind
    name: str
    method: str | None = None
    path: str | None = None
    times: int | None = None
    forward: bool = False
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    delay: float = 0.0
    hits: int = field(default=0, compare=False)

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None

    # Ready-made faults, one per kind of trouble the client must survive.

    @classmethod
    def reset(cls, **scope: Any) -> Fault:
        """Headers and half a body, then a TCP reset."""
        return cls("reset", "reset", **scope)

    @classmethod
    def close(cls, **scope: Any) -> Fault:
        """Read the request and close the connection without answering."""
        return cls("close", "close", **scope)

    @classmethod
    def slow(cls, delay: float, *, forward: bool = True, **scope: Any) -> Fault:
        """Answer only after `delay` seconds.

        With `forward` the server gets the request at once (it acts, the answer is
        late); without, the request reaches the server only after the delay.
        """
        return cls("slow", "slow", delay=delay, forward=forward, **scope)

    @classmethod
    def status_500_json(cls, **scope: Any) -> Fault:
        body = json.dumps({"message": "Internal Server Error"}).encode()
        return cls("status", "500-json", status=500, body=body, **scope)

    @classmethod
    def status_500_html(cls, **scope: Any) -> Fault:
        return cls(
            "status", "500-html", status=500, content_type="text/html", body=HTML_500, **scope
        )

    @classmethod
    def not_found_html(cls, **scope: Any) -> Fault:
        return cls(
            "status", "404-html", status=404, content_type="text/html", body=HTML_404, **scope
        )

    @classmethod
    def respond(
        cls, status: int, body: bytes, content_type: str = "application/json", **scope: Any
    ) -> Fault:
        """Any canned answer."""
        return cls(
            "status",
            f"respond-{status}",
            status=status,
            body=body,
            content_type=content_type,
            **scope,
        )

    @classmethod
    def truncated(cls, **scope: Any) -> Fault:
        """Content-Length promises more than is sent, then the connection closes."""
        return cls("truncated", "truncated", body=b'[{"id": "1", "name": "tr', **scope)

    @classmethod
    def invalid_json(cls, **scope: Any) -> Fault:
        return cls("status", "invalid-json", body=b'{"id": "1", "name": oops', **scope)

    @classmethod
    def wrong_shape(cls, payload: Any, **scope: Any) -> Fault:
        """Valid JSON that is not what the endpoint returns (`payload` is sent as JSON)."""
        return cls("status", "wrong-shape", body=json.dumps(payload).encode(), **scope)


class FaultProxy:
    """A loopback proxy to `upstream_url`, on a free port, with switchable faults."""

    def __init__(self, upstream_url: str, *, host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"upstream URL needs a host and a port: {upstream_url!r}")
        self._upstream = (parts.hostname, parts.port)
        self._upstream_prefix = parts.path.rstrip("/")
        self._host = host
        self._port = 0
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._requests: list[RecordedRequest] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    # Life cycle

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}"

    def start(self) -> FaultProxy:
        if self._thread is not None:
            raise RuntimeError("proxy already started")
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="faultproxy", daemon=True
        )
        self._thread.start()
        self._call(self._listen())
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        self._call(self._close_listener())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()
        self._loop = None
        self._thread = None

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # Faults

    def inject(self, fault: Fault) -> Fault:
        """Add a fault; the first matching fault wins. `refused` closes the port."""
        if fault.kind == "refused":
            self._call(self._close_listener())
        with self._lock:
            self._faults.append(fault)
        return fault

    def refuse_connections(self) -> Fault:
        """Close the listening port (and open connections): connection refused."""
        return self.inject(Fault("refused", "refused"))

    def clear(self) -> None:
        """Remove every fault and listen again if the port was closed."""
        with self._lock:
            refused = any(f.kind == "refused" for f in self._faults)
            self._faults.clear()
        if refused:
            self._call(self._listen())

    # Record

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def count(self, method: str, path: str | None = None) -> int:
        """How many requests with this method (and path regex) reached the proxy."""
        return sum(
            1
            for r in self.requests
            if r.method == method.upper() and (path is None or re.search(path, r.path))
        )

    def mutations(self) -> list[RecordedRequest]:
        """Every POST, PUT, PATCH and DELETE received, in order."""
        return [r for r in self.requests if r.method in {"POST", "PUT", "PATCH", "DELETE"}]

    def reset_log(self) -> None:
        with self._lock:
            self._requests.clear()

    # Internals: everything below runs on the proxy's own loop.

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _close_listener(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        await self._drop_connections()

    async def _drop_connections(self) -> None:
        # Let connections accepted just before the close start their handler,
        # so that cancelling it also closes their socket.
        for _ in range(5):
            await asyncio.sleep(0)
        tasks = list(self._connections)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
            task.add_done_callback(self._connections.discard)
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                keep_open = await self._handle(request, writer)
                if not keep_open:
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # The proxy is stopping or refusing connections: this connection just ends.
            # Ending normally keeps asyncio from logging the handler's cancellation.
            pass
        finally:
            with contextlib.suppress(Exception):
                writer.close()

    async def _handle(self, request: _Request, writer: asyncio.StreamWriter) -> bool:
        fault = self._match(request)
        with self._lock:
            self._requests.append(
                RecordedRequest(
                    request.method,
                    request.path,
                    fault.name if fault else None,
                    tuple(request.headers),
                    request.body,
                )
            )
        upstream = await self._forward(request) if fault is None or fault.forward else None
        if fault is None:
            assert upstream is not None
            status, headers, body = upstream
            await _respond(writer, status, headers, body, request.keep_alive)
            return request.keep_alive

        if fault.kind == "slow":
            await asyncio.sleep(fault.delay)
            status, headers, body = upstream or await self._forward(request)
            await _respond(writer, status, headers, body, keep_alive=False)
            return False
        if fault.kind == "close":
            return False
        if fault.kind == "reset":
            head = _head(200, [("Content-Type", "application/json")], 4096, keep_alive=True)
            writer.write(head + b'[{"id": "1", "name": "half')
            await writer.drain()
            _abort_with_reset(writer)
            return False
        if fault.kind == "truncated":
            head = _head(200, [("Content-Type", fault.content_type)], len(fault.body) + 500, False)
            writer.write(head + fault.body)
            await writer.drain()
            return False
        await _respond(
            writer, fault.status, [("Content-Type", fault.content_type)], fault.body, False
        )
        return False

    def _match(self, request: _Request) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.kind != "refused" and fault.matches(request.method, request.path):
                    fault.hits += 1
                    return fault
        return None

    async def _forward(self, request: _Request) -> tuple[int, list[tuple[str, str]], bytes]:
        host, port = self._upstream
        try:
            reader, writer = await asyncio.open_connection(host, port)
        except OSError as error:
            # As a real reverse proxy would: the client learns the upstream is down.
            body = f"upstream {host}:{port} unreachable: {error}".encode()
            return 502, [("Content-Type", "text/plain")], body
        try:
            lines = [f"{request.method} {self._upstream_prefix}{request.path} HTTP/1.1"]
            for name, value in request.headers:
                if name.lower() not in {"connection", "keep-alive", "content-length"}:
                    lines.append(f"{name}: {value}")
            lines.append(f"Content-Length: {len(request.body)}")
            lines.append("Connection: close")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + request.body)
            await writer.drain()
            return await _read_response(reader)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


@dataclass
class _Request:
    method: str
    path: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def keep_alive(self) -> bool:
        connection = _header(self.headers, "connection") or ""
        if self.version == "HTTP/1.0":
            return connection.lower() == "keep-alive"
        return connection.lower() != "close"


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def _read_head(reader: asyncio.StreamReader) -> list[str] | None:
    try:
        raw = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    return raw.decode("latin-1").split("\r\n")[:-2]


def _parse_headers(lines: list[str]) -> list[tuple[str, str]]:
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return headers


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    lines = await _read_head(reader)
    if lines is None:
        return None
    method, target, version = lines[0].split(" ", 2)
    headers = _parse_headers(lines[1:])
    length = int(_header(headers, "content-length") or 0)
    body = await reader.readexactly(length) if length else b""
    return _Request(method.upper(), target, version, headers, body)


async def _read_response(
    reader: asyncio.StreamReader,
) -> tuple[int, list[tuple[str, str]], bytes]:
    lines = await _read_head(reader)
    if lines is None:
        raise ConnectionError("upstream closed without answering")
    status = int(lines[0].split(" ", 2)[1])
    headers = _parse_headers(lines[1:])
    if (_header(headers, "transfer-encoding") or "").lower() == "chunked":
        body = await _read_chunked(reader)
    elif (length := _header(headers, "content-length")) is not None:
        body = await reader.readexactly(int(length))
    else:
        body = await reader.read()
    return status, headers, body


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)


def _head(status: int, headers: list[tuple[str, str]], length: int, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}"]
    for name, value in headers:
        if name.lower() not in {"connection", "keep-alive", "content-length", "transfer-encoding"}:
            lines.append(f"{name}: {value}")
    lines.append(f"Content-Length: {length}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _respond(
    writer: asyncio.StreamWriter,
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    keep_alive: bool,
) -> None:
    writer.write(_head(status, headers, len(body), keep_alive) + body)
    await writer.drain()


def _abort_with_reset(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
