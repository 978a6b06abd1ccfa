"""The server's SQLite store: schema, queries, and every state change as one transaction.

Durability rests on two rules. Each engine step (an instance's version change,
its step-log record and the upgrade's cursor) is committed in a single
transaction, so a killed server has either done a step completely or not at
all. And the engine keeps no state of its own that matters: everything it
needs to resume is the upgrade row, its plan and its cursor.

Every query that lists things is one SQL statement per request (no N+1): the
benchmark fleet has 2,000 hosts and 30,000 service instances.
"""

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from kostyor_tui.domain.lifecycle import LIFECYCLE, START_BLOCKED_BY, Action
from kostyor_tui.domain.order import Instance, engine_order
from kostyor_tui.domain.statuses import MOVING, Status
from kostyor_tui.server import releases
from kostyor_tui.server.errors import BadRequest, NotFound
from kostyor_tui.server.topology import HostSpec

FORWARD = "upgrade"
BACKWARD = "rollback"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS clusters (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hosts (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id),
    hostname TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS hosts_by_cluster ON hosts(cluster_id, hostname);
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id),
    host_id TEXT NOT NULL REFERENCES hosts(id),
    name TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS services_by_cluster ON services(cluster_id, name);
CREATE INDEX IF NOT EXISTS services_by_host ON services(host_id);
CREATE TABLE IF NOT EXISTS upgrades (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id),
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    status TEXT NOT NULL,
    engine TEXT NOT NULL,
    driver TEXT NOT NULL,
    parameters TEXT NOT NULL,
    upgrade_start_time TEXT NOT NULL,
    upgrade_end_time TEXT,
    -- Plan positions below the cursor are upgraded; the engine works at the cursor.
    cursor INTEGER NOT NULL DEFAULT 0,
    plan_size INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS upgrades_by_cluster ON upgrades(cluster_id);
