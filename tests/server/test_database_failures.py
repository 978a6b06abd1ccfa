"""The database failing under the server, or unfit to start with: every answer says what
is wrong in JSON, a held lock is answered before the client gives up, and a file
deleted or replaced under the running server never splits its state in two.

Where a failure needs the operating system's help (a read-only or full filesystem, a
file this user may not write even as root), the server runs in a user namespace
(`unshare`); those tests are skipped where namespaces are not allowed.
"""

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from kostyor_tui.server.cli import main
from kostyor_tui.server.store import _SCHEMA_V1, SCHEMA_VERSION, DatabaseProblem, Opened, Store
from kostyor_tui.server.topology import role_based_hosts
from tests.server.rawhttp import RawConnection
from tests.server.waiting import (
    act,
    cluster_named,
    start_upgrade,
    wait_for_steps,
    wait_until,
)
from tests.support.servers import ServerProcess, running_server

CLIENT_TIMEOUT_SECONDS = 10.0  # the client's documented default


def _namespaces_allowed(*flags: str) -> bool:
    try:
        return subprocess.run(["unshare", *flags, "true"], capture_output=True).returncode == 0
    except FileNotFoundError:
        return False


needs_mount_namespace = pytest.mark.skipif(
    not _namespaces_allowed("-rm"), reason="user and mount namespaces are not allowed here"
)


def done_step_count(db: sqlite3.Connection) -> int:
    return db.execute("SELECT COUNT(*) FROM step_log").fetchall()[0][0]


def journal_of(db_path: Path) -> list[Path]:
    return [db_path.with_name(db_path.name + suffix) for suffix in ("-wal", "-shm")]


def test_a_held_lock_is_a_clear_503_before_the_client_gives_up(server_factory, tmp_path):
    db_path = tmp_path / "locked.sqlite3"
    server = server_factory(db_path=db_path)
    holder = sqlite3.connect(db_path, isolation_level=None, timeout=0)
    with RawConnection(server.url) as connection:
        home = connection.request("GET", "/clusters").json()[0]
        body = {"cluster_id": home["id"], "to_version": "newton"}
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            refused = connection.request("POST", "/upgrades", body)
            waited = time.monotonic() - started
            assert refused.status == 503
            assert waited < CLIENT_TIMEOUT_SECONDS
            assert "stayed locked for over" in refused.json()["message"]
            assert refused.headers["retry-after"] == "5"
            # Readers are not held up (write-ahead logging).
            assert connection.request("GET", "/clusters").status == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        # The same connection, once the lock is gone: the refused write never landed.
        assert connection.request("POST", "/upgrades", body).status == 201
        upgrades = connection.request("GET", f"/upgrades?cluster_id={home['id']}").json()
        assert len(upgrades) == 1


def test_a_database_deleted_under_the_server_stops_it_cleanly(server_factory, tmp_path):
    db_path = tmp_path / "deleted.sqlite3"
    server = server_factory(db_path=db_path)
    witness = sqlite3.connect(db_path)  # stays on the deleted file: sees what is written there
    with httpx.Client(base_url=server.url, timeout=30) as client:
        home = cluster_named(client, "home_lab")
        upgrade = start_upgrade(client, home["id"])
        wait_for_steps(client, upgrade["id"], 3)
        steps_before = done_step_count(witness)
        db_path.unlink()

        answers = [
            client.get("/clusters"),
            client.get(f"/upgrades/{upgrade['id']}"),
            client.post("/upgrades", json={"cluster_id": home["id"], "to_version": "ocata"}),
            act(client, upgrade, "pause"),
            client.post(
                "/clusters/discover", json={"name": "x", "method": "simulated", "parameters": {}}
            ),
        ]
        for answer in answers:
            assert answer.status_code == 503, answer.text
            assert "was deleted while the server was running" in answer.json()["message"]
            assert "Restart the server" in answer.json()["message"]
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"] == "unavailable"

        # The engine stops for good; at most the step committing at that instant landed.
        wait_until(lambda: not server.engine.running)
        steps_after = done_step_count(witness)
        assert steps_after - steps_before <= 1
        assert not db_path.exists()  # no new, empty database made in its place
    witness.close()
    server.stop()
    # The journal of the deleted file went with it; the next start makes a new database
    # (and `serve` says so: "new, filled by the demo seed").
    assert not any(path.exists() for path in journal_of(db_path))
    assert server_factory(db_path=db_path).opened == Opened(created=True, version_found=0)


