"""Issue 10, the console at a glance, against the embedded server over real HTTP: a failure
shown where it happened in the server's words, finished upgrades that look finished, an ETA
that counts only the current run's pace, `/` from any focus, keys that say why not, and
empty states that say what to do."""

import re
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from textual.widgets import Input, Label

from kostyor_tui.domain.statuses import Status
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.server import store as server_store
from kostyor_tui.widgets.keyed_table import KeyedTable
from tests.support.canned import canned_server
from tests.support.servers import running_server
from tests.tui import fixed_fleet
from tests.tui.conftest import (
    Notices,
    confirm,
    confirmation,
    select_cluster,
    start_upgrade_via_dialog,
    upgrade_status,
    wait_for,
    wait_for_upgraded,
)


def rendered(widget) -> str:
    return str(widget.render())


def step_line(screen: UpgradeScreen) -> str:
    return rendered(screen.query_one("#step-line", Label))


def host_cells(screen: UpgradeScreen) -> dict[str, tuple[str, str]]:
    """hostname → (marker, state) as the upgrade view's host table shows them."""
    table = screen.query_one("#upgrade-hosts", KeyedTable)
    cells = {}
    for key in table.row_keys:
        row = table.row_cells(key)
        assert row is not None
        cells[str(row[1])] = (str(row[0]), str(row[2]))
    return cells


async def test_a_failed_host_shows_failed_in_the_servers_words_and_f_goes_to_it(
    server_factory, make_app
):
    server = server_factory(step_seconds=0.05, fail_host="compute-02")
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.ERROR, "failure")
        upgrade_id = app.service.snapshot(cluster_id).upgrade.id
        # The server's own step log says which step failed.
        steps = httpx.get(f"{server.url}/upgrades/{upgrade_id}/steps").json()
        failed = [step for step in steps if step["outcome"] == "failed"]
        assert len(failed) == 1 and failed[0]["hostname"] == "compute-02"
        service = failed[0]["service"]
        await wait_for(pilot, lambda: "FAILED" in step_line(screen), "the failure line")
        assert f"✖ FAILED: {service} on compute-02" in step_line(screen)
        assert host_cells(screen)["compute-02"] == ("✖", "FAILED")
        # No other host claims the failure, and none looks under way.
        others = {name: cell for name, cell in host_cells(screen).items() if name != "compute-02"}
        assert all(marker == "" and state != "FAILED" for marker, state in others.values())
        log = "\n".join(screen.query_one("#event-log").lines)
        assert f"✖ FAILED {service} on compute-02" in log
        # F puts the cursor on the failed host, wherever it was.
        table = screen.query_one("#upgrade-hosts", KeyedTable)
        table.select_key(table.row_keys[0])
        await pilot.press("F")
        hosts = app.service.snapshot(cluster_id).hosts
        failed_host = next(host.id for host in hosts if host.hostname == "compute-02")
        assert table.cursor_key == failed_host and app.focused is table
        # The fleet says it too: the sidebar's badge of home_lab is the failure's.
        await pilot.press("escape")
        assert isinstance(app.screen, MainScreen)
        await wait_for(
            pilot,
            lambda: str(app.screen.cluster_list.table.row_cells(cluster_id)[0]) == "✖",
            "the failed badge",
        )


async def test_a_cancelled_upgrade_looks_finished(server_factory, make_app):
    server = server_factory(step_seconds=0.3)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        await wait_for_upgraded(pilot, app, cluster_id, 1, "two upgraded instances")
        await confirm(pilot, app, "x")
        await wait_for(pilot, lambda: upgrade_status(app, cluster_id) is Status.CANCELLED, "cancel")
        await wait_for(pilot, lambda: step_line(screen).startswith("■ Cancelled"), "the end")
        done = app.service.snapshot(cluster_id).progress
        assert f"{done.services_upgraded} of {done.services_total} instances stay at newton" in (
            step_line(screen)
        )
        cells = host_cells(screen)
        assert all(marker == "" for marker, _ in cells.values()), cells
        assert all(state != "in progress" for _, state in cells.values()), cells
        assert "partly upgraded" in {state for _, state in cells.values()}
        assert "took " in rendered(screen.query_one("#upgrade-title"))
        assert "ETA" not in step_line(screen)


async def test_a_rolled_back_upgrade_looks_finished_and_its_rollback_had_its_own_progress(
    server_factory, make_app
):
    server = server_factory(step_seconds=0.15)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        screen = await start_upgrade_via_dialog(pilot, app)
        await wait_for_upgraded(pilot, app, cluster_id, 3, "four upgraded instances")
        await confirm(pilot, app, "b")
        await wait_for(
            pilot,
            lambda: rendered(screen.query_one("#bar-label-0")).startswith("Rolled back "),
            "the rollback's own progress",
        )
        await wait_for(
            pilot,
            lambda: step_line(screen) == "■ Cancelled: every instance back at mitaka",
            "the end of the rollback",
        )
        cells = host_cells(screen)
        assert all(marker == "" for marker, _ in cells.values()), cells
        assert all(state not in ("in progress", "FAILED") for _, state in cells.values()), cells
        assert "Stopped before" not in step_line(screen)


