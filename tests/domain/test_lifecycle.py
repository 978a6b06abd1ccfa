"""One lifecycle table, three readers: the client's pre-checks, the console's keys, the server.

`CASES` is written out here, independently of `kostyor_tui.domain.lifecycle`,
as docs/kostyor-api.md#lifecycle states it. The table must say the same; the
client's operations must refuse exactly the actions it says are invalid (and
send the others); the embedded server must refuse exactly those too, over
real HTTP, and move a valid action's upgrade to the status the table says.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.domain.lifecycle import ACTIONS, LIFECYCLE, Action, allowed_actions
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import Refused
from kostyor_tui.operations import Operations
from kostyor_tui.server.runner import BackgroundServer
from tests.server.waiting import discover_small, start_upgrade
from tests.support.servers import running_server

PAUSE, CONTINUE, ROLLBACK, CANCEL = Action
CASES: dict[Status, set[Action]] = {
    Status.IN_PROGRESS: {PAUSE, ROLLBACK, CANCEL},
    Status.PAUSED: {CONTINUE, ROLLBACK, CANCEL},
    Status.ERROR: {CONTINUE, ROLLBACK},
    # The way out of a rollback the real server never finishes.
    Status.ROLLBACK_IN_PROGRESS: {CANCEL},
    Status.CANCELLED: set(),
    Status.SUCCEEDED: set(),
}
LEADS_TO = {
    PAUSE: Status.PAUSED,
    CONTINUE: Status.IN_PROGRESS,
    ROLLBACK: Status.ROLLBACK_IN_PROGRESS,
    CANCEL: Status.CANCELLED,
}
EVERY_CASE = [(status, action) for status in CASES for action in ACTIONS]


def test_the_table_says_what_the_contract_says() -> None:
    for status in Status:
        assert set(allowed_actions(status)) == CASES.get(status, set()), status
    assert {action: LIFECYCLE[action].leads_to for action in ACTIONS} == LEADS_TO


@pytest.fixture(scope="module")
def frozen_upgrade(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[BackgroundServer, Path, dict]]:
    """A server whose engine takes an hour a step, with one upgrade whose status the test
    sets directly in the database before each action."""
    db_path = tmp_path_factory.mktemp("lifecycle") / "lifecycle.sqlite3"
    with running_server(db_path, seed="empty", step_seconds=3600) as server:
        with httpx.Client(base_url=server.url) as client:
            cluster = discover_small(client, "lifecycle")
            upgrade = start_upgrade(client, cluster["id"])
        yield server, db_path, upgrade


def put_in(db_path: Path, upgrade: dict, status: Status) -> None:
    """The upgrade and its cluster in `status`, one step done (so a rollback has work)."""
    with closing(sqlite3.connect(db_path, timeout=10)) as db, db:
        db.execute(
            "UPDATE upgrades SET status = ?, cursor = 1, upgrade_end_time = NULL WHERE id = ?",
            (status, upgrade["id"]),
        )
        db.execute("UPDATE clusters SET status = ? WHERE id = ?", (status, upgrade["cluster_id"]))


def status_of(db_path: Path, upgrade: dict) -> str:
    with closing(sqlite3.connect(db_path, timeout=10)) as db:
        return db.execute("SELECT status FROM upgrades WHERE id = ?", (upgrade["id"],)).fetchone()[
            0
        ]


@pytest.mark.parametrize(("status", "action"), EVERY_CASE)
def test_the_server_refuses_exactly_the_invalid_actions(frozen_upgrade, status, action) -> None:
    server, db_path, upgrade = frozen_upgrade
    put_in(db_path, upgrade, status)
    with httpx.Client(base_url=server.url) as client:
        answer = client.put(
            f"/upgrades/{upgrade['id']}",
            json={"cluster_id": upgrade["cluster_id"], "action": action},
        )
    if action in CASES[status]:
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == LEADS_TO[action]
        assert status_of(db_path, upgrade) == LEADS_TO[action]
    else:
        assert answer.status_code == 400, answer.text
        assert status_of(db_path, upgrade) == status


@pytest.mark.parametrize(("status", "action"), EVERY_CASE)
def test_the_client_refuses_exactly_the_invalid_actions(frozen_upgrade, status, action) -> None:
    server, db_path, upgrade = frozen_upgrade
    put_in(db_path, upgrade, status)
    with KostyorClient(server.url) as client:
        ops = Operations(client)
        cluster = ops.resolve_cluster("lifecycle")
        if action in CASES[status]:
            assert ops.act(cluster, action).status is LEADS_TO[action]
        else:
            with pytest.raises(Refused) as refused:
                ops.act(cluster, action)
            assert refused.value.forceable
            assert f"it is {status}" in refused.value.message
            assert status_of(db_path, upgrade) == status  # nothing was sent
