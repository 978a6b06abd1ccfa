"""Fixtures shared by every test suite: real embedded servers on free loopback ports, and a
private cache directory."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kostyor_tui.server.runner import BackgroundServer, ServerOptions, start_in_background
from tests.support.canned import CannedServer, SettableAnswer, canned_server

# Fast enough for tests, slow enough to observe an upgrade in progress.
TEST_STEP_SECONDS = 0.05


@pytest.fixture(autouse=True)
def private_state_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test's audit trail goes to its own state directory, never the user's."""
    state = tmp_path / "xdg-state"
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.delenv("KOSTYOR_AUDIT_FILE", raising=False)
    return state


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackgroundServer]:
    """The demo fleet on a fresh SQLite file, steps of 0.05 s."""
    running = start_in_background(
        ServerOptions(db_path=tmp_path / "kostyor.sqlite3", step_seconds=TEST_STEP_SECONDS)
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[Callable[..., BackgroundServer]]:
    """Start servers with any `ServerOptions` fields; each is stopped at teardown.

    `db_path` defaults to a new file in tmp_path; `step_seconds` to 0.05.
    """
    started: list[BackgroundServer] = []

    def start(**options: Any) -> BackgroundServer:
        options.setdefault("db_path", tmp_path / f"kostyor-{len(started)}.sqlite3")
        options.setdefault("step_seconds", TEST_STEP_SECONDS)
        running = start_in_background(ServerOptions(**options))
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in reversed(started):
            running.stop()


@pytest.fixture(autouse=True)
def _private_cache_directory(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Headless commands remember cluster names for shell completion in the platform cache
    directory (XDG_CACHE_HOME): in tests, never the real one."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


@pytest.fixture(scope="module")
def settable_server() -> Iterator[tuple[SettableAnswer, CannedServer]]:
    """A canned server, one per module, giving every request the answer the test sets."""
    answer = SettableAnswer()
    with canned_server(answer.handle) as server:
        yield answer, server
