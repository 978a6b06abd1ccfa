"""A DataTable updated in place: rows are keyed, and a poll only touches changed cells.

Rebuilding a table of thousands of rows on every poll freezes input; comparing
rows and updating only the cells that changed does not. And only the rows that
changed are drawn again: DataTable's `update_cell` throws away the rendering of
every visible row (each costs milliseconds to draw again), so with the Textual
this was measured with the cells are set and only their rows' cached rendering
is forgotten (the private side, guarded: any other Textual gets `update_cell`).
"""

from collections.abc import Hashable, Iterable, Sequence
from importlib.metadata import version
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

Row = tuple[object, ...]

# DataTable's private side is used twice: `_update_dimensions` (below), skipping its
# re-measuring of every new cell, a third of a second for 2,000 hosts; and its render
# caches (`_forget_rows`), so that a changed cell redraws its row only. Both only with
# the Textual they were written and measured for (benchmarks/RESULTS.md); any other
# keeps DataTable's own measuring and redrawing.
_MEASURED_WITH_TEXTUAL = "8.2.8"
_PRIVATE_SIDE_KNOWN = version("textual") == _MEASURED_WITH_TEXTUAL


def cell_width(value: object) -> int:
    """Width of a cell's text in terminal cells."""
    if isinstance(value, Text):
        return value.cell_len
    return cell_len(str(value))


