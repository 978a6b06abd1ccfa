"""`kostyor-tui web` as a subprocess, as an operator starts it, on a free loopback port."""

import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kostyor_tui.server.process import stop_process
from tests.support.waiting import wait_until

_URL = re.compile(r"Serving the console on (http://\S+)")


class WebProcess:
    def __init__(self, args: list[str], log_path: Path) -> None:
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kostyor_tui", "web", *args],
            stdout=log_path.open("wb"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={k: v for k, v in os.environ.items() if not k.startswith("KOSTYOR_")},
        )
        self.url = wait_until(self._printed_url, "kostyor-tui web to print its URL", timeout=60)

    def _printed_url(self) -> str | None:
        match = _URL.search(self.log_path.read_text(errors="replace"))
        if match:
            return match.group(1)
        assert self.process.poll() is None, self.log_path.read_text(errors="replace")
        return None

    @property
    def base(self) -> str:
        return self.url.split("/?", 1)[0]

    @property
    def token(self) -> str:
        return self.url.rsplit("token=", 1)[1]

    def stop(self) -> int:
        return stop_process(self.process, 20)


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Callable[..., WebProcess]]:
    started: list[WebProcess] = []

    def start(*args: str) -> WebProcess:
        process = WebProcess([*args, "--port", "0"], tmp_path / f"web-{len(started)}.log")
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()
