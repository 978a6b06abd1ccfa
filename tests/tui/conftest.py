"""Helpers for the console's tests: the real app pointed at a real embedded server."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from textual.message import Message
from textual.notifications import Notify
from textual.pilot import Pilot
from textual.widgets import Button, Label

from kostyor_tui.app import KostyorApp
from kostyor_tui.config import Settings, load_settings
from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.confirm import ConfirmScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.start_upgrade import StartUpgradeScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from tests.support.canned import canned_server
from tests.support.waiting import until
from tests.tui import fixed_fleet

# Polls fast enough that a test sees several within a second.
TEST_POLL_INTERVAL = 0.2
DEADLINE = 20.0


def make_settings(
    tmp_path: Path, api_url: str, poll_interval: float = TEST_POLL_INTERVAL
) -> Settings:
    """Settings from a config file written here: never the operator's own config."""
    config = tmp_path / "kostyor-tui-test.toml"
    config.write_text(
        'default_profile = "test"\n'
        "[profiles.test]\n"
        f'api_url = "{api_url}"\n'
        f"poll_interval = {poll_interval}\n"
        'region = "RegionOne"\n'
    )
    return load_settings(config_path=config, environ={})


@pytest.fixture
def make_app(tmp_path: Path) -> Callable[..., KostyorApp]:
    def build(
        api_url: str, poll_interval: float = TEST_POLL_INTERVAL, **options: object
    ) -> KostyorApp:
        return KostyorApp(make_settings(tmp_path, api_url, poll_interval), **options)  # type: ignore[arg-type]

    return build


async def wait_for(
    pilot: Pilot[object], condition: Callable[[], object], what: str, timeout: float = DEADLINE
) -> None:
    """Let the app run until `condition` holds; fail naming `what` after a bounded deadline."""
    await until(condition, what, timeout=timeout, pause=pilot.pause)


def cluster_id_named(app: KostyorApp, name: str) -> str:
    return next(c.id for c in app.service.clusters if c.name == name and c.id)


async def select_cluster(pilot: Pilot[object], app: KostyorApp, name: str) -> str:
    """Wait for the fleet, move the sidebar cursor to `name` and wait for its detail."""
    await wait_for(pilot, lambda: any(c.name == name for c in app.service.clusters), "the fleet")
    cluster_id = cluster_id_named(app, name)
    main = app.screen
    assert isinstance(main, MainScreen)
    table = main.cluster_list.table
    await wait_for(pilot, lambda: cluster_id in table.row_keys, f"{name} in the sidebar")
    table.focus()
    # Walk the cursor with the keyboard, as an operator would.
    target = table.row_keys.index(cluster_id)
    for _ in range(table.row_count):
        if table.cursor_key == cluster_id:
            break
        await pilot.press("j" if table.cursor_row < target else "k")
    assert table.cursor_key == cluster_id, f"{name} is not in the sidebar"
    await wait_for(
        pilot, lambda: app.service.snapshot(cluster_id) is not None, f"the detail of {name}"
    )
    await pilot.pause()
    return cluster_id


def confirmation(app: KostyorApp) -> ConfirmScreen | None:
    """The confirmation on top, once its dialog is composed: the screen is pushed a moment
    before its widgets can be queried."""
    screen = app.screen
    if isinstance(screen, ConfirmScreen) and screen.query("#confirm-no"):
        return screen
    return None


async def confirm(pilot: Pilot[object], app: KostyorApp, key: str) -> str:
    """Press an action's key on the upgrade screen, answer yes; the confirmation's text."""
    await pilot.press(key)
    await wait_for(pilot, lambda: confirmation(app), "the confirmation")
    detail = str(app.screen.query_one("#confirm-detail", Label).render())
    await pilot.press("y")
    await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "back to the upgrade")
    return detail


def upgrade_status(app: KostyorApp, cluster_id: str) -> Status | None:
    snapshot = app.service.snapshot(cluster_id)
    return snapshot.status if snapshot else None


class Notices:
    """Every notification the app posts, recorded through `run_test(message_hook=notices)`:
    a toast may have timed out on a busy machine before a test looks at the screen."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, Notify):
            self.texts.append(message.notification.message)

    def any(self, text: str) -> bool:
        return any(text in notice for notice in self.texts)


def services_upgraded(app: KostyorApp, cluster_id: str) -> int:
    """How many of the cluster's instances its snapshot has at the upgrade's version."""
    snapshot = app.service.snapshot(cluster_id)
    assert snapshot is not None and snapshot.progress is not None
    return snapshot.progress.services_upgraded


async def wait_for_upgraded(
    pilot: Pilot[object],
    app: KostyorApp,
    cluster_id: str,
    more_than: int,
    what: str = "more upgraded instances",
) -> None:
    """Let the app run until more than `more_than` of the cluster's instances are upgraded."""
    await wait_for(pilot, lambda: services_upgraded(app, cluster_id) > more_than, what)


async def open_start_dialog(pilot: Pilot[object], app: KostyorApp) -> StartUpgradeScreen:
    """Press `u` on the selected cluster; its start dialog."""
    await pilot.press("u")
    await wait_for(pilot, lambda: isinstance(app.screen, StartUpgradeScreen), "the dialog")
    dialog = app.screen
    assert isinstance(dialog, StartUpgradeScreen)
    return dialog


async def start_upgrade_via_dialog(pilot: Pilot[object], app: KostyorApp) -> UpgradeScreen:
    """Press `u` on the selected cluster, start with the first offered version, land on its
    upgrade screen."""
    dialog = await open_start_dialog(pilot, app)
    start = dialog.query_one("#start-upgrade", Button)
    await wait_for(pilot, lambda: not start.disabled, "the target versions")
    await pilot.click("#start-upgrade")
    await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade screen")
    screen = app.screen
    assert isinstance(screen, UpgradeScreen)
    await wait_for(
        pilot,
        lambda: upgrade_status(app, screen.cluster_id) is Status.IN_PROGRESS,
        "the upgrade to be in progress",
    )
    return screen


@pytest.fixture
def fixed_app(tmp_path: Path) -> Iterator[Callable[[], KostyorApp]]:
    """The real console on the fixed fleet, with a fixed clock and a fixed URL in the header."""
    with canned_server(fixed_fleet.handler) as server:

        def build() -> KostyorApp:
            settings = make_settings(tmp_path, server.url, poll_interval=30)
            return KostyorApp(
                settings, clock=lambda: fixed_fleet.NOW, display_url=fixed_fleet.API_URL
            )

        yield build
