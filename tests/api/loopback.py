"""Raw TCP (or TLS) servers on loopback, for failures no real Kostyor server produces on cue:
silence, a reset, garbage instead of HTTP, an answer dripped a byte at a time, TLS trouble.

The client is synchronous, so the server runs in threads of its own: one accepting,
one per connection, each running `handler(connection)`. The context manager
always stops accepting, wakes every handler (`connection.stopping` is set and the
sockets are shut down) and joins every thread. A handler that raises anything but
a socket error (the client hung up) has its exception raised again at the end.
"""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress


class Connection:
    """One accepted connection, as a handler sees it."""

    def __init__(self, sock: socket.socket, stopping: threading.Event) -> None:
        self.sock = sock
        self.stopping = stopping
        self.sent = 0  # bytes written by `send`, for tests that count them

    def read_request_head(self) -> bytes:
        """Everything up to the blank line that ends a request's head."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("the client closed the connection")
            data += chunk
        return data

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)
        self.sent += len(data)

    def pause(self, seconds: float) -> bool:
        """Wait; True if the server is stopping (the handler should return)."""
        return self.stopping.wait(seconds)

    def drip(self, data: bytes, interval: float) -> None:
        """Send `data` one byte every `interval` seconds, until done, the client leaves or
        the server stops."""
        for index in range(len(data)):
            if self.pause(interval):
                return
            self.send(data[index : index + 1])


Handler = Callable[[Connection], None]


@contextmanager
def loopback_server(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> Iterator[int]:
    """A raw TCP (or TLS) server on a free loopback port; yields the port."""
    stopping = threading.Event()
    lock = threading.Lock()
    sockets: set[socket.socket] = set()
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    port = listener.getsockname()[1]

    def serve(sock: socket.socket) -> None:
        try:
            if ssl_context is not None:
                sock.settimeout(10)
                sock = ssl_context.wrap_socket(sock, server_side=True)
                sock.settimeout(None)
                with lock:
                    sockets.add(sock)
            handler(Connection(sock, stopping))
        except (OSError, ssl.SSLError):
            pass  # the client hung up, or refused our certificate: nothing to report
        except BaseException as error:
            errors.append(error)
        finally:
            with suppress(OSError):
                sock.close()

    def accept() -> None:
        while not stopping.is_set():
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(None)
            with lock:
                if stopping.is_set():
                    sock.close()
                    return
                sockets.add(sock)
                thread = threading.Thread(target=serve, args=(sock,), daemon=True)
                threads.append(thread)
            thread.start()

    acceptor = threading.Thread(target=accept, name="loopback-accept", daemon=True)
    acceptor.start()
    try:
        yield port
    finally:
        stopping.set()
        acceptor.join(timeout=10)
        listener.close()
        with lock:
            open_now = list(sockets)
            started = list(threads)
        for sock in open_now:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in started:
            thread.join(timeout=10)
        assert not any(thread.is_alive() for thread in started), "a loopback handler hung"
    if errors:
        raise errors[0]


def answer_empty_list(connection: Connection) -> None:
    connection.read_request_head()
    connection.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\n[]"
    )
