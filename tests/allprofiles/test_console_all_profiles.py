"""The console's view of every profile: two real embedded servers behind two profiles of a
config file, the real app through Pilot. Each endpoint keeps its own connection state; one
stopped or hung never stops the other updating; a cluster opened there is acted on at its
own endpoint, through its own profile's read-only guard."""

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import Label

from kostyor_tui.api.client import KostyorClient
from kostyor_tui.api.models import Upgrade
from kostyor_tui.app import KostyorApp
from kostyor_tui.config import Settings
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.fleet import FleetScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server.runner import BackgroundServer
from kostyor_tui.widgets.fleet_section import FleetSection
from kostyor_tui.widgets.status_header import StatusHeader
from tests.allprofiles.conftest import every_profile, profiles_for, write_profiles
from tests.tui.conftest import Notices, start_upgrade_via_dialog, wait_for

SIZE = (120, 60)


def header_text(section: FleetSection) -> str:
    return str(section.query_one(StatusHeader).render())


def shown_names(section: FleetSection) -> set[str]:
    table = section.cluster_list.table
    return {str(table.row_cells(key)[1]) for key in table.row_keys}  # type: ignore[index]


def fleet_of(app: KostyorApp) -> FleetScreen:
    screen = app.screen
    assert isinstance(screen, FleetScreen), screen
    return screen


def cluster_id(server: BackgroundServer, name: str) -> str:
    with KostyorClient(api_url=server.url) as client:
        return next(c.id for c in client.list_clusters() if c.name == name and c.id)


def upgrades(server: BackgroundServer) -> list[Upgrade]:
    with KostyorClient(api_url=server.url) as client:
        return client.list_upgrades()


def upgrade_ids(server: BackgroundServer) -> set[str | None]:
    return {upgrade.id for upgrade in upgrades(server)}


async def choose(pilot: Pilot[object], section: FleetSection, name: str) -> None:
    """Focus the section's list and walk its cursor to `name` with the keyboard."""
    table = section.cluster_list.table
    await wait_for(pilot, lambda: name in shown_names(section), f"{name} in {section.profile}")
    table.focus()
    await pilot.pause()
    for _ in range(table.row_count):
        if str(table.row_cells(table.cursor_key or "")[1]) == name:  # type: ignore[index]
            break
        await pilot.press("j")
    assert section.selected_cluster_id == table.cursor_key
    assert str(table.row_cells(table.cursor_key or "")[1]) == name  # type: ignore[index]


def fleet_app(config: Path) -> tuple[KostyorApp, list[Settings]]:
    profiles = every_profile(config)
    return KostyorApp(profiles[0], all_profiles=profiles), profiles


async def test_the_console_shows_both_fleets_grouped_by_profile(
    tmp_path: Path, east_and_west: tuple[BackgroundServer, BackgroundServer]
) -> None:
    east, west = east_and_west
    app, _ = fleet_app(write_profiles(tmp_path / "c.toml", profiles_for(east, west)))
    async with app.run_test(size=SIZE) as pilot:
        fleet = fleet_of(app)
        east_section, west_section = fleet.sections
        assert (east_section.profile, west_section.profile) == ("east", "west")
        assert east_section.border_title == "east · RegionEast"
        # Its CSS is loaded though it is the first screen: a bordered box per profile.
        assert east_section.styles.border_top[0] == "round"
        await wait_for(pilot, lambda: "east_only" in shown_names(east_section), "east's fleet")
        await wait_for(pilot, lambda: "west_only" in shown_names(west_section), "west's fleet")
        assert "west_only" not in shown_names(east_section)
        assert "east_only" not in shown_names(west_section)
        assert "home_lab" in shown_names(east_section) & shown_names(west_section)
        # Each section says which endpoint it is, and that it is connected.
        for section, server in ((east_section, east), (west_section, west)):
            await wait_for(pilot, lambda s=section: "● connected" in header_text(s), "connected")
            assert server.url in header_text(section)
        # The app's own endpoint is shared with its section, never polled twice.
        assert east_section.service is app.service
        assert west_section.service is not app.service


async def test_one_endpoint_stopped_is_disconnected_while_the_other_keeps_updating(
    tmp_path: Path, east_and_west: tuple[BackgroundServer, BackgroundServer]
) -> None:
    east, west = east_and_west
    app, _ = fleet_app(write_profiles(tmp_path / "c.toml", profiles_for(east, west)))
    async with app.run_test(size=SIZE) as pilot:
        east_section, west_section = fleet_of(app).sections
        await wait_for(pilot, lambda: "west_only" in shown_names(west_section), "west's fleet")
        await wait_for(pilot, lambda: "east_only" in shown_names(east_section), "east's fleet")
        west.stop()
        await wait_for(
            pilot, lambda: "✖ disconnected" in header_text(west_section), "west disconnected"
        )
        assert "retry in" in header_text(west_section)
        # An upgrade started on the live endpoint: its section follows it.
        home_lab = cluster_id(east, "home_lab")
        with KostyorClient(api_url=east.url) as client:
            client.create_upgrade(home_lab, "newton")

        def east_moved() -> bool:
            cluster = east_section.service.cluster(home_lab)
            return cluster is not None and cluster.status in (
                Status.IN_PROGRESS,
                Status.SUCCEEDED,
            )

        await wait_for(pilot, east_moved, "east's upgrade in its section")
        assert "● connected" in header_text(east_section)
        # The stopped endpoint's last good data stays on screen, marked disconnected.
        assert "west_only" in shown_names(west_section)
        assert west_section.service.connection.connected is False


@pytest.fixture
def hung_endpoint() -> Iterator[socket.socket]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        yield listener
    finally:
        listener.close()


