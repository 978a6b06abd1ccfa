"""The console driven with Textual's Pilot against the embedded server over real HTTP."""

from pathlib import Path

from textual.widgets import Button, Input

from kostyor_tui.domain.statuses import Status
from kostyor_tui.errors import Refused
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.widgets.keyed_table import KeyedTable
from kostyor_tui.widgets.status_header import StatusHeader
from kostyor_tui.widgets.upgrade_panel import EventLog
from tests.support.servers import running_server
from tests.tui.conftest import (
    Notices,
    confirm,
    confirmation,
    select_cluster,
    services_upgraded,
    start_upgrade_via_dialog,
    upgrade_status,
    wait_for,
    wait_for_upgraded,
)

# Slow enough that an upgrade is still running while the test acts on it.
SLOW_STEP = 0.4


def header_text(app) -> str:
    return str(app.screen.query_one(StatusHeader).render())


async def test_select_a_cluster_and_see_its_components(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        main = app.screen
        assert isinstance(main, MainScreen)
        assert main.selected_cluster_id == cluster_id
        components = main.detail.component_table
        assert "nova-compute" in components.row_keys
        assert "keystone" in components.row_keys
        row = components.row_cells("nova-compute")
        assert row is not None and str(row[3]) == "mitaka"
        # The hosts view lists every host of the cluster.
        await pilot.press("t")
        hosts = main.detail.host_table.row_keys
        assert len(hosts) == len(app.service.snapshot(cluster_id).hosts) > 5
        summary = str(main.query_one("#cluster-summary").render())
        assert "home_lab" in summary and cluster_id in summary and "RegionOne" in summary


async def test_filter_the_sidebar(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: len(app.service.clusters) >= 4, "the fleet")
        main = app.screen
        await wait_for(pilot, lambda: len(main.cluster_list.shown_ids) >= 4, "the sidebar")
        await pilot.press("slash")
        assert isinstance(app.focused, Input)
        await pilot.press(*"stag")
        names = {app.service.cluster(cid).name for cid in main.cluster_list.shown_ids}
        assert names == {"staging"}
        await pilot.press("enter")  # back to the list, filter kept
        assert main.cluster_list.shown_ids == [
            c.id for c in app.service.clusters if c.name == "staging"
        ]
        await pilot.press("escape")  # clears the filter
        assert len(main.cluster_list.shown_ids) == len(app.service.clusters)


async def test_start_an_upgrade_through_the_dialog_and_watch_it_advance(server_factory, make_app):
    server = server_factory(step_seconds=0.1)
    app = make_app(server.url)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        assert screen.cluster_id == cluster_id
        snapshot = app.service.snapshot(cluster_id)
        upgrade_id = snapshot.upgrade.id
        assert notices.any(upgrade_id), notices.texts
        await wait_for(
            pilot,
            lambda: upgrade_id in str(screen.query_one("#upgrade-title").render()),
            "the upgrade's id in the title",
        )
        first = snapshot.progress.services_upgraded
        await wait_for_upgraded(pilot, app, cluster_id, first + 3, "services upgraded to advance")
        label = str(screen.query_one("#bar-label-1").render())
        done = app.service.snapshot(cluster_id).progress
        assert label.startswith("Services ") and f"/{done.services_total}" in label
        await wait_for(pilot, lambda: screen.query_one("#event-log").line_count > 3, "events")


async def test_pause_and_continue(server_factory, make_app):
    server = server_factory(step_seconds=SLOW_STEP)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        await wait_for(
            pilot, lambda: not screen.query_one("#action-pause", Button).disabled, "Pause"
        )
        assert screen.query_one("#action-continue", Button).disabled
        await pilot.press("p")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.PAUSED, "the pause")
        await wait_for(
            pilot, lambda: not screen.query_one("#action-continue", Button).disabled, "Continue"
        )
        assert screen.query_one("#action-pause", Button).disabled
        await pilot.click("#action-continue")
        await wait_for(
            pilot, lambda: upgrade_status(app, cluster_id) is Status.IN_PROGRESS, "continuing"
        )
        lines = screen.query_one("#event-log").lines
        paused = [line for line in lines if "upgrade UPGRADE IN PROGRESS → UPGRADE PAUSED" in line]
        resumed = [line for line in lines if "upgrade UPGRADE PAUSED → UPGRADE IN PROGRESS" in line]
        # Each change is logged once, however many widgets listen to the service.
        assert len(paused) == 1 and len(resumed) == 1, lines


