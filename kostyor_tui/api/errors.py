"""The client's error types. Nothing above `kostyor_tui.api` sees httpx.

Each error carries a one-line message meant for the operator: what failed, the
server's own words, what to try. Messages never contain credentials. Which
exit code an error means is decided by the headless mode
(`kostyor_tui.headless.exit_codes`), not here.
"""

from kostyor_tui.domain.errors import KostyorTuiError


class KostyorError(KostyorTuiError):
    """Base of every error the client raises."""

    # True when a request may have reached the server although no answer came
    # back (a timeout or a dropped connection after sending): its effect is unknown.
    outcome_unknown = False
    # Set by operations when a request to start an upgrade failed, but re-reading showed
    # the upgrade saved (docs/kostyor-api.md#quirk-500-after-save): its id.
    saved_upgrade_id: str | None = None


class InvalidSettings(KostyorError):
    """Settings the client cannot use: a malformed API URL, an unreadable CA bundle."""


class NotFound(KostyorError):
    """An unknown cluster, upgrade or path."""


class Rejected(KostyorError):
    """The server refused the request (4xx): its message and field errors."""

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


class Busy(KostyorError):
    """429, or 503: the server asks to be tried again later (`retry_after` seconds, if said)."""

    def __init__(
        self, message: str, *, status_code: int, retry_after: float | None, hint: str | None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code
        self.retry_after = retry_after


class AuthFailed(KostyorError):
    """401/403: the credentials are missing or wrong."""


class Unreachable(KostyorError):
    """No connection could be made (refused, DNS, TLS handshake, reset)."""


class TimedOut(Unreachable):
    """The server did not answer within the deadline."""


class ServerError(KostyorError):
    """5xx from the server."""

    def __init__(self, message: str, *, status_code: int = 500, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.status_code = status_code


class ProtocolError(KostyorError):
    """The server answered with something that is not the API: HTML, garbage, wrong shape."""
