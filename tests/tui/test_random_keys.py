"""Any key sequence, on any screen, leaves the console running and answering `q`: random
bursts of keys (the palette's ctrl+p, PageUp, Enter, Escape, Tab and the letters the
console binds) sent to the real app on the embedded server, from the main screen, the
cluster detail, the upgrade view, help, the palette and each modal dialog.

`q` (and ctrl+c/ctrl+q) are left out of the bursts: they end the run the test checks."""

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.command import CommandPalette
from textual.pilot import Pilot

from kostyor_tui.app import KostyorApp
from kostyor_tui.domain.order import NODE_BY_NODE
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.discover import DiscoverScreen
from kostyor_tui.screens.help import HelpScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server.runner import BackgroundServer
from kostyor_tui.server.store import FORWARD
from kostyor_tui.server.topology import role_based_hosts
from tests.tui.conftest import confirmation, make_settings, select_cluster, wait_for

KEYS = [
    "ctrl+p",
    "pageup",
    "pagedown",
    "enter",
    "escape",
    "tab",
    "shift+tab",
    "up",
    "down",
    "home",
    "end",
    "space",
    "backspace",
    "slash",
    "question_mark",
    *"abcdefgjklnoprstuxyFGR",
]


@pytest.fixture
def small_fleet(server_factory) -> BackgroundServer:
    """The demo fleet without its 520-host cluster (every key there costs a big table): a
    cluster to upgrade, one whose upgrade has finished, one with no hosts."""
    server = server_factory(seed="empty")
    store = server.store
    store.add_cluster("home_lab", "mitaka", role_based_hosts(3, 4, 1))
    staging = store.add_cluster("staging", "mitaka", role_based_hosts(1, 1, 0, prefix="s-"))
    upgrade = store.create_upgrade(
        staging["id"], "newton", engine=NODE_BY_NODE, driver="noop", parameters={}
    )
    while store.apply_step(upgrade["id"], FORWARD) == Status.IN_PROGRESS:
        pass
    store.add_cluster("legacy", "unknown", [])
    return server


Start = Callable[[Pilot[object], KostyorApp], Awaitable[object]]


async def main_screen(pilot: Pilot[object], app: KostyorApp) -> object:
    return await select_cluster(pilot, app, "home_lab")


async def cluster_detail(pilot: Pilot[object], app: KostyorApp) -> object:
    await select_cluster(pilot, app, "home_lab")
    app.main_screen.detail.component_table.focus()
    return await pilot.pause()


async def upgrade_view(pilot: Pilot[object], app: KostyorApp) -> object:
    await select_cluster(pilot, app, "staging")
    await pilot.press("o")
    return await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "upgrade view")


async def help_screen(pilot: Pilot[object], app: KostyorApp) -> object:
    await pilot.press("question_mark")
    return await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")


async def palette(pilot: Pilot[object], app: KostyorApp) -> object:
    await select_cluster(pilot, app, "home_lab")
    await pilot.press("ctrl+p")
    return await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")


async def start_dialog(pilot: Pilot[object], app: KostyorApp) -> object:
    await select_cluster(pilot, app, "home_lab")
    await pilot.press("u")
    return await wait_for(pilot, lambda: isinstance(app.screen, StartUpgradeScreen), "dialog")


async def discover_dialog(pilot: Pilot[object], app: KostyorApp) -> object:
    await wait_for(pilot, lambda: app.service.clusters, "the fleet")
    await pilot.press("d")
    return await wait_for(pilot, lambda: isinstance(app.screen, DiscoverScreen), "dialog")


async def confirm_dialog(pilot: Pilot[object], app: KostyorApp) -> object:
    # staging's upgrade has finished: a rollback is refused, and the console asks whether
    # to send it anyway.
    await upgrade_view(pilot, app)
    await wait_for(pilot, lambda: app.service.snapshot(app.current_cluster_id()), "its upgrade")
    await pilot.press("b")
    return await wait_for(pilot, lambda: confirmation(app), "the question")


STARTS: list[Start] = [
    main_screen,
    cluster_detail,
    upgrade_view,
    help_screen,
    palette,
    start_dialog,
    discover_dialog,
    confirm_dialog,
]


async def burst_then_quit(app: KostyorApp, start: Start, keys: list[str]) -> None:
    async with app.run_test(size=(100, 30)) as pilot:
        await start(pilot, app)
        for key in keys:
            await pilot.press(key)
        await pilot.pause()
        assert app.is_running, f"the console stopped after {keys}"
        # Out of every dialog and screen, back to the main screen's table, then q.
        for _ in range(12):
            if isinstance(app.screen, MainScreen) and not app.screen.query("Input:focus"):
                break
            await pilot.press("escape")
            await pilot.pause()
        assert isinstance(app.screen, MainScreen), f"stuck on {app.screen!r} after {keys}"
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, "q to quit")
    assert app.return_code == 0


@pytest.mark.timeout(900)
@pytest.mark.parametrize("start", STARTS, ids=[start.__name__ for start in STARTS])
@settings(
    max_examples=3,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=False,
)
@given(keys=st.lists(st.sampled_from(KEYS), min_size=1, max_size=15))
def test_random_keys_never_kill_the_console(
    small_fleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: Start, keys: list[str]
):
    # `e` exports the event log into the working directory.
    monkeypatch.chdir(tmp_path)
    app = KostyorApp(make_settings(tmp_path, small_fleet.url))
    asyncio.run(burst_then_quit(app, start, keys))
