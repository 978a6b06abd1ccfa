"""The start-upgrade dialog: target version from the server, engine, driver, parameters.

When the lifecycle refuses the start (a rollback in progress, a cluster the server calls
not ready), the dialog says why and offers to start it anyway, on purpose
(docs/kostyor-api.md#lifecycle).
"""

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select

from kostyor_tui.api.errors import KostyorError
from kostyor_tui.commands import parse_parameters
from kostyor_tui.domain.order import DEFAULT_DRIVER, DEFAULT_ENGINE, KNOWN_ENGINES
from kostyor_tui.errors import KostyorTuiError, Refused, UsageError
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
        # Scrolls on a small terminal: Tab brings each field and button into view.
        with VerticalScroll(id="start-dialog", classes="dialog"):
            yield Label(
                f"Start an upgrade of {self.cluster_name}", classes="dialog-title", markup=False
            )
            yield Label("Target version")
            yield Select[str]([], prompt="loading versions…", id="target-version", compact=True)
            # Free text: a server may know engines this client does not; empty sends none,
            # and the server uses its default.
            yield Label(f"Engine ({', '.join(KNOWN_ENGINES)})")
            yield Input(
                placeholder=f"empty: the server's default ({DEFAULT_ENGINE})",
                suggester=SuggestFromList(KNOWN_ENGINES, case_sensitive=False),
                id="engine",
                compact=True,
            )
            yield Label("Driver")
            yield Input(
                placeholder=f"empty: the server's default ({DEFAULT_DRIVER})",
                id="driver",
                compact=True,
            )
            yield Label("Parameters (key=value, space separated)")
            yield Input(placeholder="e.g. batch=2", id="parameters", compact=True)
            yield Label("", id="start-message", classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Start", id="start-upgrade", variant="primary", disabled=True)
                anyway = Button("Start anyway", id="start-anyway", variant="error")
                anyway.display = False  # shown when the lifecycle refuses and it may be forced
                yield anyway
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
            message.update(await self._why_no_version())

    async def _why_no_version(self) -> str:
        """Why no version is offered, as `check-upgrade` says it (an unknown version, say:
        the real server would list every release for it, docs/kostyor-api.md quirk 14)."""
        fallback = f"{self.cluster_name} cannot be upgraded to any later version"
        try:
            check = await service_of(self).command("check-upgrade", {"cluster": self.cluster_id})
        except KostyorTuiError:
            return fallback
        return f"{self.cluster_name}: {check.reason}" if check.reason else fallback

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start-close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#start-upgrade")
    @on(Input.Submitted)
    def _submit(self) -> None:
        self._send(force=False)

    @on(Button.Pressed, "#start-anyway")
    def _submit_anyway(self) -> None:
        self._send(force=True)

    def _send(self, *, force: bool) -> None:
        message = self.query_one("#start-message", Label)
        version = self.query_one("#target-version", Select).value
        if not isinstance(version, str):
            message.update("Choose a target version first")
            return
        engine = self.query_one("#engine", Input).value.strip() or None
        driver = self.query_one("#driver", Input).value.strip() or None
        try:
            parameters = parse_parameters(self.query_one("#parameters", Input).value.split())
        except UsageError as error:
            message.update(error.one_line())
            return
        self.query_one("#start-upgrade", Button).disabled = True
        self.query_one("#start-anyway", Button).display = False
        message.update(f"Starting the upgrade to {version}…")
        self.start(version, engine, driver, parameters, force)

    @work(exit_on_error=False, group="dialog", exclusive=True)
    async def start(
        self,
        version: str,
        engine: str | None,
        driver: str | None,
        parameters: dict[str, str],
        force: bool,
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
                    "force": force,
                },
            )
        except Refused as refusal:
            forceable = refusal.forceable
            message.update(
                f"{refusal.message}. The server checks nothing: started anyway, the upgrade "
                "may run where nobody planned one. Start anyway to send it on purpose."
                if forceable
                else refusal.one_line()
            )
            self.query_one("#start-upgrade", Button).disabled = False
            if forceable:
                anyway = self.query_one("#start-anyway", Button)
                anyway.display = True
                anyway.focus()
            return
        except KostyorError as error:
            if error.saved_upgrade_id is None:
                message.update(error.one_line())
                self.query_one("#start-upgrade", Button).disabled = False
                return
            # Saved although the server answered an error: never offer to start it again;
            # the operator follows it on the upgrade screen, told what happened.
            self.notify(
                error.one_line(), title="Started, with an error", severity="warning", markup=False
            )
            self.dismiss(error.saved_upgrade_id)
            return
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
