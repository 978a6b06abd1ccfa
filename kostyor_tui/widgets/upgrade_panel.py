"""The upgrade view's widgets: progress (or why there is none), and the event log."""

from datetime import datetime
from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Log, ProgressBar

from kostyor_tui.domain.text import printable
from kostyor_tui.service.snapshots import ClusterSnapshot, UpgradeEvent
from kostyor_tui.widgets import upgrade_view
from kostyor_tui.widgets.in_place import update_in_place


def event_line(event: UpgradeEvent) -> str:
    return printable(f"{event.at:%H:%M:%S}  {event.text}")


class ProgressPanel(Vertical):
    """Progress bars (forward, or the rollback's own), or the reason there are none; the
    step the upgrade is on, or how it ended, with the ETA."""

    DEFAULT_CSS = """
    ProgressPanel { height: auto; }
    ProgressPanel Horizontal { height: 1; }
    ProgressPanel .bar-label { width: 24; }
    ProgressPanel ProgressBar { width: 1fr; }
    ProgressPanel #no-progress { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        for index in range(2):
            with Horizontal(id=f"bar-{index}"):
                yield Label("", id=f"bar-label-{index}", classes="bar-label")
                yield ProgressBar(id=f"bar-value-{index}", show_eta=False)
        yield Label(upgrade_view.NO_PROGRESS, id="no-progress")
        yield Label("", id="step-line")

    def show(self, snapshot: ClusterSnapshot | None, stale: bool) -> None:
        shown = upgrade_view.bars(snapshot)
        for index in range(2):
            row = self.query_one(f"#bar-{index}")
            bar = shown[index] if shown is not None and index < len(shown) else None
            # No bar without a known total: an indeterminate bar pulses forever (and
            # costs a redraw a frame) while nothing happens.
            row.display = bar is not None
            if bar is not None:
                update_in_place(self.query_one(f"#bar-label-{index}", Label), bar.label)
                self.query_one(f"#bar-value-{index}", ProgressBar).update(
                    total=max(bar.total, 1), progress=bar.done
                )
        has_upgrade = snapshot is not None and snapshot.upgrade is not None
        self.query_one("#no-progress").display = has_upgrade and shown is None
        update_in_place(
            self.query_one("#step-line", Label), upgrade_view.step_line(snapshot, stale)
        )


class EventLog(Log):
    """Timestamped log of every change seen: the server's steps at their own times, the
    status changes, and the connection lost and back.

    Anchored: it follows its newest line, as `tail -f` does, until the operator scrolls
    back, and again once they scroll to the end. Log's own following holds only while
    the scroll position is at the end, which a change of height (the full-screen toggle,
    a resized terminal) moves away from for good."""

    def on_mount(self) -> None:
        self.anchor()

    def add_events(self, events: tuple[UpgradeEvent, ...]) -> None:
        if events:
            self.write_lines([event_line(event) for event in events])

    def note(self, at: datetime, text: str) -> None:
        self.write_line(event_line(UpgradeEvent(at, text)))

    def export(self, path: Path) -> Path:
        """Write every line to `path` (a post-mortem); returns where it went."""
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path
