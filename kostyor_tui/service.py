"""The one API service behind every screen of the console.

It owns the `KostyorClient`, polls the cluster list and the clusters the screens
watch, keeps the last good data, backs off while the API is unreachable, and
tells subscribed widgets what changed through Textual messages. Every action
goes through it, so read-only mode is enforced here and nowhere else. Screens
never touch the client.

Polls never overlap: the next one is scheduled with `set_timer` only after the
last has finished (a `set_interval` would start a poll while a slow one runs).
The client's calls, and the parsing and deriving of what they return, run on an
event loop in a thread of their own (`ClientLoop`), so that a cluster of tens of
thousands of service instances does not freeze the keyboard at every poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from textual.message import Message
from textual.timer import Timer

from kostyor_tui.api.errors import KostyorError, Unreachable
from kostyor_tui.api.models import Cluster, Host, Service, Upgrade
from kostyor_tui.domain import fleet, lifecycle, order, progress
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import KostyorTuiError, Refused
from kostyor_tui.operations import Operations

if TYPE_CHECKING:
    from textual.app import App
    from textual.dom import DOMNode

Clock = Callable[[], datetime]
T = TypeVar("T")

POLL_GROUP = "kostyor-poll"
EVENT_HISTORY = 2000
# A poll that sees more instance changes than this logs a count for the rest,
# so a 30,000-instance cluster cannot flood the log in one go.
EVENTS_PER_POLL = 25
# The pause after a poll is at least this many times the CPU time the poll took.
SLOW_POLL_FACTOR = 3
# A snapshot of at least this many service entries is moved out of the garbage
# collector's sight once applied (gc.freeze): full collections set off by the next
# polls then need not traverse it, a tenth of a second each at 30,000 instances,
# often on the UI thread. Every UNFREEZE_EVERY such snapshots, everything is given
# back to the collector, so reference cycles that died meanwhile are still freed.
FREEZE_FROM = 5000
UNFREEZE_EVERY = 20
# Statuses under which the engine moves instances between polls: a cluster's hosts
# and services are re-read at every poll only then (an unknown status counts).
MOVING = frozenset({Status.IN_PROGRESS, Status.ROLLBACK_IN_PROGRESS, Status.UNKNOWN})


@dataclass(frozen=True)
class ConnectionState:
    """What the header shows about the API."""

    connected: bool | None = None  # None until the first poll has finished
    last_good_at: datetime | None = None
    disconnected_since: datetime | None = None
    error: str | None = None
    retry_in: float | None = None
    auto_refresh: bool = True
    read_only: bool = False


@dataclass(frozen=True)
class UpgradeEvent:
    at: datetime
    text: str


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything the screens show about one cluster, fetched in one poll."""

    cluster: Cluster
    hosts: tuple[Host, ...]
    services: tuple[Service, ...]
    upgrades: tuple[Upgrade, ...]
    fetched_at: datetime
    upgrade: Upgrade | None = None  # the newest upgrade of the cluster
    status: Status | None = None  # effective status of `upgrade` (quirk 4: null status)
    progress: progress.UpgradeProgress | None = None
    host_states: Mapping[str, progress.HostState] = field(default_factory=dict)
    components: tuple[fleet.Component, ...] = ()
    version_counts: Mapping[str, int] = field(default_factory=dict)
    # host id -> {version: instance count}
    host_versions: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    # Host ids in the order the engine upgrades them (hosts without services last).
    host_order: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    engine: str = order.DEFAULT_ENGINE

    @property
    def hostnames(self) -> dict[str, str]:
        return {host.id: host.hostname or host.id for host in self.hosts if host.id}

    @property
    def cluster_id(self) -> str:
        return self.cluster.id or ""


# A freshly derived snapshot and the changes since the previous one.
Derived = tuple[ClusterSnapshot, tuple[UpgradeEvent, ...]]

# Service messages are posted to each subscriber directly (bubble=False): bubbling
# from a subscribed widget to its subscribed screen would deliver them twice.


class ClustersChanged(Message, bubble=False):
    """The cluster list is different from the last one posted."""

    def __init__(self, clusters: tuple[Cluster, ...]) -> None:
        super().__init__()
        self.clusters = clusters


