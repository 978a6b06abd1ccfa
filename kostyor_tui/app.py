"""The Textual console: `KostyorApp` and `run_console`, the CLI's entry into it.

The app owns the screens and the shared `ApiService`. Screens and widgets ask
for things with messages (`kostyor_tui.widgets.requests`); the app answers by
pushing a screen, or by running a command of the registry in a worker thread,
as headless mode would run it. Every failure of such a command is told in one
place, `_command_finished`.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from textual import on
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen
from textual.theme import Theme
from textual.worker import Worker, WorkerState

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Cluster
from kostyor_tui.audit import audit_trail
from kostyor_tui.commands import COMMANDS, Arguments, Command
from kostyor_tui.config import Settings, save_theme
from kostyor_tui.domain.lifecycle import Action
from kostyor_tui.domain.statuses import Status
from kostyor_tui.domain.text import printable
from kostyor_tui.errors import KostyorTuiError, Refused
from kostyor_tui.operations import Audit, Operations
from kostyor_tui.screens.audit import AuditScreen
from kostyor_tui.screens.confirm import ConfirmScreen
from kostyor_tui.screens.discover import DiscoverScreen
from kostyor_tui.screens.fleet import Endpoint, FleetCommands, FleetScreen, fleet_endpoints
from kostyor_tui.screens.help import HelpScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.palette import KostyorCommands
from kostyor_tui.screens.profiles import ProfilesScreen
from kostyor_tui.screens.report import ReportScreen
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.service import ApiService
from kostyor_tui.service.api_service import MAX_BACKOFF, Clock
from kostyor_tui.widgets.alerts import alerts, cluster_statuses
from kostyor_tui.widgets.cluster_list import ClusterList
from kostyor_tui.widgets.keyed_table import KeyedTable
from kostyor_tui.widgets.requests import (
    ActionRequested,
    CommandRequested,
    FleetRequested,
    StartUpgradeRequested,
    UpgradeViewRequested,
)

CONFIRMATIONS: dict[Action, tuple[str, str, str, str]] = {
    # action: (question, what happens where the server's engine moves instances, what
    # happens where it reports nothing of them, label of the "yes" button)
    Action.ROLLBACK: (
        "Roll back the upgrade of {name}?",
        "Every upgraded service instance of {name} goes back to {from_version}.",
        "Kostyor records the rollback of {name}; this server reports no per-instance "
        "progress, so what it does on the nodes will not show here, and a rollback it "
        "starts may never be reported finished (cancel ends it).",
        "Roll back",
    ),
    Action.CANCEL: (
        "Cancel the upgrade of {name}?",
        "The upgrade of {name} stops for good; upgraded instances stay at {to_version}.",
        "The upgrade of {name} is recorded as cancelled; this server reports no "
        "per-instance progress, so which instances were upgraded is not known here.",
        "Cancel upgrade",
    ),
}


# When the lifecycle refuses an action, the console offers to send it anyway.
FORCE_DETAIL = (
    "{reason}. The server checks nothing (docs/kostyor-api.md#quirk-no-transition-checks): "
    "sent anyway, it may leave the upgrade in a state nobody planned for."
)


@dataclass(frozen=True)
class CommandRun:
    """A command running in a worker, and how its report is to be shown."""

    command: Command
    arguments: Arguments
    title: str
    service: ApiService


class KostyorApp(App[int]):
    """The operator console. Every screen reads and acts through the service of its
    endpoint: the app's own, `self.service`, unless it is bound to another profile's (in
    the view of every profile)."""

    # The fleet's CSS is the app's too: Textual loads no screen CSS_PATH for a default screen
    # (the fleet is one with --all-profiles).
    CSS_PATH: ClassVar = ["console.tcss", "screens/fleet.tcss"]
    TITLE = "kostyor-tui"
    COMMANDS: ClassVar = App.COMMANDS | {KostyorCommands, FleetCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # The footer shows the keys of the moment and these two; the rest are in help, so
        # that "? Help" always fits in 80 columns.
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("r", "refresh", "Refresh now", show=False, id="app.refresh"),
        Binding("a", "toggle_auto_refresh", "Auto-refresh", show=False, id="app.auto_refresh"),
        Binding("d", "discover", "Discover", show=False, id="app.discover"),
        # From any other screen (the main screen's own R toggles the view there).
        Binding("R", "running", "Running upgrades", show=False, id="app.running"),
        Binding("P", "switch_profile", "Switch profile", show=False, id="app.profiles"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        read_only: bool = False,
        client: KostyorClient | None = None,
        clock: Clock | None = None,
        display_url: str | None = None,
        max_backoff: float = MAX_BACKOFF,
        quit_on: Sequence[signal.Signals] = (),
        all_profiles: Sequence[Settings] | None = None,
    ) -> None:
        super().__init__()
        # Signals that end the console as `q` does (so that --demo cleans up after itself).
        self._quit_on = tuple(quit_on)
        self._statuses: dict[str, Status] | None = None
        self.settings = settings
        # `--all-profiles`: the view of every profile (these) is the first screen.
        self._all_profiles = all_profiles
        self.display_url = display_url or without_credentials(settings.api_url)
        self._read_only = read_only
        audit = audit_trail(settings)
        self.service = ApiService(
            self._operations(settings, client or KostyorClient(**settings.client_options()), audit),
            region=settings.profile.region,
            poll_interval=settings.poll_interval,
            clock=clock or datetime.now,
            max_backoff=max_backoff,
            audit=audit,
        )
        self._runs: dict[Worker[Any], CommandRun] = {}
        # The theme applied as the profile's (Textual's default where it names none): a
        # theme picked in the palette instead is saved to the profile.
        self._default_theme = self.theme
        self._profile_theme = self.theme
        self._keymap_applied: dict[str, str] = {}

    def _operations(
        self, settings: Settings, client: KostyorClient, audit: Audit | None
    ) -> Operations:
        return Operations(
            client,
            read_only=self._read_only or settings.read_only,
            read_only_hint=settings.read_only_hint,
            audit=audit,
            # Told from a worker thread: notify is safe from any thread.
            narrate=lambda text: self.notify(text, title="Note", markup=False),
        )

    # Screens -----------------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        if self._all_profiles is not None:
            return self._fleet_screen(self._all_profiles)
        return MainScreen(
            self.settings.profile_name, self.display_url, self.settings.profile.region
        )

    def _fleet_screen(self, profiles: Sequence[Settings]) -> FleetScreen:
        """The view of every profile: the app's own endpoint shared, a service started for
        each other one. A profile whose client cannot be set up is left out, and said so."""
        endpoints = fleet_endpoints(
            self._own_endpoint(),
            profiles,
            read_only=self._read_only,
            clock=self.service.clock,
            max_backoff=self.service.max_backoff,
            notify=self.notify,
        )
        return FleetScreen(endpoints)

    @on(FleetRequested)
    def _open_fleet(self) -> None:
        if self._in_fleet():
            self.notify("Every profile is shown already (escape goes back)", timeout=2)
            return
        try:
            profiles = [
                self.settings.with_profile(name) for name in self.settings.profile_names
            ] or [self.settings]
        except KostyorTuiError as error:
            self.notify(error.one_line(), title="Failed", severity="error", markup=False)
            return
        self.push_screen(self._fleet_screen(profiles))

    def _endpoint_here(self) -> Endpoint:
        """The endpoint the operator is looking at: that of the topmost screen bound to
        one (an upgrade screen, the view of every profile), else the app's own."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, FleetScreen):
                return screen.endpoint
            if isinstance(screen, UpgradeScreen) and screen.service is not None:
                return Endpoint(screen.profile, screen.api_url, screen.service)
            if isinstance(screen, MainScreen):
                break
        return self._own_endpoint()

    def _own_endpoint(self) -> Endpoint:
        return Endpoint(
            self.settings.profile_name,
            self.display_url,
            self.service,
            self.settings.profile.region,
        )

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for signum in self._quit_on:
            loop.add_signal_handler(signum, self.exit, 128 + signum)
        self.watch(self.service, "clusters", self._alert_changes)
        self._apply_profile_look(self.settings)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        self.service.start(self)

    def _alert_changes(self, clusters: tuple[Cluster, ...]) -> None:
        """An upgrade failed, paused or ended: a toast names it, and the bell rings."""
        found = alerts(self._statuses, clusters) if self._statuses is not None else []
        if clusters:
            self._statuses = cluster_statuses(clusters)
        for alert in found:
            self.notify(alert.text, severity=alert.severity, timeout=8, markup=False)
        if found and self.settings.bell:
            self.bell()

    def on_unmount(self) -> None:
        self.service.close()

    @property
    def main_screen(self) -> MainScreen:
        return next(s for s in self.screen_stack if isinstance(s, MainScreen))

    def current_cluster_id(self) -> str | None:
        """The cluster the operator is looking at: the upgrade screen's, else the selected one."""
        for screen in reversed(self.screen_stack):
            if isinstance(screen, UpgradeScreen):
                return screen.cluster_id
            if isinstance(screen, MainScreen | FleetScreen):
                return screen.selected_cluster_id
        return None

    def _back_to_main(self) -> MainScreen:
        while not isinstance(self.screen, MainScreen) and len(self.screen_stack) > 1:
            self.pop_screen()
        return self.main_screen

    # Profiles, and their look: theme and keys ------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Switch profile",
            "Connect to another profile of the config file (P)",
            self.action_switch_profile,
        )
        yield SystemCommand(
            "Audit trail",
            "The recent actions and upgrade starts, sent or refused (the audit file)",
            self.action_audit_trail,
        )

    def action_switch_profile(self) -> None:
        if isinstance(self.screen, ProfilesScreen):
            return

        def chosen(name: str | None) -> None:
            if name is not None and name != self.settings.profile_name:
                self.notify(f"Connecting to profile {name}…", timeout=2, markup=False)
                self.run_worker(
                    partial(self._connect, name),
                    name="switch-profile",
                    group="profiles",
                    thread=True,
                    exclusive=True,
                    exit_on_error=False,
                )

        self.push_screen(ProfilesScreen(self.settings), chosen)

    def _connect(self, name: str) -> None:
        """In a worker thread: the profile's settings and client (its password_command or
        token_command may take a while), then the switch on the UI thread."""
        try:
            settings = self.settings.with_profile(name)
            client = KostyorClient(**settings.client_options())
        except KostyorTuiError as error:
            self.notify(
                f"Cannot switch to profile {name}: {error.one_line()}",
                title="Failed",
                severity="error",
                timeout=8,
                markup=False,
            )
            return
        self.call_from_thread(self._switch, settings, client)

    def _switch(self, settings: Settings, client: KostyorClient) -> None:
        """Reconnect the service to the profile of `settings`: its endpoint, read-only
        mode, poll interval, audit stamp, keys and theme; the main screen shows it."""
        busy = self._sending()
        if busy is not None:
            # The switch closes the client it uses: what it sent would not be known.
            client.close()
            self.notify(
                f"Not switched to profile {settings.profile_name}: {busy} is still open or "
                "running; close it or let it finish first",
                severity="warning",
                markup=False,
            )
            return
        self.settings = settings
        self.display_url = settings.display_url
        self._statuses = None  # another endpoint's fleet: nothing to alert of at first sight
        audit = audit_trail(settings)
        self.service.reconnect(
            self._operations(settings, client, audit),
            region=settings.profile.region,
            poll_interval=settings.poll_interval,
            audit=audit,
        )
        self._back_to_main().show_profile(
            settings.profile_name, self.display_url, settings.profile.region
        )
        self._apply_profile_look(settings)
        self.notify(
            f"Profile {settings.profile_name}: {settings.display_url}"
            + (" (read-only)" if self.service.read_only else ""),
            timeout=3,
            markup=False,
        )

    def _sending(self) -> str | None:
        """What may be sending through the service's client now, if anything."""
        for run in self._runs.values():
            return run.title
        for screen in self.screen_stack:
            if isinstance(screen, StartUpgradeScreen):
                return "the start-upgrade dialog"
            if isinstance(screen, DiscoverScreen):
                return "the discovery dialog"
        return None

    def _apply_profile_look(self, settings: Settings) -> None:
        keymap = console_keymap(settings.keymap)
        if keymap != self._keymap_applied:
            self._keymap_applied = keymap
            self.set_keymap(keymap)
            unknown = sorted(set(settings.keymap) - binding_ids())
            if unknown:
                self.notify(
                    f"[keymap] of {settings.config_path}: no key binding has the id "
                    f"{', '.join(unknown)} (? lists the keys)",
                    severity="warning",
                    timeout=8,
                    markup=False,
                )
        theme = settings.theme or self._default_theme
        if theme not in self.available_themes:
            self.notify(
                f"Unknown theme {theme!r} in profile {settings.profile_name} "
                "(ctrl+p, Theme: the themes there are)",
                severity="warning",
                markup=False,
            )
            theme = self._default_theme
        self._profile_theme = theme
        self.theme = theme

    def _theme_changed(self, theme: Theme) -> None:
        """A theme picked in the palette is saved to the profile, comments kept."""
        if theme.name == self._profile_theme:
            return
        self._profile_theme = theme.name
        self.run_worker(
            partial(self._save_theme, self.settings, theme.name),
            name="save-theme",
            group="theme",
            thread=True,
            exit_on_error=False,
        )

    def _save_theme(self, settings: Settings, theme: str) -> None:
        try:
            path = save_theme(settings, theme)
        except KostyorTuiError as error:
            self.notify(f"Theme not saved: {error.one_line()}", severity="error", markup=False)
            return
        self.notify(
            f"Theme {theme} saved to profile {settings.profile_name} in {path}",
            timeout=3,
            markup=False,
        )

    def action_audit_trail(self) -> None:
        if not isinstance(self.screen, AuditScreen):
            self.push_screen(AuditScreen(self.settings.audit_path))

    @on(UpgradeViewRequested)
    def _open_upgrade_view(self, request: UpgradeViewRequested) -> None:
        screen, here = self.screen, self._endpoint_here()
        if (
            isinstance(screen, UpgradeScreen)
            and screen.cluster_id == request.cluster_id
            and screen.service is here.service
        ):
            return
        self.push_screen(
            UpgradeScreen(request.cluster_id, here.profile, here.display_url, here.service)
        )

    @on(StartUpgradeRequested)
    def _open_start_upgrade(self, request: StartUpgradeRequested) -> None:
        cluster_id = request.cluster_id
        service = self._endpoint_here().service
        if self._refused_read_only(
            f"starting an upgrade of {service.cluster_name(cluster_id)}",
            service,
            "start-upgrade",
            cluster_id,
        ):
            return

        def started(upgrade_id: str | None) -> None:
            if upgrade_id is not None:
                self.post_message(UpgradeViewRequested(cluster_id))

        self.push_screen(
            StartUpgradeScreen(cluster_id, service.cluster_name(cluster_id), service), started
        )

    @on(ActionRequested)
    def _request_action(self, request: ActionRequested) -> None:
        """Pause/continue at once; rollback/cancel after the operator confirms."""
        cluster_id, action = request.cluster_id, request.action
        service = self._endpoint_here().service
        name = service.cluster_name(cluster_id)
        if self._refused_read_only(
            f"{action} of the upgrade of {name}", service, str(action), cluster_id
        ):
            return
        # An action the console already knows to be invalid goes straight to the
        # operations, whose refusal says why (and offers to force it).
        if action not in CONFIRMATIONS or service.action_refusal(cluster_id, action):
            self._run_action(cluster_id, action, service)
            return
        snapshot = service.snapshot(cluster_id)
        upgrade = snapshot.upgrade if snapshot else None
        fields = {
            "name": printable(name),
            "from_version": printable(upgrade.from_version or "") if upgrade else "",
            "to_version": printable(upgrade.to_version or "") if upgrade else "",
        }
        fields["from_version"] = fields["from_version"] or "its old version"
        fields["to_version"] = fields["to_version"] or "the new version"
        question, moving, silent, yes_label = CONFIRMATIONS[action]
        detail = moving if snapshot is not None and snapshot.progress_reported else silent

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._run_action(cluster_id, action, service)

        self.push_screen(
            ConfirmScreen(question.format(**fields), detail.format(**fields), yes_label),
            answered,
        )

    def _run_action(self, cluster_id: str, action: Action, service: ApiService) -> None:
        title = f"the {action} of the upgrade of {printable(service.cluster_name(cluster_id))}"
        self._run_command(COMMANDS[f"upgrade-{action}"], {"cluster": cluster_id}, title, service)

    def _refused_read_only(
        self, what: str, service: ApiService, action: str, cluster_id: str | None = None
    ) -> bool:
        """True, and the operator told why (and the audit trail), when `service`'s
        read-only mode refuses `what`."""
        try:
            service.guard(what, action, cluster_id)
        except KostyorTuiError as refusal:
            self.notify(refusal.one_line(), title="Refused", severity="error", markup=False)
            return True
        return False

    # Commands: the palette's, and the actions' ------------------------------------------

    @on(CommandRequested)
    def _palette_command(self, request: CommandRequested) -> None:
        """Run a registry command the console's way: arguments from what is on screen, the
        report shown in a dialog; commands that need more open their dialog."""
        command = COMMANDS[request.name]
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.settle_moves()  # the command is for the highlighted cluster
        cluster_id = self.current_cluster_id()
        service = self._endpoint_here().service
        if command.name == "discover-cluster":
            self.action_discover()
            return
        if command.takes_cluster and cluster_id is None:
            self.notify("Select a cluster first", severity="warning")
            return
        assert cluster_id is not None or not command.takes_cluster
        if command.name == "upgrade-cluster":
            self.post_message(StartUpgradeRequested(cluster_id or ""))
            return
        if command.action is not None:
            self.post_message(ActionRequested(cluster_id or "", command.action))
            return
        arguments: dict[str, Any] = {"cluster": cluster_id} if command.takes_cluster else {}
        title = command.name
        if command.name == "upgrade-status":
            snapshot = service.snapshot(cluster_id)
            if snapshot is None or snapshot.upgrade is None or snapshot.upgrade.id is None:
                self.notify("Select a cluster that has had an upgrade", severity="warning")
                return
            arguments = {"upgrade_uuid": snapshot.upgrade.id}
        elif command.name == "list-upgrades" and cluster_id is not None:
            arguments = {"cluster": cluster_id}
        if cluster_id is not None and ("cluster" in arguments or "upgrade_uuid" in arguments):
            title = f"{command.name} {service.cluster_name(cluster_id)}"
        self._run_command(command, arguments, title, service)

    def _run_command(
        self, command: Command, arguments: Arguments, title: str, service: ApiService
    ) -> None:
        worker = self.run_worker(
            partial(service.run_command, command, arguments),
            name=command.name,
            group="commands",
            thread=True,
            exit_on_error=False,
        )
        self._runs[worker] = CommandRun(command, arguments, title, service)

    def _offer_to_force(self, run: CommandRun, refusal: Refused) -> None:
        """The lifecycle refused: say why, and send it anyway only if the operator says so."""

        def answered(confirmed: bool | None) -> None:
            if confirmed:
                self._run_command(
                    run.command, {**run.arguments, "force": True}, run.title, run.service
                )

        self.push_screen(
            ConfirmScreen(
                f"Send {run.title} anyway?" if run.command.action else f"Run {run.title} anyway?",
                FORCE_DETAIL.format(reason=printable(refusal.message)),
                "Send anyway",
            ),
            answered,
        )

    @on(Worker.StateChanged)
    def _command_finished(self, event: Worker.StateChanged) -> None:
        """The one place a command's outcome is shown: its report, or its failure."""
        run = self._runs.get(event.worker)
        if run is None or event.state not in (
            WorkerState.SUCCESS,
            WorkerState.ERROR,
            WorkerState.CANCELLED,
        ):
            return
        del self._runs[event.worker]
        if event.state is WorkerState.SUCCESS:
            report = event.worker.result
            if run.command.action is not None and report is not None:
                sent = f"{run.command.action.capitalize()} sent"
                if report.status_from == "cluster":
                    # The server left the upgrade's status null: what it is now is the
                    # cluster's (docs/kostyor-api.md#quirk-null-upgrade-status).
                    outcome = (
                        f"the cluster is now {report.status} (upgrade {report.id} has no "
                        "status of its own)"
                    )
                else:
                    outcome = f"upgrade {report.id} is now {report.status}"
                self.notify(f"{sent}: {outcome}", markup=False)
            else:
                self.push_screen(ReportScreen(run.title, report))
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            if isinstance(error, Refused) and error.forceable:
                self._offer_to_force(run, error)
                return
            text = (
                error.one_line()
                if isinstance(error, KostyorTuiError)
                else f"unexpected {type(error).__name__}: {error} (a bug in kostyor-tui)"
            )
            self.notify(
                f"{run.title} failed: {text}",
                title="Failed",
                severity="error",
                timeout=8,
                markup=False,
            )

    # Bindings ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action == "discover" and (self.service.read_only or self._in_fleet()))

    def _in_fleet(self) -> bool:
        return any(isinstance(screen, FleetScreen) for screen in self.screen_stack)

    def action_help(self) -> None:
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(
            HelpScreen(
                [
                    (section, rekeyed(bindings, self._keymap_applied))
                    for section, bindings in (
                        ("everywhere", self.BINDINGS),
                        ("main", MainScreen.BINDINGS),
                        ("every profile", FleetScreen.BINDINGS),
                        ("cluster list", ClusterList.BINDINGS),
                        ("tables", KeyedTable.BINDINGS),
                        ("upgrade view", UpgradeScreen.BINDINGS),
                        ("confirmation", ConfirmScreen.BINDINGS),
                    )
                ]
            )
        )

    def action_refresh(self) -> None:
        self._endpoint_here().service.refresh_now()
        self.notify("Refreshing…", timeout=1.5)

    def action_toggle_auto_refresh(self) -> None:
        service = self._endpoint_here().service
        enabled = not service.connection.auto_refresh
        service.set_auto_refresh(enabled)
        self.notify(f"Auto-refresh {'on' if enabled else 'paused (r refreshes)'}", timeout=2)

    def action_running(self) -> None:
        """Back to the main screen, showing the unfinished upgrades only."""
        self._back_to_main().action_running(only=True)

    def action_discover(self) -> None:
        # Discovery adds to the app's own endpoint and shows the cluster on its main screen.
        if self._in_fleet():
            self.notify("Discover from a profile's own console (kostyor-tui --profile P)")
            return
        if self._refused_read_only("discovery", self.service, "discover"):
            return

        def discovered(cluster_id: str | None) -> None:
            if cluster_id is not None:
                self._back_to_main().select_when_listed(cluster_id)

        self.push_screen(DiscoverScreen(), discovered)

    async def action_quit(self) -> None:
        self.exit(0)


