"""The audit trail's recent entries ("Audit trail" in the palette), newest first: what
was sent or refused, from which profile, and how it ended. The file is shared with
headless runs and other consoles, so it is read when the screen opens."""

from pathlib import Path
from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from kostyor_tui.audit import AuditReading, read_audit
from kostyor_tui.domain.text import printable
from kostyor_tui.screens.report import cell_text
from kostyor_tui.widgets.keyed_table import KeyedTable

RECENT = 200
# What fits a console; `kostyor-tui audit` shows every field.
COLUMNS = (
    ("Time", "time"),
    ("Profile", "profile"),
    ("Endpoint", "endpoint"),
    ("Cluster", "cluster"),
    ("Action", "action"),
    ("Forced", "forced"),
    ("Outcome", "outcome"),
    ("Detail", "detail"),
)


def audit_rows(entries: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
    """Table rows for audit entries (oldest first), newest first, every cell printable."""
    return [
        (str(index), tuple(cell_text(entry.get(key)) for _, key in COLUMNS))
        for index, entry in reversed(list(enumerate(entries)))
    ]


class AuditScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "Close", id="audit.close"),
    ]

    def __init__(self, path: Path, limit: int = RECENT) -> None:
        super().__init__()
        self._path = path
        self._limit = limit

    def compose(self) -> ComposeResult:
        with Vertical(id="audit-dialog", classes="dialog"):
            yield Label("Audit trail", classes="dialog-title", markup=False)
            yield Label(
                f"{printable(str(self._path))}: reading…",
                id="audit-source",
                classes="dialog-hint",
                markup=False,
            )
            yield KeyedTable(COLUMNS, id="audit-table")
            yield Label("newest first · escape to close", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()
        self._load()

    @work(thread=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            reading = read_audit(self._path, limit=self._limit)
        except OSError as error:
            why = error.strerror or type(error).__name__
            self.app.call_from_thread(self._say, f"cannot read {self._path}: {why}")
            return
        self.app.call_from_thread(self._show, reading)

    def _show(self, reading: AuditReading) -> None:
        self.query_one(KeyedTable).sync_rows(audit_rows(reading.entries))
        shown = len(reading.entries)
        text = f"{self._path}: the last {shown} entries" if shown else f"{self._path}: none yet"
        if reading.unreadable:
            text += f" ({reading.unreadable} unreadable lines skipped)"
        self._say(text)

    def _say(self, text: str) -> None:
        self.query_one("#audit-source", Label).update(printable(text))
