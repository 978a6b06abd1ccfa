"""Every spelling of a Kostyor status, normalised in one place.

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


# States in which an upgrade is still under way (not finished for good).
ACTIVE_STATUSES = frozenset(
    {Status.IN_PROGRESS, Status.PAUSED, Status.ERROR, Status.ROLLBACK_IN_PROGRESS}
)
