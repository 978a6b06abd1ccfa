"""The cluster detail: summary lines and the component/version and hosts tables."""

from collections.abc import Mapping, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static, TabbedContent, TabPane

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain import fleet
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets.badges import host_state_text, state_badge, status_text
from kostyor_tui.widgets.keyed_table import KeyedTable, Row

HOSTS_SHOWN = 1


def hosts_summary(hostnames: Sequence[str]) -> str:
    """`ctl-01` or `12 hosts` — short enough for one cell (the Hosts tab has them all)."""
    if len(hostnames) <= HOSTS_SHOWN:
        return ", ".join(hostnames) or "—"
    return f"{len(hostnames)} hosts"


def component_table_rows(snapshot: ClusterSnapshot) -> list[tuple[str, Row]]:
    rows = []
    for component in snapshot.components:
        upgradable = any(
            fleet.upgradable(version, snapshot.releases) for version, _ in component.versions
        )
        version = Text(component.version, style="bold #ffd75f" if component.mixed else "")
        rows.append(
            (
                component.name,
                (
                    component.name,
                    version,
                    hosts_summary(component.hosts),
                    "yes" if upgradable else "no",
                ),
            )
        )
    return rows


def host_table_rows(snapshot: ClusterSnapshot) -> list[tuple[str, Row]]:
    names = snapshot.hostnames
    rows = []
    for host_id in snapshot.host_order:
        versions: Mapping[str, int] = snapshot.host_versions.get(host_id, {})
        rows.append(
            (
                host_id,
                (
                    names.get(host_id, host_id),
                    fleet.format_version_counts(versions) or "—",
                    host_state_text(snapshot.host_states.get(host_id)),
                    str(sum(versions.values())),
                ),
            )
        )
    return rows


def upgrade_line(snapshot: ClusterSnapshot) -> Text:
    """The current upgrade in one line."""
    upgrade = snapshot.upgrade
    text = Text("Upgrade  ", style="bold")
    if upgrade is None:
        text.append("none", style="#8a8a8a")
        return text
    text.append(f"{upgrade.from_version or '?'} → {upgrade.to_version or '?'}  ")
    text.append_text(status_text(snapshot.status))
    done = snapshot.progress
    if done is not None:
        text.append(
            f"  nodes {done.nodes_upgraded}/{done.nodes_total}"
            f"  services {done.services_upgraded}/{done.services_total}"
        )
    return text


def summary_text(cluster: Cluster, snapshot: ClusterSnapshot | None, region: str | None) -> Text:
    text = Text()
    text.append(cluster.name or "(no name)", style="bold")
    text.append("  ")
    text.append_text(state_badge(cluster.status))
    text.append("  ")
    text.append_text(status_text(cluster.status))
    text.append(f"\nid {cluster.id}  ·  region {region or '—'}\n", style="#a8a8a8")
    text.append("Version  ", style="bold")
    text.append(cluster.version or "unknown")
    if snapshot is not None and snapshot.version_counts:
        counts = fleet.format_version_counts(snapshot.version_counts)
        text.append(f"  ({counts})", style="#a8a8a8")
    text.append("\n")
    if snapshot is None:
        text.append("Upgrade  loading…", style="#8a8a8a")
    else:
        text.append_text(upgrade_line(snapshot))
    return text


class ClusterDetail(Vertical):
    """Summary of one cluster with Components / Hosts tabs."""

    def __init__(self, region: str | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._region = region
        self._snapshot: ClusterSnapshot | None = None

    def compose(self) -> ComposeResult:
        yield Static("Select a cluster", id="cluster-summary")
        with TabbedContent(id="detail-tabs"):
            with TabPane("Components", id="components-tab"):
                yield KeyedTable(
                    [
                        ("Component", "component"),
                        ("Version", "version"),
                        ("Hosts", "hosts"),
                        ("Upgradable", "upgradable"),
                    ],
                    id="component-table",
                )
            with TabPane("Hosts", id="hosts-tab"):
                yield KeyedTable(
                    [
                        ("Host", "host"),
                        ("Versions", "versions"),
                        ("Upgrade", "state"),
                        ("Services", "services"),
                    ],
                    id="host-table",
                )

    @property
    def component_table(self) -> KeyedTable:
        return self.query_one("#component-table", KeyedTable)

    @property
    def host_table(self) -> KeyedTable:
        return self.query_one("#host-table", KeyedTable)

    def show(self, cluster: Cluster | None, snapshot: ClusterSnapshot | None) -> None:
        summary = self.query_one("#cluster-summary", Static)
        if cluster is None:
            summary.update("No cluster selected")
        else:
            summary.update(summary_text(cluster, snapshot, self._region))
        if cluster is None or snapshot is None or snapshot.cluster_id != cluster.id:
            # Never leave another cluster's rows under this one's name while it loads.
            snapshot = None
        self._snapshot = snapshot
        self._sync_active_tab()

    @property
    def shown_snapshot(self) -> ClusterSnapshot | None:
        return self._snapshot

    def _sync_active_tab(self) -> None:
        """Fill only the visible table: a hidden one with thousands of hosts is filled
        when its tab is opened."""
        snapshot = self._snapshot
        if self.query_one("#detail-tabs", TabbedContent).active == "hosts-tab":
            self.host_table.sync_rows(host_table_rows(snapshot) if snapshot else [])
        else:
            self.component_table.sync_rows(component_table_rows(snapshot) if snapshot else [])

    @on(TabbedContent.TabActivated, "#detail-tabs")
    def _tab_activated(self) -> None:
        self._sync_active_tab()

    def toggle_tab(self) -> str:
        tabs = self.query_one("#detail-tabs", TabbedContent)
        tabs.active = "hosts-tab" if tabs.active == "components-tab" else "components-tab"
        return tabs.active
