"""A small threaded HTTP server on loopback whose answers come from a function.

Real HTTP for the client's tests, where `httpx.MockTransport` used to stand in:
a stdlib `ThreadingHTTPServer` on a free port, serving in a background thread.
Every request is answered by a handler

    handler(method, path, query, headers, body) -> (status, headers, body_bytes)

where `path` is the path exactly as sent (percent-encoding kept, no query),
`query` the query string's parameters (the last value of a repeated name),
`headers` the request's headers with lower-case names, and `body` its bytes.
`Content-Length` is added to the answer unless the handler gave one. Every
request is recorded, so a test can count the POSTs and PUTs it caused:

    with canned_server(answering(200, b"[]")) as server:
        client = KostyorClient(server.url)
        ...
        assert server.count("POST") == 1

The context manager always stops the server, closes connections still open
and joins every thread it started. An exception raised by the handler is
answered with a 500 (text/plain) and raised again when the context exits, so a
mistake in a test's handler is not mistaken for the client's behaviour.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Answer = tuple[int, Mapping[str, str], bytes]
Handler = Callable[[str, str, dict[str, str], dict[str, str], bytes], Answer]

# How long a connection may sit idle between requests before the server drops it.
_IDLE_SECONDS = 30.0


@dataclass(frozen=True)
class Request:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class SettableAnswer:
    """A handler giving every request the one answer a test sets (`answer`), changed as
    the test goes (each example of a property, say)."""

    answer: Answer = (200, {}, b"[]")

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        return self.answer


def json_answer(status: int, body: Any, headers: Mapping[str, str] | None = None) -> Answer:
    answer_headers = {"Content-Type": "application/json", **(headers or {})}
    return status, answer_headers, json.dumps(body).encode()


def html_answer(status: int, body: bytes) -> Answer:
    return status, {"Content-Type": "text/html"}, body


def answering(status: int, body: bytes, headers: Mapping[str, str] | None = None) -> Handler:
    """A handler that answers every request the same way."""

    def handler(
        method: str, path: str, query: dict[str, str], headers_: dict[str, str], body_: bytes
    ) -> Answer:
        return status, dict(headers or {}), body

    return handler


class CannedServer:
    """The running server: its URL and what it received."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler
        self._lock = threading.Lock()
        self._requests: list[Request] = []
        self._connections: set[socket.socket] = set()
        self._stopping = False
        self.errors: list[BaseException] = []
        self._http = _Server(("127.0.0.1", 0), _RequestHandler)
        self._http.canned = self
        self.port: int = self._http.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._http.serve_forever, args=(0.05,), name="canned-http", daemon=True
        )

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def sent(self, method: str, path: str | None = None) -> list[Request]:
        """The requests with this method (and, if given, a path matching this regex)."""
        return [
            request
            for request in self.requests
            if request.method == method.upper()
            and (path is None or re.search(path, request.path) is not None)
        ]

    def count(self, method: str, path: str | None = None) -> int:
        return len(self.sent(method, path))

    # Used by the request handler, on the server's threads.

    def _record(self, request: Request) -> None:
        with self._lock:
            self._requests.append(request)

    def _answer(self, request: Request) -> Answer:
        return self._handler(
            request.method, request.path, request.query, request.headers, request.body
        )

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)
            if not self._stopping:
                return
        with suppress(OSError):
            connection.shutdown(socket.SHUT_RDWR)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)

    # Life cycle

    def _start(self) -> None:
        self._thread.start()

    def _stop(self) -> None:
        self._http.shutdown()  # no new connections are accepted after this
        with self._lock:
            self._stopping = True
            open_now = list(self._connections)
        for connection in open_now:
            # Wakes the connection's thread from waiting for another request.
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self._http.server_close()  # joins the connections' threads
        self._thread.join(timeout=10)


class _Server(ThreadingHTTPServer):
    canned: CannedServer
    daemon_threads = True
    block_on_close = True


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = _IDLE_SECONDS
    # Head and body are written separately: without this, Nagle's algorithm and the
    # client's delayed ACK hold every answer back by tens of milliseconds.
    disable_nagle_algorithm = True
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.canned._opened(self.connection)

    def finish(self) -> None:
        with suppress(OSError):
            super().finish()
        self.server.canned._closed(self.connection)

    def _serve(self) -> None:
        canned = self.server.canned
        target = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        request = Request(
            self.command,
            target.path,
            dict(parse_qsl(target.query, keep_blank_values=True)),
            {name.lower(): value for name, value in self.headers.items()},
            body,
        )
        canned._record(request)
        try:
            status, headers, content = canned._answer(request)
        except Exception as error:
            canned.errors.append(error)
            status, headers = 500, {"Content-Type": "text/plain"}
            content = f"the test's handler raised {type(error).__name__}: {error}".encode()
        try:
            self.send_response(status)
            names = {name.lower() for name in headers}
            for name, value in headers.items():
                self.send_header(name, value)
            if "content-length" not in names:
                self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(content)
            self.wfile.flush()
        except OSError:
            # The client gave up (a deadline, an answer too big): nothing to report.
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _serve

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def canned_server(handler: Handler) -> Iterator[CannedServer]:
    """A running `CannedServer` answering with `handler`; stopped and joined afterwards."""
    server = CannedServer(handler)
    server._start()
    try:
        yield server
    finally:
        server._stop()
    if server.errors:
        raise server.errors[0]