async def test_a_hung_endpoint_never_hides_the_other(
    tmp_path: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
    hung_endpoint: socket.socket,
) -> None:
    _, west = east_and_west
    hung_url = f"http://127.0.0.1:{hung_endpoint.getsockname()[1]}"
    profiles = profiles_for(hung_url, west)
    profiles["east"]["timeout"] = 300
    app, _ = fleet_app(write_profiles(tmp_path / "c.toml", profiles))
    async with app.run_test(size=SIZE) as pilot:
        east_section, west_section = fleet_of(app).sections
        try:
            await wait_for(pilot, lambda: "west_only" in shown_names(west_section), "west's fleet")
            # East's first poll is still waiting for an answer that never comes.
            assert east_section.service.connection.connected is None
            assert east_section.service.connection.polling_since is not None
            assert "◌ connecting…" in header_text(east_section)
            assert shown_names(east_section) == set()
        finally:
            # Let the hung poll go: the connections waiting on the port are reset.
            hung_endpoint.close()
        await wait_for(
            pilot, lambda: east_section.service.connection.connected is False, "east failed"
        )
        assert "✖ disconnected" in header_text(east_section)
        assert "west_only" in shown_names(west_section)


async def test_actions_go_to_their_own_endpoint_and_a_read_only_profile_refuses(
    tmp_path: Path,
    east_and_west: tuple[BackgroundServer, BackgroundServer],
    private_state_directory: Path,
) -> None:
    east, west = east_and_west
    config = write_profiles(tmp_path / "c.toml", profiles_for(east, west, read_only=True))
    app, _ = fleet_app(config)
    notices = Notices()
    before = {server.url: upgrade_ids(server) for server in (east, west)}
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        fleet = fleet_of(app)
        east_section, west_section = fleet.sections
        # West is read-only: `u` is not offered in its section, and on its upgrade screen
        # an action key is refused by the guard, naming the profile.
        await choose(pilot, west_section, "home_lab")
        assert fleet.endpoint.profile == "west"
        assert not fleet.check_action("start_upgrade", ())
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "west's upgrade view")
        upgrade_screen = app.screen
        assert isinstance(upgrade_screen, UpgradeScreen)
        assert upgrade_screen.service is west_section.service
        assert upgrade_screen.profile == "west"
        assert not upgrade_screen.query_one("#upgrade-buttons").display
        await pilot.press("p")
        await wait_for(pilot, lambda: notices.any("profile 'west' is read-only"), "the refusal")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), "the fleet again")
        # East is not: an upgrade started from its section reaches east's server only.
        await choose(pilot, east_section, "home_lab")
        assert fleet.endpoint.profile == "east"
        screen = await start_upgrade_via_dialog(pilot, app)  # type: ignore[arg-type]
        assert screen.service is east_section.service
    east_new = [u for u in upgrades(east) if u.id not in before[east.url]]
    assert [u.cluster_id for u in east_new] == [cluster_id(east, "home_lab")]
    assert upgrade_ids(west) == before[west.url]
    audit = private_state_directory / "kostyor-tui" / "audit.jsonl"
    entries = [json.loads(line) for line in audit.read_text().splitlines()]
    # The upgrade is recorded as east's; west's refusal sent nothing.
    assert [(e["profile"], e["action"], e["outcome"]) for e in entries] == [
        ("east", "start-upgrade", "done")
    ]


async def test_the_palette_opens_every_profile_and_escape_closes_it(
    tmp_path: Path, east_and_west: tuple[BackgroundServer, BackgroundServer]
) -> None:
    east, west = east_and_west
    profiles = every_profile(write_profiles(tmp_path / "c.toml", profiles_for(east, west)))
    app = KostyorApp(profiles[0])
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.service.clusters, "the console's own fleet")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"All profiles")
        await wait_for(
            pilot, lambda: app.screen.query_one("CommandList").option_count > 0, "the hits"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen), "every profile")
        east_section, west_section = fleet_of(app).sections
        assert east_section.service is app.service
        await wait_for(pilot, lambda: "west_only" in shown_names(west_section), "west's fleet")
        west_service = west_section.service
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        # West's service was the view's own: it stopped with it; the app's own polls on.
        assert west_service._closed
        assert not app.service._closed


async def test_discovery_is_left_to_a_profiles_own_console(
    tmp_path: Path, east_and_west: tuple[BackgroundServer, BackgroundServer]
) -> None:
    east, west = east_and_west
    app, _ = fleet_app(write_profiles(tmp_path / "c.toml", profiles_for(east, west)))
    notices = Notices()
    async with app.run_test(size=SIZE, message_hook=notices) as pilot:
        fleet = fleet_of(app)
        await wait_for(pilot, lambda: "west_only" in shown_names(fleet.sections[1]), "the fleet")
        assert not app.check_action("discover", ())
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"discover-cluster")
        await wait_for(
            pilot, lambda: app.screen.query_one("CommandList").option_count > 0, "the hits"
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: notices.any("Discover from a profile's own console"), "why")
        assert app.screen is fleet


async def test_an_endpoint_without_clusters_says_where_to_discover_one(
    tmp_path: Path, server_factory: Any
) -> None:
    """Discovery is off in this view: the empty box must not offer its key."""
    east, empty = server_factory(), server_factory(seed="empty")
    app, _ = fleet_app(write_profiles(tmp_path / "c.toml", profiles_for(east, empty)))
    async with app.run_test(size=SIZE) as pilot:
        west_section = fleet_of(app).sections[1]
        note = west_section.query_one("#cluster-empty", Label)
        await wait_for(pilot, lambda: note.display, "the empty note")
        assert str(note.render()) == (
            "No cluster yet: discover one from this profile's own console."
        )
