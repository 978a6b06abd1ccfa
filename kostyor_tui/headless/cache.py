"""The cluster names shell completion offers: a small file in the platform cache directory
(`~/.cache/kostyor-tui/clusters` on Linux), rewritten by every headless command that
listed the clusters, and read by the completion script with plain shell.

Only names a shell cannot misread are kept (letters, digits and `_.@+-`, not starting
with `-`): a name comes from a server, and Tab must never run or expand anything.
Writing it is best effort: a command never fails because its cache could not be written.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import platformdirs

APP_NAME = "kostyor-tui"
FILE_NAME = "clusters"
# The completion script ignores a file older than this (minutes).
MAX_AGE_MINUTES = 60
MAX_NAMES = 1000
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.@+][A-Za-z0-9_.@+-]{0,99}")


def cache_path() -> Path:
    return Path(platformdirs.user_cache_dir(APP_NAME)) / FILE_NAME


def completable(names: Iterable[str | None]) -> list[str]:
    """The names worth offering on Tab, sorted, each once."""
    safe = {name for name in names if name and _SAFE_NAME.fullmatch(name)}
    return sorted(safe)[:MAX_NAMES]


def remember_clusters(names: Iterable[str | None], path: Path | None = None) -> None:
    """Write the names (one a line) where the completion script reads them."""
    path = path or cache_path()
    text = "".join(f"{name}\n" for name in completable(names))
    with contextlib.suppress(OSError):
        if path.is_file() and path.read_text(encoding="utf-8", errors="replace") == text:
            os.utime(path)  # still true: fresh again
            return
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=path.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(temporary, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
