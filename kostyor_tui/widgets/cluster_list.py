"""The cluster list sidebar: a state badge per cluster and a `/` filter."""

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input

from kostyor_tui.api.models import Cluster
from kostyor_tui.domain.statuses import cluster_state
from kostyor_tui.widgets.badges import state_mark
from kostyor_tui.widgets.keyed_table import KeyedTable, Row


def matches(cluster: Cluster, query: str) -> bool:
    """Case-insensitive match on name, id, version, status and state."""
    query = query.strip().lower()
    if not query:
        return True
    fields = (
        cluster.name,
        cluster.id,
        cluster.version,
        cluster.status.value,
        cluster_state(cluster.status).value,
    )
    return any(query in (value or "").lower() for value in fields)


def cluster_rows(clusters: Iterable[Cluster], query: str) -> list[tuple[str, Row]]:
    rows = []
    for cluster in sorted(clusters, key=lambda c: ((c.name or "").lower(), c.id or "")):
        if cluster.id and matches(cluster, query):
            name = Text(cluster.name or cluster.id, overflow="ellipsis", no_wrap=True)
            rows.append((cluster.id, (state_mark(cluster.status), name, cluster.version or "?")))
    return rows


class ClusterList(Vertical):
    """Filter input over a table of clusters; posts `Highlighted` and `Chosen`."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "focus_filter", "Filter", id="clusters.filter"),
    ]

    class Highlighted(Message):
        def __init__(self, cluster_id: str | None) -> None:
            super().__init__()
            self.cluster_id = cluster_id

    class Chosen(Message):
        def __init__(self, cluster_id: str) -> None:
            super().__init__()
            self.cluster_id = cluster_id

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._clusters: tuple[Cluster, ...] = ()

    def compose(self) -> ComposeResult:
        yield Input(placeholder="/ filter clusters", id="cluster-filter")
        yield KeyedTable(
            [("", "state"), ("Cluster", "name"), ("Version", "version")],
            id="cluster-table",
        )

    @property
    def table(self) -> KeyedTable:
        return self.query_one("#cluster-table", KeyedTable)

    @property
    def filter_text(self) -> str:
        return self.query_one("#cluster-filter", Input).value

    @property
    def shown_ids(self) -> list[str]:
        return self.table.row_keys

    def show(self, clusters: Sequence[Cluster]) -> None:
        self._clusters = tuple(clusters)
        self._refilter()

    def _refilter(self) -> None:
        table = self.table
        before = table.cursor_key
        table.sync_rows(cluster_rows(self._clusters, self.filter_text))
        if table.cursor_key != before:
            self.post_message(self.Highlighted(table.cursor_key))

    def select(self, cluster_id: str) -> bool:
        return self.table.select_key(cluster_id)

    def action_focus_filter(self) -> None:
        self.query_one("#cluster-filter", Input).focus()

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
