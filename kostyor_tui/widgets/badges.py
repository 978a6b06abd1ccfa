"""Coloured badges for cluster states and upgrade statuses (plain functions → Rich Text)."""

from rich.text import Text

from kostyor_tui.domain.progress import HostState
from kostyor_tui.domain.statuses import ClusterState, Status, cluster_state

_STATE_STYLE = {
    ClusterState.ACTIVE: "bold #5fd75f",
    ClusterState.MAINTENANCE: "bold #ffd75f",
    ClusterState.ERROR: "bold #ff5f5f",
    ClusterState.UNKNOWN: "bold #8a8a8a",
}
_STATE_MARK = {
    ClusterState.ACTIVE: "●",
    ClusterState.MAINTENANCE: "◐",
    ClusterState.ERROR: "✖",
    ClusterState.UNKNOWN: "?",
}

_STATUS_STYLE = {
    Status.READY: "#5fd75f",
    Status.NOT_READY: "#8a8a8a",
    Status.IN_PROGRESS: "bold #ffd75f",
    Status.PAUSED: "bold #5fafff",
    Status.ERROR: "bold #ff5f5f",
    Status.CANCELLED: "#d7875f",
    Status.ROLLBACK_IN_PROGRESS: "bold #d787ff",
    Status.SUCCEEDED: "bold #5fd75f",
    Status.UNKNOWN: "#8a8a8a",
}

_HOST_STYLE = {
    HostState.UPGRADED: "#5fd75f",
    HostState.IN_PROGRESS: "bold #ffd75f",
    HostState.PENDING: "#8a8a8a",
}


def state_badge(status: Status) -> Text:
    """`● active` / `◐ maintenance` / `✖ error` in the state's colour."""
    state = cluster_state(status)
    return Text(f"{_STATE_MARK[state]} {state.value}", style=_STATE_STYLE[state])


def state_mark(status: Status) -> Text:
    """The state as one coloured mark, for the narrow sidebar."""
    state = cluster_state(status)
    return Text(_STATE_MARK[state], style=_STATE_STYLE[state])


def status_text(status: Status | None) -> Text:
    """A Kostyor status in its colour (`unknown` for none)."""
    status = status or Status.UNKNOWN
    return Text(status.value, style=_STATUS_STYLE.get(status, ""))


def host_state_text(state: HostState | None) -> Text:
    if state is None:
        return Text("—", style="#8a8a8a")
    return Text(state.value, style=_HOST_STYLE[state])
