"""The embedded server as a child process: `--demo` runs it this way so that the
server and the console don't share one interpreter lock, and the durability
tests SIGKILL it.

Imports nothing of the server itself, so the parent stays light.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

_URL_LINE = re.compile(r"serving on (http://\S+)")
# As kostyor_tui.server.cli reads it (not imported: the parent stays light).
_AUTH_ENVIRONMENT = "KOSTYOR_SERVER_AUTH"
_PR_SET_PDEATHSIG = 1


def _terminate_with_parent() -> None:
    """In the child: get SIGTERM when the parent dies, even by SIGKILL or a hung-up SSH
    session, so that a demo server is never left behind (Linux only; elsewhere a no-op)."""
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> int:
    """SIGTERM and wait up to `timeout` seconds; SIGKILL if it has not stopped.
    Returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
    return process.returncode


class ServerProcess:
    """`python -m kostyor_tui.server.cli serve` in a subprocess, on a free port by default.

    Its output goes to `log_path` (next to the database unless given); `.url` is
    known once `start()` returns.
    """

    def __init__(
        self,
        db_path: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: str = "demo",
        step_seconds: float = 1.0,
        fail_rate: float = 0.0,
        fail_host: str | None = None,
        auth: tuple[str, str] | None = None,
        random_seed: int | None = None,
        log_path: Path | None = None,
        die_with_parent: bool = False,
        behave: str = "fixed",
        broker_down: bool = False,
        inventory_dirs: tuple[Path, ...] = (),
        ansible_inventory: Path | None = None,
    ) -> None:
        self.db_path = Path(db_path)
        self.die_with_parent = die_with_parent
        self.log_path = log_path or self.db_path.with_suffix(".log")
        self.args = [
            sys.executable,
            "-m",
            "kostyor_tui.server.cli",
            "serve",
            "--host",
            host,
            "--port",
            str(port),
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
        # "upstream": as the real server answers (docs/kostyor-api.md#upstream-mode).
        self.args += ["--behave", behave]
        if broker_down:
            self.args.append("--broker-down")
        for directory in inventory_dirs:
            self.args += ["--inventory-dir", str(directory)]
        if ansible_inventory is not None:
            self.args += ["--ansible-inventory", str(ansible_inventory)]
        # Credentials go by the environment, which only this user can read; argv is
        # shown to everyone by `ps`. Never inherited: no auth means none.
        self.env = {k: v for k, v in os.environ.items() if k != _AUTH_ENVIRONMENT}
        if auth is not None:
            self.env[_AUTH_ENVIRONMENT] = f"{auth[0]}:{auth[1]}"
        if random_seed is not None:
            self.args += ["--random-seed", str(random_seed)]
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> "ServerProcess":
        """Start the process; return once it prints the URL it serves (it is listening then)."""
        self.spawn()
        return self.wait_until_serving(timeout)

    def spawn(self) -> None:
        """Start the process and return at once (`wait_until_serving` waits for it)."""
        self.log_path.write_bytes(b"")
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                self.args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                preexec_fn=_terminate_with_parent if self.die_with_parent else None,
            )
        finally:
            log.close()

    def wait_until_serving(self, timeout: float = 30.0) -> "ServerProcess":
        """Return once the spawned process prints the URL it serves; RuntimeError (and the
        process killed) if it stops or does not within `timeout` seconds."""
        assert self.process is not None, "spawn() first"
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
        output = self.log_path.read_text(errors="replace").strip()
        last_line = output.splitlines()[-1] if output else "no output"
        raise RuntimeError(f"the embedded server did not start: {last_line}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not stop. Returns the exit code."""
        if self.process is None:
            return None
        return stop_process(self.process, timeout)

    def __enter__(self) -> "ServerProcess":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
