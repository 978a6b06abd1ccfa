"""Screenshots of the console at 80x24 and 120x40, compared with the accepted SVGs.

Regenerate after an intended change with `pytest tests/tui --snapshot-update`
and look at the new files under `tests/tui/__snapshots__` before committing.
The data comes from `fixed_fleet` (a fixed paused upgrade), the clock is
fixed, and the header shows a fixed URL: nothing moves between runs.
"""

import pytest
from textual.pilot import Pilot

from kostyor_tui.app import KostyorApp
from kostyor_tui.screens.confirm import ConfirmScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.widgets.keyed_table import KeyedTable
from tests.tui import fixed_fleet
from tests.tui.conftest import wait_for

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


async def settled(pilot: Pilot[object], cluster_id: str) -> None:
    """Wait until the cluster's latest data is what the detail shows."""
    app = pilot.app
    assert isinstance(app, KostyorApp)
    main = app.main_screen
    await wait_for(pilot, lambda: main.selected_cluster_id == cluster_id, "the selection")
    await wait_for(
        pilot,
        lambda: (
            app.service.snapshot(cluster_id) is not None
            and main.detail.shown_snapshot is app.service.snapshot(cluster_id)
        ),
        "the detail",
    )
    await pilot.pause()


async def fleet_loaded(pilot: Pilot[object]) -> None:
    app = pilot.app
    assert isinstance(app, KostyorApp)
    await wait_for(pilot, lambda: app.service.connection.connected, "the first poll")
    main = app.main_screen
    await wait_for(
        pilot, lambda: len(main.cluster_list.shown_ids) == len(fixed_fleet.CLUSTERS), "the sidebar"
    )
    await settled(pilot, fixed_fleet.EDGE)


async def home_lab_selected(pilot: Pilot[object]) -> None:
    await fleet_loaded(pilot)
    app = pilot.app
    assert isinstance(app, KostyorApp)
    await pilot.press("j")
    await settled(pilot, fixed_fleet.HOME_LAB)


async def home_lab_hosts(pilot: Pilot[object]) -> None:
    await home_lab_selected(pilot)
    await pilot.press("t")
    await settled(pilot, fixed_fleet.HOME_LAB)
    assert isinstance(pilot.app, KostyorApp)
    hosts = pilot.app.main_screen.detail.host_table
    await wait_for(pilot, lambda: len(hosts.row_keys) == 11, "the hosts")
    await settled(pilot, fixed_fleet.HOME_LAB)


async def upgrade_screen(pilot: Pilot[object]) -> None:
    await home_lab_selected(pilot)
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, UpgradeScreen), "the upgrade view")
    await wait_for(
        pilot,
        lambda: len(pilot.app.screen.query_one("#upgrade-hosts", KeyedTable).row_keys) == 11,
        "the host table",
    )
    await pilot.pause()


async def rollback_confirmation(pilot: Pilot[object]) -> None:
    await upgrade_screen(pilot)
    await pilot.press("b")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the question")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=fleet_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_cluster_detail(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=home_lab_selected)


@pytest.mark.parametrize("size", SIZES)
def test_cluster_hosts(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=home_lab_hosts)


@pytest.mark.parametrize("size", SIZES)
def test_upgrade_screen_mid_upgrade(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=upgrade_screen)


@pytest.mark.parametrize("size", SIZES)
def test_rollback_confirmation(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=rollback_confirmation)
