"""Text updates that repaint a widget without laying the whole screen out again."""

from rich.text import Text
from textual.content import Content
from textual.visual import VisualType
from textual.widgets import Static


def update_in_place(widget: Static, content: VisualType) -> None:
    """`widget.update(content)`, asking for a layout only when the new content is not as
    high as the shown one at the widget's width.

    A layout re-arranges and repaints the whole screen (with a big table, tens of
    milliseconds of the main thread), and `update` asks for one every time; a poll's
    updates (the header's clock, a progress count) almost never change a height. For
    widgets whose width does not follow their content (not `width: auto`). Content the
    widget already shows is not set again: most of a poll's updates repeat a line.
    """
    if _same(widget.content, content):
        return
    width = widget.content_region.width
    if not widget.display:
        # Hidden: showing it again lays the screen out.
        widget.update(content, layout=False)
    elif not width:
        widget.update(content)  # not laid out yet
    else:
        # What a layout would ask; a Static's answer depends on its content and width only.
        screen = widget.app.size
        before = widget.get_content_height(screen, screen, width)
        widget.update(content, layout=False)
        if widget.get_content_height(screen, screen, width) != before:
            widget.refresh(layout=True)


def _same(shown: VisualType, content: VisualType) -> bool:
    """Whether `content` is `shown`, styles and all (Content compares its text only)."""
    if type(shown) is not type(content):
        return False
    if isinstance(content, Content) and isinstance(shown, Content):
        return content.plain == shown.plain and content.spans == shown.spans
    if isinstance(content, Text) and isinstance(shown, Text):
        layout = ("style", "justify", "overflow", "no_wrap", "end", "tab_size")
        return content == shown and all(
            getattr(content, name) == getattr(shown, name) for name in layout
        )
    return isinstance(content, str) and content == shown
