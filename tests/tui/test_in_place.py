"""update_in_place: a text update lays the screen out only when the widget's height changes,
and content already shown is not painted again."""

from rich.text import Text
from textual.app import App, ComposeResult
from textual.content import Content
from textual.widget import Widget
from textual.widgets import Label, Static


class CountingStatic(Static):
    """A Static that counts the layouts asked of it."""

    layouts = 0
    repaints = 0

    def refresh(self, *regions, repaint=True, layout=False, recompose=False):  # type: ignore[no-untyped-def]
        if layout:
            self.layouts += 1
        if repaint:
            self.repaints += 1
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class TextApp(App[None]):
    def compose(self) -> ComposeResult:
        yield CountingStatic("one line", id="text")
        yield Label("below", id="below")


async def test_same_height_repaints_only_and_another_height_lays_out():
    from kostyor_tui.widgets.in_place import update_in_place

    app = TextApp()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one("#text", CountingStatic)
        below = app.query_one("#below", Widget)
        await pilot.pause()
        asked = text.layouts
        assert below.region.y == 1

        update_in_place(text, "replaced")
        await pilot.pause()
        assert text.layouts == asked
        assert "replaced" in app.export_screenshot()

        # Two lines, and one wrapped at the widget's width: the label below moves down.
        update_in_place(text, "first\n" + "x" * 50)
        await pilot.pause()
        assert text.layouts > asked
        assert below.region.y == 3

        asked = text.layouts
        update_in_place(text, "back to one")
        await pilot.pause()
        assert text.layouts > asked
        assert below.region.y == 1


async def test_a_hidden_widget_is_laid_out_when_shown():
    from kostyor_tui.widgets.in_place import update_in_place

    app = TextApp()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one("#text", CountingStatic)
        below = app.query_one("#below", Widget)
        text.display = False
        await pilot.pause()
        asked = text.layouts
        update_in_place(text, "three\nlines\nhere")
        assert text.layouts == asked
        text.display = True
        await pilot.pause()
        assert below.region.y == 3


async def test_content_already_shown_is_not_painted_again_but_a_new_style_is():
    from kostyor_tui.widgets.in_place import update_in_place

    app = TextApp()
    async with app.run_test(size=(40, 10)) as pilot:
        text = app.query_one("#text", CountingStatic)
        for first, same, restyled in (
            (Content.styled("state", "bold"), Content.styled("state", "bold"), None),
            (Text("state", "bold"), Text("state", "bold"), Text("state", "italic")),
            ("state", "state", None),
        ):
            update_in_place(text, first)
            await pilot.pause()
            painted = text.repaints
            update_in_place(text, same)
            assert text.repaints == painted
            # Content compares its text only: the same text in another style is painted.
            update_in_place(text, restyled or Content.styled("state", "italic"))
            assert text.repaints > painted
            await pilot.pause()
            assert any(
                segment.style is not None and segment.style.italic
                for segment in text.render_line(0)
            )