class ClusterChanged(Message, bubble=False):
    """A watched cluster's data changed (snapshot None: the cluster is gone)."""

    def __init__(
        self,
        cluster_id: str,
        snapshot: ClusterSnapshot | None,
        events: tuple[UpgradeEvent, ...] = (),
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.snapshot = snapshot
        self.events = events


class ConnectionChanged(Message, bubble=False):
    def __init__(self, state: ConnectionState) -> None:
        super().__init__()
        self.state = state


def build_snapshot(
    cluster: Cluster,
    hosts: list[Host],
    services: list[Service],
    upgrades: list[Upgrade],
    fetched_at: datetime,
    releases: Sequence[str] = (),
    previous: ClusterSnapshot | None = None,
) -> ClusterSnapshot:
    """Derive everything the screens show from API data: plain, runs off the UI thread.

    The engine order of the hosts depends only on the topology, so it is reused
    from `previous` while the hosts stay the same.
    """
    upgrade = lifecycle.newest_upgrade(upgrades)
    status = lifecycle.effective_status(upgrade, cluster) if upgrade else None
    upgrade_progress = None
    host_states: Mapping[str, progress.HostState] = {}
    engine = (upgrade.engine if upgrade else None) or order.DEFAULT_ENGINE
    if upgrade is not None and upgrade.to_version:
        upgrade_progress = progress.upgrade_progress(
            hosts,
            services,
            upgrade.to_version,
            engine,
            rolling_back=status is Status.ROLLBACK_IN_PROGRESS,
        )
        host_states = progress.host_states(hosts, services, upgrade.to_version)
    hosts_seen = tuple(hosts)
    same_topology = (
        previous is not None
        and previous.engine == engine
        and len(previous.services) == len(services)
        and previous.hosts == hosts_seen
    )
    if same_topology and previous is not None:
        engine_order = previous.host_order
    else:
        engine_order = tuple(fleet.host_order(hosts, services, engine))
    components = tuple(fleet.components(hosts, services, releases))
    return ClusterSnapshot(
        cluster=cluster,
        hosts=hosts_seen,
        services=tuple(services),
        upgrades=tuple(upgrades),
        fetched_at=fetched_at,
        upgrade=upgrade,
        status=status,
        progress=upgrade_progress,
        host_states=host_states,
        components=components,
        version_counts=fleet.component_version_counts(components, releases),
        host_versions=fleet.host_version_counts(hosts, services, releases),
        host_order=engine_order,
        releases=tuple(releases),
        engine=engine,
    )


def settled(snapshot: ClusterSnapshot | None, cluster: Cluster) -> bool:
    """Whether `cluster`, as just listed, cannot have moved since `snapshot` was read:
    the same as then, and neither it nor its upgrade in a status where the engine
    moves instances. Its upgrades must still be compared before trusting that."""
    return (
        snapshot is not None
        and snapshot.cluster == cluster
        and cluster.status not in MOVING
        and snapshot.status not in MOVING
    )


def _engine_order_key(snapshot: ClusterSnapshot) -> Callable[[Service], tuple[object, ...]]:
    """Sorts the instances one poll saw change in the order the engine moved them."""
    host_position = {host_id: index for index, host_id in enumerate(snapshot.host_order)}
    last = len(host_position)

    def key(service: Service) -> tuple[object, ...]:
        host = min((host_position.get(h, last) for h in service.hosts), default=last)
        return order.instance_key(snapshot.engine, host, service.name or "", service.id)

    return key


def describe_changes(
    old: ClusterSnapshot | None, new: ClusterSnapshot, at: datetime
) -> list[UpgradeEvent]:
    """The changes between two polls of a cluster, as log lines."""
    name = new.cluster.name or new.cluster_id
    events: list[str] = []
    if old is None:
        if new.upgrade is not None:
            events.append(f"watching {name}: {_upgrade_line(new)}")
        else:
            events.append(f"watching {name}: no upgrade")
        return [UpgradeEvent(at, text) for text in events]
    if old.cluster.status != new.cluster.status:
        events.append(f"cluster {name}: {old.cluster.status} → {new.cluster.status}")
    if old.cluster.version != new.cluster.version:
        events.append(f"cluster {name} now at {new.cluster.version}")
    old_upgrade, new_upgrade = old.upgrade, new.upgrade
    if new_upgrade is not None and (old_upgrade is None or old_upgrade.id != new_upgrade.id):
        events.append(f"new upgrade {new_upgrade.id}: {_upgrade_line(new)}")
    elif new_upgrade is not None and old.status != new.status:
        events.append(f"upgrade {_status_text(old.status)} → {_status_text(new.status)}")
    hostnames = {host.id: host.hostname or host.id for host in new.hosts}
    old_versions = {service.id: service.version for service in old.services}
    moved = [
        service
        for service in new.services
        if service.id in old_versions and old_versions[service.id] != service.version
    ]
    moved.sort(key=_engine_order_key(new), reverse=new.status is Status.ROLLBACK_IN_PROGRESS)
    for service in moved[:EVENTS_PER_POLL]:
        where = ", ".join(hostnames.get(h, h) or "?" for h in service.hosts) or "no host"
        events.append(f"{service.name} on {where}: {old_versions[service.id]} → {service.version}")
    if len(moved) > EVENTS_PER_POLL:
        events.append(f"… and {len(moved) - EVENTS_PER_POLL} more instances changed version")
    if old.progress and new.progress and old.progress.nodes_upgraded != new.progress.nodes_upgraded:
        events.append(f"nodes upgraded {new.progress.nodes_upgraded}/{new.progress.nodes_total}")
    return [UpgradeEvent(at, text) for text in events]


def _status_text(status: object) -> str:
    return str(status) if status is not None else "unknown"


def _upgrade_line(snapshot: ClusterSnapshot) -> str:
    upgrade = snapshot.upgrade
    if upgrade is None:
        return "no upgrade"
    return f"{upgrade.from_version} → {upgrade.to_version}, {_status_text(snapshot.status)}"


class ApiService:
    """The shared API service. Create one per app; call `start()` once mounted."""

    def __init__(
        self,
        app: App[object],
        ops: Operations,
        *,
        poll_interval: float = 2.0,
        clock: Clock = datetime.now,
        max_backoff: float = 30.0,
    ) -> None:
        self.app = app
        self.ops = ops
        self._client = ops.client
        self.poll_interval = max(0.05, poll_interval)
        self.clock = clock
        self.max_backoff = max(self.poll_interval, max_backoff)
        self.clusters: tuple[Cluster, ...] = ()
        self.releases: tuple[str, ...] = ()
        self.connection = ConnectionState(read_only=ops.read_only)
        self._snapshots: dict[str, ClusterSnapshot] = {}
        self._events: dict[str, deque[UpgradeEvent]] = {}
        self._watched: dict[str, int] = {}
        self._subscribers: list[DOMNode] = []
        self._timer: Timer | None = None
        self._polling = False
        self._poll_again = False
        # The next poll re-reads every watched cluster's hosts and services.
        self._read_everything = True
        self._failures = 0
        self._freezes = 0
        self._closed = False

    # Subscriptions -----------------------------------------------------------------

    def subscribe(self, node: DOMNode) -> None:
        if node not in self._subscribers:
            self._subscribers.append(node)

    def unsubscribe(self, node: DOMNode) -> None:
        with contextlib.suppress(ValueError):
            self._subscribers.remove(node)

    def _broadcast(self, make: Callable[[], Message]) -> None:
        for node in list(self._subscribers):
            if node.is_attached:
                node.post_message(make())

    def watch(self, cluster_id: str) -> None:
        """Poll this cluster's hosts, services and upgrades until `unwatch`."""
        self._watched[cluster_id] = self._watched.get(cluster_id, 0) + 1
        if cluster_id not in self._snapshots:
            self.refresh_now()

    def unwatch(self, cluster_id: str) -> None:
        count = self._watched.get(cluster_id, 0) - 1
        if count > 0:
            self._watched[cluster_id] = count
        else:
            self._watched.pop(cluster_id, None)

    def snapshot(self, cluster_id: str | None) -> ClusterSnapshot | None:
        return self._snapshots.get(cluster_id) if cluster_id else None

    def events(self, cluster_id: str) -> tuple[UpgradeEvent, ...]:
        return tuple(self._events.get(cluster_id, ()))

    def cluster(self, cluster_id: str | None) -> Cluster | None:
        return next((c for c in self.clusters if c.id == cluster_id), None)

    # Polling -----------------------------------------------------------------------

    def start(self) -> None:
        # What exists now (modules, classes, the app's widgets) lives as long as the
        # app: kept out of the full collections a big cluster's polls set off.
        gc.freeze()
        self._schedule(0, requested=True)

    @property
    def read_only(self) -> bool:
        return self.ops.read_only

    async def close(self) -> None:
        self._closed = True
        if self._timer is not None:
            self._timer.stop()
        await asyncio.to_thread(self._client.close)

    def refresh_now(self) -> None:
        """Poll as soon as possible (right after the running poll, if one runs), and
        re-read everything, hosts and services of settled clusters too."""
        if self._closed:
            return
        self._read_everything = True
        if self._polling:
            self._poll_again = True
            return
        self._schedule(0, requested=True)

    def set_auto_refresh(self, enabled: bool) -> None:
        self.connection = replace(self.connection, auto_refresh=enabled)
        self._post_connection()
        if enabled:
            self.refresh_now()
        elif self._timer is not None and not self._polling:
            self._timer.stop()
            self._timer = None

    def _schedule(self, delay: float, *, requested: bool = False) -> None:
        """Poll after `delay`; `requested`: asked for now, even with auto-refresh paused."""
        # Start the timer from the app's own task: a timer started from another
        # task's context (a test, a foreign callback) may never fire.
        self.app.call_next(self._set_timer, delay, requested)

    def _set_timer(self, delay: float, requested: bool) -> None:
        if self._closed or self._polling:
            return  # a running poll schedules the next one when it ends
        if not (requested or self.connection.auto_refresh):
            return  # paused since this poll was scheduled
        if self._timer is not None:
            self._timer.stop()
        # A zero delay would divide by zero inside Textual's Timer.
        self._timer = self.app.set_timer(max(delay, 0.01), self._start_poll, name="kostyor-poll")

    def _start_poll(self) -> None:
        self._timer = None
        if self._polling or self._closed:
            return
        self._polling = True
        # exit_on_error=False: whatever goes wrong in a poll must never quit the app.
        self.app.run_worker(self._poll(), group=POLL_GROUP, exit_on_error=False)

    async def _poll(self) -> None:
        delay = self.poll_interval
        try:
            cpu_seconds = await self._poll_once()
            # A poll that costs much CPU (parsing and deriving a huge cluster) is
            # followed by a longer pause, so polling never eats most of a core.
            delay = min(max(self.poll_interval, cpu_seconds * SLOW_POLL_FACTOR), self.max_backoff)
        except asyncio.CancelledError:
            raise
        except KostyorError as error:
            delay = self._record_failure(error.one_line(), isinstance(error, Unreachable))
        except Exception as error:  # a bug or an unforeseen answer: report, keep running
            self.app.log.error("poll failed", repr(error))
            delay = self._record_failure(f"unexpected error: {error!r}", False)
        finally:
            self._polling = False
        if self._poll_again:
            self._poll_again = False
            self._schedule(0, requested=True)
        else:
            self._schedule(delay)

    def _record_failure(self, message: str, unreachable: bool) -> float:
        self._failures += 1
        self._read_everything = True  # what changed while unreachable is unknown
        delay = min(self.poll_interval * 2 ** (self._failures - 1), self.max_backoff)
        now = self.clock()
        previous = self.connection
        self.connection = replace(
            previous,
            connected=False,
            disconnected_since=previous.disconnected_since or now,
            error=("unreachable: " if unreachable else "") + message,
            retry_in=delay,
        )
        self._post_connection()
        return delay

    async def _poll_once(self) -> float:
        """Poll once; the CPU time the client thread spent on it."""
        watched = [cid for cid in self._watched if cid]
        everything, self._read_everything = self._read_everything, False
        clusters, releases, fetched, cpu_seconds = await asyncio.to_thread(
            self._fetch, watched, self.releases, everything
        )
        now = self.clock()
        # Success: only now replace the last good data.
        self._failures = 0
        self.releases = releases
        if clusters != self.clusters:
            self.clusters = clusters
            self._broadcast(lambda: ClustersChanged(clusters))
        for cluster_id, result in zip(watched, fetched, strict=True):
            self._apply_cluster(cluster_id, result)
        was = self.connection
        self.connection = replace(
            was,
            connected=True,
            last_good_at=now,
            disconnected_since=None,
            error=None,
            retry_in=None,
        )
        self._post_connection()
        return cpu_seconds

    def _fetch(
        self, watched: list[str], releases: tuple[str, ...], everything: bool
    ) -> tuple[tuple[Cluster, ...], tuple[str, ...], list[Derived | None], float]:
        """One poll's reads and derivations; runs in a thread of its own."""
        cpu_start = time.thread_time()
        clusters = tuple(self._client.list_clusters())
        if not releases:
            releases = tuple(self._client.list_all_versions())
        fetched = [self._fetch_cluster(cid, clusters, releases, everything) for cid in watched]
        return clusters, releases, fetched, time.thread_time() - cpu_start

    def _fetch_cluster(
        self,
        cluster_id: str,
        clusters: tuple[Cluster, ...],
        releases: tuple[str, ...],
        everything: bool,
    ) -> Derived | None:
        cluster = next((c for c in clusters if c.id == cluster_id), None)
        if cluster is None:
            return None
        old = self._snapshots.get(cluster_id)
        if everything or not settled(old, cluster):
            hosts = self._client.list_hosts(cluster_id)
            services = self._client.list_services(cluster_id)
            upgrades = self._client.list_upgrades(cluster_id)
        else:
            # Settled and unchanged: unless its upgrades changed too, nothing has
            # moved, and re-reading tens of thousands of instances would cost a
            # good part of a core at every poll.
            upgrades = self._client.list_upgrades(cluster_id)
            if old is not None and old.upgrades == tuple(upgrades):
                return old, ()
            hosts = self._client.list_hosts(cluster_id)
            services = self._client.list_services(cluster_id)
        return self._derive(old, cluster, hosts, services, upgrades, releases)

    def _derive(
        self,
        old: ClusterSnapshot | None,
        cluster: Cluster,
        hosts: list[Host],
        services: list[Service],
        upgrades: list[Upgrade],
        releases: tuple[str, ...],
    ) -> Derived:
        """The old snapshot itself when nothing changed, else a new one and its events."""
        if (
            old is not None
            and old.cluster == cluster
            and old.upgrades == tuple(upgrades)
            and old.services == tuple(services)
            and old.hosts == tuple(hosts)
        ):
            return old, ()
        now = self.clock()
        new = build_snapshot(cluster, hosts, services, upgrades, now, releases, old)
        return new, tuple(describe_changes(old, new, now))

    def _apply_cluster(self, cluster_id: str, derived: Derived | None) -> None:
        old = self._snapshots.get(cluster_id)
        if derived is None:
            if old is not None:
                del self._snapshots[cluster_id]
                self._broadcast(lambda: ClusterChanged(cluster_id, None))
            return
        snapshot, events = derived
        if snapshot is old:
            return
        self._snapshots[cluster_id] = snapshot
        if len(snapshot.services) >= FREEZE_FROM:
            self._freezes += 1
            if self._freezes % UNFREEZE_EVERY:
                gc.freeze()
            else:
                gc.unfreeze()
        if events:
            self._events.setdefault(cluster_id, deque(maxlen=EVENT_HISTORY)).extend(events)
        self._broadcast(lambda: ClusterChanged(cluster_id, snapshot, events))

    def _post_connection(self) -> None:
        state = self.connection
        self._broadcast(lambda: ConnectionChanged(state))

    # Reads on demand -------------------------------------------------------------

    async def upgrade_versions(self, cluster_id: str) -> list[str]:
        return await asyncio.to_thread(self._client.list_upgrade_versions, cluster_id)

    async def discovery_methods(self) -> list[str]:
        return await asyncio.to_thread(self._client.list_discovery_methods)

    async def all_versions(self) -> list[str]:
        return await asyncio.to_thread(self._client.list_all_versions)

    async def upgrade_history(self, cluster_id: str | None = None) -> list[Upgrade]:
        return await asyncio.to_thread(self.ops.upgrades, cluster_id)

    # Actions: run through the operations, where read-only mode and the lifecycle's
    # pre-checks are enforced; the keys and buttons only ask early, to explain at once.

    def allowed_actions(self, cluster_id: str | None) -> frozenset[str]:
        """Actions valid for the cluster's upgrade in its current state (none if read-only)."""
        snapshot = self.snapshot(cluster_id)
        if snapshot is None or snapshot.upgrade is None or self.read_only:
            return frozenset()
        return frozenset(lifecycle.allowed_actions(snapshot.status or Status.UNKNOWN))

    def _name(self, cluster_id: str) -> str:
        cluster = self.cluster(cluster_id)
        return (cluster.name if cluster else None) or cluster_id

    def _early_refusal(self, check: Callable[[], None]) -> bool:
        """Run a pre-check; True (and the operator told why) when it refuses."""
        try:
            check()
        except Refused as refusal:
            self.app.notify(refusal.one_line(), title="Refused", severity="error", markup=False)
            return True
        return False

    def refuse_action(self, cluster_id: str, action: str) -> bool:
        name = self._name(cluster_id)

        def check() -> None:
            self.ops.guard(f"{action} of the upgrade of {name}")
            snapshot = self.snapshot(cluster_id)
            status = snapshot.status if snapshot and snapshot.upgrade else None
            reason = (
                lifecycle.action_refusal(Action(action), status)
                if status is not None
                else "it has never had an upgrade"
            )
            if reason is not None:
                raise Refused(f"Cannot {action} the upgrade of {name}: {reason}")

        return self._early_refusal(check)

    def refuse_start(self, cluster_id: str) -> bool:
        return self._early_refusal(
            lambda: self.ops.guard(f"starting an upgrade of {self._name(cluster_id)}")
        )

    def refuse_discovery(self) -> bool:
        return self._early_refusal(lambda: self.ops.guard("discovery"))

    def _cluster_or_raise(self, cluster_id: str) -> Cluster:
        cluster = self.cluster(cluster_id)
        if cluster is None:
            raise Refused(f"Cluster {cluster_id} is not listed (any more)")
        return cluster

    async def upgrade_action(self, cluster_id: str, action: Action) -> Upgrade:
        cluster = self._cluster_or_raise(cluster_id)
        name = self._name(cluster_id)
        upgrade = await self._act(
            lambda: self.ops.act(cluster, action), f"{action} of the upgrade of {name}"
        )
        self.app.notify(
            f"{action.capitalize()} sent for the upgrade of {name}: now {upgrade.status}",
            markup=False,
        )
        return upgrade

    async def start_upgrade(
        self,
        cluster_id: str,
        to_version: str,
        *,
        engine: str | None = None,
        driver: str | None = None,
        parameters: Mapping[str, str] | None = None,
    ) -> Upgrade:
        cluster = self._cluster_or_raise(cluster_id)
        name = self._name(cluster_id)
        upgrade = await self._act(
            lambda: self.ops.start_upgrade(
                cluster, to_version, engine=engine, driver=driver, parameters=parameters
            ),
            f"upgrade of {name} to {to_version}",
            quiet=True,
        )
        self.app.notify(
            f"Upgrade {upgrade.id} of {name} to {to_version} started", title="Started", markup=False
        )
        return upgrade

    async def discover_cluster(
        self, method: str, name: str, parameters: Mapping[str, str] | None = None
    ) -> Cluster:
        cluster = await self._act(
            lambda: self.ops.discover(method, name, parameters),
            f"discovery of {name} ({method})",
            quiet=True,
        )
        self.app.notify(
            f"Discovered {cluster.name} ({cluster.id})", title="Discovered", markup=False
        )
        return cluster

    async def _act(self, call: Callable[[], T], what: str, *, quiet: bool = False) -> T:
        """Run an operation in a thread; refresh afterwards. A failure is told here unless
        `quiet` (a dialog shows it itself), and raised."""
        try:
            result = await asyncio.to_thread(call)
        except KostyorTuiError as error:
            if not quiet:
                self.app.notify(
                    f"{what} failed: {error.one_line()}",
                    title="Failed",
                    severity="error",
                    timeout=8,
                    markup=False,
                )
            self.refresh_now()
            raise
        self.refresh_now()
        return result


def service_of(node: DOMNode) -> ApiService:
    """The app's shared service, for any widget or screen of the console."""
    return node.app.service  # type: ignore[attr-defined, no-any-return]
