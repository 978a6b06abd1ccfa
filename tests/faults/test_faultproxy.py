"""The fault proxy itself: relays faithfully, injects each fault, records requests.

The upstream here is a tiny stdlib HTTP server on loopback, so the proxy is
tested apart from the Kostyor server it usually fronts.
"""

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.support.faultproxy import Fault, FaultProxy


class _EchoHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self, status: int) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode() if length else ""
        body = json.dumps({"method": self.command, "path": self.path, "body": sent}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer(200)

    def do_POST(self) -> None:
        self.server.posts += 1  # type: ignore[attr-defined]
        self._answer(201)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.posts = 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def proxy(upstream: ThreadingHTTPServer) -> Iterator[FaultProxy]:
    host, port = upstream.server_address[:2]
    with FaultProxy(f"http://{host}:{port}") as running:
        yield running


def test_relays_requests_and_keeps_connections_alive(proxy: FaultProxy) -> None:
    with httpx.Client(base_url=proxy.url, timeout=5) as client:
        first = client.get("/clusters?x=1")
        second = client.post("/upgrades", json={"to_version": "newton"})
    assert first.status_code == 200
    assert first.json()["path"] == "/clusters?x=1"
    assert second.status_code == 201
    assert json.loads(second.json()["body"]) == {"to_version": "newton"}
    assert [(r.method, r.path) for r in proxy.requests] == [
        ("GET", "/clusters?x=1"),
        ("POST", "/upgrades"),
    ]
    assert proxy.count("POST", r"^/upgrades$") == 1


def test_refused_then_recovers_on_the_same_port(proxy: FaultProxy) -> None:
    port = proxy.port
    proxy.refuse_connections()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{proxy.url}/clusters", timeout=2)
    proxy.clear()
    assert proxy.port == port
    assert httpx.get(f"{proxy.url}/clusters", timeout=2).status_code == 200


def test_reset_mid_response(proxy: FaultProxy) -> None:
    proxy.inject(Fault.reset(path="^/clusters"))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        httpx.get(f"{proxy.url}/clusters", timeout=2)


def test_close_without_answer(proxy: FaultProxy) -> None:
    proxy.inject(Fault.close())
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{proxy.url}/clusters", timeout=2)


def test_slow_answer_times_out_but_reaches_the_server(
    proxy: FaultProxy, upstream: ThreadingHTTPServer
) -> None:
    proxy.inject(Fault.slow(5.0, method="POST"))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}/upgrades", json={}, timeout=0.3)
    assert upstream.posts == 1  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fault", "status", "content_type"),
    [
        (Fault.status_500_json(), 500, "application/json"),
        (Fault.status_500_html(), 500, "text/html"),
        (Fault.not_found_html(), 404, "text/html"),
        (Fault.invalid_json(), 200, "application/json"),
        (Fault.wrong_shape({"id": 1}), 200, "application/json"),
    ],
    ids=lambda value: getattr(value, "name", str(value)),
)
def test_canned_answers(proxy: FaultProxy, fault: Fault, status: int, content_type: str) -> None:
    proxy.inject(fault)
    response = httpx.get(f"{proxy.url}/clusters", timeout=2)
    assert response.status_code == status
    assert response.headers["content-type"] == content_type
    assert response.content == fault.body


def test_invalid_json_is_not_json(proxy: FaultProxy) -> None:
    proxy.inject(Fault.invalid_json())
    with pytest.raises(json.JSONDecodeError):
        httpx.get(f"{proxy.url}/clusters", timeout=2).json()


def test_truncated_body(proxy: FaultProxy) -> None:
    proxy.inject(Fault.truncated())
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(f"{proxy.url}/clusters", timeout=2)


def test_fault_scoped_by_method_path_and_times(
    proxy: FaultProxy, upstream: ThreadingHTTPServer
) -> None:
    proxy.inject(Fault.status_500_json(method="GET", path=r"^/clusters$", times=1))
    with httpx.Client(base_url=proxy.url, timeout=2) as client:
        assert client.get("/clusters/1").status_code == 200
        assert client.post("/clusters").status_code == 201
        assert client.get("/clusters").status_code == 500
        assert client.get("/clusters").status_code == 200
    assert [r.fault for r in proxy.requests] == [None, None, "500-json", None]
    assert upstream.posts == 1  # type: ignore[attr-defined]


def test_forwarding_fault_acts_upstream_but_answers_500(
    proxy: FaultProxy, upstream: ThreadingHTTPServer
) -> None:
    proxy.inject(Fault.status_500_json(method="POST", forward=True))
    assert httpx.post(f"{proxy.url}/upgrades", json={}, timeout=2).status_code == 500
    assert upstream.posts == 1  # type: ignore[attr-defined]
    assert [r.method for r in proxy.mutations()] == ["POST"]


def test_stop_closes_the_port(upstream: ThreadingHTTPServer) -> None:
    host, port = upstream.server_address[:2]
    proxy = FaultProxy(f"http://{host}:{port}").start()
    proxy.inject(Fault.slow(30.0))
    hanging = socket.create_connection(("127.0.0.1", proxy.port))
    hanging.sendall(b"GET /clusters HTTP/1.1\r\nHost: x\r\n\r\n")
    deadline = time.monotonic() + 5
    while not proxy.requests and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proxy.requests, "the proxy never received the request"
    proxy.stop()
    hanging.settimeout(5)
    assert hanging.recv(100) == b""
    hanging.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=2)


def test_slow_without_forwarding_reaches_the_server_only_after_the_delay(
    proxy: FaultProxy, upstream: ThreadingHTTPServer
) -> None:
    proxy.inject(Fault.slow(0.5, method="POST", forward=False))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}/upgrades", json={}, timeout=0.1)
    assert upstream.posts == 0  # type: ignore[attr-defined]
    # A patient client gets the real answer.
    assert httpx.post(f"{proxy.url}/upgrades", json={}, timeout=5).status_code == 201


def test_upstream_down_answers_502() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with FaultProxy(f"http://127.0.0.1:{closed}") as proxy:
        response = httpx.get(f"{proxy.url}/clusters", timeout=2)
    assert response.status_code == 502
    assert b"unreachable" in response.content
