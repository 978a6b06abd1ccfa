"""Screenshots of the fleet at a glance at 80x24, 120x40 and 200x50: the main screen with a
failed, a paused and a rolling-back cluster (each selected in turn), and the upgrade view
after a failure. The fixed fleet (tests/tui/fixed_fleet.py) serves them with fixed step
logs and the clock is fixed: nothing moves between runs.

Regenerate after an intended change with
`pytest tests/tui/test_snapshots_glance.py --snapshot-update` and look at the new files."""

import pytest
from textual.pilot import Pilot

from kostyor_tui.app import KostyorApp
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.widgets.keyed_table import KeyedTable
from tests.tui import fixed_fleet
from tests.tui.conftest import wait_for
from tests.tui.test_snapshots import fleet_loaded, settled

SIZES = [
    pytest.param((80, 24), id="80x24"),
    pytest.param((120, 40), id="120x40"),
    pytest.param((200, 50), id="200x50"),
]


async def fleet_settled(pilot: Pilot[object]) -> None:
    """Every upgrade's data is in: the sidebar's badges and progress no longer change."""
    await fleet_loaded(pilot)
    app = pilot.app
    assert isinstance(app, KostyorApp)
    await wait_for(
        pilot,
        lambda: all(
            app.service.snapshot(cluster_id) is not None
            for cluster_id in (fixed_fleet.EDGE, fixed_fleet.HOME_LAB, fixed_fleet.ROLLBACK_LAB)
        ),
        "every upgrade's data",
    )
    await pilot.pause()


async def failed_selected(pilot: Pilot[object]) -> None:
    await fleet_settled(pilot)
    await settled(pilot, fixed_fleet.EDGE)


async def rolling_back_selected(pilot: Pilot[object]) -> None:
    await fleet_settled(pilot)
    app = pilot.app
    assert isinstance(app, KostyorApp)
    app.main_screen.cluster_list.select(fixed_fleet.ROLLBACK_LAB)
    await settled(pilot, fixed_fleet.ROLLBACK_LAB)


async def upgrade_after_failure(pilot: Pilot[object]) -> None:
    await fleet_settled(pilot)
    await settled(pilot, fixed_fleet.EDGE)
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, UpgradeScreen), "the upgrade view")
    screen = pilot.app.screen
    await wait_for(
        pilot,
        lambda: len(screen.query_one("#upgrade-hosts", KeyedTable).row_keys) == 11,
        "the host table",
    )
    await wait_for(
        pilot, lambda: "FAILED" in str(screen.query_one("#step-line").render()), "the failure"
    )
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES)
def test_fleet_with_a_failed_cluster_selected(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=failed_selected)


@pytest.mark.parametrize("size", SIZES)
def test_fleet_with_a_rolling_back_cluster_selected(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=rolling_back_selected)


@pytest.mark.parametrize("size", SIZES)
def test_upgrade_screen_after_a_failure(snap_compare, fixed_app, size):
    assert snap_compare(fixed_app(), terminal_size=size, run_before=upgrade_after_failure)
