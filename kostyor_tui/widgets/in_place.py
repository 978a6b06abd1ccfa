"""Text updates that repaint a widget without laying the whole screen out again."""

from textual.visual import VisualType
from textual.widgets import Static


def update_in_place(widget: Static, content: VisualType) -> None:
    """`widget.update(content)`, asking for a layout only when the new content is not as
    high as the shown one at the widget's width.

    A layout re-arranges and repaints the whole screen (with a big table, tens of
    milliseconds of the main thread), and `update` asks for one every time; a poll's
    updates (the header's clock, a progress count) almost never change a height. For
    widgets whose width does not follow their content (not `width: auto`).
    """
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
