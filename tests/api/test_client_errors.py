"""Every failure mapped once, at the client's boundary, into kostyor_tui.api.errors.

Answers of a given shape come through `httpx.MockTransport` (nothing here
needs a server's state). Failures of the connection itself (refused, reset,
silence, TLS) are produced for real, by small asyncio servers on loopback.
"""

import asyncio
import base64
import json
import ssl
from pathlib import Path

import httpx
import pytest
import trustme

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import (
    AuthFailed,
    InvalidSettings,
    KostyorError,
    NotFound,
    ProtocolError,
    Rejected,
    ServerError,
    TimedOut,
    Unreachable,
)
from tests.api.loopback import answer_empty_list, loopback_server, read_request_head
from tests.api.quirky_server import json_response

PASSWORD = "s3cr3t-Pa55"
TOKEN = "tok-9f8e7d6c5b4a"


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def answering(*responses: httpx.Response) -> httpx.MockTransport:
    """A transport that answers every request with the same response."""
    (response,) = responses

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            response.status_code, headers=response.headers, content=response.content
        )

    return httpx.MockTransport(handler)


def raising(exception: type[httpx.TransportError], message: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exception(message, request=request)

    return httpx.MockTransport(handler)


async def list_clusters_with(transport: httpx.MockTransport, **options) -> KostyorError:
    async with KostyorClient("http://kostyor.test:5000/", transport=transport, **options) as c:
        with pytest.raises(KostyorError) as caught:
            await c.list_clusters()
    return caught.value


# HTTP status codes


@pytest.mark.parametrize("status", [401, 403])
async def test_auth_failures(status: int) -> None:
    error = await list_clusters_with(answering(json_response(status, {"message": "Go away"})))
    assert isinstance(error, AuthFailed)
    assert error.exit_code == 5
    assert error.one_line().startswith(f"Could not list clusters: authentication failed ({status})")
    assert "Go away" in error.one_line()
    assert "KOSTYOR_PASSWORD" in error.one_line()


async def test_rejection_with_message_and_field_errors() -> None:
    body = {
        "message": "Validation failed",
        "errors": {"to_version": ["required field"], "engine": "unallowed value fast"},
    }
    error = await list_clusters_with(answering(json_response(400, body)))
    assert isinstance(error, Rejected)
    assert error.exit_code == 4
    assert error.status_code == 400
    assert error.field_errors == {
        "to_version": ["required field"],
        "engine": ["unallowed value fast"],
    }
    assert error.one_line() == (
        "Could not list clusters: the server refused it (400): Validation failed "
        "[to_version: required field; engine: unallowed value fast]"
    )


async def test_rejection_without_json() -> None:
    error = await list_clusters_with(answering(httpx.Response(409, content=b"conflict!")))
    assert isinstance(error, Rejected)
    assert "(409): Conflict, non-JSON text 'conflict!'" in error.one_line()


async def test_json_404_is_not_found() -> None:
    error = await list_clusters_with(answering(json_response(404, {"message": "No such thing"})))
    assert isinstance(error, NotFound)
    assert error.exit_code == 3
    assert error.one_line() == "Could not list clusters: not found: No such thing"


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_json_and_html(status: int) -> None:
    error = await list_clusters_with(answering(json_response(status, {"message": "boom"})))
    assert isinstance(error, ServerError)
    assert error.status_code == status
    assert f"answered {status}: boom" in error.one_line()
    html = httpx.Response(status, content=b"<html><head><title>Bad Gateway</title></head></html>")
    error = await list_clusters_with(answering(html))
    assert isinstance(error, ServerError)
    assert f'answered {status}, an HTML page "Bad Gateway"' in error.one_line()


@pytest.mark.parametrize(
    ("body", "described"),
    [
        (b"<!DOCTYPE html><html><body>login</body></html>", "an HTML page"),
        (b"\x00\xff\xfe garbage", "non-JSON text"),
        (b"", "an empty body"),
        (b"[1, 2", "non-JSON text"),
    ],
)
async def test_non_json_success_is_a_protocol_error(body: bytes, described: str) -> None:
    error = await list_clusters_with(answering(httpx.Response(200, content=body)))
    assert isinstance(error, ProtocolError)
    assert error.exit_code == 7
    assert described in error.one_line()
    assert "instead of JSON" in error.one_line()


@pytest.mark.parametrize(
    "body",
    [{"clusters": "many"}, {"message": "hello"}, [1, 2], ["a"], [{"id": {"nested": 1}}], 42, None],
)
async def test_wrong_shape_is_a_protocol_error(body: object) -> None:
    answer = httpx.Response(200, content=json.dumps(body).encode())
    error = await list_clusters_with(answering(answer))
    assert isinstance(error, ProtocolError)
    assert "is not a list of clusters" in error.one_line()


async def test_redirect_is_reported_without_credentials() -> None:
    moved = httpx.Response(
        301, headers={"Location": f"https://admin:{PASSWORD}@kostyor.example/api/"}
    )
    error = await list_clusters_with(answering(moved))
    assert isinstance(error, ProtocolError)
    assert "redirected (301) to https://kostyor.example/api/" in error.one_line()
    assert PASSWORD not in error.one_line()


# Transport failures (simulated)


@pytest.mark.parametrize(
    ("exception", "kind", "words"),
    [
        (httpx.ConnectError, Unreachable, "cannot connect to http://kostyor.test:5000/"),
        (httpx.ConnectTimeout, TimedOut, "no connection to http://kostyor.test:5000/ within 2 s"),
        (httpx.ReadTimeout, TimedOut, "did not answer within 2 s"),
        (httpx.WriteTimeout, TimedOut, "did not answer within 2 s"),
        (httpx.ReadError, Unreachable, "the connection to http://kostyor.test:5000/ broke"),
        (httpx.RemoteProtocolError, Unreachable, "broke before an answer"),
    ],
)
async def test_transport_failures(
    exception: type[httpx.TransportError], kind: type[KostyorError], words: str
) -> None:
    message = "Server disconnected without sending a response."
    error = await list_clusters_with(raising(exception, message), timeout=2)
    assert type(error) is kind
    assert error.exit_code == 6
    assert words in error.one_line()


async def test_a_non_http_answer_is_a_protocol_error() -> None:
    error = await list_clusters_with(raising(httpx.RemoteProtocolError, "illegal status line"))
    assert isinstance(error, ProtocolError)
    assert "did not answer in HTTP" in error.one_line()


# Credentials and settings


async def test_credentials_sent_and_never_shown() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        # A server that echoes what it got must not leak it through our messages.
        return json_response(500, {"message": f"bad token {TOKEN} for {PASSWORD}"})

    url = f"https://admin:{PASSWORD}@ops.example/kostyor"
    async with KostyorClient(url, token=TOKEN, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(ServerError) as caught:
            await client.list_clusters()
        assert PASSWORD not in client.api_url
    (request,) = seen
    assert str(request.url) == "https://ops.example/kostyor/clusters"
    assert request.headers["X-Auth-Token"] == TOKEN
    assert request.headers["Authorization"] == basic("admin", PASSWORD)
    text = caught.value.one_line() + repr(caught.value) + str(caught.value.args)
    assert PASSWORD not in text and TOKEN not in text
    assert "bad token *** for ***" in text


async def test_explicit_username_wins_over_the_urls() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_response(200, [])

    async with KostyorClient(
        "http://old:pw@k/", username="ops", password="new", transport=httpx.MockTransport(handler)
    ) as client:
        await client.list_clusters()
    assert seen[0].headers["Authorization"] == basic("ops", "new")


@pytest.mark.parametrize("url", ["ftp://kostyor.example/", "kostyor.example", "http://", ""])
def test_unusable_api_urls(url: str) -> None:
    with pytest.raises(InvalidSettings) as caught:
        KostyorClient(url)
    assert caught.value.exit_code == 2
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


# Transport failures, for real, on loopback


async def test_silence_times_out_for_real() -> None:
    answered = asyncio.Event()

    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        answered.set()
        await asyncio.Event().wait()

    async with (
        loopback_server(never_answer) as port,
        KostyorClient(f"http://127.0.0.1:{port}/", timeout=0.3) as client,
    ):
        with pytest.raises(TimedOut) as caught:
            await client.list_clusters()
    assert answered.is_set()
    assert f"http://127.0.0.1:{port}/ did not answer within 0.3 s" in caught.value.one_line()
    assert caught.value.outcome_unknown


async def test_reset_after_the_request_for_real() -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.transport.abort()

    async with (
        loopback_server(hang_up) as port,
        KostyorClient(f"http://127.0.0.1:{port}/") as client,
    ):
        with pytest.raises(Unreachable) as caught:
            await client.list_clusters()
    assert "broke before an answer" in caught.value.one_line()


async def test_garbage_instead_of_http_for_real() -> None:
    async def babble(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request_head(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()

    async with (
        loopback_server(babble) as port,
        KostyorClient(f"http://127.0.0.1:{port}/") as client,
    ):
        with pytest.raises(KostyorError) as caught:
            await client.list_clusters()
    assert isinstance(caught.value, ProtocolError | Unreachable)
    assert "Traceback" not in caught.value.one_line()


@pytest.fixture(scope="module")
def tls_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_server_context(tls_ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


async def test_tls_verification_failure_is_explained(
    tls_server_context: ssl.SSLContext, tls_ca: trustme.CA, tmp_path: Path
) -> None:
    async with loopback_server(answer_empty_list, tls_server_context) as port:
        url = f"https://127.0.0.1:{port}/"
        async with KostyorClient(url) as client:
            with pytest.raises(Unreachable) as caught:
                await client.list_clusters()
        message = caught.value.one_line()
        assert f"TLS certificate verification failed for {url}" in message
        assert "ca_bundle" in message and "--insecure" in message

        bundle = tmp_path / "ca.pem"
        tls_ca.cert_pem.write_to_path(str(bundle))
        async with KostyorClient(url, verify=str(bundle)) as client:
            assert await client.list_clusters() == []
        async with KostyorClient(url, verify=False) as client:
            assert await client.list_clusters() == []


async def test_plain_http_server_behind_an_https_url() -> None:
    async def plain_http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the TLS hello; a plain HTTP server answers it with an error
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with (
        loopback_server(plain_http) as port,
        KostyorClient(f"https://127.0.0.1:{port}/") as client,
    ):
        with pytest.raises(Unreachable, match="TLS handshake"):
            await client.list_clusters()
