"""One poll: read the cluster list and the watched clusters, and derive their snapshots.

Plain and synchronous: it runs in the console's poll thread (so that reading and
deriving a big cluster never holds up the keyboard), with a few reader threads of its
own for the requests it sends at once, and tests call it directly.
A watched cluster whose data cannot have moved is not read again in full: its
hosts and services (tens of thousands of instances on a big fleet) are re-read
only when it or its upgrade may be moving, when its upgrades changed, or when
everything is asked for. And while the engine moves an upgrade on a server that
keeps a step log (the embedded one), the services are not read in full either:
the steps since the last poll say which instances changed, and to what
(`_follow_steps`), and only those instances' hosts and components are derived
again (`snapshots.advance_snapshot`); a full read comes every `FULL_READ_EVERY`
polls, and whenever the status moves.

The garbage collector: a big fleet's snapshot is hundreds of thousands of
objects without reference cycles (freed by reference counting when a newer one
replaces them), and a full collection traversing them all at every poll would
cost more than the poll. So the collector is paused while a poll reads and
derives, and afterwards what is alive is frozen (`gc.freeze`: left out of
collections; a frozen object is still freed when its last reference goes).
Cyclic garbage frozen meanwhile is collected by a full pass once the
interpreter's memory blocks, counted as a poll starts, have grown by
`FULL_PASS_GROWTH` since the last pass: memory stays bounded, and full passes
come as often as garbage accumulates, not at every poll.
(`sys.getallocatedblocks` counts them in under 1 ms at 10,000 hosts; counting
the frozen objects instead, `gc.get_freeze_count`, walks them all holding the
interpreter lock: ~30 ms at that size, a stall of the keyboard at every poll.)
The pass traverses every live object and holds the interpreter lock throughout
(~75 ms at 2,000 hosts), so `poll` only finds it due and the caller runs it
(`collect_if_due`) once the poll's result is on screen.

Freeing a fleet: a fleet read in full replaces every instance of the one before,
and freed at once, when the console lets go of the snapshot holding them, they
would hold the interpreter lock on the main thread (~35 ms at 10,000 hosts: a
stall of the keyboard). So a poll hands back the hosts and services of the
snapshots it replaced by a full read or dropped (`PollResult.replaced`), and the
caller frees them a piece at a time once the console has let go of those
snapshots (`free_in_pieces`), letting the main thread run in between. The rest
of a replaced snapshot (its indexes and per-host tallies) is still freed at
once, where it is let go of.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Cluster, Host, Service, Step, Upgrade
from kostyor_tui.domain.lifecycle import effective_status, newest_upgrade
from kostyor_tui.domain.statuses import MOVING
from kostyor_tui.service.events import describe_changes
from kostyor_tui.service.snapshots import (
    ClusterSnapshot,
    advance_snapshot,
    build_snapshot,
    settled,
)

# How much of an upgrade's step log a snapshot keeps: enough for the recent pace and the
# last failures; the rest was logged as it came.
STEP_TAIL = 500
# While an upgrade is followed through its step log, the hosts and services are read in
# full at least this often (a change made outside the engine shows then).
FULL_READ_EVERY = 10
# A full pass once memory grew by a quarter since the last one (CPython's own rule for its
# oldest generation, but not set off by each poll's own churn).
FULL_PASS_GROWTH = 1.25
# Replaced instances freed at a time (`free_in_pieces`): about 1 ms a piece.
FREE_PIECE = 5000
# Requests a poll sends beside its own thread's (a cluster's upgrades, hosts and services
# at once): with the cluster list's, the client's default pool of four connections. A
# command sent meanwhile (the console's commands share the client) waits for one of them
# to be free: the list's and the upgrades' are, within milliseconds.
READERS = 3

T = TypeVar("T")


def _memory_blocks() -> int:
    """The interpreter's allocated memory blocks; where the build cannot count them
    (`getallocatedblocks` may answer 0, e.g. PYTHONMALLOC=malloc), the frozen objects."""
    return sys.getallocatedblocks() or gc.get_freeze_count()


@dataclass(frozen=True)
class PollResult:
    clusters: tuple[Cluster, ...]
    releases: tuple[str, ...]
    # Per watched cluster: its snapshot (the old one itself when nothing changed), or
    # None when the cluster is gone.
    watched: dict[str, ClusterSnapshot | None] = field(default_factory=dict)
    # CPU time of the poll thread and of the requests it sent beside it (`_Readers`).
    cpu_seconds: float = 0.0
    # Whether the server keeps a step log (None: not known yet).
    step_log: bool | None = None
    # The hosts and services of the snapshots this poll replaced or dropped, for the caller
    # to free once the console has let go of those (`free_in_pieces`).
    replaced: list[object] = field(default_factory=list)


class _Collector:
    """The pause and the freezing described above, for any number of pollers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pausing = 0
        self._was_enabled = True
        # Memory blocks right after the last full pass (None: no poll yet).
        self._blocks_after_pass: int | None = None
        self.pass_due = False

    @contextmanager
    def paused(self) -> Iterator[None]:
        with self._lock:
            if self._pausing == 0:
                self._measure_growth()
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._pausing += 1
        try:
            yield
        finally:
            with self._lock:
                self._pausing -= 1
                if self._pausing == 0:
                    gc.freeze()
                    if self._was_enabled:
                        gc.enable()

    def _measure_growth(self) -> None:
        # Before a poll, not after it: after it, the snapshot it replaces is still alive
        # (until the console takes the new one), and a fleet read in full would count twice.
        blocks = _memory_blocks()
        if self._blocks_after_pass is None:
            self._blocks_after_pass = blocks
        elif blocks > self._blocks_after_pass * FULL_PASS_GROWTH:
            self.pass_due = True
        else:
            # Shrunk (a smaller cluster shown): the growth is counted from the smaller.
            self._blocks_after_pass = min(self._blocks_after_pass, blocks)

    def collect_if_due(self) -> None:
        with self._lock:
            # Not while a poll runs: that poll's temporaries would be frozen.
            if not self.pass_due or self._pausing:
                return
            self.pass_due = False
            gc.unfreeze()
            gc.collect()
            gc.freeze()
            self._blocks_after_pass = _memory_blocks()


