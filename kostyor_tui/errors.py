"""The project's errors above the client: bad input, bad configuration, and refusals.

Every error shares one base, `KostyorTuiError` (message, hint, `one_line()`),
which lives in `kostyor_tui.domain.errors` so that the client can use it too;
it is re-exported here for the faces.
"""

from kostyor_tui.domain.errors import KostyorTuiError

__all__ = ["AmbiguousName", "ConfigError", "KostyorTuiError", "Refused", "UsageError"]


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
