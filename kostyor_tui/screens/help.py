"""Help (`?`): what each screen is for and every key, read from the classes' BINDINGS."""

from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

SCREENS_TEXT = (
    "Main: the cluster list (coloured state, / to filter) and the selected cluster's "
    "components and hosts. Upgrade view: progress, hosts in engine order, the event log "
    "of every change seen, and Pause / Continue / Rollback / Cancel when valid. "
    "Arrow keys move as well as j/k. ctrl+p opens the command palette with every command."
)


def key_rows(
    sections: Sequence[tuple[str, Iterable[BindingType]]],
    key_display: Callable[[Binding], str],
) -> list[tuple[str, str, str]]:
    """(section, keys as shown in the footer, description) for every described binding."""
    rows = []
    for section, bindings in sections:
        for binding in bindings:
            if not isinstance(binding, Binding) or not binding.description:
                continue
            keys = ", ".join(
                key_display(Binding(key.strip(), binding.action)) for key in binding.key.split(",")
            )
            rows.append((section, keys, binding.description))
    return rows


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "Close help", id="help.close"),
    ]

    def __init__(self, sections: Sequence[tuple[str, Iterable[BindingType]]]) -> None:
        super().__init__()
        self._sections = sections

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Where")
        table.add_column("Keys", style="bold #ffd75f")
        table.add_column("Does")
        for section, keys, description in key_rows(self._sections, self.app.get_key_display):
            table.add_row(section, keys, description)
        with VerticalScroll(id="help-dialog", classes="dialog"):
            yield Static(Text("kostyor-tui help", style="bold"), classes="dialog-title")
            yield Static(SCREENS_TEXT, id="help-screens")
            yield Static(table, id="help-keys")
            yield Static("escape to close", classes="dialog-hint")
