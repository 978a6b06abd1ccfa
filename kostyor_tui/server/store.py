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
import logging
import os
import re
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
from kostyor_tui.domain.statuses import MOVING, UPGRADE_STATUSES, Status
from kostyor_tui.server import releases
from kostyor_tui.server.errors import (
    BadRequest,
    Conflict,
    DatabaseGone,
    InsufficientStorage,
    NotFound,
    ServiceUnavailable,
)
from kostyor_tui.server.topology import HostSpec

logger = logging.getLogger(__name__)

FORWARD = "upgrade"
BACKWARD = "rollback"

# How long a statement waits for another process's lock. Shorter than the client's default
# timeout (10 s): a held lock is answered 503 before the client gives up, so that no write
# lands after its client was told it failed.
BUSY_TIMEOUT_SECONDS = 5

# `PRAGMA user_version`. Version 0 is a file without a version: new, or made before versions.
SCHEMA_VERSION = 4

# The schema now. A column the real Kostyor leaves null may be null here too, so that
# upstream mode (docs/kostyor-api.md#upstream-mode) stores what the real server stores: an
# upgrade's status (docs/kostyor-api.md#quirk-null-upgrade-status), a discovered service's
# version (docs/kostyor-api.md#quirk-discovery-parameters), and so that service's version
# as an upgrade's plan and step log record it.
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
    version TEXT
);
CREATE INDEX IF NOT EXISTS services_by_cluster ON services(cluster_id, name);
CREATE INDEX IF NOT EXISTS services_by_host ON services(host_id);
CREATE INDEX IF NOT EXISTS services_listed ON services(cluster_id, name, host_id, id, version);
CREATE TABLE IF NOT EXISTS upgrades (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL REFERENCES clusters(id),
    from_version TEXT NOT NULL,
    to_version TEXT NOT NULL,
    status TEXT,
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
    original_version TEXT,
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
    version_before TEXT,
    version_after TEXT,
    at TEXT NOT NULL
);
-- The database itself refuses a step done twice.
CREATE UNIQUE INDEX IF NOT EXISTS one_done_step
    ON step_log(upgrade_id, position, direction) WHERE outcome = 'done';
-- An upgrade's steps since one (GET /upgrades/{id}/steps?since=), and the failures the
-- engine counts before each step: without these both scan the whole log.
CREATE INDEX IF NOT EXISTS step_log_by_upgrade ON step_log(upgrade_id, id);
CREATE INDEX IF NOT EXISTS step_log_failures
    ON step_log(upgrade_id, host_id, position) WHERE outcome = 'failed';
"""

# Version 1, as it was: every version and status NOT NULL.
_SCHEMA_V1 = """
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
_TABLES = frozenset({"clusters", "hosts", "services", "upgrades", "upgrade_plan", "step_log"})


def _statements(script: str) -> list[str]:
    """The statements of `script`, to run inside a transaction (`executescript` commits)."""
    statements: list[str] = []
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            statements.append(pending)
            pending = ""
    return statements


def _create_version_1(db: sqlite3.Connection) -> None:
    # Every statement is IF NOT EXISTS: this creates the schema in a new file and adds
    # nothing to one made before versions, which had these very tables.
    for statement in _statements(_SCHEMA_V1):
        db.execute(statement)


# The tables version 2 rebuilds, each with a column that may now be null.
_NULLABLE_SINCE_VERSION_2 = ("services", "upgrades", "upgrade_plan", "step_log")


