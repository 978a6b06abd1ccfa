"""The top line of every screen: profile, API URL and connection state."""

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from kostyor_tui.service import service_of
from kostyor_tui.service.connection import ConnectionState
from kostyor_tui.widgets.in_place import update_in_place

# A poll running longer than this is shown as a wait, not as a live connection.
WAITING_AFTER = 2.0


def _clock(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment else "never"


def connection_text(state: ConnectionState, now: datetime) -> Text:
    """`● connected · data 12:00:01`; `◌ waiting 12s` while a poll hangs; when
    disconnected, since when, the age of the data, the next retry and the error, each on a
    line of its own so that none is cut off at 80 columns."""
    text = Text(no_wrap=True, overflow="ellipsis")
    waiting = (
        (now - state.polling_since).total_seconds() if state.polling_since is not None else 0.0
    )
    if state.connected is None:
        text.append("◌ connecting…", style="#ffd75f")
    elif waiting >= WAITING_AFTER:
        text.append(f"◌ waiting for the API {waiting:.0f}s", style="bold #ffd75f")
        text.append(f" · data {_clock(state.last_good_at)}", style="#a8a8a8")
    elif state.connected:
        text.append("● connected", style="bold #5fd75f")
        text.append(f" · data {_clock(state.last_good_at)}", style="#a8a8a8")
    else:
        text.append("✖ disconnected", style="bold #ff5f5f")
    if not state.auto_refresh:
        text.append(" · auto-refresh paused", style="bold #ffd75f")
    if state.read_only:
        text.append(" · READ-ONLY", style="bold #ff8700")
    if state.connected is False:
        text.append(f"\nsince {_clock(state.disconnected_since)}", style="bold #ff5f5f")
        text.append(f" · last good data at {_clock(state.last_good_at)}", style="#ffd7af")
        if state.retry_at is not None and state.auto_refresh:
            left = (state.retry_at - now).total_seconds()
            wait = f"{left:.0f}s" if left >= 1 else "<1s"
            text.append(f" · retry in {wait} (r: now)", style="#a8a8a8")
        if state.error:
            text.append(f"\n{state.error}", style="#ff8787")
    return text


class StatusHeader(Static):
    """Profile and API URL on the left, connection state after them."""

    DEFAULT_CSS = """
    StatusHeader {
        dock: top;
        height: auto;
        max-height: 3;
        background: $panel;
        color: $foreground;
        padding: 0 1;
    }
    """

    def __init__(self, profile: str, api_url: str, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._profile = profile
        self._api_url = api_url

    def show_profile(self, profile: str, api_url: str) -> None:
        """Another profile's name and URL (the console switched to it)."""
        self._profile = profile
        self._api_url = api_url
        self._show(service_of(self).connection)

    def on_mount(self) -> None:
        service = service_of(self)
        self._clock: Callable[[], datetime] = service.clock
        self.watch(service, "connection", self._show)
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        # The countdown to the next retry, and how long a poll has been waiting, move on
        # between changes of the state; nothing else does.
        state = service_of(self).connection
        if state.retry_at is not None or state.polling_since is not None:
            self._show(state)

    def _show(self, state: ConnectionState) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append("kostyor", style="bold")
        line.append(f" · {self._profile} · ", style="#a8a8a8")
        line.append(self._api_url, style="underline")
        line.append("  ")
        line.append_text(connection_text(state, self._clock()))
        update_in_place(self, line)
