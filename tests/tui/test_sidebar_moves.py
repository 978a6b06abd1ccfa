"""Moving the sidebar cursor: a single move opens its cluster at once.

Held j/k moves are collected (`screens/main.HIGHLIGHT_SETTLE`) so that only the
cluster the cursor rests on is read; the list's own highlights (its first one, and
a rebuilt list highlighting the open cluster again) are not moves and must not
hold up the operator's next key.
"""

from kostyor_tui.screens.main import MainScreen
from kostyor_tui.widgets.cluster_list import ClusterList
from tests.tui.conftest import wait_for


async def test_a_move_right_after_the_list_highlights_the_open_cluster_opens_at_once(
    server, make_app
):
    app = make_app(server.url)
    async with app.run_test(size=(120, 40)) as pilot:
        main = app.screen
        assert isinstance(main, MainScreen)
        table = main.cluster_list.table
        await wait_for(pilot, lambda: table.row_count >= 2, "the fleet in the sidebar")
        first, second = table.row_keys[:2]
        await wait_for(pilot, lambda: main.selected_cluster_id == first, "the first cluster")

        # As every poll's rebuilt list may: the open cluster highlighted again.
        main.cluster_list.post_message(ClusterList.Highlighted(first))
        await pilot.pause()
        await pilot.press("down")

        # Opened by the key itself, not by a timer a moment later.
        assert main.selected_cluster_id == second
        await wait_for(
            pilot,
            lambda: getattr(main.detail.shown_snapshot, "cluster_id", None) == second,
            "its detail",
        )