def test_a_database_replaced_under_the_server_is_left_as_it_was_put(server_factory, tmp_path):
    db_path = tmp_path / "replaced.sqlite3"
    replacement = tmp_path / "replacement.sqlite3"
    store = Store(replacement)
    store.initialize()
    store.add_cluster("restored", "mitaka", role_based_hosts(1, 1, 0))
    store.close()

    server = server_factory(db_path=db_path)
    witness = sqlite3.connect(db_path)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        upgrade = start_upgrade(client, cluster_named(client, "home_lab")["id"])
        wait_for_steps(client, upgrade["id"], 3)
        steps_before = done_step_count(witness)
        os.replace(replacement, db_path)
        answer = client.get("/clusters")
        assert answer.status_code == 503
        assert "was replaced while the server was running" in answer.json()["message"]
        wait_until(lambda: not server.engine.running)
        assert done_step_count(witness) - steps_before <= 1
    witness.close()
    server.stop()

    # Nothing of the former database (its write-ahead log above all) went into the new one.
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT name FROM clusters").fetchall() == [("restored",)]
        assert db.execute("SELECT COUNT(*) FROM upgrades").fetchone() == (0,)
    # Restarted, the server serves the replacement as it is: not seeded, not mixed.
    restarted = server_factory(db_path=db_path)
    assert restarted.opened == Opened(created=False, version_found=SCHEMA_VERSION)
    clusters = httpx.get(restarted.url + "/clusters").json()
    assert [cluster["name"] for cluster in clusters] == ["restored"]