_collector = _Collector()


def collection_due() -> bool:
    """Whether a poll found the collector's full pass due (see the module's doc)."""
    return _collector.pass_due


def collect_if_due() -> None:
    """The full pass, if due: run it once the poll that found it due is on screen."""
    _collector.collect_if_due()


def free_in_pieces(replaced: list[object]) -> None:
    """Free a poll's `replaced` instances, `FREE_PIECE` at a time (the module's doc):
    call it once the console has let go of the snapshots that held them."""
    while replaced:
        del replaced[-FREE_PIECE:]


def poll(
    client: KostyorClient,
    watched: Sequence[str],
    previous: Mapping[str, ClusterSnapshot],
    releases: tuple[str, ...],
    *,
    everything: bool,
    clock: Callable[[], datetime] = datetime.now,
    step_log: bool | None = None,
    listed: Collection[str] = (),
) -> PollResult:
    """Read and derive one poll; raises the client's errors. `step_log`: whether the
    server keeps a step log, as far as is known (None: it is found out). `listed`: the
    clusters the last poll listed; a watched one of them without a snapshot yet (a
    cluster being opened) will be read in full unless the new list has dropped it, so
    its reads start before the list comes, not after it. Its upgrades may then be a
    moment older than the list's status: the next poll, finding them changed, reads
    the cluster again."""
    cpu_start = time.thread_time()
    with (
        _collector.paused(),
        ThreadPoolExecutor(READERS, thread_name_prefix="kostyor-read") as pool,
    ):
        readers = _Readers(pool)
        opening = {
            cluster_id: _Opening.start(readers, client, cluster_id)
            for cluster_id in watched
            if cluster_id in listed and cluster_id not in previous
        }
        try:
            result = _poll(
                client, readers, opening, watched, previous, releases, everything, clock, step_log
            )
        except BaseException:
            # The reads not begun yet are not sent; those under way end within their
            # deadline, before the collector's pause ends (nothing of theirs is frozen).
            pool.shutdown(cancel_futures=True)
            raise
    return replace(result, cpu_seconds=time.thread_time() - cpu_start + readers.cpu_seconds)


