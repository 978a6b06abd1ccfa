"""Connections that would hold the server: silent, half-sent, idle, too many, too big.

The servers here have short timeouts (0.5 s) so that every wait is short; each test
waits for what it expects with a bound well above them.
"""

import httpx
import pytest

from kostyor_tui.server.runner import BackgroundServer
from tests.server.rawhttp import RawConnection
from tests.server.waiting import wait_until

TIMEOUT = 0.5
# What "closed within a bounded time" is held to: ten times the timeout.
BOUND = 5.0


@pytest.fixture
def quick(server_factory) -> BackgroundServer:
    return server_factory(seed="empty", request_seconds=TIMEOUT, keep_alive_seconds=TIMEOUT)


def test_a_half_sent_head_is_answered_408_and_closed(quick: BackgroundServer) -> None:
    with RawConnection(quick.url) as connection:
        connection.send(b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: appl")
        answer = connection.read_answer()
        assert answer.status == 408
        assert "did not arrive within 0.5 s" in answer.json()["message"]
        assert connection.closed_within(BOUND) is not None


def test_a_half_sent_body_is_answered_408_and_closed(quick: BackgroundServer) -> None:
    with RawConnection(quick.url) as connection:
        connection.send(
            b"POST /upgrades HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"cluster_id": '
        )
        assert connection.read_answer().status == 408
        assert connection.closed_within(BOUND) is not None
    # Meanwhile and afterwards, everyone else is served.
    assert httpx.get(quick.url + "/clusters").json() == []


def test_a_connection_that_sends_nothing_is_closed(quick: BackgroundServer) -> None:
    with RawConnection(quick.url) as connection:
        assert connection.closed_within(BOUND) is not None


def test_an_idle_kept_alive_connection_is_closed(quick: BackgroundServer) -> None:
    with RawConnection(quick.url) as connection:
        assert connection.request("GET", "/clusters").status == 200
        assert connection.closed_within(BOUND) is not None


def test_a_request_sent_whole_is_unaffected_by_the_deadline(quick: BackgroundServer) -> None:
    with RawConnection(quick.url) as connection:
        for _ in range(3):
            assert connection.request("GET", "/clusters").status == 200


def test_connections_beyond_the_cap_get_a_json_503(server_factory) -> None:
    server = server_factory(seed="empty", max_connections=3, keep_alive_seconds=60)
    held = [RawConnection(server.url) for _ in range(3)]
    try:
        # Each has been answered once, so the server surely counts it.
        assert all(c.request("GET", "/healthz").status == 200 for c in held)
        with RawConnection(server.url) as extra:
            answer = extra.request("GET", "/clusters")
            assert answer.status == 503
            assert answer.headers["content-type"] == "application/json"
            assert answer.headers["retry-after"] == "1"
            assert "too many open connections" in answer.json()["message"]
            assert extra.closed_within(BOUND) is not None
        assert held[0].request("GET", "/clusters").status == 200
    finally:
        for connection in held:
            connection.close()
    wait_until(lambda: httpx.get(server.url + "/clusters").status_code == 200, timeout=BOUND)


def test_an_oversized_head_is_refused_before_it_ends(server: BackgroundServer) -> None:
    # 32 KiB of headers and no end to them: refused at 16 KiB, not buffered on and on
    # (nor left to the 10 s request deadline).
    with RawConnection(server.url) as connection:
        connection.send(b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        connection.send(b"".join(b"X-Filler-%05d: %s\r\n" % (n, b"a" * 40) for n in range(600)))
        answer = connection.read_answer()
        assert answer.status == 431
        assert "at most 16 KiB" in answer.json()["message"]
        assert connection.closed_within(BOUND) is not None


@pytest.mark.parametrize("size", [17 * 1024, 100 * 1024])
def test_an_oversized_head_sent_in_one_piece_is_refused(
    server: BackgroundServer, size: int
) -> None:
    # h11 measures only a head that arrives in pieces; this one is whole, its end included.
    head = b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n" % (b"a" * size)
    with RawConnection(server.url) as connection:
        connection.send(head)
        answer = connection.read_answer()
        assert answer.status == 431
        assert answer.headers["content-type"] == "application/json"
        assert connection.closed_within(BOUND) is not None
    # A head just under the limit, in one piece, is served.
    filler = b"a" * (15 * 1024)
    with RawConnection(server.url) as connection:
        connection.send(b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n" % filler)
        assert connection.read_answer().status == 200


def test_an_oversized_head_pipelined_behind_a_request_is_refused(
    server: BackgroundServer,
) -> None:
    # Parsed from the buffer once the first is answered, not as it arrived.
    small = b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    big = b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: %s\r\n\r\n" % (b"a" * 100_000)
    with RawConnection(server.url) as connection:
        connection.send(small + big)
        assert connection.read_answer().status == 200
        assert connection.read_answer().status == 431
        assert connection.closed_within(BOUND) is not None


def test_what_is_not_http_is_answered_in_json(server: BackgroundServer) -> None:
    with RawConnection(server.url) as connection:
        connection.send(b"GET /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n")
        answer = connection.read_answer()
        assert answer.status == 400
        assert answer.json() == {"message": "The request is not valid HTTP/1.1."}
        assert connection.closed_within(BOUND) is not None