def console_keymap(keymap: Mapping[str, str]) -> dict[str, str]:
    """The config file's keymap for `App.set_keymap`. A key given to an upgrade action
    (`upgrade.pause`) also goes to the hidden binding that asks for it when it is not
    valid now (`upgrade.pause_anyway`), unless that is given a key of its own."""
    full = dict(keymap)
    for binding_id, keys in keymap.items():
        full.setdefault(f"{binding_id}_anyway", keys)
    return full


def binding_ids() -> set[str]:
    """The id of every binding of every Textual class loaded (the console's and
    Textual's own): what a keymap can name."""
    ids: set[str] = set()
    classes: list[type[DOMNode]] = [DOMNode]
    while classes:
        cls = classes.pop()
        classes.extend(cls.__subclasses__())
        ids.update(
            binding.id
            for binding in vars(cls).get("BINDINGS", ())
            if isinstance(binding, Binding) and binding.id
        )
    return ids


def rekeyed(bindings: Iterable[BindingType], keymap: Mapping[str, str]) -> list[BindingType]:
    """`bindings` with the keys `keymap` gives them: the keys in force, for help."""
    keyed: list[BindingType] = []
    for binding in bindings:
        keys = keymap.get(binding.id or "") if isinstance(binding, Binding) else None
        keyed.append(binding.with_key(keys) if keys and isinstance(binding, Binding) else binding)
    return keyed


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


def run_console(
    settings: Settings, *, read_only: bool = False, all_profiles: Sequence[Settings] | None = None
) -> int:
    """Run the console until the operator quits; the process exit code. A bad setting
    raises before the screen is taken over, to the CLI's one error boundary. With
    `all_profiles`, it opens on the view of every one of them."""
    app = KostyorApp(
        settings,
        read_only=read_only,
        quit_on=(signal.SIGHUP, signal.SIGTERM),
        all_profiles=all_profiles,
    )
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return result if isinstance(result, int) else 0
