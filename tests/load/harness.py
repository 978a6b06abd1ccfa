"""The load harness: concurrent polling and acting clients, their ledger, and database checks.

Clients speak plain httpx to the embedded server (the server is what is under
test here). Each client runs a bounded loop (a number of iterations and a
deadline) with its own seeded RNG, and writes every answer to a mutation into
the shared `Ledger`: acknowledged upgrades and actions, requests whose outcome
is unknown because the connection died, and anything the server should never
answer (a 5xx, a 404 for a cluster it listed).

`check_database` reads the SQLite file directly, after the server has stopped
(or been killed), and returns every broken invariant as a sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import ssl
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

IN_PROGRESS = "UPGRADE IN PROGRESS"
PAUSED = "UPGRADE PAUSED"
ERROR = "UPGRADE ERROR"
CANCELLED = "UPGRADE CANCELLED"
ROLLBACK = "UPGRADE ROLLBACK IN PROGRESS"
SUCCEED = "UPGRADE SUCCEED"
ACTIVE = {IN_PROGRESS, PAUSED, ERROR, ROLLBACK}

# Where the engine alone may take an upgrade from a status, with no further action.
# A pause lets the step under way finish, and that step may be the last one.
ENGINE_SUCCESSORS: dict[str, set[str]] = {
    IN_PROGRESS: {IN_PROGRESS, SUCCEED, ERROR},
    PAUSED: {PAUSED, SUCCEED},
    ERROR: {ERROR},
    ROLLBACK: {ROLLBACK, CANCELLED},
    CANCELLED: {CANCELLED},
    SUCCEED: {SUCCEED},
}

# One for every client: loading the CA store takes ~90 ms on a loaded two-core machine, so
# twenty clients each loading it kept the event loop busy for longer than a kill round
# lasts, and the server was killed before any client had sent a request.
_TLS = ssl.create_default_context()

# Actions the clients send, weighted: mostly pause/continue, sometimes the final ones.
ACTION_WEIGHTS = {"pause": 5, "continue": 6, "rollback": 1, "cancel": 1}


@dataclass
class Acknowledged:
    """A mutation the server answered with success."""

    kind: str  # "start" or the action name
    cluster_id: str
    upgrade_id: str
    status: str
    to_version: str | None
    sent_at: float
    at: float


@dataclass
class Ledger:
    acknowledged: list[Acknowledged] = field(default_factory=list)
    # Clusters with a POST or PUT whose answer never came (the server died).
    uncertain: dict[str, float] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)

    def last_acknowledged(self) -> dict[str, Acknowledged]:
        """Per cluster, the acknowledgement that arrived last."""
        last: dict[str, Acknowledged] = {}
        for ack in sorted(self.acknowledged, key=lambda ack: ack.at):
            last[ack.cluster_id] = ack
        return last


async def discover_clusters(
    client: httpx.AsyncClient, names: list[str], parameters: dict[str, str]
) -> list[str]:
    """Discover one simulated cluster per name; return their ids."""
    ids = []
    for name in names:
        response = await client.post(
            "/clusters/discover",
            json={"name": name, "method": "simulated", "parameters": parameters},
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


async def run_client(
    index: int,
    base_url: str,
    cluster_ids: list[str],
    ledger: Ledger,
    *,
    seed: int,
    iterations: int,
    deadline: float,
    act_probability: float = 0.3,
    stop: asyncio.Event | None = None,
) -> None:
    """Poll and act until `iterations`, `deadline` or `stop`; stop at the first connection
    failure."""
    rng = random.Random(f"{seed}:{index}")
    async with httpx.AsyncClient(base_url=base_url, timeout=10.0, verify=_TLS) as client:
        try:
            for _ in range(iterations):
                if time.monotonic() >= deadline or (stop is not None and stop.is_set()):
                    return
                await _one_iteration(client, rng, cluster_ids, ledger, act_probability)
        except httpx.TransportError:
            # The server went away (killed): the mutation in flight, if any, was noted.
            return


async def _get(client: httpx.AsyncClient, ledger: Ledger, path: str) -> Any:
    ledger.requests[f"GET {path.split('/')[1].split('?')[0]}"] += 1
    response = await client.get(path)
    if response.status_code != 200:
        ledger.unexpected.append(f"GET {path} -> {response.status_code} {response.text[:200]}")
        return None
    return response.json()


async def _one_iteration(
    client: httpx.AsyncClient,
    rng: random.Random,
    cluster_ids: list[str],
    ledger: Ledger,
    act_probability: float,
) -> None:
    clusters = await _get(client, ledger, "/clusters")
    if clusters is None:
        return
    known = {cluster["id"] for cluster in clusters}
    missing = set(cluster_ids) - known
    if missing:
        ledger.unexpected.append(f"GET /clusters lost clusters {sorted(missing)}")
    cluster_id = rng.choice(cluster_ids)
    await _get(client, ledger, f"/clusters/{cluster_id}/services")
    upgrades = await _get(client, ledger, f"/upgrades?cluster_id={cluster_id}")
    if upgrades is None or rng.random() >= act_probability:
        return
    newest = max(upgrades, key=lambda u: u["upgrade_start_time"], default=None)
    if newest is None or newest["status"] not in ACTIVE or rng.random() < 0.3:
        versions = await _get(client, ledger, f"/upgrade-versions/{cluster_id}")
        if versions:
            await _start(client, ledger, cluster_id, versions[0])
    else:
        actions = list(ACTION_WEIGHTS)
        action = rng.choices(actions, weights=[ACTION_WEIGHTS[a] for a in actions])[0]
        await _act(client, ledger, cluster_id, newest["id"], action)


async def _mutate(
    ledger: Ledger, cluster_id: str, send: Callable[[], Any], what: str
) -> tuple[httpx.Response, float]:
    ledger.requests[what] += 1
    sent_at = time.monotonic()
    try:
        return await send(), sent_at
    except httpx.TransportError:
        ledger.uncertain.setdefault(cluster_id, sent_at)
        raise


async def _start(
    client: httpx.AsyncClient, ledger: Ledger, cluster_id: str, to_version: str
) -> None:
    body = {"cluster_id": cluster_id, "to_version": to_version}
    response, sent_at = await _mutate(
        ledger, cluster_id, lambda: client.post("/upgrades", json=body), "POST upgrades"
    )
    if response.status_code == 201:
        upgrade = response.json()
        ledger.acknowledged.append(
            Acknowledged(
                "start",
                cluster_id,
                upgrade["id"],
                upgrade["status"],
                to_version,
                sent_at,
                time.monotonic(),
            )
        )
        if upgrade["to_version"] != to_version or upgrade["cluster_id"] != cluster_id:
            ledger.unexpected.append(f"POST /upgrades answered another upgrade: {upgrade}")
    elif response.status_code == 400:
        ledger.refused["start"] += 1
    else:
        ledger.unexpected.append(f"POST /upgrades -> {response.status_code} {response.text[:200]}")


async def _act(
    client: httpx.AsyncClient, ledger: Ledger, cluster_id: str, upgrade_id: str, action: str
) -> None:
    body = {"cluster_id": cluster_id, "action": action}
    response, sent_at = await _mutate(
        ledger,
        cluster_id,
        lambda: client.put(f"/upgrades/{upgrade_id}", json=body),
        f"PUT {action}",
    )
    if response.status_code == 200:
        upgrade = response.json()
        ledger.acknowledged.append(
            Acknowledged(
                action,
                cluster_id,
                upgrade["id"],
                upgrade["status"],
                None,
                sent_at,
                time.monotonic(),
            )
        )
    elif response.status_code == 400:
        # Another client changed the state first: refused, which is right.
        ledger.refused[action] += 1
    else:
        ledger.unexpected.append(
            f"PUT /upgrades/{upgrade_id} {action} -> {response.status_code} {response.text[:200]}"
        )


async def drain(client: httpx.AsyncClient, cluster_ids: list[str], timeout: float) -> list[dict]:
    """Continue every paused or failed upgrade until none is active; return the upgrades."""
    deadline = time.monotonic() + timeout
    while True:
        upgrades = (await client.get("/upgrades")).json()
        ours = [u for u in upgrades if u["cluster_id"] in cluster_ids]
        active = [u for u in ours if u["status"] in ACTIVE]
        if not active:
            return ours
        if time.monotonic() >= deadline:
            raise AssertionError(f"upgrades still active after {timeout} s: {active}")
        for upgrade in active:
            if upgrade["status"] in (PAUSED, ERROR):
                await client.put(
                    f"/upgrades/{upgrade['id']}",
                    json={"cluster_id": upgrade["cluster_id"], "action": "continue"},
                )
        await asyncio.sleep(0.1)


# The database, read directly


@dataclass
class Snapshot:
    """What the database holds: upgrades (id -> row) and the step log, in commit order."""

    upgrades: dict[str, dict[str, Any]]
    steps: list[tuple[Any, ...]]


def snapshot(db_path: Path) -> Snapshot:
    with _open(db_path) as db:
        upgrades = {
            row["id"]: dict(row)
            for row in db.execute(
                "SELECT id, cluster_id, from_version, to_version, status, cursor, plan_size"
                " FROM upgrades"
            )
        }
        steps = [
            tuple(row)
            for row in db.execute(
                "SELECT id, upgrade_id, position, service_id, direction, outcome, version_after"
                " FROM step_log ORDER BY id"
            )
        ]
    return Snapshot(upgrades, steps)


def _open(db_path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(db_path, timeout=30)
    connection.row_factory = sqlite3.Row
    return connection


def work_done(db_path: Path) -> tuple[int, bool]:
    """Steps committed so far, and whether the engine has an upgrade to move right now."""
    with contextlib.closing(_open(db_path)) as db:
        steps = db.execute("SELECT COUNT(*) FROM step_log").fetchone()[0]
        running = db.execute(
            "SELECT COUNT(*) FROM upgrades WHERE status IN (?, ?)", (IN_PROGRESS, ROLLBACK)
        ).fetchone()[0]
    return steps, running > 0


def failed_steps(db_path: Path) -> int:
    """How many step attempts failed (injected failures, later continued)."""
    with _open(db_path) as db:
        return db.execute("SELECT COUNT(*) FROM step_log WHERE outcome = 'failed'").fetchone()[0]


def check_database(db_path: Path, *, expect_finished: bool = True) -> list[str]:
    """Every invariant the store promises, checked on the file; returns the problems found."""
    problems: list[str] = []
    with _open(db_path) as db:
        integrity = [row[0] for row in db.execute("PRAGMA integrity_check")]
        if integrity != ["ok"]:
            problems.append(f"integrity_check: {integrity}")
        problems += [
            f"foreign key broken: {tuple(row)}" for row in db.execute("PRAGMA foreign_key_check")
        ]

        done: dict[tuple[str, str], Counter[int]] = defaultdict(Counter)
        last_version: dict[str, str] = {}
        for row in db.execute(
            "SELECT upgrade_id, position, service_id, direction, outcome, version_after"
            " FROM step_log ORDER BY id"
        ):
            if row["outcome"] == "done":
                done[(row["upgrade_id"], row["direction"])][row["position"]] += 1
                last_version[row["service_id"]] = row["version_after"]

        for upgrade in db.execute("SELECT id, cluster_id, status, cursor, plan_size FROM upgrades"):
            uid = upgrade["id"]
            forward, backward = done[(uid, "upgrade")], done[(uid, "rollback")]
            for direction, steps in (("forward", forward), ("rollback", backward)):
                twice = {position: n for position, n in steps.items() if n != 1}
                if twice:
                    problems.append(f"upgrade {uid}: {direction} steps done more than once {twice}")
            if set(forward) != set(range(len(forward))):
                problems.append(f"upgrade {uid}: forward steps not contiguous {sorted(forward)}")
            if not set(backward) <= set(forward):
                problems.append(f"upgrade {uid}: rolled back steps never done {sorted(backward)}")
            if upgrade["cursor"] != len(forward) - len(backward):
                problems.append(
                    f"upgrade {uid}: cursor {upgrade['cursor']} but {len(forward)} steps done"
                    f" and {len(backward)} rolled back"
                )
            if upgrade["status"] == SUCCEED and set(forward) != set(range(upgrade["plan_size"])):
                problems.append(
                    f"upgrade {uid}: succeeded with {len(forward)} of {upgrade['plan_size']} steps"
                )
            if backward and upgrade["status"] not in (ROLLBACK, CANCELLED):
                problems.append(f"upgrade {uid}: rolled back steps but status {upgrade['status']}")
            if expect_finished and upgrade["status"] in ACTIVE:
                problems.append(f"upgrade {uid}: still {upgrade['status']}")

        for service in db.execute("SELECT id, version FROM services"):
            expected = last_version.get(service["id"])
            if expected is not None and service["version"] != expected:
                problems.append(
                    f"service {service['id']}: at {service['version']}, step log says {expected}"
                )

        for cluster in db.execute("SELECT id, version FROM clusters"):
            succeeded = db.execute(
                "SELECT to_version FROM upgrades WHERE cluster_id = ? AND status = ?"
                " ORDER BY upgrade_start_time DESC LIMIT 1",
                (cluster["id"], SUCCEED),
            ).fetchone()
            if succeeded is not None and succeeded[0] != cluster["version"]:
                problems.append(
                    f"cluster {cluster['id']}: at {cluster['version']} after an upgrade"
                    f" to {succeeded[0]} succeeded"
                )
    return problems


def check_acknowledged(ledger: Ledger, state: Snapshot) -> list[str]:
    """Every acknowledged mutation is in `state`; the last one per cluster still holds.

    The last one is checked only when its order is certain: no other
    acknowledged mutation of that cluster overlapped it in time, and none of
    that cluster's mutations went unanswered.
    """
    problems = []
    for ack in ledger.acknowledged:
        upgrade = state.upgrades.get(ack.upgrade_id)
        if upgrade is None:
            problems.append(f"acknowledged {ack.kind} of upgrade {ack.upgrade_id} is lost")
        elif ack.to_version is not None and upgrade["to_version"] != ack.to_version:
            problems.append(
                f"upgrade {ack.upgrade_id}: to {upgrade['to_version']}, not {ack.to_version}"
            )
    for cluster_id, ack in ledger.last_acknowledged().items():
        overlapping = any(
            other is not ack and other.cluster_id == cluster_id and other.at > ack.sent_at
            for other in ledger.acknowledged
        )
        if overlapping or cluster_id in ledger.uncertain:
            continue
        upgrade = state.upgrades.get(ack.upgrade_id)
        if upgrade is not None and upgrade["status"] not in ENGINE_SUCCESSORS[ack.status]:
            problems.append(
                f"upgrade {ack.upgrade_id}: {ack.kind} acknowledged as {ack.status!r},"
                f" now {upgrade['status']!r}"
            )
    return problems
