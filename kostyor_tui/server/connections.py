"""Connection limits uvicorn's HTTP/1.1 protocol lacks.

uvicorn closes a keep-alive connection left idle after an answer
(`timeout_keep_alive`), but waits forever for a connection that sends nothing, or
half a request: a few such connections then hold the server. This protocol gives
every request (its headers and its body) `request_seconds` from its first byte, or
from the connection's opening, then answers 408 and closes. It also answers 503 to
the requests of connections beyond `max_connections`, in JSON like every answer.
"""

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

import h11
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

DEFAULT_KEEP_ALIVE_SECONDS = 5.0
DEFAULT_REQUEST_SECONDS = 10.0
DEFAULT_MAX_CONNECTIONS = 100
# The request line and headers together; a longer head is refused (431).
MAX_HEAD_BYTES = 16 * 1024
# Where a head ends (h11 takes a bare LF for CRLF).
_HEAD_END = re.compile(rb"\r?\n\r?\n")
_RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class ConnectionLimits:
    keep_alive_seconds: float = DEFAULT_KEEP_ALIVE_SECONDS
    request_seconds: float = DEFAULT_REQUEST_SECONDS
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def _raw_answer(status: str, message: str) -> bytes:
    # Written straight to the transport: h11 cannot answer a request it has not parsed.
    body = json.dumps({"message": message}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _head_too_long(received: bytes) -> bool:
    """Whether the head at the start of `received` is over MAX_HEAD_BYTES."""
    return (
        len(received) > MAX_HEAD_BYTES and _HEAD_END.search(received, 0, MAX_HEAD_BYTES + 4) is None
    )


_HEAD_TOO_LONG = (
    "431 Request Header Fields Too Large",
    f"A request's line and headers are at most {MAX_HEAD_BYTES // 1024} KiB.",
)


async def _too_many_connections(scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(
        {"message": "The server has too many open connections; try again shortly."},
        503,
        headers={"Retry-After": str(_RETRY_AFTER_SECONDS), "Connection": "close"},
    )
    await response(scope, receive, send)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a per-request deadline and a connection cap."""

    limits = ConnectionLimits()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._request_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            # Its requests are read (so the client gets an answer, not a reset), then refused.
            self.app = _too_many_connections
        self._arm()

    def handle_events(self) -> None:
        # h11 limits only a head that arrives in pieces (h11_max_incomplete_event_size):
        # one that arrived whole, or pipelined behind the last request (parsed from the
        # buffer once that one is answered), is measured here, before it is parsed.
        if self.conn.their_state is h11.IDLE and _head_too_long(self.conn.trailing_data[0]):
            self._refuse(*_HEAD_TOO_LONG)
            return
        super().handle_events()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in (h11.IDLE, h11.SEND_BODY) and not self.transport.is_closing():
            self._arm()  # part of a request is here: the rest has until the deadline
        else:
            self._disarm()

    def send_400_response(self, msg: str) -> None:
        # What h11 cannot parse, answered in JSON like every answer of this server.
        if len(self.conn.trailing_data[0]) > MAX_HEAD_BYTES:
            self._refuse(*_HEAD_TOO_LONG)
        else:
            self._refuse("400 Bad Request", "The request is not valid HTTP/1.1.")

    def _refuse(self, status: str, message: str) -> None:
        self._disarm()
        self.transport.write(_raw_answer(status, message))
        self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._request_timer is None:
            self._request_timer = self.loop.call_later(
                self.limits.request_seconds, self._request_timed_out
            )

    def _disarm(self) -> None:
        if self._request_timer is not None:
            self._request_timer.cancel()
            self._request_timer = None

    def _request_timed_out(self) -> None:
        self._request_timer = None
        if self.transport.is_closing() or self.conn.their_state not in (h11.IDLE, h11.SEND_BODY):
            return
        # Half a head has no answer yet; half a body has none unless the route gave one.
        if self.conn.their_state is h11.IDLE or not self.cycle.response_started:
            self.transport.write(
                _raw_answer(
                    "408 Request Timeout",
                    f"The request did not arrive within {self.limits.request_seconds:g} s.",
                )
            )
        self.transport.close()


def protocol_with(limits: ConnectionLimits) -> type[GuardedH11Protocol]:
    """The protocol class to give uvicorn (it instantiates it per connection)."""
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"limits": limits})
