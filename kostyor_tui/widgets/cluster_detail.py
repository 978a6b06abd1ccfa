"""The cluster detail: summary lines and the component/version and hosts tables."""

import weakref
from collections.abc import Iterable, Mapping, Sequence

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Label, Static, TabbedContent, TabPane, Tabs

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain import fleet
from kostyor_tui.domain.text import printable
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets.badges import (
    MIXED,
    host_state_content,
    state_badge,
    status_badge,
    status_content,
)
from kostyor_tui.widgets.in_place import update_in_place
from kostyor_tui.widgets.keyed_table import KeyedTable, Row


def hosts_summary(hostnames: Sequence[str]) -> str:
    """How many hosts run it: short enough for a narrow pane (the Hosts tab has them)."""
    return str(len(hostnames)) if hostnames else "—"


def component_table_rows(snapshot: ClusterSnapshot) -> list[tuple[str, Row]]:
    rows: list[tuple[str, Row]] = []
    for component in snapshot.components:
        upgradable = any(
            fleet.upgradable(version, snapshot.releases) for version, _ in component.versions
        )
        # A mixed component leads with the mixed-versions mark: on a narrow terminal the
        # column is cut, and "mitaka" alone would read as all at mitaka.
        version = (
            Content.styled(f"{MIXED[0]} {printable(component.version)}", "bold $warning")
            if component.mixed
            else Content(printable(component.version))
        )
        rows.append(
            (
                component.name,
                (
                    printable(component.name),
                    hosts_summary(component.hosts),
                    "yes" if upgradable else "no",
                    version,
                ),
            )
        )
    return rows


# Per host id: what its row shows (name, versions, state) and the row's cells.
HostRowCache = dict[str, tuple[tuple[object, ...], Row]]


def host_table_rows(
    snapshot: ClusterSnapshot, known: HostRowCache | None = None
) -> list[tuple[str, Row]]:
    """The hosts tab's rows. `known`, the rows derived last time, is reused for each host
    whose name, versions and state are the same (a poll during an upgrade moves a few
    hosts of thousands), and then holds this snapshot's."""
    previous = known or {}
    derived: HostRowCache = {}
    rows: list[tuple[str, Row]] = []
    for host_id in snapshot.host_order:
        derived[host_id] = _host_row(snapshot, host_id, previous.get(host_id))
        rows.append((host_id, derived[host_id][1]))
    if known is not None:
        known.clear()
        known.update(derived)
    return rows


def moved_host_rows(
    snapshot: ClusterSnapshot, moved: Iterable[str], known: HostRowCache
) -> list[tuple[str, Row]]:
    """The rows of the hosts `moved` only, in no particular order, `known` updated with
    them: for a snapshot whose other hosts show as `known` has them
    (`ClusterSnapshot.hosts_moved_since`)."""
    rows: list[tuple[str, Row]] = []
    for host_id in moved:
        known[host_id] = _host_row(snapshot, host_id, known.get(host_id))
        rows.append((host_id, known[host_id][1]))
    return rows


def _host_row(
    snapshot: ClusterSnapshot, host_id: str, cached: tuple[tuple[object, ...], Row] | None
) -> tuple[tuple[object, ...], Row]:
    """What the host's row shows, and its cells (`cached`'s when it shows the same)."""
    versions: Mapping[str, int] = snapshot.host_versions.get(host_id, {})
    state = snapshot.host_states.get(host_id) if snapshot.progress_reported else None
    name = snapshot.hostnames.get(host_id, host_id)
    shows = (name, tuple(versions.items()), state)  # in order, as shown
    if cached is not None and cached[0] == shows:
        return cached
    cells = (
        printable(name),
        printable(fleet.format_version_counts(versions)) or "—",
        host_state_content(state),
        str(sum(versions.values())),
    )
    return shows, cells


def empty_note(snapshot: ClusterSnapshot, tab: str) -> str:
    """What an empty tab means and what to do, instead of a blank table ("" when the tab
    has rows)."""
    name = printable(snapshot.cluster.name or snapshot.cluster_id or "this cluster")
    if not snapshot.hosts and not snapshot.services:
        return (
            f"Kostyor has no hosts or services recorded for {name}: nothing to upgrade yet. "
            "d discovers a cluster with its hosts and services."
        )
    if tab == "hosts-tab" and not snapshot.hosts:
        return (
            f"Kostyor has no host data for {name}: its services name no hosts "
            "(a cluster recorded before hosts were). t shows its components; "
            "d discovers it again with its hosts."
        )
    if tab == "components-tab" and not snapshot.components:
        return f"No service recorded on the hosts of {name}. t shows its hosts."
    return ""


def upgrade_line(snapshot: ClusterSnapshot) -> Content:
    """The current upgrade in one line."""
    upgrade = snapshot.upgrade
    head = ("Upgrade  ", "bold")
    if upgrade is None:
        return Content.assemble(head, ("none", "$text-muted"))
    versions = printable(f"{upgrade.from_version or '?'} → {upgrade.to_version or '?'}")
    parts: list[str | tuple[str, str] | Content] = [
        head,
        f"{versions}  ",
        status_content(snapshot.status),
    ]
    done = snapshot.progress
    if done is not None and snapshot.progress_reported:
        parts.append(
            f"  nodes {done.nodes_upgraded}/{done.nodes_total}"
            f"  services {done.services_upgraded}/{done.services_total}"
        )
    elif done is not None:
        parts.append(("  progress not reported by this server", "$text-muted"))
    return Content.assemble(*parts)


