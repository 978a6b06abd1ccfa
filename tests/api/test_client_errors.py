"""Every failure mapped once, at the transport's boundary, into kostyor_tui.api.errors.

All of it over real HTTP on loopback. Answers of a given shape come from a
canned server (`tests.support.canned`: nothing here needs a server's state).
Failures of the connection itself (refused, no connection, silence, reset,
garbage, an answer dripped a byte at a time, TLS) are produced for real by raw
servers on loopback (`tests.api.loopback`). The contract's error bodies:
docs/kostyor-api.md#errors; non-JSON answers: docs/kostyor-api.md#quirk-html-errors.
"""

import base64
import json
import re
import socket
import ssl
import struct
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import trustme

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import (
    AuthFailed,
    Busy,
    InvalidSettings,
    KostyorError,
    NotFound,
    ProtocolError,
    Rejected,
    ServerError,
    TimedOut,
    Unreachable,
)
from kostyor_tui.domain.text import REDACTED, has_control_characters
from kostyor_tui.headless.exit_codes import ExitCode, exit_code_for
from tests.api.loopback import Connection, answer_empty_list, loopback_server
from tests.support.canned import (
    Answer,
    Handler,
    answering,
    canned_server,
    html_answer,
    json_answer,
)

PASSWORD = "s3cr3t-Pa55"
TOKEN = "tok-9f8e7d6c5b4a"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def fixed(answer: Answer) -> Handler:
    """A handler that answers every request with `answer`."""
    status, headers, body = answer
    return answering(status, body, headers)


def list_clusters_with(handler: Handler, **options) -> KostyorError:
    """The error `list_clusters` raises against a canned server answering with `handler`."""
    with (
        canned_server(handler) as server,
        KostyorClient(server.url, **options) as client,
        pytest.raises(KostyorError) as caught,
    ):
        client.list_clusters()
    return caught.value


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# HTTP status codes


@pytest.mark.parametrize("status", [401, 403])
def test_auth_failures(status: int) -> None:
    error = list_clusters_with(fixed(json_answer(status, {"message": "Go away"})))
    assert isinstance(error, AuthFailed)
    assert exit_code_for(error) == ExitCode.AUTH == 5
    assert error.one_line().startswith(f"Could not list clusters: authentication failed ({status})")
    assert "Go away" in error.one_line()
    assert "KOSTYOR_PASSWORD" in error.one_line()


def test_rejection_with_message_and_field_errors() -> None:
    body = {
        "message": "Validation failed",
        "errors": {"to_version": ["required field"], "engine": "unallowed value fast"},
    }
    error = list_clusters_with(fixed(json_answer(400, body)))
    assert isinstance(error, Rejected)
    assert exit_code_for(error) == ExitCode.REJECTED == 4
    assert error.status_code == 400
    assert error.field_errors == {
        "to_version": ["required field"],
        "engine": ["unallowed value fast"],
    }
    assert error.one_line() == (
        "Could not list clusters: the server refused it (400): Validation failed "
        "[to_version: required field; engine: unallowed value fast]"
    )


def test_rejection_without_json() -> None:
    """The body is described; httpcore gives no reason phrase, so none is shown any more."""
    error = list_clusters_with(answering(409, b"conflict!", {"Content-Type": "text/plain"}))
    assert isinstance(error, Rejected)
    assert error.status_code == 409
    assert "refused it (409): refused, non-JSON text 'conflict!'" in error.one_line()


def test_json_404_is_not_found() -> None:
    error = list_clusters_with(fixed(json_answer(404, {"message": "No such thing"})))
    assert isinstance(error, NotFound)
    assert exit_code_for(error) == ExitCode.NOT_FOUND == 3
    assert error.one_line() == "Could not list clusters: not found: No such thing"


@pytest.mark.parametrize("status", [500, 502, 504])
def test_server_errors_json_and_html(status: int) -> None:
    error = list_clusters_with(fixed(json_answer(status, {"message": "boom"})))
    assert isinstance(error, ServerError)
    assert exit_code_for(error) == ExitCode.SERVER == 7
    assert error.status_code == status
    assert f"answered {status}: boom" in error.one_line()
    html = html_answer(status, b"<html><head><title>Bad Gateway</title></head></html>")
    error = list_clusters_with(fixed(html))
    assert isinstance(error, ServerError)
    assert f'answered {status}, an HTML page "Bad Gateway"' in error.one_line()


