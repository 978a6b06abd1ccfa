"""The project's errors above the client: bad input, bad configuration, and refusals.

Every error shares one base, `KostyorTuiError` (message, hint, `one_line()`),
which lives in `kostyor_tui.domain.errors` so that the client can use it too;
it is re-exported here for the faces.
"""

from kostyor_tui.domain.errors import KostyorTuiError

__all__ = [
    "AmbiguousName",
    "ConfigError",
    "GaveUpWaiting",
    "KostyorTuiError",
    "Refused",
    "UpgradeCancelled",
    "UpgradeEnded",
    "UpgradeFailed",
    "UpgradeRolledBack",
    "UsageError",
]


class UsageError(KostyorTuiError):
    """Bad command-line input: an unknown command, a malformed key=value, a missing argument."""


class ConfigError(KostyorTuiError):
    """A configuration problem, described in one line that never contains a secret."""


class AmbiguousName(KostyorTuiError):
    """A cluster name that matches more than one cluster: pass the id instead."""


class Refused(KostyorTuiError):
    """Refused by kostyor-tui itself, without asking the server: read-only mode, or an
    action the lifecycle says is not valid now. `forceable`: it may be sent anyway, on
    purpose (`--force`, or a confirmation in the console)."""

    def __init__(self, message: str, *, hint: str | None = None, forceable: bool = False):
        super().__init__(message, hint=hint)
        self.forceable = forceable


class UpgradeEnded(KostyorTuiError):
    """An upgrade followed to its end (`upgrade-status --watch/--wait`) that did not
    succeed. Not a failure of kostyor-tui: the exit code tells a script how it ended."""


class UpgradeFailed(UpgradeEnded):
    """It stopped at a failed step (`UPGRADE ERROR`) and waits for continue or rollback."""


class UpgradeCancelled(UpgradeEnded):
    """It was cancelled (`UPGRADE CANCELLED`, without a rollback)."""


class UpgradeRolledBack(UpgradeEnded):
    """It was rolled back (and so ended `UPGRADE CANCELLED`)."""


class GaveUpWaiting(KostyorTuiError):
    """`--timeout` or `--idle-timeout` ran out before the upgrade ended."""
