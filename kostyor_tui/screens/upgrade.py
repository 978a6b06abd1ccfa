"""The upgrade screen: progress, host table, event log and the four control buttons."""

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Label

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.service import service_of
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets.badges import status_text
from kostyor_tui.widgets.keyed_table import KeyedTable
from kostyor_tui.widgets.requests import ActionRequested, StartUpgradeRequested
from kostyor_tui.widgets.status_header import StatusHeader
from kostyor_tui.widgets.upgrade_panel import EventLog, ProgressPanel, upgrade_host_rows

ACTION_LABELS: dict[str, str] = {
    "pause": "Pause",
    "continue": "Continue",
    "rollback": "Rollback",
    "cancel": "Cancel",
}


def title_text(cluster_name: str, snapshot: ClusterSnapshot | None) -> Text:
    text = Text(f"Upgrade of {cluster_name}", style="bold")
    if snapshot is None:
        text.append("  loading…", style="#8a8a8a")
        return text
    upgrade = snapshot.upgrade
    if upgrade is None:
        text.append("  no upgrade yet (u starts one)", style="#8a8a8a")
        return text
    text.append(f"  {upgrade.from_version or '?'} → {upgrade.to_version or '?'}  ")
    text.append_text(status_text(snapshot.status))
    text.append(f"\nid {upgrade.id}  ·  engine {upgrade.engine or 'node-by-node'}", style="#a8a8a8")
    return text


class UpgradeScreen(Screen[None]):
    """Watches one cluster's newest upgrade."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="upgrade.back"),
        Binding("p", "upgrade('pause')", "Pause", id="upgrade.pause"),
        Binding("c", "upgrade('continue')", "Continue", id="upgrade.continue"),
        Binding("b", "upgrade('rollback')", "Rollback", id="upgrade.rollback"),
        Binding("x", "upgrade('cancel')", "Cancel", id="upgrade.cancel"),
        Binding("u", "start_upgrade", "New upgrade", id="upgrade.start"),
        # When an action is not valid now its binding above is hidden and passes the key
        # on to these, which ask anyway: the answer says why not (and offers to force it).
        Binding("p", "ask('pause')", show=False, id="upgrade.pause_anyway"),
        Binding("c", "ask('continue')", show=False, id="upgrade.continue_anyway"),
        Binding("b", "ask('rollback')", show=False, id="upgrade.rollback_anyway"),
        Binding("x", "ask('cancel')", show=False, id="upgrade.cancel_anyway"),
    ]

    def __init__(self, cluster_id: str, profile: str, api_url: str) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self._profile = profile
        self._api_url = api_url

    @property
    def cluster_name(self) -> str:
        cluster = service_of(self).cluster(self.cluster_id)
        return (cluster.name if cluster else None) or self.cluster_id

    def compose(self) -> ComposeResult:
        yield StatusHeader(self._profile, self._api_url)
        with Vertical(id="upgrade-body"):
            yield Label("", id="upgrade-title")
            yield ProgressPanel(id="upgrade-progress")
            with Horizontal(id="upgrade-buttons"):
                for action, label in ACTION_LABELS.items():
                    yield Button(label, id=f"action-{action}", disabled=True, compact=True)
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
        self.query_one("#upgrade-title", Label).update(
            title_text(self.cluster_name, service_of(self).snapshot(self.cluster_id))
        )

    def _show(self, snapshot: ClusterSnapshot | None) -> None:
        service = service_of(self)
        self.query_one("#upgrade-title", Label).update(title_text(self.cluster_name, snapshot))
        self.query_one(ProgressPanel).show(snapshot, service.clock())
        allowed = service.allowed_actions(self.cluster_id)
        for action in ACTION_LABELS:
            self.query_one(f"#action-{action}", Button).disabled = action not in allowed
        if snapshot is not None:
            self.query_one("#upgrade-hosts", KeyedTable).sync_rows(upgrade_host_rows(snapshot))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer shows the actions valid now; the others are hidden (not greyed out),
        and their keys reach the `ask` bindings."""
        if action == "upgrade" and parameters:
            return parameters[0] in service_of(self).allowed_actions(self.cluster_id)
        return not (action == "start_upgrade" and service_of(self).read_only)

    def action_back(self) -> None:
        self.dismiss()

    def action_upgrade(self, action: Action) -> None:
        self.post_message(ActionRequested(self.cluster_id, Action(action)))

    def action_ask(self, action: Action) -> None:
        self.post_message(ActionRequested(self.cluster_id, Action(action)))

    def action_start_upgrade(self) -> None:
        self.post_message(StartUpgradeRequested(self.cluster_id))

    @on(Button.Pressed, "#upgrade-buttons Button")
    def _button(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").removeprefix("action-")
        if action in ACTION_LABELS:
            self.action_upgrade(action)  # type: ignore[arg-type]
