"""Exit codes are an API for scripts: what each means, and which error leads to which.

Errors carry their message; the code is decided here, in one table, from the
error's type (the README's table of exit codes is this one).
"""

from enum import IntEnum

from kostyor_tui.api.errors import (
    AuthFailed,
    Busy,
    InvalidSettings,
    NotFound,
    ProtocolError,
    Rejected,
    ServerError,
    Unreachable,
)
from kostyor_tui.errors import (
    AmbiguousName,
    ConfigError,
    GaveUpWaiting,
    KostyorTuiError,
    Refused,
    UpgradeCancelled,
    UpgradeFailed,
    UpgradeRolledBack,
    UsageError,
)


class ExitCode(IntEnum):
    OK = 0
    INTERNAL = 1
    USAGE = 2
    NOT_FOUND = 3
    REJECTED = 4
    AUTH = 5
    UNREACHABLE = 6
    SERVER = 7
    # `--all-profiles`: some endpoints did not answer (the others' rows were printed).
    PARTIAL = 8
    # How an upgrade followed with `upgrade-status --watch/--wait` ended (0: succeeded).
    UPGRADE_FAILED = 10
    UPGRADE_CANCELLED = 11
    UPGRADE_ROLLED_BACK = 12
    GAVE_UP_WAITING = 13
    INTERRUPTED = 130
    BROKEN_PIPE = 141


MEANINGS: dict[ExitCode, str] = {
    ExitCode.OK: "success",
    ExitCode.INTERNAL: "internal error (a bug in kostyor-tui: please report it)",
    ExitCode.USAGE: "usage error: bad arguments, an ambiguous cluster name, bad configuration",
    ExitCode.NOT_FOUND: "not found: unknown cluster (name or id), upgrade or path",
    ExitCode.REJECTED: "rejected: the server refused the request, or kostyor-tui refused it "
    "(an action invalid in the current state, read-only mode)",
    ExitCode.AUTH: "authentication failed",
    ExitCode.UNREACHABLE: "the API is unreachable, timed out or busy (try again later)",
    ExitCode.SERVER: "server error, or an answer that is not the Kostyor API",
    ExitCode.PARTIAL: "--all-profiles: some endpoints did not answer (a line each on stderr); "
    "the rows of those that did were printed",
    ExitCode.UPGRADE_FAILED: "--watch/--wait: the upgrade failed (UPGRADE ERROR)",
    ExitCode.UPGRADE_CANCELLED: "--watch/--wait: the upgrade was cancelled",
    ExitCode.UPGRADE_ROLLED_BACK: "--watch/--wait: the upgrade was rolled back",
    ExitCode.GAVE_UP_WAITING: "--watch/--wait: gave up (--timeout, --idle-timeout) before it ended",
    ExitCode.INTERRUPTED: "interrupted (Ctrl-C)",
}

# An error's code is that of the first of its classes (most derived first) listed here.
_CODES: dict[type[BaseException], ExitCode] = {
    UsageError: ExitCode.USAGE,
    ConfigError: ExitCode.USAGE,
    InvalidSettings: ExitCode.USAGE,
    AmbiguousName: ExitCode.USAGE,
    NotFound: ExitCode.NOT_FOUND,
    Rejected: ExitCode.REJECTED,
    Refused: ExitCode.REJECTED,
    UpgradeFailed: ExitCode.UPGRADE_FAILED,
    UpgradeCancelled: ExitCode.UPGRADE_CANCELLED,
    UpgradeRolledBack: ExitCode.UPGRADE_ROLLED_BACK,
    GaveUpWaiting: ExitCode.GAVE_UP_WAITING,
    AuthFailed: ExitCode.AUTH,
    Busy: ExitCode.UNREACHABLE,
    Unreachable: ExitCode.UNREACHABLE,
    ServerError: ExitCode.SERVER,
    ProtocolError: ExitCode.SERVER,
    KostyorTuiError: ExitCode.SERVER,
}


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code that tells a script what `error` means; INTERNAL for a bug."""
    for kind in type(error).__mro__:
        if kind in _CODES:
            return _CODES[kind]
    return ExitCode.INTERNAL
