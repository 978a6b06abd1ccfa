"""The OpenStack releases the server knows, oldest first, and what they imply."""

from kostyor_tui.domain.statuses import Status

# Deliberately longer than the real server's list so that clients cannot hard-code it.
RELEASES: tuple[str, ...] = (
    "liberty",
    "mitaka",
    "newton",
    "ocata",
    "pike",
    "queens",
    "rocky",
    "stein",
    "train",
    "ussuri",
    "victoria",
    "wallaby",
    "xena",
    "yoga",
    "zed",
)


def is_known(version: str) -> bool:
    return version in RELEASES


def later_releases(version: str) -> list[str]:
    """Releases a cluster at `version` can be upgraded to; none when the version is unknown."""
    if version not in RELEASES:
        return []
    return list(RELEASES[RELEASES.index(version) + 1 :])


def is_later(candidate: str, version: str) -> bool:
    return candidate in later_releases(version)


def resting_status(version: str) -> str:
    """A cluster's status when no upgrade is under way."""
    return Status.READY if later_releases(version) else Status.NOT_READY
