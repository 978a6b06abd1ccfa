"""Text that reaches an operator: one line, secrets redacted, control characters made
visible. Names and messages come from a server and are data, never terminal control."""

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

# The one mark that stands for a secret wherever one would have been shown.
REDACTED = "********"

# C0 controls, DEL and C1 controls: each would be a terminal command, not text. And what
# reorders or breaks the text around it, showing it as other text (bidirectional marks,
# embeddings, overrides and isolates; line and paragraph separators: CVE-2021-42574).
# Those beyond C0 are what JSON and YAML writers leave raw.
CONTROLS_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069"
_CONTROL = re.compile(f"[\x00-\x1f{CONTROLS_BEYOND_C0}]")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e"}.get(char)
    if named is not None:
        return named
    return f"\\x{ord(char):02x}" if ord(char) <= 0xFF else f"\\u{ord(char):04x}"


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


# A URL inside free text: a scheme, `://`, then everything up to the next whitespace.
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://\S+")


def redact_url(url: str) -> str:
    """`url` with the password written into it (`https://user:PASSWORD@host/`) shown as
    `REDACTED`. It works on malformed URLs too (an error message may quote one): everything
    between the user's `:` and the last `@` counts as the password, which hides too much of
    an odd URL rather than too little of a secret."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        scheme, rest = "", url
    at = rest.rfind("@")
    if at < 0:
        return url
    user, colon, _ = rest[:at].partition(":")
    if not colon:
        return url
    return f"{scheme}{separator}{user}:{REDACTED}@{rest[at + 1 :]}"


def redact_urls(text: str) -> str:
    """`text` with the password of every URL in it redacted (see `redact_url`)."""
    return _URL.sub(lambda match: redact_url(match.group()), text)


def without_credentials(url: str) -> str:
    """`url` without the user and password written into it: for a header or a record."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return redact_url(url)
    authority_end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    at = rest.rfind("@", 0, authority_end)
    if at < 0:
        # The password may hold a `/`, `?` or `#` that should have been escaped.
        return redact_url(url)
    return f"{scheme}{separator}{rest[at + 1 :]}"


# Parts of a parameter's name (between `_`, `-`, `.`) that make its value a secret:
# `password`, `os_token`, `api_key`, `apiKey`, `application_credential_secret`; not
# `keystone_url` or `bypass`.
_SECRET_PARTS = frozenset({"pass", "passwd", "passphrase", "credential", "credentials"})
_SECRET_ENDINGS = ("password", "secret", "token", "key")
_NAME_PARTS = re.compile("[^a-z0-9]+")


def is_secret_name(name: str) -> bool:
    """Whether a parameter called `name` holds a secret: its value is never shown."""
    return any(
        part in _SECRET_PARTS or part.endswith(_SECRET_ENDINGS)
        for part in _NAME_PARTS.split(name.lower())
    )


def secret_values(data: object) -> list[str]:
    """Every secret `data` (parameters, a request body) holds at any depth: the value of
    each key named like a secret, and each password written into a URL."""
    found: list[str] = []

    def walk(value: object, key: str | None) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, str(name))
        elif isinstance(value, list):
            for item in value:
                walk(item, key)
        elif isinstance(value, str):
            if key is not None and is_secret_name(key):
                found.append(value)
            elif password := _url_password(value):
                found.append(password)

    walk(data, None)
    return [secret for secret in found if secret]


def _url_password(text: str) -> str | None:
    try:
        return urlsplit(text).password if "://" in text else None
    except ValueError:
        return None
