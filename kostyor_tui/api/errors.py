"""The client's own error types. Nothing above `kostyor_tui.api` sees httpx.

Each error carries the process exit code the headless mode uses for it, and a
one-line message meant for the operator: what failed, the server's own words,
what to try. Messages never contain credentials.
"""

import copy


class KostyorError(Exception):
    """Base of every error the client raises."""

    exit_code = 7
    # True when a request may have reached the server although no answer came
    # back (a timeout or a dropped connection after sending): its effect is unknown.
    outcome_unknown = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def restated(self, message: str, *, hint: str | None = None) -> "KostyorError":
        """A copy of this error, same type and fields, with a new message and hint."""
        clone = copy.copy(self)
        clone.message = message
        clone.hint = hint
        clone.args = (message,)
        return clone

    def one_line(self) -> str:
        """The message and hint on one line, for stderr or a status bar."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text}; {self.hint}"
        return text

    def __str__(self) -> str:
        return self.one_line()


class InvalidSettings(KostyorError):
    """Settings the client cannot use: a malformed API URL, an unreadable CA bundle."""

    exit_code = 2


class NotFound(KostyorError):
    """An unknown cluster, upgrade or path."""

    exit_code = 3


class AmbiguousName(KostyorError):
    """A cluster name that matches more than one cluster: pass the id instead."""

    exit_code = 2


class Rejected(KostyorError):
    """The server refused the request (4xx): its message and field errors."""

    exit_code = 4

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 400,
        field_errors: dict[str, list[str]] | None = None,
        hint: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.field_errors = field_errors or {}
        if self.field_errors:
            details = "; ".join(
                f"{field}: {', '.join(problems)}" for field, problems in self.field_errors.items()
            )
            message = f"{message} [{details}]"
        super().__init__(message, hint=hint)


class ActionRefused(Rejected):
    """Refused by the client itself: read-only mode, or an action invalid in this state."""


class AuthFailed(KostyorError):
    """401/403: the credentials are missing or wrong."""

    exit_code = 5


class Unreachable(KostyorError):
    """No connection could be made (refused, DNS, TLS handshake, reset)."""

    exit_code = 6


class TimedOut(Unreachable):
    """The server did not answer within the timeout."""


class ServerError(KostyorError):
    """5xx from the server."""

    exit_code = 7

    def __init__(self, message: str, *, status_code: int = 500, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code


class ProtocolError(KostyorError):
    """The server answered with something that is not the API: HTML, garbage, wrong shape."""

    exit_code = 7
