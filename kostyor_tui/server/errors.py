"""Errors that become JSON answers: `{"message": ..., "errors": {field: [...]}}`."""


class ApiError(Exception):
    status_code = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"message": self.message}
        if self.errors:
            body["errors"] = self.errors
        return body

    def headers(self) -> dict[str, str]:
        return {}


class BadRequest(ApiError):
    status_code = 400


class Forbidden(ApiError):
    status_code = 403


class NotFound(ApiError):
    status_code = 404


class Conflict(ApiError):
    status_code = 409


class PayloadTooLarge(ApiError):
    status_code = 413


class UnsupportedMediaType(ApiError):
    status_code = 415


class MisdirectedRequest(ApiError):
    status_code = 421


class InternalServerError(ApiError):
    """What the real server answers when it fails (docs/kostyor-api.md#upstream-mode): a 500
    whose message says nothing more, unless the real one said more."""

    status_code = 500

    def __init__(self, message: str = "Internal Server Error") -> None:
        super().__init__(message)


class ServiceUnavailable(ApiError):
    """The server cannot serve now; `retry_after` (seconds) when trying again may help."""

    status_code = 503

    def __init__(self, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {} if self.retry_after is None else {"Retry-After": str(self.retry_after)}


class DatabaseGone(ServiceUnavailable):
    """The database file was deleted or replaced under the running server: nothing more is
    read or written, so that two files never share the server's state."""


class InsufficientStorage(ServiceUnavailable):
    status_code = 507