async def test_the_event_log_follows_its_newest_line_until_scrolled_back(server_factory, make_app):
    # datacenter_east: thousands of steps, so events keep coming for the whole test.
    server = server_factory(step_seconds=0.02)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "datacenter_east")
        screen = await start_upgrade_via_dialog(pilot, app)
        log = screen.query_one(EventLog)

        async def more_events() -> None:
            seen = log.line_count
            await wait_for(pilot, lambda: log.line_count > seen + 2, "more events")

        # More lines than the full-screen log shows, so that both heights scroll.
        await wait_for(pilot, lambda: log.line_count > 60, "a screenful of events")
        await pilot.press("l", "l")  # full screen and back: the height changes twice
        await more_events()
        assert log.is_vertical_scroll_end
        await pilot.resize_terminal(100, 30)
        await more_events()
        assert log.is_vertical_scroll_end
        # Scrolled back, it stays where the operator put it; at the end, it follows again.
        log.focus()
        await pilot.press("home")
        await more_events()
        assert log.scroll_y == 0
        await pilot.press("end")
        await more_events()
        assert log.is_vertical_scroll_end


def footer_overlaps(app) -> list[str]:
    """Footer keys drawn over one another or past the screen's edge (README: the footer
    fits 80 columns)."""
    keys = sorted(app.screen.query("FooterKey"), key=lambda key: key.region.x)
    width = app.screen.size.width
    return [
        f"{key.key_display} {key.description} at {key.region.x}..{key.region.right}"
        for before, key in zip([None, *keys], keys, strict=False)
        if key.region.right > width or (before is not None and before.region.right > key.region.x)
    ]


async def test_the_footer_fits_80_columns_in_each_state_of_an_upgrade(server_factory, make_app):
    server = server_factory(step_seconds=SLOW_STEP)
    app = make_app(server.url)
    async with app.run_test(size=(80, 24)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        assert footer_overlaps(app) == []
        screen = await start_upgrade_via_dialog(pilot, app)
        await wait_for(
            pilot, lambda: not screen.query_one("#action-pause", Button).disabled, "Pause"
        )
        await pilot.pause()
        assert footer_overlaps(app) == []
        await pilot.press("p")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.PAUSED, "the pause")
        await wait_for(
            pilot, lambda: not screen.query_one("#action-continue", Button).disabled, "Continue"
        )
        await pilot.pause()
        assert footer_overlaps(app) == []


async def test_moving_the_host_cursor_stops_following_the_step(server_factory, make_app):
    server = server_factory(step_seconds=0.2)
    app = make_app(server.url)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        hosts = screen.query_one("#upgrade-hosts", KeyedTable)
        await wait_for(pilot, lambda: hosts.row_count > 3, "the hosts")
        await pilot.press("G")
        last = hosts.row_keys[-1]
        assert hosts.cursor_key == last
        await wait_for(pilot, lambda: notices.any("Not following the step"), "the notice")
        # The polls go on; the cursor stays on the host the operator moved to.
        seen = services_upgraded(app, cluster_id)
        await wait_for_upgraded(pilot, app, cluster_id, seen + 2, "more steps")
        await pilot.pause()
        assert hosts.cursor_key == last
        # `f` follows the step again: the cursor goes back to it.
        await pilot.press("f")
        await wait_for(pilot, lambda: hosts.cursor_key != last, "the cursor back on the step")
        # A row clicked stops it too.
        assert screen.following
        await pilot.click(hosts, offset=(4, 3))
        await wait_for(pilot, lambda: not screen.following, "a click to stop following")


async def test_rollback_through_the_confirmation(server_factory, make_app):
    server = server_factory(step_seconds=SLOW_STEP)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        await start_upgrade_via_dialog(pilot, app)
        await wait_for_upgraded(pilot, app, cluster_id, 0, "a first upgraded instance")
        await pilot.press("b")
        await wait_for(pilot, lambda: confirmation(app), "the confirmation")
        confirm = app.screen
        assert "home_lab" in str(confirm.query_one("#confirm-question").render())
        # The safe answer is the default: "No" has the focus.
        await wait_for(
            pilot, lambda: app.focused is confirm.query_one("#confirm-no", Button), "No focused"
        )
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: (
                upgrade_status(app, cluster_id) in (Status.ROLLBACK_IN_PROGRESS, Status.CANCELLED)
            ),
            "the rollback",
        )
        snapshot = app.service.snapshot(cluster_id)
        await wait_for(
            pilot,
            lambda: services_upgraded(app, cluster_id) == 0,
            "every instance back at the old version",
        )
        assert snapshot.upgrade.from_version == "mitaka"