def _poll(
    client: KostyorClient,
    readers: _Readers,
    opening: Mapping[str, _Opening],
    watched: Sequence[str],
    previous: Mapping[str, ClusterSnapshot],
    releases: tuple[str, ...],
    everything: bool,
    clock: Callable[[], datetime],
    step_log: bool | None,
) -> PollResult:
    clusters = tuple(client.list_clusters())
    if not releases:
        releases = tuple(client.list_all_versions())
    by_id = {cluster.id: cluster for cluster in clusters}
    derived: dict[str, ClusterSnapshot | None] = {}
    replaced: list[object] = []
    for cluster_id in watched:
        cluster = by_id.get(cluster_id)
        if cluster is None:  # gone: what was read beside the list is not looked at
            derived[cluster_id] = None
            continue
        snapshot = _poll_cluster(
            client,
            readers,
            cluster,
            previous.get(cluster_id),
            opening.get(cluster_id),
            releases,
            everything,
            clock,
            step_log,
            replaced,
        )
        derived[cluster_id] = snapshot
        if snapshot.upgrade is not None and step_log is None:
            step_log = snapshot.steps is not None
    for cluster_id, old in previous.items():
        if derived.get(cluster_id) is None:  # no longer watched, or gone
            client.forget_cluster(cluster_id)  # its last answers held the same instances
            _hand_back(replaced, old)
    return PollResult(clusters, releases, derived, step_log=step_log, replaced=replaced)


def _poll_cluster(
    client: KostyorClient,
    readers: _Readers,
    cluster: Cluster,
    old: ClusterSnapshot | None,
    opened: _Opening | None,
    releases: tuple[str, ...],
    everything: bool,
    clock: Callable[[], datetime],
    step_log: bool | None,
    replaced: list[object],
) -> ClusterSnapshot:
    cluster_id = cluster.id or ""
    upgrades = opened.upgrades.result() if opened else client.list_upgrades(cluster_id)
    # Settled and its upgrades unchanged: nothing has moved, and re-reading tens of
    # thousands of instances would cost a good part of a core at every poll.
    if (
        not everything
        and old is not None
        and settled(old, cluster)
        and old.upgrades == tuple(upgrades)
    ):
        return old
    followed = None if everything or old is None else _follow_steps(client, cluster, old, upgrades)
    if followed is not None and old is not None:
        services, moved, read = followed
        if not read and old.upgrades == tuple(upgrades):
            return old
        now = clock()
        new = advance_snapshot(old, services, moved, now, upgrades)
        new = replace(
            new,
            steps=(*(old.steps or ()), *read)[-STEP_TAIL:],
            steps_seen=old.steps_seen + len(read),
            followed_polls=old.followed_polls + 1,
        )
        return replace(new, events=tuple(describe_changes(old, new, now, read)))
    if opened is not None:
        hosts, services = tuple(opened.hosts.result()), tuple(opened.services.result())
    else:
        hosts, services = _read_fleet(client, readers, cluster_id)
    if old is not None and old.same_data(cluster, hosts, services, upgrades):
        return old
    if old is not None:
        _hand_back(replaced, old)
    now = clock()
    new = build_snapshot(cluster, hosts, services, upgrades, now, releases, old)
    new_steps: list[Step] = []
    if new.upgrade is not None and new.upgrade.id is not None and step_log is not False:
        new, new_steps = _with_steps(client, new, old, new.upgrade.id)
    return replace(new, events=tuple(describe_changes(old, new, now, new_steps)))


def _hand_back(replaced: list[object], snapshot: ClusterSnapshot) -> None:
    """Add a replaced or dropped snapshot's hosts and services to what the poll hands back
    to be freed in pieces (`PollResult.replaced`)."""
    replaced.extend(snapshot.services)
    replaced.extend(snapshot.hosts)


