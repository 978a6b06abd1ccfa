"""Real Kostyor-compatible servers for tests: in a thread, or as a subprocess one can SIGKILL.

Both listen on a free loopback port and keep their state in the SQLite file
the test gives them.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kostyor_tui.server import process
from kostyor_tui.server.runner import BackgroundServer, ServerOptions, start_in_background


@contextmanager
def running_server(db_path: Path, **options: Any) -> Iterator[BackgroundServer]:
    """A server in a background thread (any `ServerOptions` field as a keyword), stopped after."""
    server = start_in_background(ServerOptions(db_path=Path(db_path), **options))
    try:
        yield server
    finally:
        server.stop()


class ServerProcess(process.ServerProcess):
    """The real subprocess server, with the fast steps tests want by default; `extra_args`
    are more `serve` options, `prefix` a command it runs under (`unshare ...`)."""

    def __init__(
        self,
        db_path: Path,
        *,
        step_seconds: float = 0.05,
        extra_args: Sequence[str] = (),
        prefix: Sequence[str] = (),
        **options: Any,
    ) -> None:
        super().__init__(db_path, step_seconds=step_seconds, **options)
        self.args = [*prefix, *self.args, *extra_args]

    def rss_bytes(self) -> int:
        """The server's resident memory now (Linux)."""
        assert self.process is not None
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        kilobytes = next(
            line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")
        )
        return int(kilobytes) * 1024
