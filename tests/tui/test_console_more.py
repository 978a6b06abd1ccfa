"""Palette, help, discovery, auto-refresh and a broken API, against the embedded server."""

import io

from rich.console import Console
from textual.command import CommandPalette
from textual.widgets import Button, Input, Label, Static

from kostyor_tui.screens.discover import DiscoverScreen
from kostyor_tui.screens.help import HelpScreen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.report import ReportScreen
from kostyor_tui.widgets.keyed_table import KeyedTable
from kostyor_tui.widgets.status_header import StatusHeader
from tests.tui.conftest import open_start_dialog, select_cluster, wait_for


def header_text(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_the_palette_offers_every_command_and_runs_one(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "home_lab")
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), "the palette")
        await pilot.press(*"list-discovery-methods")
        await wait_for(
            pilot,
            lambda: app.screen.query_one("CommandList").option_count > 0,
            "the palette's hits",
        )
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportScreen), "the methods")
        methods = app.screen.query_one(KeyedTable)
        shown = {str(methods.row_cells(key)[0]) for key in methods.row_keys}
        assert {"simulated", "openstack-ansible"} <= shown
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_help_lists_the_keys(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "help")
        console = Console(width=100, record=True, file=io.StringIO())
        console.print(app.screen.query_one("#help-keys", Static).content)
        keys = console.export_text()
        for expected in ("Pause", "Rollback", "Filter", "Refresh", "Auto-refresh", "Quit"):
            assert expected in keys
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)


async def test_discover_a_cluster_through_the_dialog(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.service.clusters, "the fleet")
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DiscoverScreen), "the dialog")
        dialog = app.screen
        run = dialog.query_one("#discover-run", Button)
        await wait_for(pilot, lambda: not run.disabled, "the methods")
        dialog.query_one("#discover-name", Input).value = "rehearsal"
        parameters = dialog.query_one("#discover-parameters", Input)
        parameters.value = "controllers=1 computes=bad"
        # Submitted from the keyboard: the method's hint resizes the dialog as the methods
        # load, and a click could land where the button was before the next layout pass.
        parameters.focus()
        await pilot.press("enter")
        # The server's refusal is shown in the dialog, which stays open with the input kept.
        message = dialog.query_one("#discover-message")
        await wait_for(pilot, lambda: "computes" in str(message.render()), "the refusal")
        assert app.screen is dialog
        parameters.value = "controllers=1 computes=2 storage=1"
        # Resubmitted from the keyboard: the refusal has just resized the dialog, and a
        # click now could land where the button was before the next layout pass.
        parameters.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the dialog to close")
        main = app.screen
        await wait_for(
            pilot,
            lambda: (
                main.selected_cluster_id is not None
                and app.service.cluster(main.selected_cluster_id).name == "rehearsal"
            ),
            "the new cluster selected",
        )
        await pilot.press("t")
        await wait_for(pilot, lambda: len(main.detail.host_table.row_keys) == 4, "its four hosts")


async def test_auto_refresh_can_be_paused_and_r_still_refreshes(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.connection.connected, "the first poll")
        # The read the first cluster's selection asked for is done: none is pending.
        main = app.screen
        assert isinstance(main, MainScreen)
        await wait_for(
            pilot,
            lambda: app.service.snapshot(main.selected_cluster_id or "") is not None,
            "the selected cluster's data",
        )
        await pilot.press("a")
        assert "auto-refresh paused" in header_text(app)
        await wait_for(
            pilot, lambda: app.service.connection.polling_since is None, "the poll under way"
        )
        paused_at = app.service.connection.last_good_at
        # Ten poll intervals pass with no poll (absence can only be checked over time).
        await pilot.pause(10 * app.service.poll_interval)
        assert app.service.connection.last_good_at == paused_at
        await pilot.press("r")
        await wait_for(
            pilot, lambda: app.service.connection.last_good_at != paused_at, "a manual refresh"
        )
        await pilot.press("a")
        assert "auto-refresh paused" not in header_text(app)


async def test_an_api_that_is_not_kostyor_keeps_the_app_alive(server, make_app):
    # A path the server does not serve: 404 HTML pages instead of the API.
    app = make_app(server.url + "/not-the-api/")
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.connection.connected is False, "the failure")
        assert app.is_running
        text = header_text(app)
        assert "✖ disconnected" in text and "last good data at never" in text
        await pilot.press("r")
        await pilot.press("j", "k", "slash")
        assert app.is_running


async def test_the_start_dialog_says_why_no_version_is_offered(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "legacy")  # its version is unknown
        dialog = await open_start_dialog(pilot, app)
        message = dialog.query_one("#start-message", Label)
        await wait_for(pilot, lambda: str(message.render()), "the dialog's message")
        assert str(message.render()) == "legacy: the cluster's version is unknown"
        assert dialog.query_one("#start-upgrade", Button).disabled


async def test_a_dialog_on_a_small_terminal_scrolls_the_focused_field_into_view(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(40, 15)) as pilot:
        await select_cluster(pilot, app, "home_lab")
        dialog = await open_start_dialog(pilot, app)
        start = dialog.query_one("#start-upgrade", Button)
        await wait_for(pilot, lambda: not start.disabled, "the versions")
        close = dialog.query_one("#start-close", Button)
        for _ in range(10):
            if app.focused is close:
                break
            await pilot.press("tab")
        assert app.focused is close
        await pilot.pause()
        screen_region = dialog.region
        assert close.region.height > 0 and screen_region.contains_region(close.region)
