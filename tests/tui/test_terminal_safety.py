"""Names from the server are data, never terminal commands: a cluster named with OSC 0 (retitle
the terminal), OSC 52 (set the clipboard), CSI 2J (wipe the screen) and a newline reaches no
screen, title, toast or dialog raw.

The embedded server sanitises the names it is given, so it cannot serve a hostile one: the
fixed fleet's canned server stands in, with one cluster renamed (only the server is
replaced; client, service and console are the real ones)."""

from collections.abc import Iterator
from contextlib import contextmanager

from textual.app import App

from kostyor_tui.screens.upgrade import UpgradeScreen
from kostyor_tui.widgets.keyed_table import KeyedTable
from tests.support.canned import Answer, canned_server, json_answer
from tests.tui import fixed_fleet
from tests.tui.conftest import Notices, confirmation, wait_for

HOSTILE = "\x1b]0;pwned\x07home\x1b]52;c;cHduZWQ=\x07lab\x1b[2J\nsecond line"
RAW = ("\x1b", "\x07", "\x9b", "\x9d")


@contextmanager
def hostile_server() -> Iterator[tuple[str, dict[str, str]]]:
    """The fixed fleet with home_lab renamed; its status is the test's to change."""
    state = {"status": "UPGRADE PAUSED"}

    def handler(
        method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> Answer:
        if method == "GET" and path.rstrip("/").endswith("/clusters"):
            clusters = [
                {**c, "name": HOSTILE, "status": state["status"]}
                if c["id"] == fixed_fleet.HOME_LAB
                else c
                for c in fixed_fleet.CLUSTERS
            ]
            return json_answer(200, clusters)
        return fixed_fleet.handler(method, path, query, headers, body)

    with canned_server(handler) as server:
        yield server.url, state


def assert_nothing_raw(app: App[object], where: str) -> None:
    svg = app.export_screenshot()
    for raw in RAW:
        assert raw not in svg, f"{raw!r} reached the screen raw ({where})"
    # Shown as text instead: the escapes made visible, on one line.
    assert "\\e]0;pwned" in svg, where
    assert "second line" not in svg or "\\nsecond line" in svg, where
    for title in (app.title, app.sub_title, app.screen.title or "", app.screen.sub_title or ""):
        assert not any(raw in title for raw in (*RAW, "\n")), f"title {title!r} ({where})"


async def test_no_escape_sequence_from_a_cluster_name_reaches_the_terminal(make_app):
    with hostile_server() as (url, state):
        app = make_app(url)
        notices = Notices()
        async with app.run_test(size=(120, 40), notifications=True, message_hook=notices) as pilot:
            main = app.screen
            await wait_for(
                pilot,
                lambda: len(main.cluster_list.shown_ids) == len(fixed_fleet.CLUSTERS),
                "the sidebar",
            )
            await wait_for(
                pilot, lambda: app.service.snapshot(fixed_fleet.HOME_LAB) is not None, "its detail"
            )
            main.cluster_list.select(fixed_fleet.HOME_LAB)
            await wait_for(
                pilot,
                lambda: main.detail.shown_snapshot is app.service.snapshot(fixed_fleet.HOME_LAB),
                "the hostile cluster's detail",
            )
            assert_nothing_raw(app, "the main screen")
            await pilot.press("t")
            await wait_for(pilot, lambda: main.detail.host_table.row_keys, "its hosts")
            assert_nothing_raw(app, "the hosts tab")
            await pilot.press("o")
            await wait_for(pilot, lambda: isinstance(app.screen, UpgradeScreen), "upgrade view")
            screen = app.screen
            await wait_for(
                pilot, lambda: screen.query_one("#upgrade-hosts", KeyedTable).row_keys, "hosts"
            )
            assert_nothing_raw(app, "the upgrade view")
            await pilot.press("b")
            await wait_for(pilot, lambda: confirmation(app), "the question")
            await pilot.pause()
            assert_nothing_raw(app, "the rollback question")
            await pilot.press("escape")
            # The upgrade fails: the toast that says so names the cluster, as text.
            state["status"] = "UPGRADE ERROR"
            await pilot.press("r")
            await wait_for(pilot, lambda: notices.any("failed"), "the failure's toast")
            await pilot.pause()
            assert_nothing_raw(app, "the failure's toast")
            for text in notices.texts:
                assert not any(raw in text for raw in (*RAW, "\n")), text
            assert any("\\e]0;pwned" in text for text in notices.texts), notices.texts
