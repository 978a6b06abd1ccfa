"""`kostyor-tui --demo` leaves nothing behind when its terminal hangs up (SIGHUP: a dropped
SSH session) or it is told to stop (SIGTERM), as with `q`: the demo server stops (its port
closes) and its temporary directory and database are removed.

A real `kostyor-tui --demo` process on a pseudo-terminal (the console needs one), with
TMPDIR pointed at the test's directory so that the demo's directory can be found."""

import fcntl
import os
import pty
import re
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.waiting import wait_until

URL = re.compile(rb"http://127\.0\.0\.1:(\d+)")


class Screen:
    """Everything the console writes to its terminal, read as it comes (a terminal that is
    not read would block the console)."""

    def __init__(self, master: int) -> None:
        self.data = bytearray()
        self._master = master
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self._master, 65536)
            except OSError:
                return
            if not chunk:
                return
            self.data.extend(chunk)

    def type(self, keys: bytes) -> None:
        os.write(self._master, keys)


@contextmanager
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], Screen]]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    # An empty config: never the operator's own.
    config = tmp_path / "empty.toml"
    config.write_text("")
    environ = {**os.environ, "TMPDIR": str(tmp_path), "TERM": "xterm-256color"}
    environ.pop("KOSTYOR_API_URL", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "kostyor_tui", "--demo", "--config", str(config)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environ,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    screen = Screen(master)
    try:
        yield process, screen
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def demo_directories(tmp_path: Path) -> list[Path]:
    return sorted(tmp_path.glob("kostyor-demo-*"))


@pytest.mark.parametrize(
    "stop",
    [
        pytest.param(lambda process, screen: process.send_signal(signal.SIGHUP), id="SIGHUP"),
        pytest.param(lambda process, screen: process.send_signal(signal.SIGTERM), id="SIGTERM"),
        pytest.param(lambda process, screen: screen.type(b"q"), id="q"),
    ],
)
def test_the_demo_cleans_up_however_it_ends(tmp_path: Path, stop):
    with demo(tmp_path) as (process, screen):
        # Up and running: the console shows the demo server's URL and has its fleet.
        found = wait_until(lambda: URL.search(bytes(screen.data)), "the console", timeout=60)
        wait_until(lambda: b"home_lab" in screen.data, "the demo fleet", timeout=60)
        port = int(found.group(1))
        directories = demo_directories(tmp_path)
        assert len(directories) == 1 and (directories[0] / "kostyor.sqlite3").exists()
        assert port_open(port)
        stop(process, screen)
        code = process.wait(timeout=60)
        assert code in (0, 128 + signal.SIGHUP, 128 + signal.SIGTERM), code
        assert demo_directories(tmp_path) == []
        assert not port_open(port)
