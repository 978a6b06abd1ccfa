"""Moving the sidebar cursor: a single move opens its cluster at once.

Held j/k moves are collected (`screens/main.HIGHLIGHT_SETTLE`) so that only the
cluster the cursor rests on is read. The list's own highlights (its first one, and
a rebuilt list highlighting the open cluster again) are not moves and must not hold
up the operator's next key; and a key acting on the selected cluster acts on the
one highlighted, even while moves are being collected. The tests stretch the
collecting to 30 s, so that it is under way, by construction, when they look.
"""

import pytest

from kostyor_tui.screens import main as main_screen
from kostyor_tui.screens.main import MainScreen
from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.widgets.cluster_list import ClusterList
from tests.tui.conftest import wait_for


@pytest.fixture(autouse=True)
def _long_collecting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(main_screen, "HIGHLIGHT_SETTLE", 30.0)


async def _main_screen_listing(pilot, app, count: int) -> MainScreen:
    main = app.screen
    assert isinstance(main, MainScreen)
    table = main.cluster_list.table
    await wait_for(pilot, lambda: table.row_count >= count, "the fleet in the sidebar")
    first = table.row_keys[0]
    await wait_for(pilot, lambda: main.selected_cluster_id == first, "the first cluster")
    return main


async def test_a_move_right_after_the_list_highlights_the_open_cluster_opens_at_once(
    server, make_app
):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await _main_screen_listing(pilot, app, 2)
        first, second = main.cluster_list.table.row_keys[:2]

        # As every poll's rebuilt list may: the open cluster highlighted again.
        main.cluster_list.post_message(ClusterList.Highlighted(first))
        await pilot.pause()
        await pilot.press("down")

        # Opened by the key itself, not by the end of the collecting (30 s: longer than
        # wait_for's deadline).
        await wait_for(
            pilot,
            lambda: getattr(main.detail.shown_snapshot, "cluster_id", None) == second,
            "its detail",
        )


async def test_a_key_during_collected_moves_acts_on_the_highlighted_cluster(server, make_app):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        main = await _main_screen_listing(pilot, app, 3)
        third = main.cluster_list.table.row_keys[2]

        # The first move opens; the second is collected, or not even on its way yet.
        await pilot.press("down", "down", "o")

        await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "the upgrade view")
        assert app.screen.cluster_id == third
        assert main.cluster_list.table.cursor_key == third
