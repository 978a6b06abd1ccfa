"""Every spelling of a Kostyor status, normalised in one place, and the named sets of
statuses the rest of the code reasons with (docs/kostyor-api.md#statuses).

The real server speaks upper case with spaces (`UPGRADE IN PROGRESS`); its
OpenAPI file spells some with underscores (`UPGRADE_IN_PROGRESS`,
`ROLLBACK_IN_PROGRESS`) and lists `pending|running|ready|error` for upgrades.
Anything unrecognised becomes `Status.UNKNOWN` instead of failing.
"""

from enum import StrEnum


class Status(StrEnum):
    READY = "READY FOR UPGRADE"
    NOT_READY = "NOT READY FOR UPGRADE"
    IN_PROGRESS = "UPGRADE IN PROGRESS"
    PAUSED = "UPGRADE PAUSED"
    ERROR = "UPGRADE ERROR"
    CANCELLED = "UPGRADE CANCELLED"
    ROLLBACK_IN_PROGRESS = "UPGRADE ROLLBACK IN PROGRESS"
    SUCCEEDED = "UPGRADE SUCCEED"
    UNKNOWN = "unknown"


_ALIASES: dict[str, Status] = {
    "ROLLBACK IN PROGRESS": Status.ROLLBACK_IN_PROGRESS,
    "UPGRADE SUCCEEDED": Status.SUCCEEDED,
    "UPGRADE SUCCESS": Status.SUCCEEDED,
    # The OpenAPI file's upgrade states.
    "PENDING": Status.IN_PROGRESS,
    "RUNNING": Status.IN_PROGRESS,
    "READY": Status.SUCCEEDED,
    "ERROR": Status.ERROR,
}


def normalize_status(raw: object) -> Status:
    """Map any spelling the server may send to a `Status`; never raises."""
    if not isinstance(raw, str):
        return Status.UNKNOWN
    key = " ".join(raw.replace("_", " ").replace("-", " ").split()).upper()
    try:
        return Status(key)
    except ValueError:
        return _ALIASES.get(key, Status.UNKNOWN)


# An upgrade in one of these is not finished for good: it still owns the cluster.
UNFINISHED = frozenset(
    {Status.IN_PROGRESS, Status.PAUSED, Status.ERROR, Status.ROLLBACK_IN_PROGRESS}
)
# The engine moves service instances only in these.
MOVING = frozenset({Status.IN_PROGRESS, Status.ROLLBACK_IN_PROGRESS})
# An upgrade under way, paused or rolling back: the cluster is in maintenance.
MAINTENANCE = frozenset({Status.IN_PROGRESS, Status.PAUSED, Status.ROLLBACK_IN_PROGRESS})
# Statuses only an upgrade has (a cluster's status names them while it is upgraded).
UPGRADE_STATUSES = frozenset(
    {
        Status.IN_PROGRESS,
        Status.PAUSED,
        Status.ERROR,
        Status.CANCELLED,
        Status.ROLLBACK_IN_PROGRESS,
        Status.SUCCEEDED,
    }
)


class ClusterState(StrEnum):
    """What a cluster's status means to an operator, in one word."""

    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    ERROR = "error"
    # A status this client does not recognise: claiming any of the above would be a guess.
    UNKNOWN = "unknown"


def cluster_state(status: Status) -> ClusterState:
    """active / maintenance (an upgrade under way, paused or rolling back) / error."""
    if status in MAINTENANCE:
        return ClusterState.MAINTENANCE
    if status is Status.ERROR:
        return ClusterState.ERROR
    if status is Status.UNKNOWN:
        return ClusterState.UNKNOWN
    return ClusterState.ACTIVE