CREATE INDEX IF NOT EXISTS upgrades_by_status ON upgrades(status);
CREATE TABLE IF NOT EXISTS upgrade_plan (
    upgrade_id TEXT NOT NULL REFERENCES upgrades(id),
    position INTEGER NOT NULL,
    service_id TEXT NOT NULL REFERENCES services(id),
    original_version TEXT NOT NULL,
    PRIMARY KEY (upgrade_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS step_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    upgrade_id TEXT NOT NULL REFERENCES upgrades(id),
    position INTEGER NOT NULL,
    service_id TEXT NOT NULL REFERENCES services(id),
    host_id TEXT NOT NULL REFERENCES hosts(id),
    direction TEXT NOT NULL,
    outcome TEXT NOT NULL,
    version_before TEXT NOT NULL,
    version_after TEXT NOT NULL,
    at TEXT NOT NULL
);
-- The database itself refuses a step done twice.
CREATE UNIQUE INDEX IF NOT EXISTS one_done_step
    ON step_log(upgrade_id, position, direction) WHERE outcome = 'done';
"""

_UPGRADE_COLUMNS = (
    "id, cluster_id, from_version, to_version, status, upgrade_start_time, upgrade_end_time,"
    " engine, driver"
)


def now_iso() -> str:
    """Server local time, ISO 8601 without a zone, with microseconds (as Kostyor sends)."""
    return datetime.now().isoformat(timespec="microseconds")


@dataclass(frozen=True)
class StepAttempt:
    """What a failure policy may look at to decide whether a forward step fails."""

    upgrade_id: str
    cluster_id: str
    to_version: str
    position: int
    service_name: str
    hostname: str
    failed_attempts_of_step: int
    failed_before_on_host: bool


FailurePolicy = Callable[[StepAttempt], bool]


def _never_fail(_: StepAttempt) -> bool:
    return False


def _upgrade_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row is not a Mapping)


class Store:
    """One per server process; safe to use from any thread (one connection per thread)."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    # Connections and transactions

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(
                self.db_path, isolation_level=None, check_same_thread=False, timeout=30
            )
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        connection = self._connection()
        if connection.in_transaction:
            # Inside `atomic()`: the outer transaction commits or rolls back.
            yield connection
            return
        connection.execute(f"BEGIN {mode}")
        try:
            yield connection
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def atomic(self) -> AbstractContextManager[sqlite3.Connection]:
        """Group several store calls into one transaction (all or nothing)."""
        return self._transaction()

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("DEFERRED")

    def initialize(self) -> None:
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self._connection().executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()

    def is_empty(self) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM clusters LIMIT 1").fetchone() is None

    # Clusters, hosts, services

    def add_cluster(
        self,
        name: str,
        version: str,
        hosts: Sequence[HostSpec],
        *,
        id_namespace: uuid.UUID | None = None,
    ) -> dict[str, Any]:
        """Create a cluster with its hosts and services, all at `version`.

        With `id_namespace`, ids are derived from the names (a seed gives the same ids
        every time); otherwise they are random.
        """

        def new_id(*names: str) -> str:
            if id_namespace is None:
                return str(uuid.uuid4())
            return str(uuid.uuid5(id_namespace, "/".join(names)))

        cluster_id = new_id(name)
        host_rows = []
        service_rows = []
        for host in hosts:
            host_id = new_id(name, host.hostname)
            host_rows.append((host_id, cluster_id, host.hostname))
            service_rows.extend(
                (new_id(name, host.hostname, service), cluster_id, host_id, service, version)
                for service in host.services
            )
        with self._transaction() as db:
            db.execute(
                "INSERT INTO clusters (id, name, status, version) VALUES (?, ?, ?, ?)",
                (cluster_id, name, releases.resting_status(version), version),
            )
            db.executemany(
                "INSERT INTO hosts (id, cluster_id, hostname) VALUES (?, ?, ?)", host_rows
            )
            db.executemany(
                "INSERT INTO services (id, cluster_id, host_id, name, version)"
                " VALUES (?, ?, ?, ?, ?)",
                service_rows,
            )
        return self.get_cluster(cluster_id)

    def list_clusters(self) -> list[dict[str, Any]]:
        with self._read() as db:
            rows = db.execute("SELECT id, name, status, version FROM clusters ORDER BY rowid")
            return [dict(row) for row in rows]

    def _cluster_row(self, db: sqlite3.Connection, cluster_id: str) -> sqlite3.Row:
        row = db.execute(
            "SELECT id, name, status, version FROM clusters WHERE id = ?", (cluster_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"Cluster {cluster_id} not found.")
        return row

    def get_cluster(self, cluster_id: str) -> dict[str, Any]:
        with self._read() as db:
            return dict(self._cluster_row(db, cluster_id))

    def list_hosts(self, cluster_id: str) -> list[dict[str, Any]]:
        with self._read() as db:
            self._cluster_row(db, cluster_id)
            rows = db.execute(
                "SELECT h.id AS host_id, h.hostname, s.id AS service_id"
                " FROM hosts h LEFT JOIN services s ON s.host_id = h.id"
                " WHERE h.cluster_id = ? ORDER BY h.hostname, h.id, s.rowid",
                (cluster_id,),
            ).fetchall()
        hosts: list[dict[str, Any]] = []
        for row in rows:
            if not hosts or hosts[-1]["id"] != row["host_id"]:
                hosts.append(
                    {
                        "id": row["host_id"],
                        "hostname": row["hostname"],
                        "cluster_id": cluster_id,
                        "services": [],
                    }
                )
            if row["service_id"] is not None:
                hosts[-1]["services"].append(row["service_id"])
        return hosts

    def list_services(self, cluster_id: str) -> list[dict[str, Any]]:
        """One entry per instance (one host each), sorted by name."""
        with self._read() as db:
            self._cluster_row(db, cluster_id)
            rows = db.execute(
                "SELECT s.id, s.name, s.version, s.host_id FROM services s"
                " JOIN hosts h ON h.id = s.host_id"
                " WHERE s.cluster_id = ? ORDER BY s.name, h.hostname, s.id",
                (cluster_id,),
            ).fetchall()
        return [
            {"id": row[0], "name": row[1], "version": row[2], "hosts": [row[3]]} for row in rows
        ]

    # Upgrades

    def list_upgrades(self, cluster_id: str | None = None) -> list[dict[str, Any]]:
        """Oldest first, as the real server lists them."""
        with self._read() as db:
            if cluster_id is None:
                rows = db.execute(f"SELECT {_UPGRADE_COLUMNS} FROM upgrades ORDER BY rowid")
            else:
                self._cluster_row(db, cluster_id)
                rows = db.execute(
                    f"SELECT {_UPGRADE_COLUMNS} FROM upgrades WHERE cluster_id = ? ORDER BY rowid",
                    (cluster_id,),
                )
            return [_upgrade_dict(row) for row in rows]

    def get_upgrade(self, upgrade_id: str) -> dict[str, Any]:
        with self._read() as db:
            return _upgrade_dict(self._upgrade_row(db, upgrade_id))

    def _upgrade_row(self, db: sqlite3.Connection, upgrade_id: str) -> sqlite3.Row:
        row = db.execute(
            f"SELECT {_UPGRADE_COLUMNS} FROM upgrades WHERE id = ?", (upgrade_id,)
        ).fetchone()
        if row is None:
            raise NotFound(f"Upgrade {upgrade_id} not found.")
        return row

    def _newest_upgrade(self, db: sqlite3.Connection, cluster_id: str) -> sqlite3.Row | None:
        return db.execute(
            "SELECT id, status FROM upgrades WHERE cluster_id = ? ORDER BY rowid DESC LIMIT 1",
            (cluster_id,),
        ).fetchone()

    def create_upgrade(
        self,
        cluster_id: str,
        to_version: str,
        *,
        engine: str,
        driver: str,
        parameters: dict[str, str],
    ) -> dict[str, Any]:
        """Plan and start an upgrade; refused as section 2 of the contract says."""
        upgrade_id = str(uuid.uuid4())
        with self._transaction() as db:
            cluster = self._cluster_row(db, cluster_id)
            version = cluster["version"]
            if not releases.is_known(version):
                raise BadRequest("Cluster version is unknown")
            newest = self._newest_upgrade(db, cluster_id)
            if newest is not None and newest["status"] in START_BLOCKED_BY:
                raise BadRequest(f"Cluster {cluster_id} already has an upgrade in progress.")
            if not releases.is_later(to_version, version):
                raise BadRequest(
                    f'Upgrade procedure from "{version}" to "{to_version}" is not allowed.'
                )
            instances = [
                Instance(*row)
                for row in db.execute(
                    "SELECT s.id, s.name, s.host_id, h.hostname, s.version FROM services s"
                    " JOIN hosts h ON h.id = s.host_id WHERE s.cluster_id = ?",
                    (cluster_id,),
                )
            ]
            plan = [i for i in engine_order(instances, engine) if i.version != to_version]
            db.execute(
                "INSERT INTO upgrades (id, cluster_id, from_version, to_version, status, engine,"
                " driver, parameters, upgrade_start_time, plan_size)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    upgrade_id,
                    cluster_id,
                    version,
                    to_version,
                    Status.IN_PROGRESS,
                    engine,
                    driver,
                    json.dumps(parameters),
                    now_iso(),
                    len(plan),
                ),
            )
            db.executemany(
                "INSERT INTO upgrade_plan (upgrade_id, position, service_id, original_version)"
                " VALUES (?, ?, ?, ?)",
                [(upgrade_id, n, i.service_id, i.version) for n, i in enumerate(plan)],
            )
            self._set_cluster_status(db, cluster_id, Status.IN_PROGRESS)
            if not plan:
                self._finish_upgrade(db, upgrade_id, cluster_id, to_version)
            return _upgrade_dict(self._upgrade_row(db, upgrade_id))

    def apply_action(
        self, cluster_id: str, action: Action, upgrade_id: str | None = None
    ) -> dict[str, Any]:
        """Apply `action` to the cluster's newest upgrade, if valid in its current state.

        `upgrade_id`, when given, must name an upgrade of that cluster (or be the
        cluster's own id, which is what the real server answers with).
        """
        with self._transaction() as db:
            self._cluster_row(db, cluster_id)
            if upgrade_id is not None and upgrade_id != cluster_id:
                named = self._upgrade_row(db, upgrade_id)
                if named["cluster_id"] != cluster_id:
                    raise BadRequest(
                        f"Upgrade {upgrade_id} does not belong to cluster {cluster_id}.",
                        {"cluster_id": [f"does not match upgrade {upgrade_id}"]},
                    )
            newest = self._newest_upgrade(db, cluster_id)
            if newest is None:
                raise BadRequest(f"Cluster {cluster_id} has no upgrade to {action}.")
            # The transitions kostyor-tui's client checks too (docs/kostyor-api.md#lifecycle).
            transition = LIFECYCLE[action]
            valid_in, next_status = transition.valid_in, transition.leads_to
            if newest["status"] not in valid_in:
                allowed = ", ".join(f'"{status}"' for status in sorted(valid_in))
                raise BadRequest(
                    f'Cannot {action} an upgrade in status "{newest["status"]}"'
                    f" (only when {allowed})."
                )
            newest_id = newest["id"]
            end_time = now_iso() if next_status == Status.CANCELLED else None
            db.execute(
                "UPDATE upgrades SET status = ?, upgrade_end_time = ? WHERE id = ?",
                (next_status, end_time, newest_id),
            )
            self._set_cluster_status(db, cluster_id, next_status)
            if next_status == Status.ROLLBACK_IN_PROGRESS:
                cursor = db.execute(
                    "SELECT cursor FROM upgrades WHERE id = ?", (newest_id,)
                ).fetchone()[0]
                if cursor == 0:
                    self._finish_rollback(db, newest_id, cluster_id)
            return _upgrade_dict(self._upgrade_row(db, newest_id))

    def _set_cluster_status(self, db: sqlite3.Connection, cluster_id: str, status: str) -> None:
        db.execute("UPDATE clusters SET status = ? WHERE id = ?", (status, cluster_id))

    def _finish_upgrade(
        self, db: sqlite3.Connection, upgrade_id: str, cluster_id: str, to_version: str
    ) -> None:
        db.execute(
            "UPDATE upgrades SET status = ?, upgrade_end_time = ? WHERE id = ?",
            (Status.SUCCEEDED, now_iso(), upgrade_id),
        )
        db.execute(
            "UPDATE clusters SET version = ?, status = ? WHERE id = ?",
            (to_version, releases.resting_status(to_version), cluster_id),
        )

    def _finish_rollback(self, db: sqlite3.Connection, upgrade_id: str, cluster_id: str) -> None:
        # Every instance is back where it was: the upgrade never happened.
        db.execute(
            "UPDATE upgrades SET status = ?, upgrade_end_time = ? WHERE id = ?",
            (Status.CANCELLED, now_iso(), upgrade_id),
        )
        version = self._cluster_row(db, cluster_id)["version"]
        self._set_cluster_status(db, cluster_id, releases.resting_status(version))

    # The engine's side

    def running_upgrades(self) -> dict[str, str]:
        """Upgrades the engine must move: id -> status."""
        with self._read() as db:
            rows = db.execute(
                "SELECT id, status FROM upgrades WHERE status IN (?, ?)",
                tuple(sorted(MOVING)),
            )
            return {row["id"]: row["status"] for row in rows}

    def apply_step(
        self, upgrade_id: str, direction: str, should_fail: FailurePolicy = _never_fail
    ) -> str | None:
        """Do one step of an upgrade in one transaction; return the upgrade's new status.

        A forward step is done while the upgrade is in progress, and also when it
        was paused during the step (pause stops *after* the current step). A
        rollback step is done while rolling back. Otherwise nothing happens and
        None is returned.
        """
        with self._transaction() as db:
            upgrade = db.execute(
                "SELECT cluster_id, to_version, status, cursor, plan_size FROM upgrades"
                " WHERE id = ?",
                (upgrade_id,),
            ).fetchone()
            if upgrade is None:
                return None
            status = upgrade["status"]
            if direction == FORWARD and status in (Status.IN_PROGRESS, Status.PAUSED):
                return self._step_forward(db, upgrade_id, upgrade, should_fail)
            if direction == BACKWARD and status == Status.ROLLBACK_IN_PROGRESS:
                return self._step_backward(db, upgrade_id, upgrade)
            return None

    def _plan_entry(self, db: sqlite3.Connection, upgrade_id: str, position: int) -> sqlite3.Row:
        return db.execute(
            "SELECT p.service_id, p.original_version, s.name, s.version, s.host_id, h.hostname"
            " FROM upgrade_plan p JOIN services s ON s.id = p.service_id"
            " JOIN hosts h ON h.id = s.host_id"
            " WHERE p.upgrade_id = ? AND p.position = ?",
            (upgrade_id, position),
        ).fetchone()

    def _log_step(
        self,
        db: sqlite3.Connection,
        upgrade_id: str,
        position: int,
        entry: sqlite3.Row,
        direction: str,
        outcome: str,
        version_after: str,
    ) -> None:
        db.execute(
            "INSERT INTO step_log (upgrade_id, position, service_id, host_id, direction, outcome,"
            " version_before, version_after, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                upgrade_id,
                position,
                entry["service_id"],
                entry["host_id"],
                direction,
                outcome,
                entry["version"],
                version_after,
                now_iso(),
            ),
        )

    def _step_forward(
        self,
        db: sqlite3.Connection,
        upgrade_id: str,
        upgrade: sqlite3.Row,
        should_fail: FailurePolicy,
    ) -> str:
        cluster_id, to_version, status = (
            upgrade["cluster_id"],
            upgrade["to_version"],
            upgrade["status"],
        )
        position = upgrade["cursor"]
        if position >= upgrade["plan_size"]:
            self._finish_upgrade(db, upgrade_id, cluster_id, to_version)
            return Status.SUCCEEDED
        entry = self._plan_entry(db, upgrade_id, position)
        failed_attempts, failed_on_host = db.execute(
            "SELECT COALESCE(SUM(position = ?), 0), COUNT(*) > 0 FROM step_log"
            " WHERE upgrade_id = ? AND host_id = ? AND outcome = 'failed'",
            (position, upgrade_id, entry["host_id"]),
        ).fetchone()
        attempt = StepAttempt(
            upgrade_id=upgrade_id,
            cluster_id=cluster_id,
            to_version=to_version,
            position=position,
            service_name=entry["name"],
            hostname=entry["hostname"],
            failed_attempts_of_step=failed_attempts,
            failed_before_on_host=bool(failed_on_host),
        )
        if status == Status.IN_PROGRESS and should_fail(attempt):
            self._log_step(db, upgrade_id, position, entry, FORWARD, "failed", entry["version"])
            db.execute("UPDATE upgrades SET status = ? WHERE id = ?", (Status.ERROR, upgrade_id))
            self._set_cluster_status(db, cluster_id, Status.ERROR)
            return Status.ERROR
        db.execute(
            "UPDATE services SET version = ? WHERE id = ?", (to_version, entry["service_id"])
        )
        self._log_step(db, upgrade_id, position, entry, FORWARD, "done", to_version)
        db.execute("UPDATE upgrades SET cursor = ? WHERE id = ?", (position + 1, upgrade_id))
        if position + 1 >= upgrade["plan_size"]:
            self._finish_upgrade(db, upgrade_id, cluster_id, to_version)
            return Status.SUCCEEDED
        return status

    def _step_backward(self, db: sqlite3.Connection, upgrade_id: str, upgrade: sqlite3.Row) -> str:
        cluster_id = upgrade["cluster_id"]
        position = upgrade["cursor"] - 1
        if position < 0:
            self._finish_rollback(db, upgrade_id, cluster_id)
            return Status.CANCELLED
        entry = self._plan_entry(db, upgrade_id, position)
        original = entry["original_version"]
        db.execute("UPDATE services SET version = ? WHERE id = ?", (original, entry["service_id"]))
        self._log_step(db, upgrade_id, position, entry, BACKWARD, "done", original)
        db.execute("UPDATE upgrades SET cursor = ? WHERE id = ?", (position, upgrade_id))
        if position == 0:
            self._finish_rollback(db, upgrade_id, cluster_id)
            return Status.CANCELLED
        return Status.ROLLBACK_IN_PROGRESS

    def step_log(self, upgrade_id: str) -> list[dict[str, Any]]:
        """Every step attempt of an upgrade, in the order they were committed."""
        with self._read() as db:
            rows = db.execute(
                "SELECT l.position, l.service_id, s.name AS service, h.hostname, l.direction,"
                " l.outcome, l.version_before, l.version_after, l.at FROM step_log l"
                " JOIN services s ON s.id = l.service_id JOIN hosts h ON h.id = l.host_id"
                " WHERE l.upgrade_id = ? ORDER BY l.id",
                (upgrade_id,),
            )
            return [dict(row) for row in rows]
