"""The fault proxy itself: relays faithfully, injects each fault, records requests.

The upstream here is the canned loopback HTTP server (`tests.support.canned`)
answering with an echo of the request, so the proxy is tested apart from the
Kostyor server it usually fronts. The proxy is driven with httpx, a plain HTTP
client, not with kostyor-tui's.
"""

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.canned import Answer, CannedServer, canned_server
from tests.support.faultproxy import Fault, FaultProxy


def _echo(method: str, path: str, query: dict, headers: dict, body: bytes) -> Answer:
    target = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    answer = {"method": method, "path": target, "body": body.decode()}
    status = 201 if method == "POST" else 200
    return status, {"Content-Type": "application/json"}, json.dumps(answer).encode()


@pytest.fixture
def upstream() -> Iterator[CannedServer]:
    with canned_server(_echo) as server:
        yield server


@pytest.fixture
def proxy(upstream: CannedServer) -> Iterator[FaultProxy]:
    with FaultProxy(upstream.url) as running:
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
    proxy: FaultProxy, upstream: CannedServer
) -> None:
    proxy.inject(Fault.slow(5.0, method="POST"))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}/upgrades", json={}, timeout=0.3)
    assert upstream.count("POST") == 1


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


def test_fault_scoped_by_method_path_and_times(proxy: FaultProxy, upstream: CannedServer) -> None:
    proxy.inject(Fault.status_500_json(method="GET", path=r"^/clusters$", times=1))
    with httpx.Client(base_url=proxy.url, timeout=2) as client:
        assert client.get("/clusters/1").status_code == 200
        assert client.post("/clusters").status_code == 201
        assert client.get("/clusters").status_code == 500
        assert client.get("/clusters").status_code == 200
    assert [r.fault for r in proxy.requests] == [None, None, "500-json", None]
    assert upstream.count("POST") == 1


def test_forwarding_fault_acts_upstream_but_answers_500(
    proxy: FaultProxy, upstream: CannedServer
) -> None:
    proxy.inject(Fault.status_500_json(method="POST", forward=True))
    assert httpx.post(f"{proxy.url}/upgrades", json={}, timeout=2).status_code == 500
    assert upstream.count("POST") == 1
    assert [r.method for r in proxy.mutations()] == ["POST"]


def test_stop_closes_the_port(upstream: CannedServer) -> None:
    proxy = FaultProxy(upstream.url).start()
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
    proxy: FaultProxy, upstream: CannedServer
) -> None:
    proxy.inject(Fault.slow(0.5, method="POST", forward=False))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{proxy.url}/upgrades", json={}, timeout=0.1)
    assert upstream.count("POST") == 0
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