class _Readers:
    """A poll's requests sent beside its own thread, and the CPU time they took (a poll's
    cost sets the pause after it: `ApiService`)."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._lock = threading.Lock()
        self.cpu_seconds = 0.0

    def submit(self, read: Callable[[str], T], cluster_id: str) -> Future[T]:
        def timed() -> T:
            started = time.thread_time()
            try:
                return read(cluster_id)
            finally:
                with self._lock:
                    self.cpu_seconds += time.thread_time() - started

        return self._pool.submit(timed)


@dataclass(frozen=True)
class _Opening:
    """The reads of a cluster being opened, asked for beside the cluster list's. Its
    services are read in a reader thread, unlike a full read's (`_read_fleet`): once
    per cluster opened, and the peak while opening 10,000 hosts was the same (224–233
    MB over four opens, 230 MB before, measured)."""

    upgrades: Future[list[Upgrade]]
    hosts: Future[list[Host]]
    services: Future[list[Service]]

    @classmethod
    def start(cls, readers: _Readers, client: KostyorClient, cluster_id: str) -> _Opening:
        return cls(
            readers.submit(client.list_upgrades, cluster_id),
            readers.submit(client.list_hosts, cluster_id),
            readers.submit(client.list_services, cluster_id),
        )


def _read_fleet(
    client: KostyorClient, readers: _Readers, cluster_id: str
) -> tuple[tuple[Host, ...], tuple[Service, ...]]:
    """A cluster's hosts and services, both asked for at once: the hosts answer is read
    beside while the server builds the services answer (the slow one of a big cluster),
    which is read in this thread. Its memory is then malloc's arena of this thread, and
    the next full read reuses it: read in a thread of its own, which a full read every
    10 polls would not reuse, the console's peak at 10,000 hosts was ~40 MB higher."""
    hosts = readers.submit(client.list_hosts, cluster_id)
    services = tuple(client.list_services(cluster_id))
    return tuple(hosts.result()), services


def _follow_steps(
    client: KostyorClient,
    cluster: Cluster,
    old: ClusterSnapshot,
    upgrades: Sequence[Upgrade],
) -> tuple[tuple[Service, ...], list[int], list[Step]] | None:
    """While the engine moves an upgrade of a server that keeps a step log, the hosts stay
    and the services change only as its steps say: `old`'s services with the versions
    the steps since `old` left them at, the positions of those that moved, and the
    steps. None when that cannot be trusted (a full read then): no step log, another
    upgrade, the status moved (a rollback began, the upgrade ended), or
    `FULL_READ_EVERY` polls followed so."""
    if (
        old.steps is None
        or old.upgrade is None
        or old.topology is None
        or old.status not in MOVING
        or old.followed_polls + 1 >= FULL_READ_EVERY
        or old.cluster != cluster
    ):
        return None
    upgrade = newest_upgrade(upgrades)
    if upgrade is None or upgrade.id != old.upgrade.id:
        return None
    if effective_status(upgrade, cluster) is not old.status:
        return None
    read = client.upgrade_steps(upgrade.id or "", since=old.steps_seen)
    if read is None:
        return None
    services = list(old.services)
    moved: list[int] = []
    for step in read:
        if step.outcome != "done" or not step.service_id or step.version_after is None:
            continue
        position = old.topology.position_of(step.service_id)
        if position is not None and services[position].version != step.version_after:
            services[position] = services[position].model_copy(
                update={"version": step.version_after}
            )
            moved.append(position)
    return tuple(services), moved, read


def _with_steps(
    client: KostyorClient, new: ClusterSnapshot, old: ClusterSnapshot | None, upgrade_id: str
) -> tuple[ClusterSnapshot, list[Step]]:
    """`new` with the tail of its upgrade's step log, read from where `old` left off; and
    the steps read now. Unchanged when the server keeps no step log."""
    same = old is not None and old.upgrade is not None and old.upgrade.id == upgrade_id
    seen = old.steps_seen if same and old is not None else 0
    read = client.upgrade_steps(upgrade_id, since=seen)
    if read is None:
        return new, []
    earlier = old.steps if same and old is not None and old.steps else ()
    tail = (*earlier, *read)[-STEP_TAIL:]
    return replace(new, steps=tail, steps_seen=seen + len(read)), read