# 429 and 503: busy, try again later


@pytest.mark.parametrize("status", [429, 503])
def test_busy_with_retry_after(status: int) -> None:
    error = list_clusters_with(
        fixed(json_answer(status, {"message": "slow down"}, {"Retry-After": "7"}))
    )
    assert isinstance(error, Busy)
    assert error.status_code == status
    assert error.retry_after == 7
    assert error.hint is not None and "try again in 7 s" in error.hint
    line = error.one_line()
    assert f"Could not list clusters: the server is busy ({status}): slow down" in line
    assert line.endswith("; try again in 7 s")
    # Busy is "unreachable, timed out or busy (try again later)" for a script.
    assert exit_code_for(error) == ExitCode.UNREACHABLE == 6


def test_busy_without_retry_after_or_with_a_date() -> None:
    error = list_clusters_with(fixed(html_answer(503, b"<title>Down for maintenance</title>")))
    assert isinstance(error, Busy)
    assert error.retry_after is None
    assert 'busy (503), an HTML page "Down for maintenance"' in error.one_line()
    assert error.one_line().endswith("try again shortly")

    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    error = list_clusters_with(fixed(json_answer(429, {}, {"Retry-After": later})))
    assert isinstance(error, Busy)
    assert error.retry_after is not None and 100 <= error.retry_after <= 121
    assert "try again in" in error.one_line()


@pytest.mark.parametrize(
    ("body", "described"),
    [
        (b"<!DOCTYPE html><html><body>login</body></html>", "an HTML page"),
        (b"\x00\xff\xfe garbage", "non-JSON text"),
        (b"", "an empty body"),
        (b"[1, 2", "non-JSON text"),
    ],
)
def test_non_json_success_is_a_protocol_error(body: bytes, described: str) -> None:
    error = list_clusters_with(answering(200, body))
    assert isinstance(error, ProtocolError)
    assert exit_code_for(error) == ExitCode.SERVER == 7
    assert described in error.one_line()
    assert "instead of JSON" in error.one_line()


@pytest.mark.parametrize(
    "body",
    [{"clusters": "many"}, {"message": "hello"}, [1, 2], ["a"], [{"id": {"nested": 1}}], 42, None],
)
def test_wrong_shape_is_a_protocol_error(body: object) -> None:
    error = list_clusters_with(fixed(json_answer(200, body)))
    assert isinstance(error, ProtocolError)
    assert "is not a list of clusters" in error.one_line()


def test_redirect_is_reported_without_credentials() -> None:
    moved = (301, {"Location": f"https://admin:{PASSWORD}@kostyor.example/api/"}, b"")
    error = list_clusters_with(fixed(moved))
    assert isinstance(error, ProtocolError)
    assert "redirected (301) to https://kostyor.example/api/" in error.one_line()
    assert PASSWORD not in error.one_line()


# Answers built to hurt: nesting, duplicates, control characters


NESTED = [
    b"[" * 100_000,
    b"[" * 100_000 + b"]" * 100_000,
    b'{"clusters": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"a": ' * 100_000,
]


@pytest.mark.parametrize("body", NESTED, ids=["open", "balanced", "wrapped", "objects"])
def test_deeply_nested_json_is_a_protocol_error_not_a_recursion_error(body: bytes) -> None:
    with (
        canned_server(answering(200, body, {"Content-Type": "application/json"})) as server,
        KostyorClient(server.url) as client,
    ):
        calls: list[Callable[[], object]] = [
            client.list_clusters,
            lambda: client.get_cluster("c-1"),
            lambda: client.list_hosts("c-1"),
            client.list_discovery_methods,
            client.list_all_versions,
            client.list_upgrades,
            lambda: client.get_upgrade("u-1"),
            lambda: client.upgrade_steps("u-1"),
            lambda: client.create_upgrade("c-1", "newton"),
            lambda: client.discover_cluster("simulated", "deep"),
        ]
        for call in calls:
            with pytest.raises(ProtocolError) as caught:
                call()
            assert "Traceback" not in caught.value.one_line()


