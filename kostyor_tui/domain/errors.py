"""The error base every part of kostyor-tui shares.

An error carries a message for the operator and an optional hint (what to
try); `one_line()` is how every face shows it. Which exit code an error means
is the headless mode's business (`kostyor_tui.headless.exit_codes`), not the
error's.
"""

from typing import Self

from kostyor_tui.domain.text import one_line, printable


class KostyorTuiError(Exception):
    """Base of every error kostyor-tui raises on purpose."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def restated(self, message: str, *, hint: str | None = None) -> Self:
        """A copy of this error, same type and fields, with a new message and hint."""
        # Not copy.copy: it calls the class with the message alone, which fails for an
        # error whose __init__ requires more (Busy).
        clone = type(self).__new__(type(self), message)
        clone.__dict__.update(self.__dict__)
        clone.message = message
        clone.hint = hint
        clone.args = (message,)
        return clone

    def one_line(self) -> str:
        """The message and hint on one line, for stderr, a status bar or a dialog; any
        control character (a server's words may carry some) shown as an escape."""
        text = one_line(self.message)
        if self.hint:
            text = f"{text}; {one_line(self.hint)}"
        return printable(text)

    def __str__(self) -> str:
        return self.one_line()
