"""The main screen: cluster list sidebar and the selected cluster's detail."""

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, TabbedContent

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.statuses import UNFINISHED
from kostyor_tui.service import service_of
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets.cluster_detail import ClusterDetail
from kostyor_tui.widgets.cluster_list import ClusterList
from kostyor_tui.widgets.requests import StartUpgradeRequested, UpgradeViewRequested
from kostyor_tui.widgets.status_header import StatusHeader

# After the sidebar cursor moves, further moves within this many seconds are
# collected: only the cluster the cursor then rests on is opened.
HIGHLIGHT_SETTLE = 0.15


class MainScreen(Screen[None]):
    # Never the filter box: a key typed into it would not reach the bindings. The first
    # focusable widget is what Textual focuses when the screen is (re)activated, which can
    # come before on_mount's focus() takes.
    AUTO_FOCUS = "#cluster-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_upgrade", "Upgrade view", id="main.open_upgrade"),
        Binding("u", "start_upgrade", "Start upgrade", id="main.start_upgrade"),
        # From any widget of the screen: never typed into the wrong one.
        Binding("slash", "filter", "Filter", id="main.filter"),
        Binding("t", "toggle_hosts", "Hosts/Components", show=False, id="main.toggle_hosts"),
        Binding("R", "running", "Running upgrades", show=False, id="main.running"),
        Binding("tab", "app.focus_next", "Next pane", show=False, id="main.next_pane"),
        Binding("escape", "back", "Clear filter", show=False, id="main.back"),
    ]

    def __init__(self, profile: str, api_url: str, region: str | None) -> None:
        super().__init__()
        self._profile = profile
        self._api_url = api_url
        self._region = region
        self.selected_cluster_id: str | None = None
        self._stale = False
        self._pending_select: str | None = None
        self._highlight_timer: Timer | None = None
        self._highlight_pending = False

    def compose(self) -> ComposeResult:
        yield StatusHeader(self._profile, self._api_url)
        with Horizontal(id="main-body"):
            yield ClusterList(id="sidebar")
            yield ClusterDetail(region=self._region, id="detail")
        yield Footer()

    @property
    def cluster_list(self) -> ClusterList:
        return self.query_one(ClusterList)

    @property
    def detail(self) -> ClusterDetail:
        return self.query_one(ClusterDetail)

    def on_mount(self) -> None:
        service = service_of(self)
        self.watch(service, "clusters", self._clusters_changed)
        self.watch(service, "snapshots", self._snapshots_changed, init=False)
        # Running upgrades' elapsed times count on between polls that change nothing.
        self.set_interval(1, self._tick)
        self.cluster_list.table.focus()

    def on_unmount(self) -> None:
        if self.selected_cluster_id:
            service_of(self).unwatch_cluster(self.selected_cluster_id)

    def on_screen_resume(self) -> None:
        if self._stale:
            self._stale = False
            self._show_detail()

    def _clusters_changed(self, clusters: tuple[Cluster, ...]) -> None:
        service = service_of(self)
        self.cluster_list.show(clusters, service.snapshots, service.clock())
        if self._pending_select and any(c.id == self._pending_select for c in clusters):
            self.select_cluster(self._pending_select)
            self._pending_select = None
        self._show_detail()

    def _tick(self) -> None:
        service = service_of(self)
        if self.is_current and any(c.status in UNFINISHED for c in service.clusters):
            self.cluster_list.show(service.clusters, None, service.clock())

    def show_profile(self, profile: str, api_url: str, region: str | None) -> None:
        """After a profile switch: its name, URL and region, and no cluster of the last
        endpoint selected (the service's next poll lists the new fleet)."""
        self._profile, self._api_url, self._region = profile, api_url, region
        self._pending_select = None
        self._stop_collecting()  # the moves were over the last endpoint's clusters
        self.query_one(StatusHeader).show_profile(profile, api_url)
        self.detail.set_region(region)
        self.select_cluster(None)
        self.cluster_list.table.focus()

    def select_when_listed(self, cluster_id: str) -> None:
        """Select a cluster now if listed, else as soon as a poll lists it (after discovery)."""
        if any(c.id == cluster_id for c in service_of(self).clusters):
            self.select_cluster(cluster_id)
        else:
            self._pending_select = cluster_id

    def _snapshots_changed(self, snapshots: dict[str, ClusterSnapshot]) -> None:
        service = service_of(self)
        self.cluster_list.show(service.clusters, snapshots, service.clock())
        if snapshots.get(self.selected_cluster_id or "") is not self.detail.shown_snapshot:
            self._show_detail()

    def on_cluster_list_highlighted(self, message: ClusterList.Highlighted) -> None:
        # A single move opens its cluster at once. Holding j/k moves the cursor many
        # times: the moves after the first are collected and only the cluster the
        # cursor rests on is opened, since a big cluster's detail costs a fetch and a
        # table rebuild. A rebuilt list highlighting the open cluster again is no move,
        # and neither is the first cluster opened: neither may hold up the next key.
        cluster_id = self.cluster_list.table.cursor_key
        if cluster_id == self.selected_cluster_id:
            return
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
            self._highlight_pending = True
        else:
            first_opened = self.selected_cluster_id is None
            self.select_cluster(cluster_id)
            if first_opened:
                return
        self._highlight_timer = self.set_timer(HIGHLIGHT_SETTLE, self._highlight_settled)

    def _highlight_settled(self) -> None:
        self._highlight_timer = None
        if self._highlight_pending:
            self._highlight_pending = False
            self.select_cluster(self.cluster_list.table.cursor_key)

    def settle_moves(self) -> None:
        """Open the cluster the cursor rests on now: a key acting on the selected cluster
        acts on the one the operator sees highlighted, though the moves there are being
        collected, or their highlights are still on their way (keys typed in a burst)."""
        self._stop_collecting()
        cursor = self.cluster_list.table.cursor_key
        if cursor != self.selected_cluster_id:
            self.select_cluster(cursor)

    def _stop_collecting(self) -> None:
        if self._highlight_timer is not None:
            self._highlight_timer.stop()
            self._highlight_timer = None
        self._highlight_pending = False

    def on_cluster_list_chosen(self, message: ClusterList.Chosen) -> None:
        self.post_message(UpgradeViewRequested(message.cluster_id))

    def select_cluster(self, cluster_id: str | None) -> None:
        if cluster_id == self.selected_cluster_id:
            return
        service = service_of(self)
        if self.selected_cluster_id:
            service.unwatch_cluster(self.selected_cluster_id)
        self.selected_cluster_id = cluster_id
        if cluster_id:
            service.watch_cluster(cluster_id)
            self.cluster_list.select(cluster_id)
        self._show_detail()
        self.refresh_bindings()  # the footer's cluster keys depend on a selection

    def _show_detail(self) -> None:
        # While another screen is on top, skip the work and redraw on return.
        if not self.is_current:
            self._stale = True
            return
        service = service_of(self)
        cluster = service.cluster(self.selected_cluster_id)
        self.detail.show(cluster, service.snapshot(self.selected_cluster_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "start_upgrade" and service_of(self).read_only:
            return False
        if action in ("open_upgrade", "start_upgrade", "toggle_hosts"):
            return True if self.selected_cluster_id else None
        return True

    def action_open_upgrade(self) -> None:
        self.settle_moves()
        if self.selected_cluster_id:
            self.post_message(UpgradeViewRequested(self.selected_cluster_id))

    def action_start_upgrade(self) -> None:
        self.settle_moves()
        if self.selected_cluster_id:
            self.post_message(StartUpgradeRequested(self.selected_cluster_id))

    def action_toggle_hosts(self) -> None:
        self.settle_moves()
        self.detail.toggle_tab()

    def action_filter(self) -> None:
        self.cluster_list.focus_filter()

    def action_running(self, only: bool | None = None) -> None:
        only = self.cluster_list.toggle_unfinished(only)
        self.notify(
            "Showing the unfinished upgrades only (R: every cluster)" if only else "Every cluster",
            timeout=2,
        )

    def show_tab(self, tab: str) -> None:
        self.detail.query_one(TabbedContent).active = tab

    def action_back(self) -> None:
        filter_input = self.query_one("#cluster-filter", Input)
        if not filter_input.has_focus and filter_input.value:
            filter_input.value = ""
        self.cluster_list.table.focus()