def summary_text(cluster: Cluster, snapshot: ClusterSnapshot | None, region: str | None) -> Content:
    counts = snapshot.version_counts if snapshot is not None else None
    parts: list[str | tuple[str, str] | Content] = [
        (printable(cluster.name or "(no name)"), "bold"),
        "  ",
        status_badge(cluster.status, counts),
        "  ",
        state_badge(cluster.status),
        (
            f"\nid {printable(cluster.id or '?')}  ·  region {printable(region or '—')}\n",
            "$text-muted",
        ),
        ("Version  ", "bold"),
        printable(cluster.version or "unknown"),
    ]
    if counts:
        parts.append((f"  ({printable(fleet.format_version_counts(counts))})", "$text-muted"))
    parts.append("\n")
    if snapshot is None:
        parts.append(("Upgrade  loading…", "$text-muted"))
    else:
        parts.append(upgrade_line(snapshot))
    return Content.assemble(*parts)


class ClusterDetail(Vertical):
    """Summary of one cluster with Components / Hosts tabs."""

    def __init__(self, region: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._region = region
        self._snapshot: ClusterSnapshot | None = None
        self._host_rows: HostRowCache = {}
        # The snapshot the hosts table shows (None: no cluster's hosts), held weakly: while
        # the Components tab is shown it would keep a replaced fleet alive; once gone, the
        # table is brought up to date in full.
        self._hosts_shown: weakref.ref[ClusterSnapshot] | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select a cluster", id="cluster-summary")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Components", id="components-tab"):
                yield Label("", id="components-empty", classes="empty-note")
                yield KeyedTable(
                    # The version column, as wide as a cluster's mix of versions, comes
                    # last: at 80 columns it is the one cut, not the short ones.
                    [
                        ("Component", "component"),
                        ("Hosts", "hosts"),
                        ("Upgradable", "upgradable"),
                        ("Version", "version"),
                    ],
                    id="component-table",
                )
            with TabPane("Hosts", id="hosts-tab"):
                yield Label("", id="hosts-empty", classes="empty-note")
                yield KeyedTable(
                    [
                        ("Host", "host"),
                        ("Versions", "versions"),
                        ("Upgrade", "state"),
                        ("Services", "services"),
                    ],
                    id="host-table",
                )

    def on_mount(self) -> None:
        # The tab strip never takes the focus (Tab would land there, where j/k do nothing):
        # `t` switches tabs.
        self.query_one(Tabs).can_focus = False

    @property
    def component_table(self) -> KeyedTable:
        return self.query_one("#component-table", KeyedTable)

    @property
    def host_table(self) -> KeyedTable:
        return self.query_one("#host-table", KeyedTable)

    def show(self, cluster: Cluster | None, snapshot: ClusterSnapshot | None) -> None:
        summary = self.query_one("#cluster-summary", Static)
        if cluster is None:
            update_in_place(summary, "No cluster selected")
        else:
            update_in_place(summary, summary_text(cluster, snapshot, self._region))
        if cluster is None or snapshot is None or snapshot.cluster_id != cluster.id:
            # Never leave another cluster's rows under this one's name while it loads.
            snapshot = None
        self._snapshot = snapshot
        self._sync_active_tab()

    def set_region(self, region: str | None) -> None:
        """The region shown for each cluster (another profile's, after a switch)."""
        self._region = region

    @property
    def shown_snapshot(self) -> ClusterSnapshot | None:
        return self._snapshot

    def _sync_active_tab(self) -> None:
        """Fill only the visible table: a hidden one with thousands of hosts is filled
        when its tab is opened."""
        snapshot = self._snapshot
        tab = self.query_one("#detail-tabs", TabbedContent).active
        if tab == "hosts-tab":
            shown = self._hosts_shown() if self._hosts_shown is not None else None
            moved = snapshot.hosts_moved_since(shown) if snapshot else None
            if snapshot is None:
                self.host_table.sync_rows([])
            elif moved is None:
                self.host_table.sync_rows(host_table_rows(snapshot, self._host_rows))
            else:
                # A poll following an upgrade: the hosts it moved, not every host, are
                # looked at again.
                self.host_table.update_rows(moved_host_rows(snapshot, moved, self._host_rows))
            self._hosts_shown = weakref.ref(snapshot) if snapshot else None
        else:
            self.component_table.sync_rows(component_table_rows(snapshot) if snapshot else [])
        note = empty_note(snapshot, tab) if snapshot else ""
        label = self.query_one("#hosts-empty" if tab == "hosts-tab" else "#components-empty", Label)
        update_in_place(label, note)
        label.display = bool(note)

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _tab_activated(self) -> None:
        self._sync_active_tab()

    def toggle_tab(self) -> str:
        tabs = self.query_one("#detail-tabs", TabbedContent)
        tabs.active = "hosts-tab" if tabs.active == "components-tab" else "components-tab"
        return tabs.active