def test_deeply_nested_json_in_an_error_answer() -> None:
    nested = json.dumps({"message": "x"})[:-1].encode() + b', "errors": ' + b"[" * 100_000
    error = list_clusters_with(answering(400, nested, {"Content-Type": "application/json"}))
    assert isinstance(error, Rejected)
    assert "(400)" in error.one_line()


def _duplicating(path: str, key: str, items: list[dict], wrapped: bool) -> Handler:
    def handler(method, request_path, query, headers, body) -> Answer:
        if request_path == "/clusters" and path != "/clusters":
            return json_answer(200, [{"id": "c-1", "name": "lab"}])
        if request_path == path:
            return json_answer(200, {key: items} if wrapped else items)
        return json_answer(404, {"message": "not here"})

    return handler


@pytest.mark.parametrize("wrapped", [False, True], ids=["bare", "wrapped"])
@pytest.mark.parametrize(
    ("path", "key", "call", "items", "twice"),
    [
        (
            "/clusters",
            "clusters",
            lambda c: c.list_clusters(),
            [{"id": "c-1", "name": "a"}, {"id": "c-2"}, {"id": "c-1", "name": "b"}],
            "c-1",
        ),
        (
            "/clusters",
            "clusters",
            lambda c: c.list_clusters(),
            [{"id": 7, "name": "number"}, {"id": "7", "name": "string"}],
            "7",
        ),
        (
            "/clusters/c-1/hosts",
            "hosts",
            lambda c: c.list_hosts("c-1"),
            [{"id": "h-1", "hostname": "a"}, {"id": "h-1", "hostname": "b"}],
            "h-1",
        ),
        (
            "/clusters/c-1/services",
            "services",
            lambda c: c.list_services("c-1"),
            [{"id": "s-1", "name": "nova-api"}, {"id": "s-1", "name": "glance-api"}],
            "s-1",
        ),
        (
            "/upgrades",
            "upgrades",
            lambda c: c.list_upgrades("c-1"),
            # The duplicate is another cluster's: checked before the client-side filter.
            [{"id": "u-1", "cluster_id": "c-2"}, {"id": "u-2"}, {"id": "u-1", "cluster_id": "c-2"}],
            "u-1",
        ),
    ],
    ids=["clusters", "numeric-and-string", "hosts", "services", "upgrades"],
)
def test_duplicate_ids_are_a_protocol_error_naming_the_id(
    path: str, key: str, call: Callable, items: list[dict], twice: str, wrapped: bool
) -> None:
    with (
        canned_server(_duplicating(path, key, items, wrapped)) as server,
        KostyorClient(server.url) as client,
        pytest.raises(ProtocolError) as caught,
    ):
        call(client)
    assert f"the server listed id '{twice}' twice" in caught.value.one_line()
    assert exit_code_for(caught.value) == ExitCode.SERVER


CONTROL = "\x1b[2J\x1b]0;owned\x07boom\nsecond line\r\x9b"


@pytest.mark.parametrize(
    "answer",
    [
        json_answer(400, {"message": CONTROL, "errors": {f"f{CONTROL}": [CONTROL]}}),
        json_answer(401, {"message": CONTROL}),
        json_answer(404, {"message": CONTROL}),
        json_answer(429, {"message": CONTROL}, {"Retry-After": "7"}),
        json_answer(500, {"message": CONTROL}),
        json_answer(503, {"message": CONTROL}),
        html_answer(502, f"<title>{CONTROL}</title>".encode()),
        html_answer(200, f"<title>{CONTROL}</title>".encode()),
        (409, {"Content-Type": "text/plain"}, CONTROL.encode()),
        (200, {"Content-Type": "text/plain"}, CONTROL.encode()),
        json_answer(200, [{"id": CONTROL}, {"id": CONTROL}]),
        (301, {"Location": "https://kostyor.example/\x1b[31mred"}, b""),
    ],
    ids=[
        "400-field-errors",
        "401",
        "404",
        "429",
        "500",
        "503",
        "502-html-title",
        "200-html-title",
        "409-text",
        "200-text",
        "duplicate-id",
        "redirect-location",
    ],
)
def test_control_characters_from_the_server_never_reach_one_line_raw(answer: Answer) -> None:
    error = list_clusters_with(fixed(answer))
    line = error.one_line()
    assert not has_control_characters(line), repr(line)
    for char in "\x1b\x07\n\r\x9b":
        assert char not in line
    if answer[0] != 301:
        # Shown as escapes, not dropped: the operator sees what the server sent.
        assert "\\e[2J" in line or "\\x1b[2J" in line, line


