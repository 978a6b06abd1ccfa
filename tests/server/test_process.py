"""The embedded server as a child process (`--demo`): it never outlives its parent."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

PARENT = """
import sys, time
from pathlib import Path
from kostyor_tui.server.process import ServerProcess

server = ServerProcess(Path(sys.argv[1]), seed="empty", die_with_parent=True).start()
print(server.url, server.process.pid, flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie (exited, not yet reaped by init) counts as gone too.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" in status.read_text()


def test_a_demo_server_stops_when_its_parent_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "demo.sqlite3")],
        stdout=subprocess.PIPE,
        text=True,
    )
    server_pid = None
    try:
        url, pid_text = parent.stdout.readline().split()
        server_pid = int(pid_text)
        assert httpx.get(f"{url}/clusters").json() == []
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 15
        while not _gone(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _gone(server_pid), "the server outlived its killed parent"
    finally:
        parent.kill()
        parent.wait(10)
        if server_pid is not None and not _gone(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_spawn_returns_at_once_and_wait_until_serving_gives_the_url(tmp_path: Path) -> None:
    # --demo imports the console between the two: the server starts meanwhile.
    from kostyor_tui.server.process import ServerProcess

    server = ServerProcess(tmp_path / "k.sqlite3", seed="demo")
    server.spawn()
    try:
        assert server.url == ""
        assert server.wait_until_serving() is server
        names = [c["name"] for c in httpx.get(f"{server.url}/clusters").json()]
        assert "home_lab" in names
    finally:
        server.stop()