async def test_answering_no_to_cancel_keeps_the_upgrade_running(server_factory, make_app):
    server = server_factory(step_seconds=SLOW_STEP)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        await pilot.press("x")
        await wait_for(pilot, lambda: confirmation(app), "the confirmation")
        assert "Cancel the upgrade of home_lab" in str(
            app.screen.query_one("#confirm-question").render()
        )
        # Enter answers the focused default, which is the safe "No".
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, "the dialog to close")
        before = services_upgraded(app, cluster_id)
        await wait_for_upgraded(pilot, app, cluster_id, before, "the upgrade to keep going")
        assert upgrade_status(app, cluster_id) is Status.IN_PROGRESS


async def test_a_cluster_left_at_mixed_versions_keeps_its_badge_when_the_cursor_moves_on(
    server_factory, make_app
):
    server = server_factory(step_seconds=0.05)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        await start_upgrade_via_dialog(pilot, app)
        await wait_for_upgraded(pilot, app, cluster_id, 1, "a few upgraded instances")
        await confirm(pilot, app, "x")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.CANCELLED, "cancel")
        await pilot.press("escape")
        main = app.screen
        assert isinstance(main, MainScreen)
        # Its mixed components lead with the mark, which a narrow terminal still shows.
        components = main.detail.component_table
        await wait_for(
            pilot,
            lambda: any(
                str(components.row_cells(key)[3]).startswith("◑ mitaka ×")
                for key in components.row_keys
            ),
            "a mixed component marked",
        )

        def badge() -> str:
            return str(main.cluster_list.table.row_cells(cluster_id)[0])

        await wait_for(pilot, lambda: badge() == "◑", "the mixed-versions badge")
        await select_cluster(pilot, app, "staging")
        assert app.service.snapshot(cluster_id) is None  # no longer read
        assert badge() == "◑"


async def test_read_only_refuses_an_action_with_a_visible_message(server, make_app):
    app = make_app(server.url, read_only=True)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        assert "READ-ONLY" in header_text(app)
        # The key is hidden and does nothing in read-only mode...
        await pilot.press("u")
        assert isinstance(app.screen, MainScreen)
        # ...and the palette's command is refused by the service, visibly.
        await pilot.press("ctrl+p")
        await pilot.press(*"upgrade-cluster")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: notices.any("read-only mode is on"), "a refusal")
        assert isinstance(app.screen, MainScreen)
        assert upgrade_status(app, cluster_id) is None
        refusal = await _refused_action(app, cluster_id)
        assert "read-only mode is on" in refusal


async def _refused_action(app, cluster_id: str) -> str:
    """Asked directly, past every key and button, the operations still refuse."""
    try:
        await app.service.command(
            "upgrade-cluster", {"cluster": cluster_id, "to_version": "newton"}
        )
    except Refused as refusal:
        return refusal.one_line()
    raise AssertionError("read-only service started an upgrade")


async def test_server_lost_and_back(tmp_path: Path, make_app):
    db_path = tmp_path / "lost.sqlite3"
    with running_server(db_path, step_seconds=0.05) as first:
        url = first.url
        port = int(url.rsplit(":", 1)[1])
        app = make_app(url, max_backoff=1.0)
        async with app.run_test(size=(120, 40)) as pilot:
            cluster_id = await select_cluster(pilot, app, "home_lab")
            first.stop()
            await wait_for(pilot, lambda: app.service.connection.connected is False, "disconnect")
            header = header_text(app)
            assert "✖ disconnected" in header and "\nsince " in header
            assert "last good data at" in header
            # The app is alive and still shows the last good data.
            assert app.is_running
            assert app.screen.detail.component_table.row_keys
            assert app.service.snapshot(cluster_id) is not None
            with running_server(db_path, port=port, step_seconds=0.05):
                await wait_for(pilot, lambda: app.service.connection.connected is True, "reconnect")
                assert "● connected" in header_text(app)
                await pilot.press("q")
