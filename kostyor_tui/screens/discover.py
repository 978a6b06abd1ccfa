"""The discover-cluster dialog: method from the server's list, name, parameters; what the
chosen method takes is said next to them (kostyor_tui.domain.discovery)."""

from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from kostyor_tui.commands import parse_parameters
from kostyor_tui.domain.discovery import method_guide
from kostyor_tui.errors import KostyorTuiError, UsageError
from kostyor_tui.service import service_of


class DiscoverScreen(ModalScreen[str | None]):
    """Dismissed with the discovered cluster's id, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", id="discover.close"),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="discover-dialog", classes="dialog"):
            yield Label("Discover a cluster", classes="dialog-title")
            yield Label("Method")
            yield Select[str]([], prompt="loading methods…", id="discover-method", compact=True)
            yield Label("Name")
            yield Input(placeholder="name of the new cluster", id="discover-name", compact=True)
            yield Label("Parameters (key=value, space separated)")
            yield Input(id="discover-parameters", compact=True)
            yield Label("", id="discover-hint", classes="dialog-hint", markup=False)
            cloud = Input(
                placeholder="cloud of clouds.yaml (empty: OS_CLOUD)",
                id="discover-cloud",
                compact=True,
            )
            cloud.display = False  # the openstack method's only
            yield cloud
            yield Label("", id="discover-message", classes="dialog-message", markup=False)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Discover", id="discover-run", variant="primary", disabled=True)
                yield Button("Close", id="discover-close")

    def on_mount(self) -> None:
        self.load_methods()

    @work(exit_on_error=False, group="dialog")
    async def load_methods(self) -> None:
        try:
            methods = await service_of(self).command("list-discovery-methods", {})
        except KostyorTuiError as error:
            self.query_one("#discover-message", Label).update(
                f"Could not read the discovery methods: {error.one_line()}"
            )
            return
        select = self.query_one("#discover-method", Select)
        select.set_options([(method, method) for method in methods])
        if methods:
            select.prompt = "choose a method"
            select.value = methods[0]
            self.query_one("#discover-run", Button).disabled = False
        self.query_one("#discover-name", Input).focus()

    @on(Select.Changed, "#discover-method")
    def _explain_method(self, event: Select.Changed) -> None:
        method = event.value if isinstance(event.value, str) else None
        guide = method_guide(method) if method else None
        self.query_one("#discover-hint", Label).update(guide.needs if guide else "")
        parameters = self.query_one("#discover-parameters", Input)
        if guide is None:
            parameters.placeholder = "none"
        else:
            parameters.placeholder = f"e.g. {guide.example}" if guide.example else guide.empty
        self.query_one("#discover-cloud", Input).display = method == "openstack"

    def action_close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#discover-close")
    def _close(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#discover-run")
    @on(Input.Submitted)
    def _submit(self) -> None:
        message = self.query_one("#discover-message", Label)
        method = self.query_one("#discover-method", Select).value
        name = self.query_one("#discover-name", Input).value.strip()
        if not isinstance(method, str):
            message.update("Choose a discovery method first")
            return
        if not name:
            message.update("Give the new cluster a name")
            return
        try:
            parameters = parse_parameters(
                self.query_one("#discover-parameters", Input).value.split()
            )
        except UsageError as error:
            message.update(error.one_line())
            return
        cloud = self.query_one("#discover-cloud", Input).value.strip() or None
        self.query_one("#discover-run", Button).disabled = True
        message.update(f"Discovering {name} with {method}… (this may take a while)")
        self.discover(method, name, parameters, cloud if method == "openstack" else None)

    @work(exit_on_error=False, group="dialog", exclusive=True)
    async def discover(
        self, method: str, name: str, parameters: dict[str, str], os_cloud: str | None
    ) -> None:
        try:
            cluster = await service_of(self).command(
                "discover-cluster",
                {"method": method, "name": name, "parameters": parameters, "os_cloud": os_cloud},
            )
        except KostyorTuiError as error:
            self.query_one("#discover-message", Label).update(error.one_line())
            self.query_one("#discover-run", Button).disabled = False
            return
        self.notify(f"Discovered {cluster.name} ({cluster.id})", title="Discovered", markup=False)
        self.dismiss(cluster.id)
