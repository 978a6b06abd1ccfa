"""An outcome that is not known is said to be unknown, and checked again, never guessed.

The embedded server's database is locked by another connection (a real SQLite
lock on the real file), longer than the client waits, but not longer than the
server waits for it: the request times out on the client's side while the
server is still working on it. The client must not say that nothing was saved;
once the lock is released the server does save it, and the test checks that it
did, so the claim the client avoided would have been false.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import TimedOut
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.statuses import Status
from kostyor_tui.operations import Operations, Recheck
from tests.support.servers import running_server
from tests.support.waiting import wait_until

# The client's deadline: well under the server's own wait for a lock (5 s).
CLIENT_TIMEOUT = 1.0


@contextmanager
def locked(db_path: Path) -> Iterator[sqlite3.Connection]:
    """Another writer holding the database: the server's writes wait for it."""
    with closing(sqlite3.connect(db_path, timeout=10, isolation_level=None)) as db:
        db.execute("BEGIN EXCLUSIVE")
        try:
            yield db
        finally:
            db.execute("ROLLBACK")


def test_a_start_the_client_stopped_waiting_for_is_not_called_unsaved(tmp_path: Path) -> None:
    db_path = tmp_path / "locked.sqlite3"
    with (
        running_server(db_path, step_seconds=3600) as server,
        KostyorClient(server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        ops = Operations(client, recheck=Recheck(attempts=3, interval=0.1))
        home_lab = ops.resolve_cluster("home_lab")
        with locked(db_path), pytest.raises(TimedOut) as failed:
            ops.start_upgrade(home_lab, "newton")
        message = failed.value.one_line()
        assert "may still be saving it" in message
        assert "no upgrade was saved" not in message
        assert "safe to try again" not in message
        # The server was still at it: once the lock is gone, the upgrade is there.
        saved = wait_until(lambda: client.list_upgrades(home_lab.id), "the upgrade saved")
        assert [upgrade.to_version for upgrade in saved] == ["newton"]


def test_an_action_the_client_stopped_waiting_for_is_not_called_undone(tmp_path: Path) -> None:
    db_path = tmp_path / "locked.sqlite3"
    with (
        running_server(db_path, step_seconds=3600) as server,
        KostyorClient(server.url, timeout=CLIENT_TIMEOUT) as client,
    ):
        ops = Operations(client, recheck=Recheck(attempts=3, interval=0.1))
        home_lab = ops.resolve_cluster("home_lab")
        started = ops.start_upgrade(home_lab, "newton")
        with locked(db_path), pytest.raises(TimedOut) as failed:
            ops.act(home_lab, Action.PAUSE)
        message = failed.value.one_line()
        assert "may still apply it" in message
        assert "still UPGRADE IN PROGRESS for now" in message
        paused = wait_until(
            lambda: ops.upgrade(started.id or "").status is Status.PAUSED, "the pause applied"
        )
        assert paused
