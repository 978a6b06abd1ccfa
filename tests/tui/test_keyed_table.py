"""KeyedTable: a poll that changes a few cells draws those rows again, not the table."""

from textual.app import App, ComposeResult

from kostyor_tui.widgets.keyed_table import KeyedTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield KeyedTable([("Host", "host"), ("State", "state")])


def rows(states: list[str]) -> list[tuple[str, tuple[object, ...]]]:
    return [(f"h{index}", (f"host-{index:03d}", state)) for index, state in enumerate(states)]


def line(table: KeyedTable, row: int) -> str:
    """The text on screen of a row (line 0 is the header), as the compositor drew it."""
    screenshot = table.app.export_screenshot()
    found = [text for text in _screen_lines(screenshot) if f"host-{row:03d}" in text]
    assert len(found) == 1, found
    return found[0]


def _screen_lines(svg: str) -> list[str]:
    """The lines of text of a screenshot (Textual's SVG: one <text> per run of a line)."""
    import html
    import re

    lines: dict[str, list[str]] = {}
    for y, text in re.findall(r'<text[^>]* y="([0-9.]+)"[^>]*>([^<]*)</text>', svg):
        lines.setdefault(y, []).append(html.unescape(text).replace("\xa0", " "))
    return ["".join(parts) for parts in lines.values()]


async def test_changed_cells_redraw_their_rows_only_and_show_the_new_values():
    app = TableApp()
    async with app.run_test(size=(60, 20)) as pilot:
        table = app.query_one(KeyedTable)
        states = ["pending"] * 100
        table.sync_rows(rows(states))
        await pilot.pause()
        assert "pending" in line(table, 2)
        # As wide as before: the columns stay as they are (widening redraws everything).
        states[2], states[5] = "running", "stopped"
        assert table.sync_rows(rows(states)) == 2
        assert table.rows_redrawn == 2
        await pilot.pause()
        assert "running" in line(table, 2)
        assert "stopped" in line(table, 5)
        assert "pending" in line(table, 3)
        # Nothing changed: nothing drawn again.
        assert table.sync_rows(rows(states)) == 0
        assert table.rows_redrawn == 2


async def test_a_cell_wider_than_its_column_widens_it_and_shows_in_full():
    app = TableApp()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(KeyedTable)
        states = ["pending"] * 10
        table.sync_rows(rows(states))
        await pilot.pause()
        states[1] = "rolling back to mitaka"
        table.sync_rows(rows(states))
        await pilot.pause()
        assert "rolling back to mitaka" in line(table, 1)
        assert "pending" in line(table, 0)


async def test_a_change_below_the_window_shows_when_scrolled_to():
    app = TableApp()
    async with app.run_test(size=(60, 12)) as pilot:
        table = app.query_one(KeyedTable)
        states = ["pending"] * 200
        table.sync_rows(rows(states))
        await pilot.pause()
        states[150] = "running"
        table.sync_rows(rows(states))
        table.focus()
        table.move_cursor(row=150, animate=False)
        await pilot.pause()
        assert "running" in line(table, 150)
