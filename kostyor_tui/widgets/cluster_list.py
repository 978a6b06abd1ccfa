"""The cluster list sidebar: a badge per cluster that tells its state at a glance (glyph
and colour), the running upgrades' progress, a `/` filter, a sort order, and a view of
the unfinished upgrades only."""

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import DataTable, Input, Label

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.statuses import UNFINISHED, Status, cluster_state
from kostyor_tui.domain.text import printable
from kostyor_tui.service.snapshots import ClusterSnapshot
from kostyor_tui.widgets import upgrade_view
from kostyor_tui.widgets.badges import status_badge
from kostyor_tui.widgets.in_place import update_in_place
from kostyor_tui.widgets.keyed_table import KeyedTable, Row

SORTS: tuple[str, ...] = ("name", "attention", "progress")
# Problems first: what needs an operator now, then what runs, then what rests.
ATTENTION = (
    Status.ERROR,
    Status.ROLLBACK_IN_PROGRESS,
    Status.PAUSED,
    Status.IN_PROGRESS,
    Status.CANCELLED,
    Status.UNKNOWN,
    Status.NOT_READY,
    Status.READY,
    Status.SUCCEEDED,
)


def matches(cluster: Cluster, query: str) -> bool:
    """Case-insensitive match on name, id, version, status, state and badge."""
    query = query.strip().lower()
    if not query:
        return True
    fields = (
        cluster.name,
        cluster.id,
        cluster.version,
        cluster.status.value,
        cluster_state(cluster.status).value,
        status_badge(cluster.status).plain,
    )
    return any(query in (value or "").lower() for value in fields)


def upgrade_cell(snapshot: ClusterSnapshot | None, now: datetime, room: int | None = None) -> str:
    """A running upgrade's progress (a rollback's own), ETA and elapsed time, as far as
    they are known and, most telling first, as many as fit in `room` characters."""
    if snapshot is None or snapshot.upgrade is None or snapshot.progress is None:
        return ""
    if snapshot.status not in UNFINISHED:
        return ""
    parts = []
    done = snapshot.progress
    rolled = upgrade_view.rollback_counts(snapshot)
    if snapshot.status is Status.ROLLBACK_IN_PROGRESS and rolled is not None and rolled[1]:
        parts.append(f"↺{100 * rolled[0] // rolled[1]}%")
    elif snapshot.progress_reported and done.services_total:
        parts.append(f"{100 * done.services_upgraded // done.services_total}%")
    left = upgrade_view.eta(snapshot)
    if left is not None:
        parts.append(f"ETA {upgrade_view.duration(left)}")
    start = snapshot.upgrade.upgrade_start_time
    if start is not None:
        parts.append(f"⏱ {upgrade_view.duration(now - start)}")
    shown = parts[:1]
    for part in parts[1:]:
        if room is not None and len(" ".join([*shown, part])) > room:
            break
        shown.append(part)
    return " ".join(shown)


def _sort_key(
    sort: str, snapshots: Mapping[str, ClusterSnapshot]
) -> Callable[[Cluster], tuple[object, ...]]:
    def by_name(cluster: Cluster) -> tuple[object, ...]:
        return ((cluster.name or "").lower(), cluster.id or "")

    def by_attention(cluster: Cluster) -> tuple[object, ...]:
        rank = ATTENTION.index(cluster.status) if cluster.status in ATTENTION else 0
        return (rank, *by_name(cluster))

    def by_progress(cluster: Cluster) -> tuple[object, ...]:
        snapshot = snapshots.get(cluster.id or "")
        done = snapshot.progress if snapshot is not None else None
        share = done.services_upgraded / done.services_total if done and done.services_total else 2
        running = cluster.status in UNFINISHED
        return (not running, share, *by_name(cluster))

    return {"name": by_name, "attention": by_attention, "progress": by_progress}[sort]


def cluster_rows(
    clusters: Iterable[Cluster],
    query: str,
    snapshots: Mapping[str, ClusterSnapshot] | None = None,
    *,
    sort: str = "name",
    only_unfinished: bool = False,
    now: datetime | None = None,
    width: int | None = None,
    versions: Mapping[str, Mapping[str, int]] | None = None,
) -> list[tuple[str, Row]]:
    """The list's rows. `versions`: each cluster's instances by version, where known (its
    badge is then ◑ when they are mixed)."""
    snapshots = snapshots or {}
    versions = versions or {}
    now = now or datetime.now()
    kept = [
        cluster
        for cluster in sorted(clusters, key=_sort_key(sort, snapshots))
        if cluster.id
        and matches(cluster, query)
        and (not only_unfinished or cluster.status in UNFINISHED)
    ]
    # What is left of the sidebar's width after the badge and the longest name (each
    # column with its padding of 2) is the upgrade column's.
    room = None
    if width is not None:
        longest = max((len(printable(c.name or c.id or "")) for c in kept), default=0)
        room = max(0, width - 3 - (longest + 2) - 2)
    rows: list[tuple[str, Row]] = []
    for cluster in kept:
        assert cluster.id is not None
        snapshot = snapshots.get(cluster.id)
        badge = status_badge(cluster.status, versions.get(cluster.id))
        glyph = Content.styled(badge.plain.split(" ", 1)[0], badge.spans[0].style)
        name = Text(printable(cluster.name or cluster.id), overflow="ellipsis", no_wrap=True)
        rows.append(
            (
                cluster.id,
                (glyph, name, upgrade_cell(snapshot, now, room)),
            )
        )
    return rows


