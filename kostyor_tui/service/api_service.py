"""The console's shared API service: one poller, the last good data, and every command.

`ApiService` holds what every screen shows as reactive attributes (`clusters`,
`snapshots`, `connection`); widgets follow them with Textual's own
`self.watch(service, "snapshots", ...)`. One long-lived worker thread polls:
it never overlaps itself (the next poll starts only after the last has
finished), waits `poll_interval` between polls, backs off (with jitter, capped)
while the API fails, and is woken at once by `refresh_now()`, and by
`watch_cluster()` for a cluster it has no snapshot of. Its results are applied
on the UI thread, so widgets only ever see complete polls; a failed poll keeps
the last good data.

Commands (the palette's, the dialogs', the action keys') run through the same
registry and operations as headless mode (`run_command`), in worker threads of
their own; read-only mode and the lifecycle's checks are the operations'. What the
console refuses before asking anything (`guard`) goes to the same audit trail.

`reconnect` points the service at another endpoint (the console's profile switch):
the poll worker is replaced and the last endpoint's data dropped.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.dom import DOMNode
from textual.reactive import var
from textual.worker import Worker, get_current_worker

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.errors import Unreachable
from kostyor_tui.api.models import Cluster
from kostyor_tui.commands import COMMANDS, Arguments, Command, CommandContext
from kostyor_tui.domain.lifecycle import Action, action_refusal, allowed_actions
from kostyor_tui.domain.statuses import UNFINISHED, Status
from kostyor_tui.domain.text import one_line
from kostyor_tui.errors import KostyorTuiError, Refused
from kostyor_tui.operations import Audit, AuditEvent, Operations
from kostyor_tui.service import poller
from kostyor_tui.service.connection import ConnectionState, backoff
from kostyor_tui.service.snapshots import ClusterSnapshot, UpgradeEvent

if TYPE_CHECKING:
    from textual.app import App

Clock = Callable[[], datetime]

EVENT_HISTORY = 2000
# The pause after a poll is at least this many times the CPU time the poll took.
SLOW_POLL_FACTOR = 3
# Retries after failed polls are at most this far apart.
MAX_BACKOFF = 10.0
# Freeing what a poll replaced, and the collector's full pass, wait at most this long for
# the frame showing the poll.
FRAME_WAIT = 1.0


class ApiService(DOMNode):
    """One per app: create it with the app, `start(app)` once the app is mounted."""

    clusters: var[tuple[Cluster, ...]] = var(())
    # Watched clusters' snapshots, by cluster id; replaced (never changed in place) by a poll.
    snapshots: var[Mapping[str, ClusterSnapshot]] = var(dict)
    connection: var[ConnectionState] = var(ConnectionState())

    def __init__(
        self,
        ops: Operations,
        *,
        region: str | None = None,
        poll_interval: float = 2.0,
        clock: Clock = datetime.now,
        max_backoff: float = MAX_BACKOFF,
        audit: Audit | None = None,
    ) -> None:
        super().__init__()
        self.ops = ops
        self.context = CommandContext(ops, region=region)
        self.audit = audit
        self.poll_interval = max(0.05, poll_interval)
        self._max_backoff = max_backoff
        self.max_backoff = max(self.poll_interval, max_backoff)
        self.clock = clock
        self.releases: tuple[str, ...] = ()
        # Whether the server keeps a step log (None until an upgrade shows it).
        self.step_log: bool | None = None
        self.set_reactive(ApiService.connection, ConnectionState(read_only=ops.read_only))
        self._events: dict[str, deque[UpgradeEvent]] = {}
        # Shared with the poll thread, under the lock.
        self._lock = threading.Lock()
        self._watched: Counter[str] = Counter()
        self._read_everything = True
        self._wake = threading.Event()
        # Set when the frame showing a poll is drawn, or when polling stops meanwhile.
        self._frame_drawn = threading.Event()
        self._closed = False
        self._app: App[Any] | None = None
        self._poller: Worker[None] | None = None

    @property
    def read_only(self) -> bool:
        return self.ops.read_only

    # Reading the state -------------------------------------------------------------

    def cluster(self, cluster_id: str | None) -> Cluster | None:
        return next((c for c in self.clusters if c.id == cluster_id), None)

    def snapshot(self, cluster_id: str | None) -> ClusterSnapshot | None:
        return self.snapshots.get(cluster_id) if cluster_id else None

    def events(self, cluster_id: str) -> tuple[UpgradeEvent, ...]:
        return tuple(self._events.get(cluster_id, ()))

    def cluster_name(self, cluster_id: str) -> str:
        cluster = self.cluster(cluster_id)
        return (cluster.name if cluster else None) or cluster_id

    # What is watched -----------------------------------------------------------------

    def watch_cluster(self, cluster_id: str) -> None:
        """Poll this cluster's hosts, services and upgrades until `unwatch_cluster`."""
        with self._lock:
            self._watched[cluster_id] += 1
        # A poll at once, which reads this cluster in full (it has no snapshot), and no
        # other: re-reading every followed upgrade's fleet too would hold up the open.
        if cluster_id not in self.snapshots:
            self._wake.set()

    def unwatch_cluster(self, cluster_id: str) -> None:
        with self._lock:
            self._watched[cluster_id] -= 1
            if self._watched[cluster_id] <= 0:
                del self._watched[cluster_id]

    # Polling -------------------------------------------------------------------------

    def start(self, app: App[Any]) -> None:
        self._app = app
        self._poller = app.run_worker(
            partial(self._poll_until_replaced, self.ops.client),
            name="poller",
            group="poller",
            thread=True,
            exit_on_error=False,
        )

    def _poll_until_replaced(self, client: KostyorClient) -> None:
        """The poll loop. One replaced by `reconnect` closes the client it polled with
        once it has stopped: closed under a request, the client could leave it hanging."""
        try:
            self._poll_loop()
        finally:
            if client is not self.ops.client:
                client.close()

    def reconnect(
        self,
        ops: Operations,
        *,
        region: str | None,
        poll_interval: float,
        audit: Audit | None,
    ) -> None:
        """Poll and act through `ops` from now on (another endpoint: a profile switch),
        without restarting the app: the poll worker is stopped (a poll under way is
        abandoned, its result never applied; the old client is closed when it ends), the
        last endpoint's data and watches dropped, and polling starts again at once. Nothing
        else may be sending through the old client (the app waits for its commands)."""
        if self._poller is not None:
            self._poller.cancel()
            self._wake.set()  # the old loop wakes, sees it is cancelled, and ends
            self._frame_drawn.set()
        else:
            self.ops.client.close()  # no loop polls with it
        self.ops = ops
        self.context = CommandContext(ops, region=region)
        self.audit = audit
        self.poll_interval = max(0.05, poll_interval)
        self.max_backoff = max(self.poll_interval, self._max_backoff)
        self.releases = ()
        self.step_log = None
        self._events.clear()
        with self._lock:
            self._watched.clear()
            self._read_everything = True
        self.clusters = ()
        self.snapshots = {}
        self.connection = ConnectionState(
            auto_refresh=self.connection.auto_refresh, read_only=ops.read_only
        )
        if self._app is not None:
            self.start(self._app)

    def close(self) -> None:
        """Stop polling (a poll under way is abandoned) and close the client."""
        self._closed = True
        self._wake.set()
        self._frame_drawn.set()
        self.ops.client.close()

    def refresh_now(self) -> None:
        """Poll as soon as possible (right after the running poll, if one runs), and
        re-read everything, hosts and services of settled clusters too."""
        with self._lock:
            self._read_everything = True
        self._wake.set()

    def set_auto_refresh(self, enabled: bool) -> None:
        self.connection = replace(self.connection, auto_refresh=enabled)
        if enabled:
            self.refresh_now()

    def _poll_loop(self) -> None:
        """The one poller: a poll, then a wait (woken early by `refresh_now`), until closed."""
        worker = get_current_worker()
        failures = 0
        delay: float | None = 0.0
        first = True
        while True:
            woken = self._wake.wait(delay)
            self._wake.clear()
            if self._closed or worker.is_cancelled:
                return
            # Auto-refresh paused during the wait: the poll it had scheduled is not made
            # (only the first poll, and those asked for, are).
            if not (woken or first or self.connection.auto_refresh):
                delay = None
                continue
            first = False
            with self._lock:
                watched = list(self._watched)
                everything, self._read_everything = self._read_everything, False
            listed = [cluster.id for cluster in self.clusters if cluster.id]
            # Every upgrade under way is followed, so that the cluster list can show how
            # far each has got (and what failed) without being asked.
            watched += [
                cluster.id
                for cluster in self.clusters
                if cluster.id and cluster.status in UNFINISHED and cluster.id not in watched
            ]
            if not self._on_ui(self._poll_started):
                return
            try:
                result = poller.poll(
                    self.ops.client,
                    watched,
                    self.snapshots,
                    self.releases,
                    everything=everything,
                    clock=self.clock,
                    step_log=self.step_log,
                    listed=listed,
                )
            except KostyorTuiError as error:
                failures += 1
                delay = backoff(failures, self.poll_interval, self.max_backoff)
                failed = self._on_ui(
                    self._record_failure, error.one_line(), isinstance(error, Unreachable), delay
                )
                if not failed:
                    return
            else:
                failures = 0
                delay = max(self.poll_interval, result.cpu_seconds * SLOW_POLL_FACTOR)
                if not self._on_ui(self._apply, result):
                    return
                tidy = result.replaced or poller.collection_due()
                if tidy and not self._tidy_after_next_frame(result.replaced):
                    return
            if not self.connection.auto_refresh:
                delay = None  # until `refresh_now`

    def _tidy_after_next_frame(self, replaced: list[object]) -> bool:
        """Free what the poll replaced (in pieces) and run the collector's full pass if due
        (it holds the interpreter lock throughout, ~75 ms at 2,000 hosts; `poller`'s doc),
        once the poll's result is drawn: neither holds up a cluster just opened. False
        when polling has stopped meanwhile."""
        app = self._app
        self._frame_drawn.clear()
        if app is None or not self._on_ui(app.call_after_refresh, self._frame_drawn.set):
            return False
        self._frame_drawn.wait(FRAME_WAIT)
        if self._closed or get_current_worker().is_cancelled:
            return False
        # Before the pass, which would otherwise walk them too.
        poller.free_in_pieces(replaced)
        poller.collect_if_due()
        return True

    def _on_ui(self, callback: Callable[..., object], *args: object) -> bool:
        """Run `callback` on the UI thread; False when the app has stopped meanwhile, or
        this poll loop has been replaced (`reconnect`): then `callback` is not run."""
        app = self._app
        worker = get_current_worker()
        if app is None or self._closed or worker.is_cancelled:
            return False
        try:
            # Checked again on the UI thread, where `reconnect` runs: no result of the
            # old endpoint lands after it.
            app.call_from_thread(self._unless_cancelled, worker, callback, *args)
        except RuntimeError:  # the app is not running any more
            return False
        return not worker.is_cancelled

    @staticmethod
    def _unless_cancelled(
        worker: Worker[Any], callback: Callable[..., object], *args: object
    ) -> None:
        if not worker.is_cancelled:
            callback(*args)

    def _poll_started(self) -> None:
        self.connection = replace(self.connection, polling_since=self.clock(), retry_at=None)

    def _record_failure(self, message: str, unreachable: bool, delay: float) -> None:
        with self._lock:
            self._read_everything = True  # what changed while it failed is unknown
        now = self.clock()
        previous = self.connection
        self.connection = replace(
            previous,
            connected=False,
            disconnected_since=previous.disconnected_since or now,
            error=("unreachable: " if unreachable else "") + message,
            retry_at=now + timedelta(seconds=delay) if previous.auto_refresh else None,
            polling_since=None,
        )

    def _apply(self, result: poller.PollResult) -> None:
        """A good poll: replace the last good data, then say so in the header."""
        self.releases = result.releases
        self.step_log = result.step_log
        self.clusters = result.clusters
        # Clusters no longer watched keep no snapshot: it would only grow old.
        snapshots = {
            cluster_id: snapshot
            for cluster_id, snapshot in self.snapshots.items()
            if cluster_id in result.watched
        }
        changed = len(snapshots) != len(self.snapshots)
        for cluster_id, snapshot in result.watched.items():
            if snapshot is None:
                changed |= snapshots.pop(cluster_id, None) is not None
                continue
            if snapshots.get(cluster_id) is not snapshot:
                snapshots[cluster_id] = snapshot
                changed = True
                history = self._events.setdefault(cluster_id, deque(maxlen=EVENT_HISTORY))
                history.extend(snapshot.events)
        if changed:
            self.snapshots = snapshots
        self.connection = replace(
            self.connection,
            connected=True,
            last_good_at=self.clock(),
            disconnected_since=None,
            error=None,
            retry_at=None,
            polling_since=None,
        )

    # Commands and actions ----------------------------------------------------------------

    def run_command(self, command: Command, arguments: Arguments) -> Any:
        """Run a registry command, as headless mode does, in the calling (worker) thread.
        The data is refreshed afterwards when the command may have changed it."""
        try:
            return command.run(self.context, arguments)
        finally:
            if command.mutating:
                self.refresh_now()

    async def command(self, name: str, arguments: Arguments) -> Any:
        """Run the registry command `name` in a thread, for a worker of the UI's loop."""
        return await asyncio.to_thread(self.run_command, COMMANDS[name], arguments)

    def guard(self, what: str, action: str, cluster_id: str | None = None) -> None:
        """Refuse `what` in read-only mode, as the operations would, before the console
        asks for anything (a dialog, a confirmation); the refusal goes to the audit trail
        as the operations' own refusals do. Raises Refused."""
        try:
            self.ops.guard(what)
        except Refused as refusal:
            cluster = self.cluster_name(cluster_id) if cluster_id else None
            self._record(
                AuditEvent(
                    action,
                    cluster,
                    cluster_id,
                    outcome="refused",
                    detail=one_line(refusal.one_line(), 500),
                )
            )
            raise

    def _record(self, event: AuditEvent) -> None:
        if self.audit is None:
            return
        try:
            self.audit(event)
        except OSError as error:
            self.ops.note(
                f"could not write the audit trail: {error.strerror or type(error).__name__}"
            )

    def allowed_actions(self, cluster_id: str | None) -> frozenset[Action]:
        """Actions valid for the cluster's upgrade in its current state (none if read-only)."""
        snapshot = self.snapshot(cluster_id)
        if snapshot is None or snapshot.upgrade is None or self.read_only:
            return frozenset()
        return frozenset(allowed_actions(snapshot.status or Status.UNKNOWN))

    def action_refusal(self, cluster_id: str, action: Action) -> str | None:
        """Why `action` is not valid for the cluster now (as far as the console knows), or
        None; the operations check again, on fresh data, when it is sent."""
        snapshot = self.snapshot(cluster_id)
        if snapshot is None:
            return "its data is not loaded yet"
        if snapshot.upgrade is None:
            return "it has never had an upgrade"
        return action_refusal(action, snapshot.status or Status.UNKNOWN)


def service_of(node: DOMNode) -> ApiService:
    """The service `node` belongs to: that of the nearest of its ancestors (itself
    included) bound to one endpoint (a screen or section of one profile, in the view of
    every profile), else the app's shared one."""
    for ancestor in node.ancestors_with_self:
        service = getattr(ancestor, "service", None)
        if isinstance(service, ApiService):
            return service
    raise RuntimeError("the console's ApiService is not running")
