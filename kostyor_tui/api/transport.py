"""HTTP for the Kostyor client: the one place requests are sent and failures mapped.

Synchronous, on httpcore (httpx's own engine) directly: a headless command pays
neither httpx nor asyncio at start-up, and the console runs the same client in
worker threads. Every failure of the network, and every answer that is not a
2xx, becomes one of `kostyor_tui.api.errors` here, through the two tables
`_FAILURES` and `_ANSWERS`; nothing above this module sees httpcore.

Limits an unfriendly server cannot stretch: every request has one deadline
(connecting, sending and reading the whole answer: a server dripping a byte a
second is cut off at the deadline, not at each read), and an answer may be at
most `max_answer_bytes` long. Only uncompressed answers are accepted
(`Accept-Encoding: identity`), so a small compressed answer cannot expand into
gigabytes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import httpcore

from kostyor_tui import __version__
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
from kostyor_tui.domain.errors import KostyorTuiError
from kostyor_tui.domain.text import (
    REDACTED,
    is_secret_name,
    one_line,
    printable,
    redact,
    redact_urls,
    secret_values,
)

MAX_ANSWER_BYTES = 64 * 1024 * 1024
_MAX_ERROR_BODY = 64 * 1024
_MAX_SERVER_TEXT = 300
_API_URL_EXAMPLE = "api_url looks like https://kostyor.example:5000/"
# At most this many certificate files are read from a ca_bundle directory.
_MAX_CA_FILES = 1000

Debug = Callable[[str], None]
# Called when the API refuses the token: returns a fresh one (token_command run again).
TokenRefresh = Callable[[], str]


def segment(value: str) -> str:
    """A value as one URL path segment: a `/` or `?` in it must not change the path."""
    return quote(str(value), safe="")


def server_text(text: str, limit: int = _MAX_SERVER_TEXT) -> str:
    """Text a server sent, fit for a message: one line, no control characters, bounded."""
    return one_line(printable(text), limit)


@dataclass(frozen=True)
class Answer:
    """A 2xx answer: its body, to be parsed by the caller."""

    status: int
    body: bytes
    what: str
    # The transport's redaction: a server may echo a secret in a body that is not JSON.
    redact: Callable[[str], str] = field(default=str, repr=False, compare=False)

    def json(self) -> Any:
        """The body as JSON; a body that is not JSON is a ProtocolError naming what it is."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            raise ProtocolError(
                f"Could not {self.what}: the server answered "
                f"{describe_body(self.body, self.redact)} "
                "instead of JSON",
                hint="check that api_url points at the Kostyor API",
            ) from None
        except RecursionError:
            raise ProtocolError(
                f"Could not {self.what}: the server's answer is nested too deeply to be the "
                "Kostyor API",
                hint="check that api_url points at the Kostyor API",
            ) from None


def describe_body(body: bytes, redact: Callable[[str], str] = str) -> str:
    """A short description of a body that is not the expected JSON, for a message; `redact`
    is applied to the body's text before it is cut short."""
    if not body.strip():
        return "an empty body"
    text = redact(body[:4096].decode("utf-8", errors="replace"))
    lowered = text.lower()
    if "<html" in lowered or "<!doctype" in lowered or "<title" in lowered:
        title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
        return f'an HTML page "{server_text(title.group(1), 80)}"' if title else "an HTML page"
    return f"non-JSON text {server_text(text, 80)!r}"


# The whole-request deadline, enforced on every read and write of the socket.


_deadline = threading.local()


