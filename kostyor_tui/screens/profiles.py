"""The profile switcher (`P`, or "Switch profile" in the palette): the config file's
profiles, each with the endpoint it would connect to and whether it is read-only;
choosing one dismisses with its name, for the app to switch to it."""

from dataclasses import dataclass
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label

from kostyor_tui.config import Settings, all_profiles_summary
from kostyor_tui.domain.text import printable
from kostyor_tui.errors import KostyorTuiError
from kostyor_tui.widgets.keyed_table import KeyedTable


@dataclass(frozen=True)
class ProfileChoice:
    name: str
    endpoint: str  # any password written into it redacted
    read_only: bool
    in_use: bool


def profile_choices(settings: Settings) -> list[ProfileChoice]:
    """Every profile of the config file as the console would run it (the flags and
    environment it was started with applied), the one in use marked. Reads the file
    again: call it from a worker thread. Raises ConfigError."""
    profiles = all_profiles_summary(settings)["profiles"]
    return [
        ProfileChoice(
            name,
            str(entry["settings"]["api_url"]["value"]),
            bool(entry["settings"]["read_only"]["value"]),
            name == settings.profile_name,
        )
        for name, entry in profiles.items()
    ]


class ProfilesScreen(ModalScreen[str | None]):
    """Dismissed with the chosen profile's name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss(None)", "Close", id="profiles.close"),
    ]

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self._settings = settings

    def compose(self) -> ComposeResult:
        with Vertical(id="profiles-dialog", classes="dialog"):
            yield Label("Switch profile", classes="dialog-title", markup=False)
            yield Label(
                f"from {printable(str(self._settings.config_path))}",
                id="profiles-source",
                classes="dialog-hint",
                markup=False,
            )
            yield KeyedTable(
                [("", "in_use"), ("Profile", "name"), ("API URL", "url"), ("Read-only", "ro")],
                id="profiles-table",
            )
            yield Label("enter to connect · escape to close", classes="dialog-hint")

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()
        self._load()

    @work(thread=True, exit_on_error=False)
    def _load(self) -> None:
        try:
            choices = profile_choices(self._settings)
        except KostyorTuiError as error:
            self.app.call_from_thread(self._failed, error.one_line())
            return
        self.app.call_from_thread(self._show, choices)

    def _show(self, choices: list[ProfileChoice]) -> None:
        table = self.query_one(KeyedTable)
        table.sync_rows(
            [
                (
                    choice.name,
                    (
                        "●" if choice.in_use else "",
                        printable(choice.name),
                        printable(choice.endpoint),
                        "READ-ONLY" if choice.read_only else "no",
                    ),
                )
                for choice in choices
            ]
        )
        current = next((i for i, choice in enumerate(choices) if choice.in_use), 0)
        table.move_cursor(row=current)

    def _failed(self, message: str) -> None:
        self.query_one("#profiles-source", Label).update(printable(message))

    @on(DataTable.RowSelected)
    def _chosen(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value is not None:
            self.dismiss(str(event.row_key.value))
