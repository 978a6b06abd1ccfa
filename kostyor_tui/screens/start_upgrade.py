"""The start-upgrade dialog: target version from the server, engine, driver, parameters."""

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from kostyor_tui.commands import parse_parameters
from kostyor_tui.domain.order import DEFAULT_DRIVER, DEFAULT_ENGINE, KNOWN_ENGINES
from kostyor_tui.errors import KostyorTuiError, UsageError
from kostyor_tui.service import ApiService, service_of


class StartUpgradeScreen(ModalScreen[str | None]):
    """Dismissed with the new upgrade's id, or None when closed without starting one."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="start.close"),
    ]

    def __init__(
        self, cluster_id: str, cluster_name: str, service: ApiService | None = None
    ) -> None:
        super().__init__()
        self.cluster_id = cluster_id
        self.cluster_name = cluster_name
        # The endpoint the cluster belongs to (None: the app's own).
        self.service = service

    def compose(self) -> ComposeResult:
        with Vertical(id="start-dialog", classes="dialog"):
            yield Label(
                f"Start an upgrade of {self.cluster_name}", classes="dialog-title", markup=False
            )
            yield Label("Target version")
            yield Select[str]([], prompt="loading versions…", id="target-version", compact=True)
            yield Label("Engine")
            yield Select[str](
                [(engine, engine) for engine in KNOWN_ENGINES],
                value=DEFAULT_ENGINE,
                allow_blank=False,
                id="engine",
                compact=True,
            )
            yield Label("Driver")
            yield Input(value=DEFAULT_DRIVER, id="driver", compact=True)
            yield Label("Parameters (key=value, space separated)")
            yield Input(placeholder="e.g. batch=2", id="parameters", compact=True)
            yield Label("", id="start-message", classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", id="start-upgrade", variant="primary", disabled=True)
                yield Button("Close", id="start-close")

    def on_mount(self) -> None:
        self.load_versions()

    @work(exit_on_error=False, group="dialog")
    async def load_versions(self) -> None:
        message = self.query_one("#start-message", Label)
        try:
            versions = await service_of(self).command(
                "list-upgrade-versions", {"cluster": self.cluster_id}
            )
        except KostyorTuiError as error:
            message.update(f"Could not read the versions: {error.one_line()}")
            return
        select = self.query_one("#target-version", Select)
        select.set_options([(version, version) for version in versions])
        if versions:
            select.prompt = "choose a version"
            select.value = versions[0]
            self.query_one("#start-upgrade", Button).disabled = False
            select.focus()
        else:
            select.prompt = "no later version"
            message.update(f"{self.cluster_name} cannot be upgraded to any later version")

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start-close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start-upgrade")
    @on(Input.Submitted)
    def _submit(self) -> None:
        message = self.query_one("#start-message", Label)
        version = self.query_one("#target-version", Select).value
        if not isinstance(version, str):
            message.update("Choose a target version first")
            return
        engine = self.query_one("#engine", Select).value
        driver = self.query_one("#driver", Input).value.strip() or None
        try:
            parameters = parse_parameters(self.query_one("#parameters", Input).value.split())
        except UsageError as error:
            message.update(error.one_line())
            return
        self.query_one("#start-upgrade", Button).disabled = True
        message.update(f"Starting the upgrade to {version}…")
        self.start(version, engine if isinstance(engine, str) else None, driver, parameters)

    @work(exit_on_error=False, group="dialog", exclusive=True)
    async def start(
        self, version: str, engine: str | None, driver: str | None, parameters: dict[str, str]
    ) -> None:
        message = self.query_one("#start-message", Label)
        try:
            upgrade = await service_of(self).command(
                "upgrade-cluster",
                {
                    "cluster": self.cluster_id,
                    "to_version": version,
                    "engine": engine,
                    "driver": driver,
                    "parameters": parameters,
                },
            )
        except KostyorTuiError as error:
            message.update(error.one_line())
            self.query_one("#start-upgrade", Button).disabled = False
            return
        message.update(f"Started upgrade {upgrade.id}")
        self.notify(
            f"Upgrade {upgrade.id} of {self.cluster_name} to {version} started",
            title="Started",
            markup=False,
        )
        self.dismiss(upgrade.id)