# Transport failures, for real, on loopback


def test_refused_connection_is_unreachable() -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    with KostyorClient(url, timeout=2) as client, pytest.raises(KostyorError) as caught:
        client.list_clusters()
    assert type(caught.value) is Unreachable
    assert exit_code_for(caught.value) == ExitCode.UNREACHABLE
    assert f"cannot connect to {url} (Connection refused)" in caught.value.one_line()
    assert not caught.value.outcome_unknown


@contextmanager
def unaccepted_port() -> Iterator[int]:
    """A port whose accept queue is full: a new connection's SYN is dropped, so connecting
    hangs until the client gives up (Linux)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        time.sleep(0.1)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_no_connection_within_the_timeout() -> None:
    with unaccepted_port() as port:
        url = f"http://127.0.0.1:{port}/"
        with KostyorClient(url, timeout=0.5) as client, pytest.raises(KostyorError) as caught:
            client.list_clusters()
    assert type(caught.value) is TimedOut
    assert exit_code_for(caught.value) == ExitCode.UNREACHABLE
    assert f"no connection to {url} within 0.5 s" in caught.value.one_line()
    # Nothing was sent: nothing can have happened on the server.
    assert not caught.value.outcome_unknown


def test_silence_times_out() -> None:
    answered: list[bool] = []

    def never_answer(connection: Connection) -> None:
        connection.read_request_head()
        answered.append(True)
        connection.stopping.wait()

    with (
        loopback_server(never_answer) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", timeout=0.3) as client,
        pytest.raises(TimedOut) as caught,
    ):
        client.list_clusters()
    assert answered
    assert f"http://127.0.0.1:{port}/ did not answer within 0.3 s" in caught.value.one_line()
    assert caught.value.outcome_unknown
    # A read changes nothing: nothing "may still take effect".
    assert caught.value.hint == "the server is slow to answer: try again, or raise the timeout"
    assert exit_code_for(caught.value) == ExitCode.UNREACHABLE


def test_a_request_the_server_does_not_read_times_out_while_sending() -> None:
    """httpcore's WriteTimeout: the server reads the head only, the body (far bigger than the
    socket buffers) cannot be sent. Discovery's long timeout is made short here."""

    def read_nothing_more(connection: Connection) -> None:
        connection.read_request_head()
        connection.stopping.wait()

    huge = {"blob": "x" * (48 * 1024 * 1024)}
    with (
        loopback_server(read_nothing_more) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", timeout=0.5, discovery_timeout=0.5) as client,
    ):
        started = time.monotonic()
        with pytest.raises(TimedOut) as caught:
            client.discover_cluster("simulated", "big", huge)
        elapsed = time.monotonic() - started
    assert "did not answer within 0.5 s" in caught.value.one_line()
    assert caught.value.outcome_unknown
    assert caught.value.hint is not None and "may still take effect" in caught.value.hint
    assert elapsed < 5


def test_reset_after_the_request() -> None:
    def hang_up(connection: Connection) -> None:
        connection.read_request_head()
        # SO_LINGER with a zero timeout: close() sends a RST instead of a FIN.
        connection.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        connection.sock.close()

    with (
        loopback_server(hang_up) as port,
        KostyorClient(f"http://127.0.0.1:{port}/") as client,
        pytest.raises(Unreachable) as caught,
    ):
        client.list_clusters()
    assert type(caught.value) is Unreachable
    assert f"the connection to http://127.0.0.1:{port}/ broke" in caught.value.one_line()
    assert "broke before an answer" in caught.value.one_line()
    assert caught.value.outcome_unknown
    assert caught.value.hint is not None and "may still take effect" not in caught.value.hint


def test_closed_without_an_answer() -> None:
    def close(connection: Connection) -> None:
        connection.read_request_head()
        connection.sock.shutdown(socket.SHUT_RDWR)

    with (
        loopback_server(close) as port,
        KostyorClient(f"http://127.0.0.1:{port}/") as client,
        pytest.raises(Unreachable) as caught,
    ):
        client.list_clusters()
    assert type(caught.value) is Unreachable
    assert "broke before an answer" in caught.value.one_line()
    assert caught.value.outcome_unknown


