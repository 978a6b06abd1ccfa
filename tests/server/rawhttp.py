"""HTTP/1.1 over one plain socket, for tests about connections themselves: whether the
server keeps one open after an answer, closes one in time, or answers half a request."""

import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawConnection:
    def __init__(self, url: str, timeout: float = 15.0) -> None:
        parts = urlsplit(url)
        self.host = f"{parts.hostname}:{parts.port}"
        self.sock = socket.create_connection((parts.hostname, parts.port), timeout=timeout)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        content = b"" if body is None else json.dumps(body).encode()
        head = {"Host": self.host, "Content-Length": str(len(content))}
        if body is not None:
            head["Content-Type"] = "application/json"
        head.update(headers or {})
        lines = "".join(f"{name}: {value}\r\n" for name, value in head.items())
        self.send(f"{method} {path} HTTP/1.1\r\n{lines}\r\n".encode() + content)
        return self.read_answer()

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def read_answer(self) -> Answer:
        while b"\r\n\r\n" not in self._buffer:
            self._buffer += self._recv()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            self._buffer += self._recv()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return Answer(int(status_line.split()[1]), headers, body)

    def closed_within(self, seconds: float) -> float | None:
        """Seconds until the server closed the connection (reading and dropping anything
        it sends), or None if it is still open after `seconds`."""
        start = time.monotonic()
        self.sock.settimeout(seconds)
        try:
            while self.sock.recv(65536):
                self.sock.settimeout(max(0.001, seconds - (time.monotonic() - start)))
        except TimeoutError:
            return None
        except ConnectionResetError:
            pass
        return time.monotonic() - start

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "RawConnection":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
