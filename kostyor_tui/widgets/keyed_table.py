"""A DataTable updated in place: rows are keyed, and a poll only touches changed cells.

Rebuilding a table of thousands of rows on every poll freezes input; comparing
rows and calling `update_cell` for what changed does not.
"""

from collections.abc import Hashable, Iterable, Sequence
from importlib.metadata import version
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, RowKey

Row = tuple[object, ...]

# The one use of DataTable's private side (`_update_dimensions`, below): skipping its
# re-measuring of every new cell, a third of a second for 2,000 hosts. It is done only
# with the Textual it was written and measured for (benchmarks/RESULTS.md); any other
# keeps DataTable's own measuring.
_MEASURED_WITH_TEXTUAL = "8.2.8"
_SKIP_REMEASURING = version("textual") == _MEASURED_WITH_TEXTUAL


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

    def __init__(self, columns: Sequence[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._column_spec = tuple(columns)
        self._column_keys = tuple(key for _, key in self._column_spec)
        self._order: list[str] = []
        self._rows: dict[str, Row] = {}
        for label, key in self._column_spec:
            self.add_column(label, key=key)

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
        self._rows = dict(rows)
        self._widen(
            (column, cells[index])
            for index, column in enumerate(self._column_keys)
            for _, cells in rows
        )
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if cursor_key in self._rows:
            self.move_cursor(row=self._order.index(cursor_key), animate=False)
        return len(rows) * len(self._column_spec)

    def _update_cells(self, rows: Sequence[tuple[str, Row]]) -> int:
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
        for key, column, value in updates:
            self.update_cell(key, column, value)
        if widened:
            # DataTable recomputes its scrollable width when asked to (the guarded
            # private side, see _SKIP_REMEASURING).
            self._require_update_dimensions = True
            self.refresh(layout=True)
        return len(updates)

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
        super()._update_dimensions(() if _SKIP_REMEASURING else new_rows)

    @property
    def cursor_key(self) -> str | None:
        if not self._order or not self.is_valid_row_index(self.cursor_row):
            return None
        return self._order[self.cursor_row]

    def select_key(self, key: str) -> bool:
        if key not in self._rows:
            return False
        self.move_cursor(row=self._order.index(key), animate=False)
        return True

    def row_cells(self, key: Hashable) -> Row | None:
        return self._rows.get(str(key))
