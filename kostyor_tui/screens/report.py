"""A command's report in a modal: what headless mode prints as JSON, shown as a table.

A list of reports is a table with a column per key; one report is a table of key
and value, nested keys dotted (`upgrade.status`). The data is the report's
JSON form (`reports.as_data`), so the console shows what headless JSON says.
"""

from collections.abc import Iterator
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from kostyor_tui.domain.text import printable
from kostyor_tui.reports import as_data
from kostyor_tui.widgets.keyed_table import KeyedTable

EMPTY = "—"


def cell_text(value: Any) -> str:
    """One JSON value as the text of a cell."""
    if value is None or value == "" or value == [] or value == {}:
        return EMPTY
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(cell_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(f"{key} ×{cell_text(item)}" for key, item in value.items())
    return printable(str(value))


def _flatten(data: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in data.items():
        if isinstance(value, dict) and not _is_counts(value):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _is_counts(value: dict[str, Any]) -> bool:
    """`{"mitaka": 12}`: counts per version, one cell, not a nested report."""
    return all(isinstance(item, int) and not isinstance(item, bool) for item in value.values())


def report_table(data: Any) -> tuple[list[str], list[list[str]]]:
    """Column headers and rows of cell text for a report's JSON form."""
    if isinstance(data, list):
        if data and all(isinstance(item, dict) for item in data):
            columns = list(data[0])
            return columns, [[cell_text(item.get(key)) for key in columns] for item in data]
        return ["value"], [[cell_text(item)] for item in data]
    if isinstance(data, dict):
        return ["key", "value"], [[key, cell_text(value)] for key, value in _flatten(data)]
    return ["value"], [[cell_text(data)]]


class ReportScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="report.close"),
    ]

    def __init__(self, title: str, report: Any) -> None:
        super().__init__()
        self.title_text = title
        self.data = as_data(report)
        self.columns, self.rows = report_table(self.data)

    def compose(self) -> ComposeResult:
        with Vertical(id="report-dialog", classes="dialog"):
            yield Label(printable(self.title_text), classes="dialog-title", markup=False)
            if not self.rows:
                yield Label("(none)", id="report-empty", markup=False)
            yield KeyedTable(
                [(label, f"c{index}") for index, label in enumerate(self.columns)],
                id="report-table",
            )
            yield Label("escape to close", classes="dialog-hint")

    def on_mount(self) -> None:
        table = self.query_one(KeyedTable)
        table.sync_rows([(str(index), tuple(row)) for index, row in enumerate(self.rows)])
        table.focus()
