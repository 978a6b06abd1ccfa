"""The view of every profile at once (`--all-profiles`, or the palette's "All profiles"):
a section per profile's endpoint, grouped by profile (region), each with its own
connection state and clusters.

Each endpoint is polled by a service of its own (`ApiService`: one poll at a time,
its own back-off), so that an endpoint down or slow shows as such in its section and
never holds up or hides the others. A cluster opened here is opened against its own
endpoint: the upgrade screen and the actions are bound to that section's service,
whose operations keep that profile's read-only guard.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.audit import audit_trail
from kostyor_tui.config import Settings
from kostyor_tui.errors import KostyorTuiError
from kostyor_tui.operations import Operations
from kostyor_tui.service import ApiService
from kostyor_tui.widgets.fleet_section import FleetSection
from kostyor_tui.widgets.requests import (
    FleetRequested,
    StartUpgradeRequested,
    UpgradeViewRequested,
)

FLEET_COMMAND = "All profiles"
FLEET_HELP = "every profile's endpoint at once, a section each (--all-profiles)"


@dataclass(frozen=True, eq=False)
class Endpoint:
    """One profile's Kostyor endpoint as the console shows it, and the service polling it."""

    profile: str
    display_url: str
    service: ApiService
    region: str | None = None
    # Whether the view of every profile started this service (and so stops it): the
    # app's own endpoint is shared with it, never polled twice.
    owned: bool = False


def profile_endpoint(
    settings: Settings,
    *,
    read_only: bool,
    clock: Callable[[], datetime],
    max_backoff: float,
    narrate: Callable[[str], None],
) -> Endpoint:
    """A service of its own for one profile's endpoint (not started). Raises the client's
    or the settings' errors (a password_command that fails, a bad CA bundle)."""
    ops = Operations(
        KostyorClient(**settings.client_options()),
        read_only=read_only or settings.read_only,
        read_only_hint=settings.read_only_hint,
        audit=audit_trail(settings),
        narrate=narrate,
    )
    service = ApiService(
        ops,
        region=settings.profile.region,
        poll_interval=settings.poll_interval,
        clock=clock,
        max_backoff=max_backoff,
    )
    return Endpoint(
        settings.profile_name, settings.display_url, service, settings.profile.region, owned=True
    )


def fleet_endpoints(
    own: Endpoint,
    profiles: Sequence[Settings],
    *,
    read_only: bool,
    clock: Callable[[], datetime],
    max_backoff: float,
    notify: Callable[..., None],
) -> list[Endpoint]:
    """An endpoint per profile, in their order: `own` (the app's, already polled) for its
    profile, a new service for each other one. A profile whose client cannot be set up
    is left out, and `notify` says why."""
    endpoints: list[Endpoint] = []
    for settings in profiles:
        profile = settings.profile_name
        if profile == own.profile:
            endpoints.append(own)
            continue
        try:
            endpoint = profile_endpoint(
                settings,
                read_only=read_only,
                clock=clock,
                max_backoff=max_backoff,
                # Told from a worker thread: notify is safe from any thread.
                narrate=partial(notify, title=f"Note ({profile})", markup=False),
            )
        except KostyorTuiError as error:
            notify(
                f"profile {profile} left out: {error.one_line()}",
                severity="error",
                timeout=8,
                markup=False,
            )
            continue
        endpoints.append(endpoint)
    return endpoints


class FleetScreen(Screen[None]):
    """A section per endpoint; the keys act on the section that has the focus. Its CSS,
    `fleet.tcss`, is loaded by the app."""

    # A cluster table, never a filter box: a key typed into it would not reach the bindings.
    AUTO_FOCUS = "#cluster-table"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "open_upgrade", "Upgrade view", id="fleet.open_upgrade"),
        Binding("u", "start_upgrade", "Start upgrade", id="fleet.start_upgrade"),
        Binding("tab", "app.focus_next", "Next pane", id="fleet.next_pane"),
        Binding("r", "refresh", "Refresh all", show=False, id="fleet.refresh"),
        Binding("a", "toggle_auto_refresh", "Auto-refresh", show=False, id="fleet.auto_refresh"),
        Binding("escape", "back", "Back", show=False, id="fleet.back"),
    ]

    def __init__(self, endpoints: Sequence[Endpoint]) -> None:
        super().__init__()
        self.endpoints = tuple(endpoints)
        self._current: FleetSection | None = None

    def compose(self) -> ComposeResult:
        count = len(self.endpoints)
        yield Static(
            f"kostyor · every profile · {count} endpoint{'s' if count != 1 else ''}",
            id="fleet-title",
            markup=False,
        )
        with VerticalScroll(id="fleet-body"):
            for endpoint in self.endpoints:
                yield FleetSection(
                    endpoint.profile, endpoint.display_url, endpoint.region, endpoint.service
                )
        yield Footer()

    @property
    def sections(self) -> list[FleetSection]:
        return list(self.query(FleetSection))

    @property
    def current_section(self) -> FleetSection:
        """The section the operator is at: the one last focused or chosen in, else the first."""
        return self._current or self.sections[0]

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint of the current section."""
        section = self.current_section
        return next(e for e in self.endpoints if e.service is section.service)

    @property
    def selected_cluster_id(self) -> str | None:
        return self.current_section.selected_cluster_id

    def on_mount(self) -> None:
        for endpoint in self.endpoints:
            if endpoint.owned:
                endpoint.service.start(self.app)
        self.current_section.cluster_list.table.focus()

    def on_unmount(self) -> None:
        for endpoint in self.endpoints:
            if endpoint.owned:
                endpoint.service.close()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        section = next(
            (node for node in event.widget.ancestors if isinstance(node, FleetSection)), None
        )
        if section is not None and section is not self._current:
            self._current = section
            self.refresh_bindings()  # whether `u` is offered depends on the profile

    def on_fleet_section_cluster_chosen(self, message: FleetSection.ClusterChosen) -> None:
        self._current = message.section
        self.post_message(UpgradeViewRequested(message.cluster_id))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 1
        return not (action == "start_upgrade" and self.endpoint.service.read_only)

    def action_open_upgrade(self) -> None:
        if self.selected_cluster_id:
            self.post_message(UpgradeViewRequested(self.selected_cluster_id))

    def action_start_upgrade(self) -> None:
        if self.selected_cluster_id:
            self.post_message(StartUpgradeRequested(self.selected_cluster_id))

    def action_refresh(self) -> None:
        for endpoint in self.endpoints:
            endpoint.service.refresh_now()
        self.notify("Refreshing every endpoint…", timeout=1.5)

    def action_toggle_auto_refresh(self) -> None:
        enabled = not self.endpoint.service.connection.auto_refresh
        for endpoint in self.endpoints:
            endpoint.service.set_auto_refresh(enabled)
        self.notify(f"Auto-refresh {'on' if enabled else 'paused (r refreshes)'}", timeout=2)

    def action_back(self) -> None:
        self.dismiss()


class FleetCommands(Provider):
    """The palette's entry to the view of every profile."""

    def _open(self) -> None:
        self.app.post_message(FleetRequested())

    async def discover(self) -> Hits:
        yield DiscoveryHit(FLEET_COMMAND, self._open, help=FLEET_HELP)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        score = max(matcher.match(FLEET_COMMAND), matcher.match(FLEET_HELP) * 0.8)
        if score > 0:
            yield Hit(score, matcher.highlight(FLEET_COMMAND), self._open, help=FLEET_HELP)