def _allow_nulls_version_2(db: sqlite3.Connection) -> None:
    """Version 2: versions and statuses the real server leaves null may be null.

    SQLite cannot drop a NOT NULL constraint in place, so each table is rebuilt as its
    documentation says (a new table, the rows copied, the old one dropped, the new one
    renamed), with foreign keys off: `Store._set_up` checks them before committing.
    """
    created = {
        match.group(1): statement
        for statement in _statements(_SCHEMA)
        if (match := re.search(r"CREATE TABLE IF NOT EXISTS (\w+) \(", statement))
    }
    for table in _NULLABLE_SINCE_VERSION_2:
        rebuilt = f"{table}_version_2"
        db.execute(
            created[table].replace(
                f"CREATE TABLE IF NOT EXISTS {table} (", f"CREATE TABLE {rebuilt} (", 1
            )
        )
        # The columns are in the same order in both versions.
        db.execute(f"INSERT INTO {rebuilt} SELECT * FROM {table}")
        db.execute(f"DROP TABLE {table}")
        db.execute(f"ALTER TABLE {rebuilt} RENAME TO {table}")
    # The indexes went with the old tables; the tables themselves exist now.
    _create_missing(db)


def _create_missing(db: sqlite3.Connection) -> None:
    """Create what the current schema has and the database lacks: every statement of
    `_SCHEMA` is `IF NOT EXISTS`. Versions 3 (the services' covering index) and 4 (the
    step log's indexes) only add indexes, so this is their migration: each index is
    written once, in `_SCHEMA`."""
    for statement in _statements(_SCHEMA):
        db.execute(statement)


# _MIGRATIONS[n] takes a database from version n to n + 1, inside the opening transaction.
_MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _create_version_1,
    _allow_nulls_version_2,
    _create_missing,  # version 3
    _create_missing,  # version 4
)

# The big lists, encoded by SQLite as Python's json would (same keys, same order, compact),
# in the order the API answers them.
_HOSTS_JSON = """
SELECT json_group_array(json_object(
    'id', id, 'hostname', hostname, 'cluster_id', cluster_id, 'services', json(services)))
FROM (
    SELECT h.id, h.hostname, h.cluster_id,
        (SELECT json_group_array(id)
         FROM (SELECT s.id FROM services s WHERE s.host_id = h.id ORDER BY s.rowid)) AS services
    FROM hosts h WHERE h.cluster_id = ? ORDER BY h.hostname, h.id
)
"""
_SERVICES_JSON = """
SELECT json_group_array(json_object(
    'id', id, 'name', name, 'version', version, 'hosts', json_array(host_id)))
FROM (
    SELECT s.id, s.name, s.version, s.host_id FROM services s JOIN hosts h ON h.id = s.host_id
    WHERE s.cluster_id = ? ORDER BY s.name, h.hostname, s.id
)
"""
assert len(_MIGRATIONS) == SCHEMA_VERSION


# SQLite's primary result code -> what an API client is told (the details go to the log).
_UNAVAILABLE: dict[int, tuple[type[ServiceUnavailable], str, int | None]] = {
    code: (
        ServiceUnavailable,
        f"The server's database stayed locked for over {BUSY_TIMEOUT_SECONDS} s (by another"
        " process on its file, or by this server's own work); nothing was changed."
        " Try again shortly.",
        BUSY_TIMEOUT_SECONDS,
    )
    for code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
} | {
    sqlite3.SQLITE_FULL: (
        InsufficientStorage,
        "The disk holding the server's database is full; nothing was changed."
        " Free some space on the server, then try again.",
        None,
    ),
    sqlite3.SQLITE_READONLY: (
        ServiceUnavailable,
        "The server's database is read-only (the file's permissions or a read-only"
        " filesystem); nothing was changed.",
        None,
    ),
    sqlite3.SQLITE_CANTOPEN: (
        ServiceUnavailable,
        "The server cannot open its database file; the cause is in the server's log.",
        None,
    ),
    sqlite3.SQLITE_IOERR: (
        ServiceUnavailable,
        "The server's database file could not be read or written (an I/O error);"
        " the cause is in the server's log.",
        None,
    ),
    **{
        code: (
            ServiceUnavailable,
            "The server's database file is damaged; the cause is in the server's log.",
            None,
        )
        for code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)
    },
}

