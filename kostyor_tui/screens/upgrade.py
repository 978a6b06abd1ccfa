"""The upgrade view: how far, what now, how it ended; the hosts in engine order, the event
log, and Pause / Continue / Rollback / Cancel."""

from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.statuses import MOVING
from kostyor_tui.domain.text import printable
from kostyor_tui.service import ApiService, service_of
from kostyor_tui.service.connection import ConnectionState
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets import upgrade_view
from kostyor_tui.widgets.in_place import update_in_place
from kostyor_tui.widgets.keyed_table import KeyedTable
from kostyor_tui.widgets.requests import ActionRequested, StartUpgradeRequested
from kostyor_tui.widgets.status_header import StatusHeader
from kostyor_tui.widgets.upgrade_panel import EventLog, ProgressPanel

ACTION_LABELS: dict[str, str] = {
    "pause": "Pause",
    "continue": "Continue",
    "rollback": "Rollback",
    "cancel": "Cancel",
}


class UpgradeScreen(Screen[None]):
    """Watches one cluster's newest upgrade."""

    # Never the host search box (it is the first focusable widget): a key typed into it
    # would not reach the bindings. Textual focuses this when the screen is activated,
    # which can come before on_mount's focus() takes.
    AUTO_FOCUS = "#upgrade-hosts"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="upgrade.back"),
        Binding("p", "upgrade('pause')", "Pause", id="upgrade.pause"),
        Binding("c", "upgrade('continue')", "Continue", id="upgrade.continue"),
        Binding("b", "upgrade('rollback')", "Rollback", id="upgrade.rollback"),
        Binding("x", "upgrade('cancel')", "Cancel", id="upgrade.cancel"),
        Binding("u", "start_upgrade", "New upgrade", show=False, id="upgrade.start"),
        # Short: the footer fits 80 columns with every action valid while paused.
        Binding("F", "jump", "Step", id="upgrade.jump"),
        Binding("f", "toggle_follow", "Follow the step", show=False, id="upgrade.follow"),
        Binding("slash", "search_hosts", "Search hosts", show=False, id="upgrade.search"),
        Binding("l", "toggle_log", "Full-screen log", show=False, id="upgrade.log"),
        Binding("e", "export_log", "Export the log", show=False, id="upgrade.export"),
        # When an action is not valid now its binding above is hidden and passes the key
        # on to these, which ask anyway: the answer says why not (and offers to force it).
        Binding("p", "ask('pause')", show=False, id="upgrade.pause_anyway"),
        Binding("c", "ask('continue')", show=False, id="upgrade.continue_anyway"),
        Binding("b", "ask('rollback')", show=False, id="upgrade.rollback_anyway"),
        Binding("x", "ask('cancel')", show=False, id="upgrade.cancel_anyway"),
        Binding("F", "nowhere_to_jump", show=False, id="upgrade.jump_nowhere"),
    ]

    def __init__(
        self, cluster_id: str, profile: str, api_url: str, service: ApiService | None = None
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.profile = profile
        self.api_url = api_url
        # The endpoint the cluster belongs to (None: the app's own).
        self.service = service
        self.following = True
        self._shown: ClusterSnapshot | None = None
        self._connected: bool | None = None

    @property
    def cluster_name(self) -> str:
        return service_of(self).cluster_name(self.cluster_id)

    def compose(self) -> ComposeResult:
        yield StatusHeader(self.profile, self.api_url)
        with Vertical(id="upgrade-body"):
            yield Label("", id="upgrade-title")
            yield ProgressPanel(id="upgrade-progress")
            with Horizontal(id="upgrade-buttons"):
                for action, label in ACTION_LABELS.items():
                    yield Button(label, id=f"action-{action}", disabled=True, compact=True)
            yield Input(placeholder="/ search hosts", id="host-search")
            yield Label("", id="upgrade-hosts-empty", classes="empty-note")
            yield KeyedTable(
                [
                    ("", "marker"),
                    ("Host", "host"),
                    ("State", "state"),
                    ("Upgraded", "upgraded"),
                    ("Versions", "versions"),
                ],
                id="upgrade-hosts",
            )
            yield EventLog(id="event-log", max_lines=5000)
        yield Footer()

    def on_mount(self) -> None:
        service = service_of(self)
        service.watch_cluster(self.cluster_id)
        self.query_one("#upgrade-buttons").display = not service.read_only
        # The history so far; each new snapshot then brings the events since the last.
        self.query_one(EventLog).add_events(service.events(self.cluster_id))
        self._shown = service.snapshot(self.cluster_id)
        self._show(self._shown)
        self.watch(service, "snapshots", self._snapshots_changed, init=False)
        self.watch(service, "clusters", self._clusters_changed, init=False)
        self.watch(service, "connection", self._connection_changed)
        # The elapsed time counts on between polls that change nothing (paused, stuck).
        self.set_interval(1, self._show_title)
        self.query_one("#upgrade-hosts", KeyedTable).focus()

    def on_unmount(self) -> None:
        service_of(self).unwatch_cluster(self.cluster_id)

    def _snapshots_changed(self, snapshots: dict[str, ClusterSnapshot]) -> None:
        snapshot = snapshots.get(self.cluster_id)
        if snapshot is self._shown:
            return
        self._shown = snapshot
        if snapshot is not None:
            self.query_one(EventLog).add_events(snapshot.events)
        self._show(snapshot)

    def _clusters_changed(self, clusters: tuple[Cluster, ...]) -> None:
        self._show_title()

    def _connection_changed(self, state: ConnectionState) -> None:
        """Log the connection lost and back: the post-mortem must show the gaps."""
        now = service_of(self).clock()
        if self._connected and state.connected is False:
            self.query_one(EventLog).note(now, f"connection lost: {state.error or '?'}")
        elif self._connected is False and state.connected:
            since = state.last_good_at or now
            self.query_one(EventLog).note(since, "connection back")
        if state.connected is not None and state.connected != self._connected:
            self._connected = state.connected
            self._show(self._shown)

    def _show_title(self) -> None:
        service = service_of(self)
        update_in_place(
            self.query_one("#upgrade-title", Label),
            upgrade_view.title(self.cluster_name, self._shown, service.clock()),
        )

    def _show(self, snapshot: ClusterSnapshot | None) -> None:
        service = service_of(self)
        self._show_title()
        stale = service.connection.connected is False
        self.query_one(ProgressPanel).show(snapshot, stale)
        allowed = service.allowed_actions(self.cluster_id)
        for action in ACTION_LABELS:
            self.query_one(f"#action-{action}", Button).disabled = action not in allowed
        if snapshot is not None:
            self._show_hosts(snapshot)
        self.refresh_bindings()

    def _show_hosts(self, snapshot: ClusterSnapshot) -> None:
        table = self.query_one("#upgrade-hosts", KeyedTable)
        query = self.query_one("#host-search", Input).value.strip().lower()
        rows = upgrade_view.host_rows(snapshot)
        if query:
            rows = [row for row in rows if query in str(row[1][1]).lower()]
        table.sync_rows(rows)
        empty = self.query_one("#upgrade-hosts-empty", Label)
        if rows:
            empty.display = False
        else:
            update_in_place(
                empty, upgrade_view.hosts_empty_note(self.cluster_name, snapshot, query)
            )
            empty.display = True
        followed = upgrade_view.followed_host(snapshot)
        if self.following and followed is not None and snapshot.status in MOVING:
            table.select_key(followed)

    # Keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows the actions valid now; the others are hidden (not greyed out),
        and their keys reach the `ask` bindings."""
        if action == "upgrade" and parameters:
            return parameters[0] in service_of(self).allowed_actions(self.cluster_id)
        if action == "jump":
            return self._shown is not None and upgrade_view.followed_host(self._shown) is not None
        return not (action == "start_upgrade" and service_of(self).read_only)

    def action_back(self) -> None:
        search = self.query_one("#host-search", Input)
        if search.has_focus or search.value:
            search.value = ""
            self.query_one("#upgrade-hosts", KeyedTable).focus()
            return
        self.dismiss()

    def action_upgrade(self, action: Action) -> None:
        self.post_message(ActionRequested(self.cluster_id, Action(action)))

    def action_ask(self, action: Action) -> None:
        self.post_message(ActionRequested(self.cluster_id, Action(action)))

    def action_start_upgrade(self) -> None:
        self.post_message(StartUpgradeRequested(self.cluster_id))

    def action_jump(self) -> None:
        """Put the cursor on the failed host, else on the host the engine is on."""
        snapshot = self._shown
        host_id = upgrade_view.followed_host(snapshot) if snapshot is not None else None
        if snapshot is None or host_id is None:
            return
        table = self.query_one("#upgrade-hosts", KeyedTable)
        if host_id not in table.row_keys:
            # A host search hides it: the search gives way.
            self.query_one("#host-search", Input).value = ""
            self._show_hosts(snapshot)
        table.select_key(host_id)
        table.focus()

    def action_nowhere_to_jump(self) -> None:
        self.notify(
            "F goes to a failed host or the step under way: this upgrade has neither now",
            timeout=3,
        )

    def on_keyed_table_cursor_moved(self, event: KeyedTable.CursorMoved) -> None:
        # A host the operator moved to stays under the cursor: the next poll would take it
        # back to the step otherwise. `f` follows the step again.
        if self.following and event.control is self.query_one("#upgrade-hosts", KeyedTable):
            self.following = False
            self.notify("Not following the step: f follows it again", timeout=3)

    def action_toggle_follow(self) -> None:
        self.following = not self.following
        self.notify(
            "Following the step" if self.following else "Not following: the cursor stays put",
            timeout=2,
        )
        if self._shown is not None:
            self._show_hosts(self._shown)

    def action_search_hosts(self) -> None:
        self.query_one("#host-search", Input).focus()

    def action_toggle_log(self) -> None:
        self.query_one("#upgrade-body").toggle_class("log-only")

    def action_export_log(self) -> None:
        name = "".join(c if c.isalnum() or c in "-_" else "_" for c in self.cluster_name)
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        path = Path.cwd() / f"kostyor-{name}-{stamp}.log"
        try:
            self.query_one(EventLog).export(path)
        except OSError as error:
            self.notify(f"Could not write {path}: {error.strerror}", severity="error")
            return
        self.notify(f"Event log written to {printable(str(path))}", markup=False)

    @on(Input.Changed, "#host-search")
    def _search_changed(self) -> None:
        if self._shown is not None:
            self._show_hosts(self._shown)

    @on(Input.Submitted, "#host-search")
    def _search_done(self) -> None:
        self.query_one("#upgrade-hosts", KeyedTable).focus()

    @on(Button.Pressed, "#upgrade-buttons Button")
    def _button(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").removeprefix("action-")
        if action in ACTION_LABELS:
            self.action_upgrade(Action(action))