class ClusterList(Vertical):
    """Filter input over a table of clusters; posts `Highlighted` and `Chosen`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("s", "cycle_sort", "Sort", show=False, id="clusters.sort"),
    ]

    class Highlighted(Message):
        def __init__(self, cluster_id: str | None) -> None:
            super().__init__()
            self.cluster_id = cluster_id

    class Chosen(Message):
        def __init__(self, cluster_id: str) -> None:
            super().__init__()
            self.cluster_id = cluster_id

    def __init__(self, *, none_yet: str = "d discovers one.", **kwargs: object) -> None:
        """`none_yet`: what to do when the endpoint has no cluster at all."""
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._none_yet = none_yet
        self._clusters: tuple[Cluster, ...] = ()
        self._snapshots: Mapping[str, ClusterSnapshot] = {}
        # Each cluster's instances by version as last read, with its status and version
        # then: a cluster once opened keeps its ◑ after the cursor has moved on (its
        # snapshot is then dropped), for as long as its status and version stay the same.
        self._versions_seen: dict[str, tuple[Status, str | None, Mapping[str, int]]] = {}
        self._now: datetime | None = None
        self.sort = SORTS[0]
        self.only_unfinished = False

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter clusters", id="cluster-filter")
        yield KeyedTable(
            [("", "state"), ("Cluster", "name"), ("Upgrade", "upgrade")],
            id="cluster-table",
        )
        yield Label("", id="cluster-empty", classes="empty-note")

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#cluster-table", KeyedTable)

    @property
    def filter_text(self) -> str:
        return self.query_one("#cluster-filter", Input).value

    @property
    def shown_ids(self) -> list[str]:
        return self.table.row_keys

    def show(
        self,
        clusters: Sequence[Cluster],
        snapshots: Mapping[str, ClusterSnapshot] | None = None,
        now: datetime | None = None,
    ) -> None:
        """Show `clusters`, with what `snapshots` tell of their upgrades as of `now` (the
        service's clock)."""
        self._clusters = tuple(clusters)
        if snapshots is not None:
            self._snapshots = snapshots
            for cluster_id, snapshot in snapshots.items():
                cluster = snapshot.cluster
                self._versions_seen[cluster_id] = (
                    cluster.status,
                    cluster.version,
                    snapshot.version_counts,
                )
        # Forgotten once the cluster's status or version moves (or it is gone): the same
        # pair seen again later is another state of its instances.
        now_as = {cluster.id: (cluster.status, cluster.version) for cluster in self._clusters}
        for cluster_id, seen in list(self._versions_seen.items()):
            if now_as.get(cluster_id) != seen[:2]:
                del self._versions_seen[cluster_id]
        self._now = now
        self._refilter()

    def _versions_known(self) -> dict[str, Mapping[str, int]]:
        return {cluster_id: seen[2] for cluster_id, seen in self._versions_seen.items()}

    def _refilter(self) -> None:
        table = self.table
        before = table.cursor_key
        rows = cluster_rows(
            self._clusters,
            self.filter_text,
            self._snapshots,
            sort=self.sort,
            only_unfinished=self.only_unfinished,
            now=self._now,
            width=self.table.scrollable_content_region.width or None,
            versions=self._versions_known(),
        )
        table.sync_rows(rows)
        self._show_empty(bool(rows))
        if table.cursor_key != before:
            self.post_message(self.Highlighted(table.cursor_key))

    def _show_empty(self, any_shown: bool) -> None:
        """Say what is empty and what to do, instead of a blank table."""
        label = self.query_one("#cluster-empty", Label)
        if any_shown:
            text = ""
        elif not self._clusters:
            text = f"No cluster yet: {self._none_yet}"
        elif self.only_unfinished:
            text = "No upgrade is under way (R shows every cluster)."
        else:
            text = f"No cluster matches {printable(self.filter_text)!r} (esc clears)."
        update_in_place(label, text)
        label.display = bool(text)

    def on_resize(self) -> None:
        # The upgrade column shows as much as the new width holds.
        self._refilter()

    def select(self, cluster_id: str) -> bool:
        return self.table.select_key(cluster_id)

    def focus_filter(self) -> None:
        self.query_one("#cluster-filter", Input).focus()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        placeholder = f"/ filter clusters · sorted by {self.sort}"
        self.query_one("#cluster-filter", Input).placeholder = placeholder
        self._refilter()
        self.notify(f"Clusters sorted by {self.sort}", timeout=2)

    def toggle_unfinished(self, only: bool | None = None) -> bool:
        """Show the unfinished upgrades only, or every cluster (`only`, else the other)."""
        self.only_unfinished = not self.only_unfinished if only is None else only
        self._refilter()
        return self.only_unfinished

    @on(Input.Changed, "#cluster-filter")
    def _filter_changed(self) -> None:
        self._refilter()

    @on(Input.Submitted, "#cluster-filter")
    def _filter_done(self) -> None:
        self.table.focus()

    @on(DataTable.RowHighlighted, "#cluster-table")
    def _row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        # An empty table highlights "no row" (row_key None).
        self.post_message(self.Highlighted(event.row_key.value if event.row_key else None))

    @on(DataTable.RowSelected, "#cluster-table")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key and event.row_key.value:
            self.post_message(self.Chosen(event.row_key.value))