# The same causes, as `serve` says them about the file it was given.
_STARTUP_PROBLEMS: dict[int, str] = {
    sqlite3.SQLITE_NOTADB: "is not an SQLite database",
    sqlite3.SQLITE_CORRUPT: "is a damaged SQLite database",
    sqlite3.SQLITE_CANTOPEN: "cannot be opened or created (may this user write to its directory?)",
    sqlite3.SQLITE_READONLY: "cannot be written: the file, its directory or its filesystem is"
    " read-only for this user",
    sqlite3.SQLITE_FULL: "cannot be written: the disk is full",
    sqlite3.SQLITE_IOERR: "cannot be read or written (an I/O error)",
    sqlite3.SQLITE_BUSY: "is locked by another process (another server on the same file?)",
}


def _primary_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _startup_problem(error: BaseException) -> str:
    # A failure inside `fill` arrives translated for API clients; its cause is SQLite's.
    cause = error.__cause__ if isinstance(error, ServiceUnavailable) else error
    if not isinstance(cause, sqlite3.Error):
        return f"cannot be used: {error}"
    return _STARTUP_PROBLEMS.get(_primary_code(cause) or 0, f"cannot be used: {cause}")


class DatabaseProblem(Exception):
    """The database file given to the server cannot be used; the message names it and says why."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path} {problem}")


@dataclass(frozen=True)
class Opened:
    """What `Store.initialize` found."""

    created: bool  # the file held no schema: it was created (and filled) now
    version_found: int  # its schema version before opening (0: new, or made before versions)


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


def _stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return os.stat(path)
    except FileNotFoundError:
        return None


def _upgrade_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {key: row[key] for key in row.keys()}  # noqa: SIM118 (sqlite3.Row is not a Mapping)


def _status_of(newest: sqlite3.Row, cluster: sqlite3.Row) -> str:
    """The status of a cluster's newest upgrade. One left null (started in upstream mode, as
    the real server starts them) has its cluster's: docs/kostyor-api.md#quirk-null-upgrade-status.
    """
    status: str = newest["status"] if newest["status"] is not None else cluster["status"]
    return status


class Store:
    """One per server process; safe to use from any thread (one connection per thread).

    The store remembers which file it opened (device and inode). Should the file at its
    path be deleted or replaced while the server runs, every later call raises
    `DatabaseGone` rather than going on in the old file while a restart would use another.
    """

    def __init__(self, db_path: Path) -> None:
        self.db_path = Path(db_path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._identity: tuple[int, int] | None = None
        # The write-ahead log and shared-memory files this store's connections use.
        self._journal: dict[Path, tuple[int, int]] = {}
        self._gone: str | None = None

    # Connections and transactions

    def _open(self, *, create: bool) -> sqlite3.Connection:
        # mode=rw never creates a file: a deleted database is not silently made anew.
        mode = "rwc" if create else "rw"
        uri = f"{Path(os.path.abspath(self.db_path)).as_uri()}?mode={mode}"
        connection = sqlite3.connect(
            uri,
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_SECONDS,
        )
        try:
            connection.row_factory = sqlite3.Row
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA foreign_keys=ON")
            connection.execute("PRAGMA synchronous=FULL")
        except BaseException:
            connection.close()
            raise
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            self._check_identity()
            connection = self._open(create=False)
        return connection

    def _check_identity(self) -> None:
        """Raise `DatabaseGone` if the file at the path is no longer the one opened."""
        if self._gone is None:
            try:
                found = os.stat(self.db_path)
            except FileNotFoundError:
                gone: str | None = "deleted"
            else:
                gone = None if (found.st_dev, found.st_ino) == self._identity else "replaced"
            if gone is not None:
                with self._lock:
                    if self._gone is None:
                        self._gone = gone
                        logger.error(
                            "The database %s was %s while the server ran: serving and the"
                            " engine stop. Restart the server to open what is there now.",
                            self.db_path,
                            gone,
                        )
        if self._gone is not None:
            raise DatabaseGone(
                f"The server's database file was {self._gone} while the server was running;"
                " so that its state is never split between two files, the server reads and"
                " writes nothing more. Restart the server."
            )

    @contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        try:
            connection = self._connection()
            if connection.in_transaction:
                # Inside `initialize`: its transaction commits or rolls back.
                yield connection
                return
            self._check_identity()
            connection.execute(f"BEGIN {mode}")
            try:
                yield connection
                # Again just before committing: nothing goes into a file that is no longer
                # the database (only a commit already under way at that instant can).
                self._check_identity()
                connection.execute("COMMIT")
            finally:
                # A failed body or COMMIT (SQLite keeps a transaction open after some
                # failures): undo it all, or the next call would join it.
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
        except sqlite3.Error as error:
            unavailable = self._unavailable(error)
            if unavailable is None:
                raise
            raise unavailable from error

    def _unavailable(self, error: sqlite3.Error) -> ServiceUnavailable | None:
        known = _UNAVAILABLE.get(_primary_code(error) or 0)
        if known is None:
            return None
        kind, message, retry_after = known
        logger.warning("Database %s: %s (%s)", self.db_path, error, error.sqlite_errorname)
        return kind(message, retry_after=retry_after)

    def _read(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._transaction("DEFERRED")

    def initialize(self, fill: Callable[[], object] = lambda: None) -> Opened:
        """Open the database, creating or migrating its schema; `fill` a new one.

        A new file (or one without any table) gets the schema and `fill`'s content in one
        transaction: a server killed meanwhile leaves a file without schema, which the
        next start fills again, never a half-filled one. An existing database is never
        filled, even without clusters. Raises `DatabaseProblem` for a file the server
        cannot use: not SQLite, not writable, another program's, or a newer schema.
        """
        path = self.db_path
        if path.is_dir():
            raise DatabaseProblem(path, "is a directory, not a database file")
        wal, shm = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
        if wal.exists() and not path.exists():
            raise DatabaseProblem(
                path,
                f"does not exist, but its write-ahead log {wal.name} does: the database was"
                " deleted or moved without it. Restore the database, or move"
                f" {wal.name} and {shm.name} away to start a new one",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseProblem(
                path, f"cannot be created: its directory {path.parent}: {error.strerror}"
            ) from None
        # Said before SQLite tries: its own errors do not tell these apart.
        if os.statvfs(path.parent).f_flag & os.ST_RDONLY:
            raise DatabaseProblem(path, "is on a read-only filesystem")
        if not os.access(path.parent, os.W_OK | os.X_OK):
            raise DatabaseProblem(
                path, f"cannot be written: this user may not create files in {path.parent}"
            )
        if path.exists() and not os.access(path, os.R_OK | os.W_OK):
            raise DatabaseProblem(path, "cannot be written: this user may not write to it")
        try:
            try:
                connection = self._open(create=True)
                found = os.stat(path)
                self._identity = (found.st_dev, found.st_ino)
                opened = self._set_up(connection, fill)
            except (sqlite3.Error, ServiceUnavailable) as error:
                raise DatabaseProblem(path, _startup_problem(error)) from None
        except BaseException:
            self.close()
            raise
        self._journal = {
            file: (stat.st_dev, stat.st_ino)
            for file in (wal, shm)
            if (stat := _stat_or_none(file)) is not None
        }
        return opened

    def _set_up(self, db: sqlite3.Connection, fill: Callable[[], object]) -> Opened:
        # Off while a schema is created or migrated (a migration may rebuild a table others
        # refer to), and checked before committing instead. A no-op inside a transaction,
        # so set before it begins.
        db.execute("PRAGMA foreign_keys=OFF")
        try:
            return self._set_up_schema(db, fill)
        finally:
            db.execute("PRAGMA foreign_keys=ON")

    def _set_up_schema(self, db: sqlite3.Connection, fill: Callable[[], object]) -> Opened:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                row[0]
                for row in db.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table'"
                    " AND name NOT LIKE 'sqlite_%'"
                )
            }
            if version > SCHEMA_VERSION:
                raise DatabaseProblem(
                    self.db_path,
                    f"has schema version {version}, newer than this kostyor-tui knows"
                    f" ({SCHEMA_VERSION}): use a newer kostyor-tui, or another --db",
                )
            if version == 0 and tables and not tables >= _TABLES:
                raise DatabaseProblem(
                    self.db_path, "is an SQLite database of another program, not kostyor-tui's"
                )
            for migrate in _MIGRATIONS[version:]:
                migrate(db)
            created = not tables
            if created:
                fill()
            if version < SCHEMA_VERSION and db.execute("PRAGMA foreign_key_check").fetchone():
                raise DatabaseProblem(
                    self.db_path, "has rows that refer to rows it does not hold (foreign keys)"
                )
            # Written even when unchanged: opening fails now, not at the first request,
            # if the file cannot be written.
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
        finally:
            if db.in_transaction:
                db.execute("ROLLBACK")
        return Opened(created=created, version_found=version)

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
        if self._gone is not None:
            self._remove_stale_journal()

    def _remove_stale_journal(self) -> None:
        """Remove the write-ahead log of the file that was deleted or replaced.

        It belongs to that file, not to whatever is at the path now: SQLite would replay it
        into a replacement database when next opened, or refuse to start on it.
        """
        for file, identity in self._journal.items():
            stat = _stat_or_none(file)
            if stat is not None and (stat.st_dev, stat.st_ino) == identity:
                file.unlink()
                logger.warning("Removed %s, the journal of the former database", file)

    def check(self) -> None:
        """Raise what a request would meet now: the file gone, unreadable or read-only."""
        with self._read() as db:
            db.execute("SELECT 1 FROM clusters LIMIT 1").fetchone()
        if not os.access(self.db_path, os.W_OK) or os.statvfs(self.db_path).f_flag & os.ST_RDONLY:
            kind, message, _ = _UNAVAILABLE[sqlite3.SQLITE_READONLY]
            raise kind(message)

    # Clusters, hosts, services

    def add_cluster(
        self,
        name: str,
        version: str,
        hosts: Sequence[HostSpec],
        *,
        id_namespace: uuid.UUID | None = None,
        max_clusters: int | None = None,
        service_versions: bool = True,
    ) -> dict[str, Any]:
        """Create a cluster with its hosts and services, all at `version`.

        With `id_namespace`, ids are derived from the names (a seed gives the same ids
        every time); otherwise they are random. With `max_clusters`, refused (409) when
        the store holds that many clusters already. Without `service_versions`, the
        services' versions are null, as the real server's discovery stores them
        (docs/kostyor-api.md#quirk-discovery-parameters).
        """
        service_version = version if service_versions else None

        def new_id(*names: str) -> str:
            if id_namespace is None:
                return str(uuid.uuid4())
            return str(uuid.uuid5(id_namespace, "/".join(names)))

        cluster_id = new_id(name)
        host_rows: list[tuple[str, str, str]] = []
        service_rows: list[tuple[str, str, str, str, str | None]] = []
        for host in hosts:
            host_id = new_id(name, host.hostname)
            host_rows.append((host_id, cluster_id, host.hostname))
            service_rows.extend(
                (new_id(name, host.hostname, name_), cluster_id, host_id, name_, service_version)
                for name_ in host.services
            )
        with self._transaction() as db:
            if max_clusters is not None:
                (count,) = db.execute("SELECT COUNT(*) FROM clusters").fetchone()
                if count >= max_clusters:
                    raise Conflict(
                        f"The server holds {count} clusters, its limit: no more can be"
                        " discovered (the limit is set by serve --max-clusters)."
                    )
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
        hosts: list[dict[str, Any]] = json.loads(self.list_hosts_json(cluster_id))
        return hosts

    def list_hosts_json(self, cluster_id: str) -> bytes:
        """The hosts' list as the API answers it, encoded by SQLite: for 10,000 hosts, a
        fraction of the time rows turned into dicts and encoded by Python take."""
        with self._read() as db:
            self._cluster_row(db, cluster_id)
            (encoded,) = db.execute(_HOSTS_JSON, (cluster_id,)).fetchone()
        return str(encoded).encode()

    def list_services(self, cluster_id: str) -> list[dict[str, Any]]:
        services: list[dict[str, Any]] = json.loads(self.list_services_json(cluster_id))
        return services

    def list_services_json(self, cluster_id: str) -> bytes:
        """One entry per instance (one host each), sorted by name, as the API answers it,
        encoded by SQLite (read through the covering index `services_listed`)."""
        with self._read() as db:
            self._cluster_row(db, cluster_id)
            (encoded,) = db.execute(_SERVICES_JSON, (cluster_id,)).fetchone()
        return str(encoded).encode()

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
        """Plan and start an upgrade; refused as docs/kostyor-api.md#lifecycle says."""
        upgrade_id = str(uuid.uuid4())
        with self._transaction() as db:
            cluster = self._cluster_row(db, cluster_id)
            version = cluster["version"]
            if not releases.is_known(version):
                raise BadRequest("Cluster version is unknown")
            newest = self._newest_upgrade(db, cluster_id)
            if newest is not None and _status_of(newest, cluster) in START_BLOCKED_BY:
                raise BadRequest(f"Cluster {cluster_id} already has an upgrade in progress.")
            if not releases.is_later(to_version, version):
                raise BadRequest(
                    f'Upgrade procedure from "{version}" to "{to_version}" is not allowed.'
                )
            plan_size = self._insert_upgrade(
                db, upgrade_id, cluster, to_version, Status.IN_PROGRESS, engine, driver, parameters
            )
            if not plan_size:
                self._finish_upgrade(db, upgrade_id, cluster_id, to_version)
            return _upgrade_dict(self._upgrade_row(db, upgrade_id))

    def _insert_upgrade(
        self,
        db: sqlite3.Connection,
        upgrade_id: str,
        cluster: sqlite3.Row,
        to_version: str,
        status: Status | None,
        engine: str,
        driver: str,
        parameters: dict[str, str],
    ) -> int:
        """Save a new upgrade and its plan (the instances not at `to_version` yet, in the
        engine's order) and put the cluster in progress; return the plan's size."""
        cluster_id = cluster["id"]
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
                cluster["version"],
                to_version,
                status,
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
        return len(plan)

    def apply_action(
        self, cluster_id: str, action: Action, upgrade_id: str | None = None
    ) -> dict[str, Any]:
        """Apply `action` to the cluster's newest upgrade, if valid in its current state.

        `upgrade_id`, when given, must name an upgrade of that cluster (or be the
        cluster's own id, which is what the real server answers with).
        """
        with self._transaction() as db:
            cluster = self._cluster_row(db, cluster_id)
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
            status = _status_of(newest, cluster)
            if status not in valid_in:
                allowed = ", ".join(f'"{status}"' for status in sorted(valid_in))
                raise BadRequest(
                    f'Cannot {action} an upgrade in status "{status}" (only when {allowed}).'
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

    # As the real server does it (docs/kostyor-api.md#upstream-mode)

    def _cluster_row_as_released(self, db: sqlite3.Connection, cluster_id: str) -> sqlite3.Row:
        try:
            return self._cluster_row(db, cluster_id)
        except NotFound:
            raise NotFound(f'Cluster (ID="{cluster_id}") not found.') from None

    def create_upgrade_as_released(
        self,
        cluster_id: str,
        to_version: str,
        *,
        engine: str,
        driver: str,
        parameters: dict[str, str],
    ) -> dict[str, Any]:
        """Save an upgrade as the real server does: with a null status, refused only for an
        unknown version, while the cluster is exactly `UPGRADE IN PROGRESS`, or to a release
        not later than the cluster's (docs/kostyor-api.md#quirk-null-upgrade-status,
        #quirk-no-transition-checks). Nothing ever finishes it (#quirk-no-progress).

        The plan is saved all the same, so that a database served in the default mode
        later can carry the upgrade on.
        """
        upgrade_id = str(uuid.uuid4())
        with self._transaction() as db:
            cluster = self._cluster_row_as_released(db, cluster_id)
            version = cluster["version"]
            if not releases.is_known(version):
                raise BadRequest("Cluster version is unknown")
            if cluster["status"] == Status.IN_PROGRESS:
                raise BadRequest(f"Cluster {cluster_id} already has an upgrade in progress.")
            if not releases.is_later(to_version, version):
                raise BadRequest(
                    f'Upgrade procedure from "{version}" to "{to_version}" is not allowed.'
                )
            self._insert_upgrade(
                db, upgrade_id, cluster, to_version, None, engine, driver, parameters
            )
            return _upgrade_dict(self._upgrade_row(db, upgrade_id))

    def service_names(self, cluster_id: str) -> set[str]:
        """The names of the services a cluster runs."""
        with self._read() as db:
            rows = db.execute(
                "SELECT DISTINCT name FROM services WHERE cluster_id = ?", (cluster_id,)
            )
            return {row[0] for row in rows}

    def act_on_oldest(self, cluster_id: str, action: Action) -> str | None:
        """Apply `action` as the real server does: to the cluster's oldest upgrade, whatever
        its status (docs/kostyor-api.md#quirk-action-on-oldest, #quirk-no-transition-checks);
        the upgrade and the cluster take the status the action leads to, and a cancel sets
        the end time. Return that status, or None when the cluster never had an upgrade
        (the real server fails then: #quirk-action-without-upgrade)."""
        status = LIFECYCLE[action].leads_to
        with self._transaction() as db:
            self._cluster_row_as_released(db, cluster_id)
            oldest = db.execute(
                "SELECT id FROM upgrades WHERE cluster_id = ?"
                " ORDER BY upgrade_start_time, rowid LIMIT 1",
                (cluster_id,),
            ).fetchone()
            if oldest is None:
                return None
            if action is Action.CANCEL:
                db.execute(
                    "UPDATE upgrades SET status = ?, upgrade_end_time = ? WHERE id = ?",
                    (status, now_iso(), oldest["id"]),
                )
            else:
                db.execute("UPDATE upgrades SET status = ? WHERE id = ?", (status, oldest["id"]))
            self._set_cluster_status(db, cluster_id, status)
        return status

    # The engine's side

    def adopt_null_statuses(self) -> int:
        """Give each cluster's newest upgrade left with a null status (started in upstream
        mode, as the real server starts them) the status it has there, its cluster's
        (`_status_of`), so that the default mode's engine moves it on and every upgrade has
        a status (docs/kostyor-api.md#quirk-null-upgrade-status). Returns how many."""
        adopted = 0
        with self._transaction() as db:
            for cluster in db.execute("SELECT id, status FROM clusters").fetchall():
                newest = self._newest_upgrade(db, cluster["id"])
                if newest is None or newest["status"] is not None:
                    continue
                status = _status_of(newest, cluster)
                if status in UPGRADE_STATUSES:
                    db.execute(
                        "UPDATE upgrades SET status = ? WHERE id = ?", (status, newest["id"])
                    )
                    adopted += 1
        return adopted

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

    def step_log(self, upgrade_id: str, since: int = 0) -> list[dict[str, Any]]:
        """The step attempts of an upgrade, in the order they were committed, after the
        first `since` of them (a watcher asks only for what it has not seen)."""
        with self._read() as db:
            rows = db.execute(
                "SELECT l.position, l.service_id, s.name AS service, h.hostname, l.direction,"
                " l.outcome, l.version_before, l.version_after, l.at FROM step_log l"
                " JOIN services s ON s.id = l.service_id JOIN hosts h ON h.id = l.host_id"
                " WHERE l.upgrade_id = ? ORDER BY l.id LIMIT -1 OFFSET ?",
                (upgrade_id, since),
            )
            return [dict(row) for row in rows]
