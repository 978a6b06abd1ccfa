"""The Textual console: `KostyorApp` and `run_console`, the CLI's entry into it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from textual.app import App
from textual.binding import Binding, BindingType
from textual.screen import Screen

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Cluster, Upgrade
from kostyor_tui.commands import COMMANDS
from kostyor_tui.config import Settings
from kostyor_tui.domain import lifecycle
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import KostyorTuiError
from kostyor_tui.operations import Operations
from kostyor_tui.screens.confirm import ConfirmScreen
from kostyor_tui.screens.discover import DiscoverScreen
from kostyor_tui.screens.help import HelpScreen
from kostyor_tui.screens.info import InfoScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.palette import KostyorCommands
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.service import ApiService, Clock
from kostyor_tui.widgets.cluster_list import ClusterList
from kostyor_tui.widgets.keyed_table import KeyedTable

CONFIRMATIONS: dict[str, tuple[str, str, str]] = {
    # action: (question, what happens, label of the "yes" button)
    "rollback": (
        "Roll back the upgrade of {name}?",
        "Every upgraded service instance of {name} goes back to {from_version}.",
        "Roll back",
    ),
    "cancel": (
        "Cancel the upgrade of {name}?",
        "The upgrade of {name} stops for good; upgraded instances stay at {to_version}.",
        "Cancel upgrade",
    ),
}


class KostyorApp(App[int]):
    """The operator console. Every screen reads and acts through `self.service`."""

    CSS_PATH = "console.tcss"
    TITLE = "kostyor-tui"
    COMMANDS: ClassVar = App.COMMANDS | {KostyorCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("r", "refresh", "Refresh", id="app.refresh"),
        Binding("a", "toggle_auto_refresh", "Auto-refresh", id="app.auto_refresh"),
        Binding("d", "discover", "Discover", id="app.discover"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        read_only: bool = False,
        client: KostyorClient | None = None,
        clock: Clock | None = None,
        display_url: str | None = None,
        max_backoff: float = 30.0,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.display_url = display_url or without_credentials(settings.api_url)
        ops = Operations(
            client or KostyorClient(**settings.client_options()),
            read_only=read_only,
            narrate=lambda text: self.notify(text, title="Note", markup=False),
        )
        self.service = ApiService(
            self,
            ops,
            poll_interval=settings.poll_interval,
            clock=clock or datetime.now,
            max_backoff=max_backoff,
        )
        self.palette_actions: dict[str, Callable[[], None]] = {
            "list-clusters": self._show_cluster_list,
            "cluster-status": lambda: self._show_detail_tab("components-tab"),
            "cluster-component-list": lambda: self._show_detail_tab("components-tab"),
            "list-hosts": lambda: self._show_detail_tab("hosts-tab"),
            "check-upgrade": self._check_upgrade,
            "list-upgrade-versions": self._list_upgrade_versions,
            "list-discovery-methods": self._list_discovery_methods,
            "discover-cluster": self.action_discover,
            "upgrade-cluster": lambda: self._with_cluster(self.open_start_upgrade),
            "upgrade-status": lambda: self._with_cluster(self.open_upgrade_screen),
            "list-upgrades": self._list_upgrades,
        }
        for command in COMMANDS.values():
            if command.action is not None:
                self.palette_actions[command.name] = partial_action(self, command.action)

    # Screens -----------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(
            self.settings.profile_name, self.display_url, self.settings.profile.region
        )

    def on_mount(self) -> None:
        self.service.start()

    async def on_unmount(self) -> None:
        await self.service.close()

    @property
    def main_screen(self) -> MainScreen:
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    def current_cluster_id(self) -> str | None:
        """The cluster the operator is looking at: the upgrade screen's, else the selected one."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, UpgradeScreen):
                return screen.cluster_id
            if isinstance(screen, MainScreen):
                return screen.selected_cluster_id
        return None

    def cluster_name(self, cluster_id: str) -> str:
        cluster = self.service.cluster(cluster_id)
        return (cluster.name if cluster else None) or cluster_id

    def _with_cluster(self, then: Callable[[str], None]) -> None:
        cluster_id = self.current_cluster_id()
        if cluster_id is None:
            self.notify("Select a cluster first", severity="warning")
            return
        then(cluster_id)

    def _back_to_main(self) -> MainScreen:
        while not isinstance(self.screen, MainScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        return self.main_screen

    def open_upgrade_screen(self, cluster_id: str) -> None:
        screen = self.screen
        if isinstance(screen, UpgradeScreen) and screen.cluster_id == cluster_id:
            return
        self.push_screen(UpgradeScreen(cluster_id, self.settings.profile_name, self.display_url))

    def open_start_upgrade(self, cluster_id: str) -> None:
        if self.service.refuse_start(cluster_id):
            return

        def started(upgrade: Upgrade | None) -> None:
            if upgrade is not None:
                self.open_upgrade_screen(cluster_id)

        self.push_screen(StartUpgradeScreen(cluster_id, self.cluster_name(cluster_id)), started)

    def request_upgrade_action(self, cluster_id: str, action: Action) -> None:
        """Pause/continue at once; rollback/cancel after the operator confirms."""
        if self.service.refuse_action(cluster_id, action):
            return
        if action not in CONFIRMATIONS:
            self._run_action(cluster_id, action)
            return
        snapshot = self.service.snapshot(cluster_id)
        upgrade = snapshot.upgrade if snapshot else None
        fields = {
            "name": self.cluster_name(cluster_id),
            "from_version": (upgrade.from_version if upgrade else None) or "its old version",
            "to_version": (upgrade.to_version if upgrade else None) or "the new version",
        }
        question, detail, yes_label = CONFIRMATIONS[action]

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._run_action(cluster_id, action)

        self.push_screen(
            ConfirmScreen(question.format(**fields), detail.format(**fields), yes_label),
            answered,
        )

    def _run_action(self, cluster_id: str, action: Action) -> None:
        async def act() -> None:
            # The service has already told the operator about any failure.
            with contextlib.suppress(KostyorTuiError):
                await self.service.upgrade_action(cluster_id, action)

        self.run_worker(act(), group="actions", exit_on_error=False)

    # Bindings ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "discover" and self.service.read_only)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(
            HelpScreen(
                [
                    ("everywhere", self.BINDINGS),
                    ("main", MainScreen.BINDINGS),
                    ("cluster list", ClusterList.BINDINGS),
                    ("tables", KeyedTable.BINDINGS),
                    ("upgrade view", UpgradeScreen.BINDINGS),
                    ("confirmation", ConfirmScreen.BINDINGS),
                ]
            )
        )

    def action_refresh(self) -> None:
        self.service.refresh_now()
        self.notify("Refreshing…", timeout=1.5)

    def action_toggle_auto_refresh(self) -> None:
        enabled = not self.service.connection.auto_refresh
        self.service.set_auto_refresh(enabled)
        self.notify(f"Auto-refresh {'on' if enabled else 'paused (r refreshes)'}", timeout=2)

    def action_discover(self) -> None:
        if self.service.refuse_discovery():
            return

        def discovered(cluster: Cluster | None) -> None:
            if cluster is not None and cluster.id:
                self._back_to_main().select_when_listed(cluster.id)

        self.push_screen(DiscoverScreen(), discovered)

    async def action_quit(self) -> None:
        self.exit(0)

    # Palette ---------------------------------------------------------------------------

    def run_palette_command(self, name: str) -> None:
        action = self.palette_actions.get(name)
        if action is None:
            self.notify(
                f"{name}: run it headless: kostyor-tui --command {name}", severity="warning"
            )
            return
        action()

    def _show_cluster_list(self) -> None:
        self._back_to_main().cluster_list.table.focus()

    def _show_detail_tab(self, tab: str) -> None:
        main = self._back_to_main()
        main.show_tab(tab)
        if main.selected_cluster_id is None:
            self.notify("Select a cluster first", severity="warning")

    def _check_upgrade(self) -> None:
        self._with_cluster(lambda cid: self.run_worker(self._show_check(cid), exit_on_error=False))

    async def _show_check(self, cluster_id: str) -> None:
        name = self.cluster_name(cluster_id)
        cluster = self.service.cluster(cluster_id)
        if cluster is None:
            return
        snapshot = self.service.snapshot(cluster_id)
        status = (snapshot.status if snapshot else None) or cluster.status
        try:
            versions = await self.service.upgrade_versions(cluster_id)
        except KostyorTuiError as error:
            self.notify(f"check-upgrade {name}: {error.one_line()}", severity="error", markup=False)
            return
        if status is Status.IN_PROGRESS:
            state, reason = "in progress", ""
        else:
            reason = lifecycle.start_refusal(cluster.status, cluster.version) or ""
            if not reason and not versions:
                reason = "no later version"
            state = "not ready" if reason else "ready"
        self.push_screen(
            InfoScreen(
                f"check-upgrade {name}",
                ["State", "Versions it can go to", "Reason"],
                [(state, ", ".join(versions) or "—", reason or "—")],
            )
        )

    def _list_upgrade_versions(self) -> None:
        async def show(cluster_id: str) -> None:
            try:
                versions = await self.service.upgrade_versions(cluster_id)
            except KostyorTuiError as error:
                self.notify(error.one_line(), severity="error", markup=False)
                return
            self.push_screen(
                InfoScreen(
                    f"Versions {self.cluster_name(cluster_id)} can be upgraded to",
                    ["Version"],
                    [(version,) for version in versions],
                    note="" if versions else "none",
                )
            )

        self._with_cluster(lambda cid: self.run_worker(show(cid), exit_on_error=False))

    def _list_discovery_methods(self) -> None:
        async def show() -> None:
            try:
                methods = await self.service.discovery_methods()
            except KostyorTuiError as error:
                self.notify(error.one_line(), severity="error", markup=False)
                return
            self.push_screen(
                InfoScreen("Discovery methods", ["Method"], [(method,) for method in methods])
            )

        self.run_worker(show(), exit_on_error=False)

    def _list_upgrades(self) -> None:
        cluster_id = self.current_cluster_id()

        async def show() -> None:
            try:
                upgrades = await self.service.upgrade_history(cluster_id)
            except KostyorTuiError as error:
                self.notify(error.one_line(), severity="error", markup=False)
                return
            title = f"Upgrades of {self.cluster_name(cluster_id)}" if cluster_id else "Upgrades"
            self.push_screen(
                InfoScreen(
                    title,
                    ["Upgrade", "From", "To", "Status", "Started", "Ended"],
                    [
                        (
                            upgrade.id or "?",
                            upgrade.from_version or "?",
                            upgrade.to_version or "?",
                            upgrade.status.value,
                            _when(upgrade.upgrade_start_time),
                            _when(upgrade.upgrade_end_time),
                        )
                        for upgrade in upgrades
                    ],
                )
            )

        self.run_worker(show(), exit_on_error=False)


def partial_action(app: KostyorApp, action: Action) -> Callable[[], None]:
    return lambda: app._with_cluster(lambda cid: app.request_upgrade_action(cid, action))


def without_credentials(url: str) -> str:
    """The URL as shown on screen: any `user:password@` taken out."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def run_console(settings: Settings, *, read_only: bool = False) -> int:
    """Run the console until the operator quits; the process exit code. A bad setting
    raises before the screen is taken over, to the CLI's one error boundary."""
    app = KostyorApp(settings, read_only=read_only)
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return result if isinstance(result, int) else 0
