"""Text that reaches an operator: one line, secrets redacted, control characters made
visible. Names and messages come from a server and are data, never terminal control."""

import re
from collections.abc import Iterable

# The one mark that stands for a secret wherever one would have been shown.
REDACTED = "********"

# C0 controls, DEL and C1 controls: each would be a terminal command, not text.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}.get(char, f"\\x{ord(char):02x}")


def printable(text: str) -> str:
    """`text` with every control character shown as an escape (`\\e`, `\\n`, `\\x07`)."""
    return _CONTROL.sub(_visible, text)


def has_control_characters(text: str) -> bool:
    return _CONTROL.search(text) is not None


def one_line(text: str, limit: int | None = None) -> str:
    """Whitespace runs (newlines included) as one space, cut to `limit` characters."""
    text = " ".join(text.split())
    if limit is not None and len(text) > limit:
        return text[: limit - 1] + "…"
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each (non-empty) secret replaced by `REDACTED`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text