def test_a_deleted_database_left_by_a_killed_server_is_not_silently_made_anew(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "killed.sqlite3"
    server = ServerProcess(db_path).start()
    try:
        db_path.unlink()
        assert httpx.get(server.url + "/clusters").status_code == 503
    finally:
        server.kill()  # no clean-up runs: the deleted file's journal stays
    wal, shm = journal_of(db_path)
    assert main(["--port", "0", "--db", str(db_path)]) == 2
    err = capsys.readouterr().err
    assert f"error: database {db_path} does not exist, but its write-ahead log" in err
    assert f"move {wal.name} and {shm.name} away" in err
    # Moved away: a new database, said out loud.
    wal.unlink()
    shm.unlink(missing_ok=True)
    restarted = ServerProcess(db_path).start()
    restarted.stop()
    assert f"Database: {db_path} (new, filled by the demo seed)" in restarted.log_path.read_text()


def _not_a_database(path: Path) -> None:
    path.write_text("this is a text file, not a database\n" * 20)


def _a_directory(path: Path) -> None:
    path.mkdir()


def _under_a_file(path: Path) -> None:
    path.parent.write_text("a file where a directory should be")


def _newer_schema(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA user_version = 99")


def _another_programs(path: Path) -> None:
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")


@pytest.mark.parametrize(
    ("make", "relative", "problem"),
    [
        (_not_a_database, "text.sqlite3", "is not an SQLite database"),
        (_a_directory, "directory", "is a directory, not a database file"),
        (_under_a_file, "file/db.sqlite3", "cannot be created: its directory"),
        (_newer_schema, "newer.sqlite3", "has schema version 99, newer than this kostyor-tui"),
        (_another_programs, "other.sqlite3", "is an SQLite database of another program"),
    ],
)
def test_a_bad_db_is_named_with_its_problem_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make, relative: str, problem: str
) -> None:
    path = tmp_path / relative
    make(path)
    assert main(["--port", "0", "--db", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: database {path} {problem}"), err
    assert "bug" not in err and "Traceback" not in err


def test_the_kostyor_tui_command_exits_2_for_a_bad_db(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kostyor_tui", "serve", "--port", "0", "--db", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{tmp_path} is a directory" in result.stderr
    assert "bug" not in result.stderr


@pytest.mark.skipif(
    os.geteuid() == 0 and not _namespaces_allowed("-U"),
    reason="root may write anything, and user namespaces are not allowed here",
)
@pytest.mark.parametrize(
    ("locked", "relative", "problem"),
    [
        ("file", "db.sqlite3", "cannot be written: this user may not write to it"),
        ("directory", "new.sqlite3", "cannot be written: this user may not create files in"),
    ],
)
def test_an_unwritable_db_is_named_and_exits_2(
    tmp_path: Path, locked: str, relative: str, problem: str
) -> None:
    directory = tmp_path / "locked"
    directory.mkdir()
    store = Store(directory / "db.sqlite3")
    store.initialize()
    store.close()
    (directory / "db.sqlite3").chmod(0o444)
    if locked == "directory":
        directory.chmod(0o555)
    # Root may write anything; in a user namespace of its own it is an ordinary user.
    prefix = ["unshare", "-U"] if os.geteuid() == 0 else []
    path = directory / relative
    command = [sys.executable, "-m", "kostyor_tui.server.cli", "--port", "0", "--db", str(path)]
    try:
        result = subprocess.run(prefix + command, capture_output=True, text=True, timeout=60)
    finally:
        directory.chmod(0o755)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: database {path} {problem}"), result.stderr


@needs_mount_namespace
def test_a_db_on_a_read_only_filesystem_is_named_and_exits_2(tmp_path: Path) -> None:
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    path = mount_point / "db.sqlite3"
    create = f"from kostyor_tui.server.store import Store; Store({str(path)!r}).initialize()"
    script = (
        'mount -t tmpfs tmpfs "$0" && "$1" -c "$2" && mount -o remount,ro "$0"'
        ' && exec "$1" -m kostyor_tui.server.cli --port 0 --db "$3"'
    )
    result = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, str(mount_point), sys.executable, create, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"error: database {path} is on a read-only filesystem")


@needs_mount_namespace
def test_a_full_disk_is_a_507_and_the_server_goes_on(tmp_path: Path) -> None:
    mount_point = tmp_path / "mnt"
    mount_point.mkdir()
    server = ServerProcess(
        mount_point / "db.sqlite3",
        seed="empty",
        log_path=tmp_path / "full.log",
        # The server alone sees a 1 MiB filesystem at the mount point.
        prefix=[
            *("unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"'),
            str(mount_point),
        ],
    ).start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            body = {"name": "filler", "method": "simulated", "parameters": {"computes": "200"}}
            added = 0
            answer = client.post("/clusters/discover", json=body)
            while answer.status_code == 201 and added < 100:
                added += 1
                answer = client.post("/clusters/discover", json=body)
            assert answer.status_code == 507, answer.text
            assert "disk holding the server's database is full" in answer.json()["message"]
            # Nothing of the refused discovery was kept, and reading goes on.
            assert len(client.get("/clusters").json()) == added
    finally:
        server.stop()
    assert "SQLITE_FULL" in (tmp_path / "full.log").read_text()


def test_an_unversioned_database_is_migrated(tmp_path: Path) -> None:
    db_path = tmp_path / "unversioned.sqlite3"
    with sqlite3.connect(db_path) as db:  # as servers made them before schema versions
        db.executescript(_SCHEMA_V1)
        db.execute(
            "INSERT INTO clusters (id, name, status, version)"
            " VALUES ('c1', 'old', 'READY FOR UPGRADE', 'mitaka')"
        )
    with running_server(db_path, seed="demo") as server:
        assert server.opened == Opened(created=False, version_found=0)
        assert httpx.get(server.url + "/clusters").json() == [
            {"id": "c1", "name": "old", "status": "READY FOR UPGRADE", "version": "mitaka"}
        ]
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)


_VERSION_1_ROWS = {
    "clusters": [("c1", "lab", "UPGRADE IN PROGRESS", "mitaka")],
    "hosts": [("h1", "c1", "lab-01")],
    "services": [("s1", "c1", "h1", "nova-compute", "newton")],
    "upgrades": [
        (
            "u1",
            "c1",
            "mitaka",
            "newton",
            "UPGRADE IN PROGRESS",
            "node-by-node",
            "noop",
            "{}",
            "2026-11-24T10:00:00.000001",
            None,
            1,
            1,
        )
    ],
    "upgrade_plan": [("u1", 0, "s1", "mitaka")],
    "step_log": [
        (7, "u1", 0, "s1", "h1", "upgrade", "done", "mitaka", "newton", "2026-11-24T10:00:01")
    ],
}


def test_a_version_1_database_is_migrated_to_allow_nulls(tmp_path: Path) -> None:
    """Version 2 lets the statuses and versions the real server leaves null be null
    (docs/kostyor-api.md#upstream-mode): every table that has one is rebuilt, its rows,
    indexes, foreign keys and id sequence kept."""
    db_path = tmp_path / "version1.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.executescript(_SCHEMA_V1)
        for table, rows in _VERSION_1_ROWS.items():
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        db.execute("PRAGMA user_version = 1")
    store = Store(db_path)
    assert store.initialize() == Opened(created=False, version_found=1)
    store.close()
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        for table, rows in _VERSION_1_ROWS.items():
            assert db.execute(f"SELECT * FROM {table}").fetchall() == rows, table
        nullable = {
            (table, column[1])
            for table in _VERSION_1_ROWS
            for column in db.execute(f"PRAGMA table_info({table})")
            if not column[3] and not column[5]  # neither NOT NULL nor the primary key
        }
        assert nullable == {
            ("services", "version"),
            ("upgrades", "status"),
            ("upgrades", "upgrade_end_time"),
            ("upgrade_plan", "original_version"),
            ("step_log", "version_before"),
            ("step_log", "version_after"),
        }
        indexes = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
        }
        assert {"services_by_cluster", "upgrades_by_status", "one_done_step"} <= indexes
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
        db.execute("PRAGMA foreign_keys = ON")
        with pytest.raises(sqlite3.IntegrityError):
            db.execute("INSERT INTO services VALUES ('s2', 'c1', 'nowhere', 'x', NULL)")
        db.execute(
            "INSERT INTO step_log (upgrade_id, position, service_id, host_id, direction,"
            " outcome, version_before, version_after, at)"
            " VALUES ('u1', 0, 's1', 'h1', 'rollback', 'done', 'newton', NULL, 'now')"
        )
        assert db.execute("SELECT MAX(id) FROM step_log").fetchone() == (8,)


def test_a_database_whose_rows_refer_to_missing_ones_is_refused(tmp_path: Path) -> None:
    db_path = tmp_path / "dangling.sqlite3"
    with sqlite3.connect(db_path) as db:
        db.executescript(_SCHEMA_V1)
        db.execute("INSERT INTO hosts VALUES ('h1', 'no-such-cluster', 'lab-01')")
        db.execute("PRAGMA user_version = 1")
    with pytest.raises(DatabaseProblem, match="refer to rows it does not hold"):
        Store(db_path).initialize()
    with sqlite3.connect(db_path) as db:  # left as it was
        assert db.execute("PRAGMA user_version").fetchone() == (1,)


@pytest.mark.skipif(
    os.geteuid() == 0 and not _namespaces_allowed("-U"),
    reason="root may write anything, and user namespaces are not allowed here",
)
def test_healthz_tells_a_supervisor_when_the_database_became_unwritable(tmp_path: Path) -> None:
    db_path = tmp_path / "health.sqlite3"
    # As root, in a user namespace of its own: an ordinary user, held to file modes.
    prefix = ["unshare", "-U"] if os.geteuid() == 0 else []
    with ServerProcess(db_path, seed="empty", prefix=prefix) as server:
        assert httpx.get(server.url + "/healthz").status_code == 200
        db_path.chmod(0o444)
        try:
            response = httpx.get(server.url + "/healthz")
        finally:
            db_path.chmod(0o644)
        assert response.status_code == 503
        assert response.json()["database"] == "unavailable"
        assert "read-only" in response.json()["message"]


def test_healthz_says_ok_and_nothing_else_without_credentials(server_factory) -> None:
    server = server_factory(auth=("operator", "s3cret"))
    response = httpx.get(server.url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "engine": "running"}
    assert httpx.get(server.url + "/clusters").status_code == 401