def _within_deadline(
    timeout: float | None, expired: type[Exception] = httpcore.ReadTimeout
) -> float | None:
    """`timeout`, cut to what is left of this thread's request deadline."""
    deadline: float | None = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream
        # From a request's first byte sent to its answer read (`Transport._exchange`).
        self.in_use = False

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _within_deadline(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.in_use = True
        self._stream.write(buffer, _within_deadline(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._stream.start_tls(ssl_context, server_hostname, _within_deadline(timeout))
        return _DeadlineStream(stream)

    def get_extra_info(self, info: str) -> Any:
        # httpcore's pool, in one thread, takes an idle connection whose socket is readable
        # for one the server closed, and closes it. Its "idle" can be stale: another thread
        # may meanwhile have sent a request on it, whose answer is what is readable; closed
        # under that thread, its read failed (EBADF). In use, before or after the look (a
        # request is marked before its first byte, so before any answer), it is not the
        # server's close.
        if info != "is_readable":
            return self._stream.get_extra_info(info)
        if self.in_use:
            return False
        readable = self._stream.get_extra_info(info)
        return bool(readable) and not self.in_use


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend with each read and write bounded by the request's deadline."""

    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host,
            port,
            _within_deadline(timeout, httpcore.ConnectTimeout),
            local_address,
            socket_options,
        )
        return _DeadlineStream(stream)


# Settings


@dataclass(frozen=True)
class ApiUrl:
    """The API's base URL without credentials (always ending in `/`), and any credentials
    that were written into it."""

    base: str
    scheme: str
    host: str
    username: str | None
    password: str | None

    @classmethod
    def parse(cls, text: str) -> ApiUrl:
        try:
            parts = urlsplit(text.strip())
            port = parts.port
        except ValueError as exc:
            raise InvalidSettings(
                f"The API URL is not a valid URL: {server_text(str(exc), 120)}",
                hint=_API_URL_EXAMPLE,
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidSettings(
                "The API URL must be an http:// or https:// URL with a host",
                hint=_API_URL_EXAMPLE,
            )
        host = parts.hostname
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc = f"{netloc}:{port}"
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        username = unquote(parts.username) if parts.username else None
        password = unquote(parts.password) if parts.password else None
        base = urlunsplit((parts.scheme, netloc, path, "", ""))
        return cls(base, parts.scheme, host, username, password)


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    """What to trust: the CA bundle (a PEM file or a directory of them) at `verify`, the
    system's store for True (see `system_context`), nothing for False (verification off)."""
    if verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    if verify is True:
        return system_context()
    try:
        if os.path.isdir(verify):
            return _directory_context(verify)
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InvalidSettings(
            f"Cannot use the CA bundle {verify}: {one_line(reason, 120)}",
            hint="ca_bundle must be a PEM file of CA certificates, or a directory of them",
        ) from None


def _directory_context(directory: str) -> ssl.SSLContext:
    """The CAs of a directory: OpenSSL's lookup by hashed name (as in /etc/ssl/certs, made
    by c_rehash), and every certificate file in it (.pem, .crt, .cer) besides, so that a
    directory of plainly named files works too. A file that holds no certificate is
    passed over."""
    context = ssl.create_default_context(capath=directory)
    with os.scandir(directory) as entries:
        names = sorted(
            entry.path
            for entry in entries
            if entry.name.lower().endswith((".pem", ".crt", ".cer")) and entry.is_file()
        )
    for path in names[:_MAX_CA_FILES]:
        try:
            context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError):
            continue
    return context


def system_context() -> ssl.SSLContext:
    """The system's trust store: through truststore when it is installed (the platform's
    own verifier: a CA an administrator installed system-wide is trusted, as a browser
    would), else OpenSSL's default paths (which SSL_CERT_FILE and SSL_CERT_DIR change)."""
    try:
        import truststore
    except ImportError:
        return ssl.create_default_context()
    return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def _proxy_for(url: ApiUrl) -> httpcore.Proxy | None:
    """The proxy the environment names for this URL (HTTPS_PROXY, NO_PROXY, ...), if any."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None
    import urllib.request  # only when a proxy variable is set: it is slow to import

    if urllib.request.proxy_bypass(url.host):
        return None
    proxy = urllib.request.getproxies().get(url.scheme)
    return httpcore.Proxy(proxy) if proxy else None


# Failures of the network, and answers that are not 2xx: the two mapping tables.


@dataclass(frozen=True)
class _Failure:
    """What the tables below describe a failure from."""

    what: str
    where: str
    timeout: float
    reason: str
    exc: BaseException
    # A POST or PUT: had it reached the server, it may have changed something. A read
    # changes nothing: its hint is to try again.
    writes: bool


def _connect_timed_out(f: _Failure) -> KostyorError:
    return TimedOut(
        f"Could not {f.what}: no connection to {f.where} within {f.timeout:g} s",
        hint="check api_url and the network, or raise the timeout",
    )


def _no_free_connection(f: _Failure) -> KostyorError:
    # Not sent: every pooled connection stayed busy with other requests until the deadline.
    return TimedOut(
        f"Could not {f.what}: no free connection to {f.where} within {f.timeout:g} s "
        "(the others are waiting for answers)",
        hint="the server is slow to answer: try again, or raise the timeout",
    )


def _answer_timed_out(f: _Failure) -> KostyorError:
    error = TimedOut(
        f"Could not {f.what}: {f.where} did not answer within {f.timeout:g} s",
        hint="it may still take effect: check before retrying, or raise the timeout"
        if f.writes
        else "the server is slow to answer: try again, or raise the timeout",
    )
    error.outcome_unknown = True
    return error


def _connect_failed(f: _Failure) -> KostyorError:
    problem = _tls_verify_failure(f.exc)
    if problem is not None:
        return Unreachable(
            f"Could not {f.what}: TLS certificate verification failed for {f.where} "
            f"({one_line(problem, 120)})",
            hint="set ca_bundle to the CA that signed the server's certificate, "
            "or use --insecure to skip verification",
        )
    if _caused_by(f.exc, ssl.SSLError):
        return Unreachable(
            f"Could not {f.what}: TLS handshake with {f.where} failed ({one_line(f.reason, 120)})",
            hint="check that the server speaks https at that address",
        )
    # "[Errno 111] Connection refused" reads better without its errno.
    reason = re.sub(r"^\[Errno -?\d+\]\s*", "", f.reason) or type(f.exc).__name__
    return Unreachable(
        f"Could not {f.what}: cannot connect to {f.where} ({one_line(reason, _MAX_SERVER_TEXT)})",
        hint="check api_url and that the Kostyor server is running",
    )


def _connection_broke(f: _Failure) -> KostyorError:
    # The request may have been sent: the connection broke before an answer.
    error = Unreachable(
        f"Could not {f.what}: the connection to {f.where} broke before an answer "
        f"({one_line(f.reason or type(f.exc).__name__, 120)})",
        hint="it may still take effect: check the state before retrying"
        if f.writes
        else "try again; if it breaks again, check the server and what lies between",
    )
    error.outcome_unknown = True
    return error


def _not_http(f: _Failure) -> KostyorError:
    # "Server disconnected without sending a response.": nothing came back at all. An
    # answer that began and was cut short ("peer closed connection without sending
    # complete message body") is not HTTP: the server did answer, brokenly.
    if "disconnect" in f.reason.lower():
        return _connection_broke(f)
    return ProtocolError(
        f"Could not {f.what}: {f.where} did not answer in HTTP ({one_line(f.reason, 120)})",
        hint="check that api_url points at the Kostyor API",
    )


def _proxy_failed(f: _Failure) -> KostyorError:
    return Unreachable(
        f"Could not {f.what}: the HTTP proxy refused the connection to {f.where} "
        f"({one_line(f.reason, 120)})",
        hint="check HTTPS_PROXY / NO_PROXY",
    )


def _unusable_url(f: _Failure) -> KostyorError:
    return InvalidSettings(f"Could not {f.what}: unusable API URL {f.where}")


# httpcore's exceptions, most specific first.
_FAILURES: tuple[tuple[type[Exception], Callable[[_Failure], KostyorError]], ...] = (
    (httpcore.ConnectTimeout, _connect_timed_out),
    (httpcore.PoolTimeout, _no_free_connection),
    (httpcore.TimeoutException, _answer_timed_out),
    (httpcore.ConnectError, _connect_failed),
    (httpcore.ProxyError, _proxy_failed),
    (httpcore.RemoteProtocolError, _not_http),
    (httpcore.NetworkError, _connection_broke),
    (httpcore.UnsupportedProtocol, _unusable_url),
    (httpcore.LocalProtocolError, _unusable_url),
)
_FAILURE_TYPES = tuple(kind for kind, _ in _FAILURES)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, kind):
            return current
        current = current.__cause__ or current.__context__
    return None


def _tls_verify_failure(exc: BaseException) -> str | None:
    """The certificate problem behind a failed connection, or None if it was something else."""
    failure = _caused_by(exc, ssl.SSLCertVerificationError)
    if isinstance(failure, ssl.SSLCertVerificationError):
        return failure.verify_message or "certificate verify failed"
    if "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "certificate verify failed"
    return None


@dataclass(frozen=True)
class _Refusal:
    """A non-2xx answer, for the table below."""

    what: str
    method: str
    path: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    message: str | None
    field_errors: dict[str, list[str]]
    is_json: bool
    redact: Callable[[str], str]

    @property
    def described(self) -> str:
        return describe_body(self.body, self.redact)

    @property
    def said(self) -> str:
        return f": {self.message}" if self.message else ""

    @property
    def body_text(self) -> str:
        return self.said if self.is_json else f", {self.described}"


def _redirected(r: _Refusal) -> KostyorError:
    location = r.headers.get("location", "")
    try:
        parts = urlsplit(location)
        netloc = parts.hostname or ""
        if parts.port:
            netloc = f"{netloc}:{parts.port}"
        location = urlunsplit(parts._replace(netloc=netloc)) if parts.hostname else location
    except ValueError:
        location = ""
    target = f" to {server_text(r.redact(location), 200)}" if location else ""
    return ProtocolError(
        f"Could not {r.what}: the server redirected ({r.status}){target}",
        hint="set api_url to the address the API really lives at",
    )


def _auth_failed(r: _Refusal) -> KostyorError:
    return AuthFailed(
        f"Could not {r.what}: authentication failed ({r.status}){r.said}",
        hint="check username and password, or the token "
        "(KOSTYOR_USERNAME, KOSTYOR_PASSWORD, KOSTYOR_TOKEN)",
    )


def _not_found(r: _Refusal) -> KostyorError:
    if r.is_json:
        return NotFound(f"Could not {r.what}: not found{r.said}")
    return NotFound(
        f"Could not {r.what}: the server has no {r.method} /{r.path} (404, {r.described})",
        hint="check api_url, including any path prefix",
    )


def _doubled_resource(api_url: str, path: str) -> str | None:
    """The hint for an api_url copied from a request (http://host:5055/clusters): every
    path is then asked for twice, and the server answers 404, or 500 as the real one does
    for /clusters/clusters (docs/kostyor-api.md#quirk-unknown-ids)."""
    resource = path.split("/", 1)[0]
    if resource and urlsplit(api_url).path.rstrip("/").endswith("/" + resource):
        return (
            f"api_url ends in /{resource}, which kostyor-tui adds itself: "
            f"set it to the address before /{resource}"
        )
    return None


def _method_not_allowed(r: _Refusal) -> KostyorError:
    return ProtocolError(
        f"Could not {r.what}: the server does not accept {r.method} /{r.path} (405){r.said}",
        hint="check that api_url points at a Kostyor API this client supports",
    )


def _busy(r: _Refusal) -> KostyorError:
    retry_after = _retry_after(r.headers.get("retry-after"))
    when = f"try again in {retry_after:g} s" if retry_after is not None else "try again shortly"
    return Busy(
        f"Could not {r.what}: the server is busy ({r.status}){r.body_text}",
        status_code=r.status,
        retry_after=retry_after,
        hint=when,
    )


def _rejected(r: _Refusal) -> KostyorError:
    detail = r.message or ("refused" + ("" if r.is_json else f", {r.described}"))
    return Rejected(
        f"Could not {r.what}: the server refused it ({r.status}): {detail}",
        status_code=r.status,
        field_errors=r.field_errors,
    )


def _server_error(r: _Refusal) -> KostyorError:
    return ServerError(
        f"Could not {r.what}: the server answered {r.status}{r.body_text}",
        status_code=r.status,
        hint="see the Kostyor server's log",
    )


# Answers that are not 2xx, by status code: the first row whose codes include it.
_ANSWERS: tuple[tuple[range | tuple[int, ...], Callable[[_Refusal], KostyorError]], ...] = (
    (range(300, 400), _redirected),
    ((401, 403), _auth_failed),
    ((404,), _not_found),
    ((405,), _method_not_allowed),
    ((429, 503), _busy),
    (range(400, 500), _rejected),
    (range(100, 1000), _server_error),
)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _server_message(
    body: Any, redact: Callable[[str], str] = str
) -> tuple[str | None, dict[str, list[str]]]:
    """The server's `message` and `errors` fields, whatever their exact shape; `redact` is
    applied before they are cut short."""
    if not isinstance(body, dict):
        return None, {}
    message = body.get("message")
    shown = server_text(redact(str(message))) if message not in (None, "") else None
    field_errors: dict[str, list[str]] = {}
    errors = body.get("errors")
    if isinstance(errors, dict):
        for name, problems in errors.items():
            items = problems if isinstance(problems, list) else [problems]
            field_errors[server_text(redact(str(name)), 60)] = [
                server_text(redact(str(item)), 120) for item in items
            ]
    return shown, field_errors


def _redacted_fields(value: Any) -> Any:
    """A request body with the values of secret-looking keys (`password`, `api_key`...)
    replaced by the redaction mark, at any depth, and the password written into any URL
    (`auth_url=http://admin:PASSWORD@keystone/`) too."""
    if isinstance(value, dict):
        return {
            key: REDACTED if is_secret_name(str(key)) else _redacted_fields(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_redacted_fields(item) for item in value]
    if isinstance(value, str):
        return redact_urls(value)
    return value


class Transport:
    """One per client: a small pool of connections to the API, safe to share between threads."""

    def __init__(
        self,
        api_url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        token: str | None = None,
        token_refresh: TokenRefresh | None = None,
        verify: bool | str = True,
        timeout: float = 10.0,
        max_connections: int = 4,
        max_answer_bytes: int = MAX_ANSWER_BYTES,
        debug: Debug | None = None,
    ) -> None:
        url = ApiUrl.parse(api_url)
        # Credentials written into the URL become Basic auth and leave the URL, so that
        # no message ever shows them.
        if username is None and url.username:
            username, password = url.username, url.password
        self.api_url = url.base
        self.timeout = timeout
        self.max_answer_bytes = max_answer_bytes
        self._secrets = tuple(secret for secret in (password, token, url.password) if secret)
        self._debug = debug
        self._token = token or None
        self._token_refresh = token_refresh
        self._token_lock = threading.Lock()
        headers = {
            "Accept": "application/json",
            "Accept-Encoding": "identity",
            "User-Agent": f"kostyor-tui/{__version__}",
        }
        if username:
            pair = f"{username}:{password or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        self._headers = [(name.encode(), value.encode()) for name, value in headers.items()]
        self._pool = httpcore.ConnectionPool(
            # Plain http never uses TLS (redirects are not followed): skip loading the
            # CA store, a noticeable part of a headless command's start-up.
            ssl_context=ssl_context(verify) if url.scheme == "https" else None,
            proxy=_proxy_for(url),
            max_connections=max(1, max_connections),
            max_keepalive_connections=max(1, max_connections),
            network_backend=_DeadlineBackend(),
        )

    def close(self) -> None:
        self._pool.close()

    def redact(self, text: str) -> str:
        return redact(text, self._secrets)

    def request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> Answer:
        """Send one request; return its 2xx answer or raise what went wrong.

        `what` completes "Could not ..." in error messages; `timeout` (default: the
        client's) is the deadline for the whole exchange.
        """
        url = self.api_url + path.lstrip("/")
        if params:
            url += "?" + urlencode(params)
        content = None
        if json_body is not None:
            content = json.dumps(json_body).encode()
        redact_all = self._redactor(json_body)
        token = self._token
        status, answer_headers, body = self._send(
            method, url, content, json_body, token, what, timeout, redact_all
        )
        if status == 401 and token is not None and self._token_refresh is not None:
            # An expired token (Keystone's last a few hours): get a fresh one. A GET is sent
            # again with it, once; a POST or PUT never is sent twice, but a 401 means it
            # was not acted on, so the operator can simply try again now.
            fresh = self._fresh_token(token, what, status)
            if method != "GET":
                raise AuthFailed(
                    f"Could not {what}: the API refused the token ({status}), which had "
                    "probably expired; token_command gave a fresh one",
                    hint="nothing was changed: try again",
                )
            status, answer_headers, body = self._send(
                method, url, content, json_body, fresh, what, timeout, redact_all
            )
        if 200 <= status < 300:
            return Answer(status, body, what, redact_all)
        raise self._refusal(what, method, path, status, answer_headers, body, redact_all)

    def _redactor(self, json_body: Any) -> Callable[[str], str]:
        """What hides the secrets in any text about one request: the client's own, and
        those the request carries (a discovery's password, one written into a URL), which
        a server may repeat in its answer."""
        carried = secret_values(json_body)
        if not carried:
            return self.redact
        # The client's own read at each call: a fresh token joins them during a request.
        return lambda text: redact(self.redact(text), carried)

    def _send(
        self,
        method: str,
        url: str,
        content: bytes | None,
        json_body: Any,
        token: str | None,
        what: str,
        timeout: float | None,
        redact_all: Callable[[str], str],
    ) -> tuple[int, dict[str, str], bytes]:
        """One exchange within the deadline; failures of the network mapped; `json_body`
        (what `content` encodes) only for --debug."""
        deadline = timeout if timeout is not None else self.timeout
        headers = list(self._headers)
        if token is not None:
            headers.append((b"X-Auth-Token", token.encode()))
        if content is not None:
            headers.append((b"Content-Type", b"application/json"))
        started = time.monotonic()
        _deadline.at = started + deadline
        try:
            status, answer_headers, body = self._exchange(method, url, headers, content, deadline)
        except _FAILURE_TYPES as exc:
            failure = self._failure(exc, what, deadline, redact_all, writes=method != "GET")
            if self._debug is not None:
                self._debug(
                    f"{self._debug_request(method, url, json_body, redact_all)} → no answer"
                    f" after {1000 * (time.monotonic() - started):.0f} ms:"
                    f" {type(exc).__name__}: {server_text(redact_all(str(exc)), 200)}"
                )
            raise failure from None
        finally:
            _deadline.at = None
        if self._debug is not None:
            excerpt = server_text(redact_all(body[:500].decode(errors="replace")), 200)
            self._debug(
                f"{self._debug_request(method, url, json_body, redact_all)} → {status} in "
                f"{1000 * (time.monotonic() - started):.0f} ms, {len(body)} bytes: {excerpt}"
            )
        return status, answer_headers, body

    def _fresh_token(self, refused: str, what: str, status: int) -> str:
        """A token newer than `refused`: the one another thread already fetched, else a new
        one from `token_refresh` (run once however many requests were refused together)."""
        assert self._token_refresh is not None
        with self._token_lock:
            if self._token != refused and self._token is not None:
                return self._token
            try:
                fresh = self._token_refresh()
            except KostyorTuiError as failure:
                raise AuthFailed(
                    f"Could not {what}: the API refused the token ({status}), and "
                    f"token_command could not get a fresh one: {failure.one_line()}",
                    hint="check token_command",
                ) from None
            self._secrets = (*self._secrets, fresh)
            self._token = fresh
            return fresh

    def _debug_request(
        self, method: str, url: str, json_body: Any, redact_all: Callable[[str], str]
    ) -> str:
        """`POST http://…/upgrades {"cluster_id": …}` for --debug: the body cut short, the
        values of secret-looking keys and every known secret redacted (credentials travel
        in headers, which are never shown)."""
        if json_body is None:
            return f"{method} {url}"
        text = json.dumps(_redacted_fields(json_body), ensure_ascii=False)
        return f"{method} {url} {server_text(redact_all(text), 200)}"

    def _exchange(
        self,
        method: str,
        url: str,
        headers: list[tuple[bytes, bytes]],
        content: bytes | None,
        deadline: float,
    ) -> tuple[int, dict[str, str], bytes]:
        extensions = {
            # Waiting for a pooled connection counts against the deadline too.
            "timeout": {"connect": deadline, "read": deadline, "write": deadline, "pool": deadline}
        }
        with self._pool.stream(
            method, url, headers=headers, content=content, extensions=extensions
        ) as response:
            answer_headers = {
                name.decode("latin-1").lower(): value.decode("latin-1")
                for name, value in response.headers
            }
            encoding = answer_headers.get("content-encoding", "identity").strip().lower()
            if encoding not in ("", "identity"):
                raise _Oversize(f"a {encoding}-compressed answer, which was not asked for")
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_stream():
                size += len(chunk)
                if size > self.max_answer_bytes:
                    raise _Oversize(f"an answer larger than {self.max_answer_bytes:,} bytes")
                chunks.append(chunk)
            stream = response.extensions.get("network_stream")
            if isinstance(stream, _DeadlineStream):
                stream.in_use = False  # answered: readable again means the server closed it
        return response.status, answer_headers, b"".join(chunks)

    def _failure(
        self,
        exc: Exception,
        what: str,
        timeout: float,
        redact_all: Callable[[str], str],
        *,
        writes: bool,
    ) -> KostyorError:
        if isinstance(exc, _Oversize):
            return ProtocolError(
                f"Could not {what}: {self.api_url} sent {exc}",
                hint="check that api_url points at the Kostyor API",
            )
        failure = _Failure(what, self.api_url, timeout, redact_all(str(exc)), exc, writes)
        for kind, describe in _FAILURES:
            if isinstance(exc, kind):
                return describe(failure)
        raise AssertionError(f"unmapped transport failure {type(exc).__name__}")

    def _refusal(
        self,
        what: str,
        method: str,
        path: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        redact_all: Callable[[str], str],
    ) -> KostyorError:
        try:
            decoded = json.loads(body[:_MAX_ERROR_BODY])
            is_json = True
        except (ValueError, UnicodeDecodeError, RecursionError):
            decoded, is_json = None, False
        message, field_errors = _server_message(decoded, redact_all)
        refusal = _Refusal(
            what,
            method,
            path.lstrip("/"),
            status,
            headers,
            body,
            message,
            field_errors,
            is_json,
            redact_all,
        )
        for codes, describe in _ANSWERS:
            if status in codes:
                error = describe(refusal)
                if status in (404, 500) and (hint := _doubled_resource(self.api_url, path)):
                    error.hint = hint
                return error
        raise AssertionError(f"unmapped status {status}")


class _Oversize(httpcore.NetworkError):
    """An answer the client will not read to the end (too big, or compressed)."""