def test_garbage_instead_of_http() -> None:
    def babble(connection: Connection) -> None:
        connection.read_request_head()
        connection.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")

    with (
        loopback_server(babble) as port,
        KostyorClient(f"http://127.0.0.1:{port}/") as client,
        pytest.raises(ProtocolError) as caught,
    ):
        client.list_clusters()
    assert f"http://127.0.0.1:{port}/ did not answer in HTTP" in caught.value.one_line()
    assert "Traceback" not in caught.value.one_line()
    assert exit_code_for(caught.value) == ExitCode.SERVER


def test_an_answer_cut_short_is_not_http() -> None:
    """Content-Length promises more than comes before the connection closes."""

    def cut_short(connection: Connection) -> None:
        connection.read_request_head()
        connection.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
            b'[{"id": "1", "na'
        )

    with (
        loopback_server(cut_short) as port,
        KostyorClient(f"http://127.0.0.1:{port}/") as client,
        pytest.raises(ProtocolError) as caught,
    ):
        client.list_clusters()
    assert "did not answer in HTTP" in caught.value.one_line()
    assert "without sending complete message body" in caught.value.one_line()


# The whole-request deadline


def _drip_test(head_and_body: bytes, drip_from: int) -> tuple[TimedOut, float, int]:
    """Send `head_and_body[:drip_from]` at once, then the rest a byte every 0.2 s, to a client
    whose timeout is 1 s. Returns its error, how long it took and how many bytes were sent."""
    sent: list[int] = []

    def drip(connection: Connection) -> None:
        connection.read_request_head()
        try:
            connection.send(head_and_body[:drip_from])
            connection.drip(head_and_body[drip_from:], 0.2)
        finally:
            sent.append(connection.sent)

    with (
        loopback_server(drip) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", timeout=1) as client,
    ):
        started = time.monotonic()
        with pytest.raises(TimedOut) as caught:
            client.list_clusters()
        elapsed = time.monotonic() - started
    return caught.value, elapsed, sent[0]


def test_a_body_dripped_a_byte_at_a_time_meets_the_whole_request_deadline() -> None:
    """Each byte comes well within 1 s, so a per-read timeout would wait the whole 20 s."""
    body = b"[" + b" " * 98 + b"]"
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    error, elapsed, sent = _drip_test(head + body, len(head))
    assert 0.9 <= elapsed < 5, elapsed
    assert sent - len(head) < len(body) // 2  # cut off at the deadline, long before the end
    assert "did not answer within 1 s" in error.one_line()
    assert error.outcome_unknown


def test_headers_dripped_a_byte_at_a_time_meet_the_whole_request_deadline() -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"X-Padding: " + b"a" * 60 + b"\r\nContent-Length: 2\r\n\r\n"
    )
    error, elapsed, sent = _drip_test(head + b"[]", 0)
    assert 0.9 <= elapsed < 5, elapsed
    assert sent < len(head) // 2
    assert "did not answer within 1 s" in error.one_line()