def eta_on_screen(screen: UpgradeScreen) -> timedelta | None:
    found = re.search(r"ETA (\d+):(\d\d):(\d\d)", step_line(screen))
    if found is None:
        return None
    hours, minutes, seconds = (int(part) for part in found.groups())
    return timedelta(hours=hours, minutes=minutes, seconds=seconds)


class ServerClock:
    """The server's clock, moved by the test: every step the test drives takes exactly
    STEP, so the real remaining time is known from the plan (no wall-clock timing)."""

    STEP = timedelta(seconds=30)

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 10, 0, 0)

    def __call__(self) -> str:
        return self.now.isoformat(timespec="microseconds")


async def test_the_eta_counts_neither_a_cancelled_run_nor_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make_app
):
    clock = ServerClock()
    # The server's time stamps come from this clock; its own engine never gets to a step
    # (an hour per step): the test drives each step through the server's store.
    monkeypatch.setattr(server_store, "now_iso", clock)
    db_path = tmp_path / "eta.sqlite3"

    def drive(server, upgrade_id: str, steps: int) -> None:
        for _ in range(steps):
            clock.now += clock.STEP
            server.store.apply_step(upgrade_id, server_store.FORWARD)

    with running_server(db_path, step_seconds=3600) as first:
        port = int(first.url.rsplit(":", 1)[1])
        app = make_app(first.url, max_backoff=0.5)
        async with app.run_test(size=(120, 40)) as pilot:
            cluster_id = await select_cluster(pilot, app, "home_lab")
            await start_upgrade_via_dialog(pilot, app)
            earlier = app.service.snapshot(cluster_id).upgrade.id
            drive(first, earlier, 20)
            await confirm(pilot, app, "x")
            await wait_for(
                pilot, lambda: upgrade_status(app, cluster_id) is Status.CANCELLED, "cancel"
            )
            await pilot.press("escape")
            # A new run, on a cluster whose 20 instances the cancelled one upgraded.
            clock.now += timedelta(hours=2)
            screen = await start_upgrade_via_dialog(pilot, app)
            current = app.service.snapshot(cluster_id).upgrade.id
            assert current != earlier
            drive(first, current, 5)
            total = app.service.snapshot(cluster_id).progress.services_total

            async def eta_close_to_plan() -> None:
                def shown_and_expected() -> tuple[timedelta, timedelta] | None:
                    snapshot = app.service.snapshot(cluster_id)
                    shown = eta_on_screen(screen)
                    if snapshot.upgrade.id != current or shown is None:
                        return None
                    return shown, clock.STEP * (total - snapshot.progress.services_upgraded)

                await wait_for(pilot, shown_and_expected, "an ETA")
                shown, expected = shown_and_expected()
                assert abs(shown - expected) <= expected * 0.25, (shown, expected)

            await wait_for(
                pilot,
                lambda: (
                    app.service.snapshot(cluster_id).steps is not None
                    and len(app.service.snapshot(cluster_id).steps) == 5
                ),
                "the five steps",
            )
            await eta_close_to_plan()
            # An outage of an hour: nothing moves, then the server is back on the same port.
            first.stop()
            await wait_for(pilot, lambda: app.service.connection.connected is False, "lost")
            await wait_for(pilot, lambda: "ETA —" in step_line(screen), "a stale ETA")
            clock.now += timedelta(hours=1)
            with running_server(db_path, port=port, step_seconds=3600) as second:
                drive(second, current, 4)
                await wait_for(pilot, lambda: app.service.connection.connected, "reconnect")
                await wait_for(
                    pilot,
                    lambda: len(app.service.snapshot(cluster_id).steps or ()) == 9,
                    "the steps after the outage",
                )
                await eta_close_to_plan()
                await pilot.press("q")


async def test_slash_from_every_focusable_widget_opens_the_search(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "home_lab")
        main = app.screen
        cluster_filter = main.query_one("#cluster-filter", Input)
        focusable = [widget for widget in main.focus_chain if widget is not cluster_filter]
        assert len(focusable) >= 2
        for widget in focusable:
            widget.focus()
            await pilot.pause()
            await pilot.press("slash")
            assert app.focused is cluster_filter, f"/ from {widget!r}"
            assert cluster_filter.value == ""
            await pilot.press("escape")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        screen = app.screen
        search = screen.query_one("#host-search", Input)
        await pilot.pause()
        focusable = [widget for widget in screen.focus_chain if widget is not search]
        assert len(focusable) >= 2
        for widget in focusable:
            widget.focus()
            await pilot.pause()
            await pilot.press("slash")
            assert app.focused is search, f"/ from {widget!r}"
            assert search.value == ""
            await pilot.press("escape")
        assert isinstance(app.screen, UpgradeScreen)