class KeyedTable(DataTable[object]):
    """Row-cursor table with vim keys and `sync_rows` for in-place updates."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="table.down"),
        Binding("k", "cursor_up", "Up", show=False, id="table.up"),
        Binding("g", "scroll_top", "Top", show=False, id="table.top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table.bottom"),
    ]

    class CursorMoved(Message):
        """The operator moved the row cursor, with a key or a click (not `select_key`)."""

        def __init__(self, table: "KeyedTable") -> None:
            super().__init__()
            self.table = table

        @property
        def control(self) -> "KeyedTable":
            return self.table

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._column_spec = tuple(columns)
        self._column_keys = tuple(key for _, key in self._column_spec)
        self._order: list[str] = []
        self._index: dict[str, int] = {}
        self._rows: dict[str, Row] = {}
        # Rows drawn again because their cells changed (not counting rebuilds): public,
        # so that tests can see that an update touches only what changed.
        self.rows_redrawn = 0
        for label, key in self._column_spec:
            self.add_column(label, key=key)

    def on_click(self, event: events.Click) -> None:
        # A row clicked moves the cursor as a key does (DataTable's own handler moves it).
        if event.style.meta.get("row", -1) >= 0:
            self.post_message(self.CursorMoved(self))

    def action_cursor_up(self) -> None:
        super().action_cursor_up()
        self.post_message(self.CursorMoved(self))

    def action_cursor_down(self) -> None:
        super().action_cursor_down()
        self.post_message(self.CursorMoved(self))

    def action_page_up(self) -> None:
        super().action_page_up()
        self.post_message(self.CursorMoved(self))

    def action_page_down(self) -> None:
        super().action_page_down()
        self.post_message(self.CursorMoved(self))

    def action_scroll_top(self) -> None:
        super().action_scroll_top()
        self.post_message(self.CursorMoved(self))

    def action_scroll_bottom(self) -> None:
        super().action_scroll_bottom()
        self.post_message(self.CursorMoved(self))

    @property
    def row_keys(self) -> list[str]:
        return list(self._order)

    def sync_rows(self, rows: Sequence[tuple[str, Row]]) -> int:
        """Make the table show `rows` (key, cells) in order; return how many cells changed.

        Same keys in the same order (every poll during an upgrade): only changed
        cells are updated. Different keys (another cluster, a new host): rebuilt,
        keeping the cursor on the same key when it is still there.
        """
        keys = [key for key, _ in rows]
        if keys == self._order:
            return self._update_cells(rows)
        cursor_key = self.cursor_key
        self.clear()
        # Other rows (another cluster): the widths start again from the headers, so that
        # each cluster's table fits it, neither cut short nor left wide by the last one.
        for spec in self.columns.values():
            spec.content_width = cell_width(spec.label)
        self._order = keys
        self._index = {key: index for index, key in enumerate(keys)}
        self._rows = dict(rows)
        self._widen(
            (column, cells[index])
            for index, column in enumerate(self._column_keys)
            for _, cells in rows
        )
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if cursor_key in self._rows:
            self.move_cursor(row=self._index[cursor_key], animate=False)
        return len(rows) * len(self._column_spec)

    def update_rows(self, rows: Iterable[tuple[str, Row]]) -> int:
        """Set these rows' cells (each key already in the table; the others stay as they
        are); return how many cells changed."""
        return self._update_cells(rows)

    def _update_cells(self, rows: Iterable[tuple[str, Row]]) -> int:
        columns = [key for _, key in self._column_spec]
        updates: list[tuple[str, str, object]] = []
        for key, cells in rows:
            old = self._rows[key]
            if old != cells:
                updates.extend(
                    (key, column, after)
                    for column, before, after in zip(columns, old, cells, strict=True)
                    if before != after
                )
                self._rows[key] = cells
        widened = self._widen((column, value) for _, column, value in updates)
        changed_rows = {key for key, _, _ in updates}
        self.rows_redrawn += len(changed_rows)
        if _PRIVATE_SIDE_KNOWN:
            for key, column, value in updates:
                self._data[RowKey(key)][ColumnKey(column)] = value
            if widened:
                self._update_count += 1  # every row is drawn again, at the new widths
            else:
                self._forget_rows(changed_rows)
        else:
            for key, column, value in updates:
                self.update_cell(key, column, value)
        if widened:
            # DataTable recomputes its scrollable width when asked to (the guarded
            # private side, see _PRIVATE_SIDE_KNOWN).
            self._require_update_dimensions = True
            self.refresh(layout=True)
        return len(updates)

    def _forget_rows(self, keys: set[str]) -> None:
        """Forget the cached rendering of these rows (and only theirs), and redraw them.
        Every row is one line high: row i is line i below the header."""
        row_keys = {RowKey(key) for key in keys}
        indexes = {self._index[key] for key in keys}
        # LRUCache has no iteration of its own: its keys() is a view of its dict.
        row_render_keys = list(self._row_render_cache.keys())
        for row_key in row_render_keys:
            if row_key[0] in row_keys:
                self._row_render_cache.discard(row_key)
        cell_keys = list(self._cell_render_cache.keys())
        for cell_key in cell_keys:
            if cell_key[0] in row_keys:
                self._cell_render_cache.discard(cell_key)
        renderable_keys = list(self._row_renderable_cache.keys())
        for renderable_key in renderable_keys:
            if renderable_key[1] in indexes:
                self._row_renderable_cache.discard(renderable_key)
        self._line_cache.clear()
        header = self.header_height if self.show_header else 0
        width = max(self.size.width, self.virtual_size.width)
        window = self.window_region
        for index in indexes:
            region = Region(0, header + index, width, 1)
            if window.overlaps(region):
                self.refresh(region.translate(-self.scroll_offset))

    def _widen(self, cells: Iterable[tuple[str, object]]) -> bool:
        """Widen columns to fit these (column, value) cells now; True if any grew.

        DataTable measures new and updated cells later, on idle, and rows drawn
        before that stay cached at the old widths (truncated) until the next
        change. update_cell(update_width=True) would also re-measure every cell
        of a column for most updates, which freezes a table of thousands. So
        widths are set here, before the rows are added or updated; columns
        never shrink.
        """
        widened = False
        for column, value in cells:
            spec = self.columns[ColumnKey(column)]
            width = cell_width(value)
            if width > spec.content_width:
                spec.content_width = width
                widened = True
        return widened

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Every row here is one line high and `_widen` sized the columns for each
        # cell before it was added: DataTable measuring every new cell again would
        # find the same widths.
        super()._update_dimensions(() if _PRIVATE_SIDE_KNOWN else new_rows)

    @property
    def cursor_key(self) -> str | None:
        if not self._order or not self.is_valid_row_index(self.cursor_row):
            return None
        return self._order[self.cursor_row]

    def select_key(self, key: str) -> bool:
        if key not in self._rows:
            return False
        self.move_cursor(row=self._index[key], animate=False)
        return True

    def row_cells(self, key: Hashable) -> Row | None:
        return self._rows.get(str(key))