def test_waiting_for_a_pooled_connection_counts_against_the_deadline() -> None:
    """One connection, held by a request the server never answers (timeout 3 s): a second
    request (timeout 0.5 s) gives up at its own deadline, not when the first lets go."""
    heads: list[bytes] = []

    def silent(connection: Connection) -> None:
        heads.append(connection.read_request_head())
        connection.stopping.wait()

    with (
        loopback_server(silent) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", timeout=3, max_connections=1) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        first = pool.submit(client.list_clusters)
        deadline = time.monotonic() + 5
        while not heads and time.monotonic() < deadline:
            time.sleep(0.01)
        assert heads, "the first request never arrived"
        started = time.monotonic()
        with pytest.raises(TimedOut) as caught:
            client._transport.request("GET", "clusters", what="list clusters", timeout=0.5)
        elapsed = time.monotonic() - started
        with pytest.raises(TimedOut):
            first.result()
    assert elapsed < 2, elapsed
    assert f"no free connection to http://127.0.0.1:{port}/ within 0.5 s" in (
        caught.value.one_line()
    )
    # It was never sent: nothing can have happened.
    assert not caught.value.outcome_unknown
    assert len(heads) == 1


# The answer size cap and compressed answers


MB = 1024 * 1024


def _rss_bytes() -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, "no VmRSS in /proc/self/status"
    return int(match.group(1)) * 1024


def test_an_answer_over_the_size_cap_is_a_protocol_error() -> None:
    body = b"[" + b" " * (2 * MB) + b"]"
    with (
        canned_server(answering(200, body, {"Content-Type": "application/json"})) as server,
        KostyorClient(server.url, max_answer_bytes=MB) as client,
        pytest.raises(ProtocolError) as caught,
    ):
        client.list_clusters()
    assert f"an answer larger than {MB:,} bytes" in caught.value.one_line()


def test_an_answer_under_the_size_cap_is_read() -> None:
    body = b"[" + b" " * (MB - 100) + b"]"
    with (
        canned_server(answering(200, body, {"Content-Type": "application/json"})) as server,
        KostyorClient(server.url, max_answer_bytes=MB) as client,
    ):
        assert client.list_clusters() == []


GIB = 1024 * MB


def gzip_bomb(expanded: int = GIB, chunk: int = MB) -> bytes:
    """A valid gzip stream of `expanded` zero bytes, about 1 MB long, built with zlib
    streaming and never holding more than one chunk: each chunk is compressed after a
    full flush (so every chunk after the first compresses to the same bytes), then the
    trailer (CRC-32 and length of the whole) is written by hand."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(chunk)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(expanded // chunk):
        crc = zlib.crc32(zeros, crc)
    final_empty_block = b"\x03\x00"
    trailer = crc.to_bytes(4, "little") + (expanded % 2**32).to_bytes(4, "little")
    return first + again * (expanded // chunk - 1) + final_empty_block + trailer


def test_the_gzip_bomb_is_what_it_claims() -> None:
    bomb = gzip_bomb(expanded=16 * MB)
    assert zlib.decompress(bomb, 31) == bytes(16 * MB)


def test_a_compressed_answer_is_refused_without_expanding_it() -> None:
    bombs: list[int] = []

    def compressed(method, path, query, headers, body) -> Answer:
        bomb = gzip_bomb()
        bombs.append(len(bomb))
        return 200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, bomb

    before = _rss_bytes()
    with canned_server(compressed) as server, KostyorClient(server.url) as client:
        with pytest.raises(ProtocolError) as caught:
            client.list_clusters()
        sent = server.requests[0].headers
    grown = _rss_bytes() - before
    assert 0.5 * MB < bombs[0] < 2 * MB
    assert "a gzip-compressed answer, which was not asked for" in caught.value.one_line()
    assert sent["accept-encoding"] == "identity"
    assert grown < 200 * MB, f"RSS grew by {grown / MB:.0f} MB"


# Credentials and settings


def test_credentials_sent_and_never_shown() -> None:
    def echo(method, path, query, headers, body) -> Answer:
        # A server that echoes what it got must not leak it through our messages.
        return json_answer(500, {"message": f"bad token {TOKEN} for {PASSWORD}"})

    with canned_server(echo) as server:
        url = server.url.replace("http://", f"http://admin:{PASSWORD}@") + "/kostyor"
        with KostyorClient(url, token=TOKEN) as client:
            with pytest.raises(ServerError) as caught:
                client.list_clusters()
            assert PASSWORD not in client.api_url
        (request,) = server.requests
    assert request.path == "/kostyor/clusters"
    assert request.headers["x-auth-token"] == TOKEN
    assert request.headers["authorization"] == basic("admin", PASSWORD)
    text = caught.value.one_line() + repr(caught.value) + str(caught.value.args)
    assert PASSWORD not in text and TOKEN not in text
    assert f"bad token {REDACTED} for {REDACTED}" in text


@pytest.mark.parametrize("status", [200, 301, 400, 404, 500, 503])
# With 66 characters before it, cutting the excerpt short (80) would split the token.
@pytest.mark.parametrize("padding", [0, 66])
@pytest.mark.parametrize(
    ("content_type", "template"),
    [
        ("text/plain", "bad token {token} for {password}"),
        ("text/html", "<title>bad token {token} for {password}</title>"),
    ],
)
def test_secrets_echoed_in_a_body_that_is_not_json_are_never_shown(
    status: int, padding: int, content_type: str, template: str
) -> None:
    """Not JSON, so the body itself is described: redacted before it is cut short."""
    body = ("x" * padding + template.format(token=TOKEN, password=PASSWORD)).encode()
    headers = {"Content-Type": content_type}
    if status == 301:
        headers["Location"] = f"https://kostyor.example/api/?token={TOKEN}"
    with canned_server(answering(status, body, headers)) as server:
        url = server.url.replace("http://", f"http://admin:{PASSWORD}@")
        with KostyorClient(url, token=TOKEN) as client, pytest.raises(KostyorError) as caught:
            client.list_clusters()
    text = caught.value.one_line() + repr(caught.value)
    for secret in (TOKEN, PASSWORD):
        assert secret not in text
        assert secret[:8] not in text
    if status != 301:
        assert "bad token" in text


def test_a_secret_where_a_long_message_is_cut_short_is_not_shown_in_part() -> None:
    body = {"message": "m" * 290 + TOKEN, "errors": {"token": ["e" * 110 + TOKEN]}}
    error = list_clusters_with(fixed(json_answer(400, body)), token=TOKEN)
    assert isinstance(error, Rejected)
    assert TOKEN[:5] not in error.one_line()
    assert "mmm" in error.one_line() and "eee" in error.one_line()


def test_debug_output_never_shows_a_secret() -> None:
    lines: list[str] = []
    body = json.dumps([{"id": "c-1", "name": "x" * 170 + TOKEN}]).encode()
    with (
        canned_server(answering(200, body, {"Content-Type": "application/json"})) as server,
        KostyorClient(server.url, token=TOKEN, debug=lines.append) as client,
    ):
        client.list_clusters()
    (line,) = lines
    assert "GET " in line and "→ 200" in line
    assert TOKEN[:8] not in line


def test_explicit_username_wins_over_the_urls() -> None:
    with canned_server(fixed(json_answer(200, []))) as server:
        url = server.url.replace("http://", "http://old:pw@") + "/"
        with KostyorClient(url, username="ops", password="new") as client:
            client.list_clusters()
        assert server.requests[0].headers["authorization"] == basic("ops", "new")


@pytest.mark.parametrize("url", ["ftp://kostyor.example/", "kostyor.example", "http://", ""])
def test_unusable_api_urls(url: str) -> None:
    with pytest.raises(InvalidSettings) as caught:
        KostyorClient(url)
    assert exit_code_for(caught.value) == ExitCode.USAGE == 2
    assert (
        "http:// or https://" in caught.value.one_line() or "valid URL" in caught.value.one_line()
    )


def test_missing_ca_bundle(tmp_path: Path) -> None:
    with pytest.raises(InvalidSettings, match="Cannot use the CA bundle"):
        KostyorClient("https://k/", verify=str(tmp_path / "missing.pem"))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate")
    with pytest.raises(InvalidSettings, match="Cannot use the CA bundle"):
        KostyorClient("https://k/", verify=str(garbage))


# TLS, for real, on loopback


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


def test_tls_verification_failure_is_explained(
    tls_server_context: ssl.SSLContext, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    with loopback_server(answer_empty_list, tls_server_context) as port:
        url = f"https://127.0.0.1:{port}/"
        with KostyorClient(url) as client, pytest.raises(Unreachable) as caught:
            client.list_clusters()
        message = caught.value.one_line()
        assert f"TLS certificate verification failed for {url}" in message
        assert "ca_bundle" in message and "--insecure" in message

        bundle = tmp_path / "ca.pem"
        tls_ca.cert_pem.write_to_path(str(bundle))
        with KostyorClient(url, verify=str(bundle)) as client:
            assert client.list_clusters() == []
        with KostyorClient(url, verify=False) as client:
            assert client.list_clusters() == []


def test_plain_http_server_behind_an_https_url() -> None:
    def plain_http(connection: Connection) -> None:
        connection.sock.recv(1)  # the TLS hello; a plain HTTP server answers it with an error
        connection.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    with (
        loopback_server(plain_http) as port,
        KostyorClient(f"https://127.0.0.1:{port}/") as client,
        pytest.raises(Unreachable, match="TLS handshake"),
    ):
        client.list_clusters()