async def test_an_invalid_key_says_why(server_factory, make_app):
    server = server_factory(step_seconds=0.4)
    app = make_app(server.url)
    notices = Notices()
    async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        # No upgrade: nowhere for F to go, and it says so.
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        await pilot.press("F")
        await wait_for(pilot, lambda: notices.any("F goes to a failed host"), "F's answer")
        await pilot.press("escape")
        await start_upgrade_via_dialog(pilot, app)
        # Continue is not valid while running: not in the footer, and the key asks anyway.
        assert not app.screen.active_bindings.get("c") or (
            app.screen.active_bindings["c"].binding.action != "upgrade('continue')"
        )
        await pilot.press("c")
        await wait_for(pilot, lambda: confirmation(app), "the answer")
        question = rendered(app.screen.query_one("#confirm-question"))
        detail = rendered(app.screen.query_one("#confirm-detail"))
        assert "continue" in question and "home_lab" in question
        assert "in progress" in detail.lower() or "running" in detail.lower(), detail
        await pilot.press("escape")
        assert upgrade_status(app, cluster_id) is Status.IN_PROGRESS


async def test_no_cluster_at_all_says_so_and_what_to_do(server_factory, make_app):
    server = server_factory(seed="empty")
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.service.connection.connected, "the first poll")
        note = app.screen.query_one("#cluster-empty", Label)
        await wait_for(pilot, lambda: note.display, "the empty note")
        assert rendered(note) == "No cluster yet: d discovers one."


async def test_a_cluster_without_hosts_or_services_says_so(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "legacy")
        main = app.screen
        note = main.query_one("#components-empty", Label)
        await wait_for(pilot, lambda: note.display, "the components' note")
        assert "no hosts or services recorded for legacy" in rendered(note)
        assert "d discovers" in rendered(note)
        await pilot.press("t")
        hosts_note = main.query_one("#hosts-empty", Label)
        await wait_for(pilot, lambda: hosts_note.display, "the hosts' note")
        assert "no hosts or services recorded for legacy" in rendered(hosts_note)
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        screen = app.screen
        await wait_for(
            pilot, lambda: screen.query_one("#upgrade-hosts-empty", Label).display, "its note"
        )
        assert "no host data for legacy" in rendered(screen.query_one("#upgrade-hosts-empty"))
        assert "u starts one" in rendered(screen.query_one("#upgrade-title"))


async def test_a_legacy_cluster_without_host_data_says_so(tmp_path: Path, make_app):
    # The embedded server records a host for every service; a cluster recorded before hosts
    # were (services that name no host) exists only on older servers: the fixed fleet's
    # canned server stands in for one (only the server is replaced).
    with canned_server(fixed_fleet.handler) as server:
        app = make_app(server.url)
        async with app.run_test(size=(120, 40)) as pilot:
            await select_cluster(pilot, app, "legacy")
            main = app.screen
            await wait_for(
                pilot, lambda: len(main.detail.component_table.row_keys) > 0, "its components"
            )
            assert not main.query_one("#components-empty", Label).display
            await pilot.press("t")
            note = main.query_one("#hosts-empty", Label)
            await wait_for(pilot, lambda: note.display, "the hosts' note")
            assert "no host data for legacy" in rendered(note)
            assert "t shows its components" in rendered(note)


async def test_a_host_search_without_a_match_says_so(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await select_cluster(pilot, app, "home_lab")
        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        screen = app.screen
        await wait_for(
            pilot,
            lambda: len(screen.query_one("#upgrade-hosts", KeyedTable).row_keys) > 5,
            "the hosts",
        )
        await pilot.press("slash", *"nosuchhost")
        note = screen.query_one("#upgrade-hosts-empty", Label)
        await wait_for(pilot, lambda: note.display, "the note")
        assert rendered(note) == "No host matches 'nosuchhost' (esc clears the search)."
        await pilot.press("escape")
        await wait_for(pilot, lambda: not note.display, "the hosts back")


async def test_r_shows_the_running_upgrades_from_the_upgrade_view(server_factory, make_app):
    server = server_factory(step_seconds=0.4)
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        cluster_id = await select_cluster(pilot, app, "home_lab")
        await start_upgrade_via_dialog(pilot, app)
        await pilot.press("R")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
        sidebar = app.screen.cluster_list
        await wait_for(pilot, lambda: sidebar.shown_ids == [cluster_id], "home_lab alone")
        # R again, on the main screen: every cluster.
        await pilot.press("R")
        assert len(sidebar.shown_ids) == len(app.service.clusters) > 1
