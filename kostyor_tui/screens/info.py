"""A read-only table in a modal: upgrade history, versions, discovery methods, checks."""

from collections.abc import Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from kostyor_tui.widgets.keyed_table import KeyedTable, Row


class InfoScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="info.close"),
    ]

    def __init__(
        self, title: str, columns: Sequence[str], rows: Sequence[Row], note: str = ""
    ) -> None:
        super().__init__()
        self._title = title
        self._columns = [(label, f"c{index}") for index, label in enumerate(columns)]
        self._rows = [(str(index), tuple(row)) for index, row in enumerate(rows)]
        self._note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="info-dialog", classes="dialog"):
            yield Label(self._title, classes="dialog-title", markup=False)
            if self._note:
                yield Label(self._note, id="info-note", markup=False)
            yield KeyedTable(self._columns, id="info-table")
            yield Label("escape to close", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(KeyedTable).sync_rows(self._rows)
        self.query_one(KeyedTable).focus()
