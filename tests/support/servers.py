"""Real Kostyor-compatible servers for tests: in a thread, or as a subprocess one can SIGKILL.

Both listen on a free loopback port and keep their state in the SQLite file
the test gives them.
"""

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kostyor_tui.server.runner import BackgroundServer, ServerOptions, start_in_background

_URL_LINE = re.compile(r"serving on (http://\S+)")


@contextmanager
def running_server(db_path: Path, **options: Any) -> Iterator[BackgroundServer]:
    """A server in a background thread (any `ServerOptions` field as a keyword), stopped after."""
    server = start_in_background(ServerOptions(db_path=Path(db_path), **options))
    try:
        yield server
    finally:
        server.stop()


class ServerProcess:
    """`python -m kostyor_tui.server.cli serve` in a real subprocess, on a free port.

    Output goes to `log_path` (next to the database unless given).
    """

    def __init__(
        self,
        db_path: Path,
        *,
        seed: str = "demo",
        step_seconds: float = 0.05,
        fail_rate: float = 0.0,
        fail_host: str | None = None,
        auth: tuple[str, str] | None = None,
        random_seed: int | None = None,
        log_path: Path | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.log_path = log_path or self.db_path.with_suffix(".log")
        self.args = [
            sys.executable,
            "-m",
            "kostyor_tui.server.cli",
            "serve",
            "--port",
            "0",
            "--db",
            str(self.db_path),
            "--seed",
            seed,
            "--step-seconds",
            str(step_seconds),
            "--fail-rate",
            str(fail_rate),
        ]
        if fail_host is not None:
            self.args += ["--fail-host", fail_host]
        if auth is not None:
            self.args += ["--auth", f"{auth[0]}:{auth[1]}"]
        if random_seed is not None:
            self.args += ["--random-seed", str(random_seed)]
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        """Start the process; return once it prints the URL it serves (it is listening then)."""
        self.log_path.write_bytes(b"")
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = _URL_LINE.search(self.log_path.read_text(errors="replace"))
            if match:
                self.url = match.group(1)
                return self
            if self.process.poll() is not None:
                break
            time.sleep(0.02)
        self.kill()
        raise RuntimeError(f"server did not start:\n{self.log_path.read_text(errors='replace')}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop. Returns the exit code."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
