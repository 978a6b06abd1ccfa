"""Badges for statuses and host states: a glyph and a word, so that they read without
colour too, and the colour from the theme (`$success`, `$error`, ...), so that themes
and NO_COLOR work."""

from collections.abc import Mapping

from textual.content import Content

from kostyor_tui.domain.progress import HostState
from kostyor_tui.domain.statuses import ClusterState, Status, cluster_state

# A cluster's status as the badge of the cluster list: (glyph, word, style).
_STATUS_BADGE: dict[Status, tuple[str, str, str]] = {
    Status.READY: ("●", "ready", "$success"),
    Status.NOT_READY: ("○", "not ready", "$text-muted"),
    Status.IN_PROGRESS: ("▶", "running", "bold $warning"),
    Status.PAUSED: ("⏸", "paused", "bold $secondary"),
    Status.ERROR: ("✖", "failed", "bold $error"),
    Status.ROLLBACK_IN_PROGRESS: ("↺", "rolling back", "bold $accent"),
    Status.CANCELLED: ("■", "cancelled", "$warning"),
    Status.SUCCEEDED: ("✔", "upgraded", "$success"),
    Status.UNKNOWN: ("?", "unknown", "$text-muted"),
}
MIXED = ("◑", "mixed versions", "$warning")

_STATE_STYLE = {
    ClusterState.ACTIVE: "bold $success",
    ClusterState.MAINTENANCE: "bold $warning",
    ClusterState.ERROR: "bold $error",
    ClusterState.UNKNOWN: "bold $text-muted",
}
_STATE_MARK = {
    ClusterState.ACTIVE: "●",
    ClusterState.MAINTENANCE: "◐",
    ClusterState.ERROR: "✖",
    ClusterState.UNKNOWN: "?",
}

_HOST_STYLE = {
    HostState.UPGRADED: "$success",
    HostState.IN_PROGRESS: "bold $warning",
    HostState.PENDING: "$text-muted",
}


def status_badge(status: Status, versions: Mapping[str, int] | None = None) -> Content:
    """`▶ running`, `✖ failed`, ...; `◑ mixed versions` for a cluster at rest whose
    instances disagree (known only for a cluster whose services were read)."""
    glyph, word, style = _STATUS_BADGE.get(status, _STATUS_BADGE[Status.UNKNOWN])
    if (
        versions is not None
        and len(versions) > 1
        and status
        not in (
            Status.IN_PROGRESS,
            Status.PAUSED,
            Status.ERROR,
            Status.ROLLBACK_IN_PROGRESS,
        )
    ):
        glyph, word, style = MIXED
    return Content.styled(f"{glyph} {word}", style)


def state_badge(status: Status) -> Content:
    """`● active` / `◐ maintenance` / `✖ error`."""
    state = cluster_state(status)
    return Content.styled(f"{_STATE_MARK[state]} {state.value}", _STATE_STYLE[state])


def status_content(status: Status | None) -> Content:
    """A Kostyor status in the colour of its badge (`unknown` for none)."""
    status = status or Status.UNKNOWN
    _, _, style = _STATUS_BADGE.get(status, _STATUS_BADGE[Status.UNKNOWN])
    return Content.styled(status.value, style)


def host_state_content(
    state: HostState | None, *, failed: bool = False, finished: bool = False
) -> Content:
    """A host's state in the upgrade; `finished`: the upgrade will not move it any more."""
    if failed:
        return Content.styled("FAILED", "bold $error")
    if state is None:
        return Content.styled("—", "$text-muted")
    if finished and state is HostState.IN_PROGRESS:
        return Content.styled("partly upgraded", "$warning")
    return Content.styled(state.value, _HOST_STYLE[state])
